"""The resident's side of the warm handoff: consent, callback wish, relay, rating. No Telegram.

Steps kept in `State.handoff`:
  consent          the bot showed what it would pass on and waits for a choice
  message          the next text is the resident's own message for the meedenker
  callback_phone   the bot asked for the resident's number (contact button)
  callback_moment  the bot asked for morning, afternoon or evening
  connected        a request is open: everything goes to the meedenker; the bot is silent
  rating, remark   the conversation ended; one tap for a rating, then an optional remark
"""

from __future__ import annotations

from dataclasses import replace

from bot.engine.callbacks import (
    ADD_MESSAGE,
    CALLBACK_NO,
    CALLBACK_YES,
    HANDOFF_STEP,
    MOMENT,
    NO,
    RATING,
    SKIP,
    STOP,
    TOGGLE_NAME,
    TOGGLE_STORY,
    YES,
)
from bot.engine.conversation import (
    Choice,
    Command,
    Engine,
    Event,
    NotText,
    Option,
    Reply,
    SharedContact,
    Start,
    State,
    Text,
    Turn,
)
from bot.engine.effects import HandoffAsked
from bot.engine.hours import opening_status
from bot.engine.language import fold
from bot.handoff.effects import (
    Callback,
    CallbackMoment,
    CloseRequest,
    OpenRequest,
    Rating,
    Relay,
    Remark,
    RequestDraft,
)

MOMENTS = ("ochtend", "middag", "avond")
STOP_WORDS = frozenset({"stop gesprek", "stop het gesprek", "stop conversation", "stoppen"})
NO_WORDS = frozenset({"nee", "no", "liever niet", "nee dank je", "no thanks"})
MAX_MESSAGE = 1000


class HandoffEngine(Engine):
    """The engine plus the warm handoff to a human meedenker in a staff group."""

    def handle(self, state: State, event: Event, *, queue_ahead: int = 0) -> Turn:
        """Handoff steps first; everything else is the ordinary conversation."""
        if isinstance(event, Choice) and event.token.startswith(HANDOFF_STEP):
            turn = self._handoff_choice(state, event.token, queue_ahead)
            return turn or super().handle(state, Choice("stale"))
        step = state.handoff
        if step == "connected":
            return self._while_connected(state, event)
        if step in ("message", "remark") and isinstance(event, Text):
            return self._typed(state, event.text)
        if step == "callback_phone":
            return self._callback_phone(state, event)
        if step in ("consent", "callback_moment", "rating", "remark"):
            # Walking away from a question is fine; the conversation just goes on.
            state = replace(state, handoff=None, draft_message=None, share_story=False,
                            wants_callback=False)
        return super().handle(state, event, queue_ahead=queue_ahead)

    # -- consent --

    def _handoff(self, state: State) -> Turn:
        """Instead of only phone numbers: offer to pass the question on, with consent."""
        state = replace(state, handoff="consent")
        return Turn((self._consent_reply(state),), state, (HandoffAsked(),))

    def _consent_reply(self, state: State, first_name: str | None = None) -> Reply:
        t, lang = self.texts, state.lang
        text = t.get("handoff_consent", lang, summary=self.summary(state))
        options = (
            Option(t.get("button_consent_yes", lang), YES),
            Option(t.get("button_add_message", lang), ADD_MESSAGE),
            Option(t.get("button_hide_name" if state.share_name else "button_share_name", lang),
                   TOGGLE_NAME),
            *((Option(t.get("button_hide_story" if state.share_story else "button_share_story",
                            lang), TOGGLE_STORY),) if state.story else ()),
            Option(t.get("button_consent_no", lang), NO),
        )
        return Reply(f"{text}\n\n{t.get('handoff_emergency', lang)}", options)

    def summary(self, state: State) -> str:
        """Exactly what would be passed on, one line per item, in the resident's language."""
        t, lang = self.texts, state.lang
        lines = []
        if state.topic:
            lines.append(t.get("summary_topic", lang, value=state.topic))
        if state.trail:
            lines.append(t.get("summary_answers", lang, value=" › ".join(state.trail)))
        if state.found:
            lines.append(t.get("summary_found", lang, value=", ".join(self.found_names(state))))
        if not (lines or state.story or state.draft_message or state.wants_callback):
            lines.append(t.get("summary_nothing_yet", lang))
        lines.append(t.get("summary_language", lang))
        if state.gemeente or len(self.kb.gemeente.gemeenten) == 1:
            lines.append(t.get("summary_gemeente", lang,
                               value=state.gemeente or self.kb.gemeente.gemeenten[0]))
        lines.append(t.get("summary_name", lang, value="✓") if state.share_name
                     else t.get("summary_no_name", lang))
        if state.wants_callback:
            lines.append(t.get("summary_callback", lang))
        if state.draft_message:
            lines.append(t.get("summary_message", lang, value=state.draft_message))
        if state.story and state.share_story:  # shown in full: exactly what will be sent
            lines.append(t.get("summary_story", lang, value="\n".join(
                f"  “{message}”" for message in state.story)))
        elif state.story:
            key = "summary_story_kept_one" if len(state.story) == 1 else "summary_story_kept"
            lines.append(t.get(key, lang, count=len(state.story)))
        return "\n".join(lines)

    def found_names(self, state: State) -> list[str]:
        """Names of the services and questions shown, for people."""
        names = []
        for item in state.found:
            kind, _, item_id = item.partition(":")
            if kind == "service" and item_id in self.kb.services:
                names.append(self.kb.services[item_id].name.get(state.lang))
            elif kind == "faq" and item_id in self.kb.faq:
                names.append(self.kb.faq[item_id].question.get(state.lang))
        return names

    def _handoff_choice(self, state: State, token: str, queue_ahead: int) -> Turn | None:
        step = state.handoff
        if token == TOGGLE_NAME and step == "consent":
            state = replace(state, share_name=not state.share_name)
            return Turn((self._consent_reply(state),), state)
        if token == TOGGLE_STORY and step == "consent" and state.story:
            state = replace(state, share_story=not state.share_story)
            return Turn((self._consent_reply(state),), state)
        if token == ADD_MESSAGE and step == "consent":
            state = replace(state, handoff="message")
            return Turn((Reply(self.texts.get("handoff_ask_message", state.lang)),), state)
        if token == NO and step == "consent":
            return self._cancel(state)
        if token == YES and step == "consent":
            return self._open(state, queue_ahead)
        if token in (CALLBACK_YES, CALLBACK_NO) and step == "connected":
            return self._callback_choice(state, token)
        if token.startswith(MOMENT) and step == "callback_moment":
            return self._callback_moment(state, token[len(MOMENT):])
        if token == STOP and step == "connected":
            return self._stop(state)
        if token.startswith(RATING) and step == "rating":
            return self._rating(state, token[len(RATING):])
        if token == SKIP and step in ("rating", "remark"):
            return self._thanks(state)
        return None

    def _cancel(self, state: State) -> Turn:
        team = self.kb.gemeente.team
        state = replace(state, handoff=None, draft_message=None, share_name=False,
                        share_story=False, wants_callback=False)
        text = self.texts.get("handoff_cancelled", state.lang, team_name=team.name,
                              team_phone=team.phone or "-")
        return Turn((Reply(text, self._menu(state)),), state)

    def _open(self, state: State, queue_ahead: int) -> Turn:
        only = self.kb.gemeente.gemeenten[0] if len(self.kb.gemeente.gemeenten) == 1 else None
        draft = RequestDraft(state.topic, state.trail, tuple(self.found_names(state)),
                             state.lang, state.gemeente or only, state.draft_message,
                             state.share_name, state.urgent,
                             state.story if state.share_story else ())
        # Passed on or not, the words are not kept any longer than needed.
        state = replace(state, handoff="connected", draft_message=None, story=(),
                        share_story=False)
        t, lang = self.texts, state.lang
        hours = self.kb.gemeente.team.hours
        status = opening_status(hours, self.now()) if hours else None
        if status is None or status.open_now:
            key = "ahead_none" if queue_ahead == 0 else (
                "ahead_one" if queue_ahead == 1 else "ahead_many")
            text = t.get("handoff_sent_open", lang, number="{number}",
                         ahead_text=t.get(key, lang, count=queue_ahead))
            options: tuple[Option, ...] = (Option(t.get("button_stop", lang), STOP),)
        else:
            when = self.team_opens(lang) or "-"
            text = t.get("handoff_sent_closed", lang, number="{number}", when=when)
            options = (Option(t.get("button_callback_yes", lang), CALLBACK_YES),
                       Option(t.get("button_callback_no", lang), CALLBACK_NO),
                       Option(t.get("button_stop", lang), STOP))
        # {number} is filled in by the channel once the request has its number.
        effects = (OpenRequest(draft),)
        if state.wants_callback:  # "bel me": straight on to their number
            asked = self._callback_choice(replace(state, wants_callback=False), CALLBACK_YES)
            sent = Reply(f"{text}\n\n{t.get('handoff_emergency', lang)}",
                         (Option(t.get("button_stop", lang), STOP),))
            return Turn((sent, *asked.replies), asked.state, effects)
        reply = Reply(f"{text}\n\n{t.get('handoff_emergency', lang)}", options)
        return Turn((reply,), state, effects)

    # -- typed input during the handoff --

    def _typed(self, state: State, text: str) -> Turn:
        crisis = self.crisis.check(text)
        if crisis.is_crisis:
            return self._crisis(state, crisis)
        if state.handoff == "remark":
            return replace(self._thanks(state), effects=(Remark(text[:MAX_MESSAGE]),))
        state = replace(state, handoff="consent", draft_message=text.strip()[:MAX_MESSAGE] or None)
        return Turn((self._consent_reply(state),), state)

    # -- callback --

    def _callback_choice(self, state: State, token: str) -> Turn:
        lang = state.lang
        if token == CALLBACK_NO:
            stop = (Option(self.texts.get("button_stop", lang), STOP),)
            return Turn((Reply(self.texts.get("handoff_no_callback", lang), stop),), state)
        state = replace(state, handoff="callback_phone")
        reply = Reply(self.texts.get("handoff_ask_contact", lang),
                      contact_button=self.texts.get("button_share_contact", lang))
        return Turn((reply,), state)

    def _callback_phone(self, state: State, event: Event) -> Turn:
        lang = state.lang
        if isinstance(event, SharedContact):
            state = replace(state, handoff="callback_moment")
            options = tuple(Option(self.texts.get(f"moment_{m}", lang), f"{MOMENT}{m}")
                            for m in MOMENTS)
            replies = (Reply(self.texts.get("handoff_ask_moment", lang), options),)
            return Turn(replies, state, (Callback(event.phone),))
        if isinstance(event, Text) and fold(event.text) in NO_WORDS:
            state = replace(state, handoff="connected")
            return Turn(self._keyboard_away(state, "handoff_no_callback"), state)
        if isinstance(event, Text) and self.crisis.check(event.text).is_crisis:
            return self._crisis(state, self.crisis.check(event.text))
        return Turn((Reply(self.texts.get("handoff_contact_needed", lang),
                           contact_button=self.texts.get("button_share_contact", lang)),), state)

    def _callback_moment(self, state: State, moment_key: str) -> Turn | None:
        if moment_key not in MOMENTS:
            return None
        state = replace(state, handoff="connected")
        replies = self._keyboard_away(state, "handoff_callback_set")
        return Turn(replies, state, (CallbackMoment(moment_key),))

    def _keyboard_away(self, state: State, key: str) -> tuple[Reply, ...]:
        """Remove the phone-number keyboard, and keep the way out in sight."""
        lang = state.lang
        stop = (Option(self.texts.get("button_stop", lang), STOP),)
        return (Reply(self.texts.get(key, lang), remove_keyboard=True),
                Reply(self.texts.get("handoff_emergency", lang), stop))

    # -- connected --

    def _while_connected(self, state: State, event: Event) -> Turn:
        """Everything goes to the meedenker; the bot only speaks on a crisis or to stop."""
        lang = state.lang
        if isinstance(event, Text):
            if fold(event.text) in STOP_WORDS:
                return self._stop(state)
            crisis = self.crisis.check(event.text)
            if crisis.is_crisis:
                turn = self._crisis(state, crisis)
                stop = Option(self.texts.get("button_stop", lang), STOP)
                reply = replace(turn.replies[0], options=(stop,))
                return Turn((reply,), state, (*turn.effects, Relay()))
            return Turn((), state, (Relay(),))
        if isinstance(event, (NotText, SharedContact)):
            return Turn((), state, (Relay(),))
        if isinstance(event, Command) and event.name == "stop":
            return self._stop(state)
        if isinstance(event, (Command, Start, Choice)):
            buttons = (Option(self.texts.get("button_stop", lang), STOP),)
            return Turn((Reply(self.texts.get("handoff_already", lang), buttons),), state)
        return Turn((), state)

    def _stop(self, state: State) -> Turn:
        turn = self.ended(state)
        return replace(turn, effects=(CloseRequest("resident"),))

    def ended(self, state: State) -> Turn:
        """The conversation with the meedenker is over: ask for a rating."""
        state = replace(state, handoff="rating", request_id=state.request_id)
        lang = state.lang
        options = (*(Option(str(n), f"{RATING}{n}") for n in range(1, 6)),
                   Option(self.texts.get("button_skip", lang), SKIP))
        return Turn((Reply(self.texts.get("handoff_ended", lang), options),), state)

    def back_to_bot(self, state: State, name: str, note: str) -> Turn:
        """/terug: the meedenker hands the resident back to the bot, with a note on top."""
        back = self.texts.get("handoff_back_to_bot", state.lang, name=name, note=note).strip()
        state = replace(state, handoff=None, request_id=None, share_name=False)
        turn = self.handle(state, Command("opnieuw"))
        first, *rest = turn.replies
        return replace(turn, replies=(replace(first, text=f"{back}\n\n{first.text}"), *rest))

    def _rating(self, state: State, value: str) -> Turn | None:
        if value not in {"1", "2", "3", "4", "5"}:
            return None
        state = replace(state, handoff="remark")
        skip = (Option(self.texts.get("button_skip", state.lang), SKIP),)
        reply = Reply(self.texts.get("handoff_ask_remark", state.lang), skip)
        return Turn((reply,), state, (Rating(int(value)),))

    def _thanks(self, state: State) -> Turn:
        state = replace(state, handoff=None, request_id=None, share_name=False)
        current = self._current(state)
        thanks = Reply(self.texts.get("handoff_thanks", state.lang))
        return Turn((thanks, *current.replies), current.state)
