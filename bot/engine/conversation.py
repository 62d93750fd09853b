"""The conversation engine: (state, event) → replies, new state and effects. No Telegram here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources

import yaml

from bot.clock import Clock, system_clock
from bot.engine import follow_up
from bot.engine.callbacks import (
    BACK,
    CHECK_NO,
    CHECK_YES,
    CONTINUE,
    FAQ,
    GEMEENTE,
    HANDOFF,
    LANGUAGE,
    MORE,
    RESTART,
    SERVICE,
    SOMETHING_ELSE,
    TREE_OPTION,
    token,
)
from bot.engine.cards import faq_answer, faq_short, moment, service_card, service_short
from bot.engine.crisis import CALLS, CrisisCheck, CrisisResult
from bot.engine.effects import (
    CheckIn,
    CrisisScreen,
    Effect,
    HandoffAsked,
    LanguageChosen,
    NotUnderstood,
    Shown,
    TopicChosen,
)
from bot.engine.hours import opening_status
from bot.engine.language import fold
from bot.engine.matcher import Kind, Match, Matcher, SearchResult
from bot.engine.texts import LANGUAGES, Texts
from bot.engine.which_language import written_in
from bot.kb.loader import KnowledgeBase
from bot.kb.models import TreeOption

MAX_TRAIL = 6  # tree answers kept for a meedenker
NO_CRISIS = CrisisResult()
MAX_FOUND = 5  # services and answers shown, kept for a meedenker
MAX_MATCH_CHARACTERS = 1000  # a long story is searched by its first part; crisis check sees all
MAX_PENDING_CHARACTERS = 1000  # a question held during a crisis screen or check-in
MAX_STORY = 3  # the resident's own recent messages a meedenker may see, if they agree
MAX_STORY_CHARACTERS = 500  # three of them and a message still fit on one request card
THANKS_SIGNS = frozenset("👍🙏👌❤")  # a smile alone is not a thank-you
GEMEENTE_DOMAIN = "gemeente-algemeen"  # the map's domain of everyday gemeente matters
GEMEENTE_TOPIC_SHARE = 0.6  # this share of a question's needs is gemeente business: the desk
GEMEENTE_TOPIC_BELOW = 0.75  # …unless the knowledge base itself answers it this well
DOMAIN_EVIDENCE = 1.0  # a domain counts as asked about from one word on
SEVERAL_DOMAINS = 2  # needs in this many domains at once: the generalist second
FOLLOW_UP = "follow_up:"  # an Understanding's intent for a question about what was shown
SEVERAL_NEEDS = "~several-needs"  # Match.matched of the generalist that was added
MORE_LABEL = 40  # characters of a name on a "Vertel me meer" button
CARER_NEED = "mantelzorgondersteuning"  # what a carer is offered beside every answer
SUPPORT_NEED = "clientondersteuning"  # free, independent support: offered once beside…
RULES_NEEDS = frozenset({  # …an answer about these (issue 19)
    "wmo-melding", "keukentafelgesprek", "wmo-aanvraag", "herindicatie", "bezwaar-beroep",
    "pgb", "zorg-in-natura", "wlz-indicatie"})
STRONG_NEED = 0.5  # an entry is about a need when it meets it at least this much
CARER_DOMAIN = "mantelzorg"  # an answer in this domain is about caring already


# ---- what goes in -------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The resident opens the conversation (/start)."""

    terminal: bool = False  # the console: nothing goes to Telegram, the privacy note says so


@dataclass(frozen=True)
class Text:
    """Free text typed by the resident."""

    text: str


@dataclass(frozen=True)
class Choice:
    """A button press; `token` is what the button carried (Telegram callback data)."""

    token: str


@dataclass(frozen=True)
class Command:
    """A slash command without the slash: help, opnieuw, taal, privacy, meedenker, terug."""

    name: str


@dataclass(frozen=True)
class NotText:
    """Something the bot cannot read: a photo, sticker, voice message, location, …"""

    kind: str


@dataclass(frozen=True)
class SharedContact:
    """The resident shared their own phone number with the contact button."""

    phone: str


Event = Start | Text | Choice | Command | NotText | SharedContact


# ---- what comes out -----------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A button: the label the resident sees and the token it sends back."""

    label: str
    token: str


@dataclass(frozen=True)
class Reply:
    """One message to the resident, with buttons.

    `contact_button` asks the channel for a "share my phone number" button (Telegram shows it
    instead of the keyboard); `remove_keyboard` takes such a button away again.
    """

    text: str
    options: tuple[Option, ...] = ()
    contact_button: str | None = None
    remove_keyboard: bool = False


@dataclass(frozen=True)
class State:
    """Where one resident is: node, history for 'terug', language, gemeente, role."""

    lang: str = "nl"
    node: str | None = None
    history: tuple[str, ...] = ()
    at_result: bool = False  # cards or answers were shown below `node`
    gemeente: str | None = None
    role: str | None = None
    cared_for: str | None = None  # "moeder" when the resident wrote "mijn moeder": the wording
    awaiting_gemeente: bool = False
    # What a meedenker may be told, if the resident agrees: their choices, and their own
    # words only when they tick them on the consent screen (off by default).
    topic: str | None = None
    trail: tuple[str, ...] = ()  # labels of the tree options chosen
    found: tuple[str, ...] = ()  # "service:id" / "faq:id" shown, most recent last
    urgent: bool = False  # a crisis was signalled: a request goes to the front of the queue
    story: tuple[str, ...] = ()  # the resident's last few questions, in their own words
    share_story: bool = False
    wants_callback: bool = False  # "bel me": ask for their number once the request is sent
    told_support: bool = False  # the line about free cliëntondersteuning was shown (once)
    # The warm handoff: the step (consent, message, connected, …) and its draft.
    handoff: str | None = None
    request_id: int | None = None
    draft_message: str | None = None
    share_name: bool = False
    # The resident's question without the worrying words, held while a crisis screen or
    # check-in is shown, so that "Verder met mijn vraag" and "Nee" answer it; cleared once
    # answered or at the next message. `worry` is the order of the numbers for "Ja".
    pending: str | None = None
    worry: tuple[str, ...] = ()

    def to_json(self) -> str:
        """Serialise for storage."""
        # Not dataclasses.asdict: its deep copy cost more than the JSON encoding itself.
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | None) -> State:
        """Restore from storage; unknown or broken data gives a fresh state."""
        if not data:
            return cls()
        try:
            raw = json.loads(data)
            for key in ("history", "trail", "found", "worry", "story"):
                raw[key] = tuple(raw.get(key, ()))
            return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            return cls()


@dataclass(frozen=True)
class Turn:
    """The engine's answer to one event."""

    replies: tuple[Reply, ...]
    state: State
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class Understanding:
    """The engine's reading of one free text; `result` is None when no search was needed."""

    crisis: CrisisResult
    intent: str | None
    result: SearchResult | None

    @property
    def offered(self) -> tuple[Match, ...]:
        """What the bot would really offer: nothing on a crisis or a steering word."""
        return self.result.matches if self.result else ()


@dataclass
class _Intents:
    whole: dict[str, str] = field(default_factory=dict)  # folded message → intent
    contains: dict[str, list[str]] = field(default_factory=dict)
    carer: tuple[str, ...] = ()  # words of someone asking for the person they care for

    @classmethod
    def builtin(cls) -> _Intents:
        text = resources.files("bot.engine").joinpath("data/intents.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
        whole = {fold(p): intent for intent, items in data["whole"].items() for p in items}
        contains = {intent: [fold(p) for p in items] for intent, items in data["contains"].items()}
        return cls(whole, contains, tuple(fold(p) for p in data.get("carer", ())))

    def speaks_as_carer(self, text: str) -> str | None:
        """The phrase by which a message asks for someone the resident cares for, if any."""
        padded = f" {fold(text)} "
        return next((phrase for phrase in self.carer if f" {phrase} " in padded), None)

    def of(self, text: str) -> str | None:
        folded = fold(text)
        if not folded and THANKS_SIGNS & set(text):
            return "thanks"  # 👍 or 🙏 alone: a thank-you without words
        if folded in self.whole:
            return self.whole[folded]
        padded = f" {folded} "
        for intent, phrases in self.contains.items():
            if any(f" {phrase} " in padded for phrase in phrases):
                return intent
        return None


def cared_for(phrase: str) -> str | None:
    """'moeder' from 'mijn moeder' (or 'mother' from 'my mother'): for the wording."""
    words = phrase.split()
    return words[-1] if len(words) == 2 and words[0] in ("mijn", "mn", "my") else None


def remember_choices(turn: Turn) -> Turn:
    """Keep the topic and what was shown in the state, for the consent screen of a handoff."""
    state = turn.state
    for effect in turn.effects:
        match effect:
            case TopicChosen(topic=topic):
                state = replace(state, topic=topic)
            case CrisisScreen():
                state = replace(state, urgent=True)
            case Shown(entry=entry):
                found = tuple(item for item in state.found if item != entry)
                state = replace(state, found=(*found, entry)[-MAX_FOUND:])
    return turn if state is turn.state else replace(turn, state=state)


class Engine:
    """Drives one conversation step for any channel; built once per knowledge base."""

    def __init__(
        self, kb: KnowledgeBase, *, clock: Clock | None = None
    ) -> None:
        self.kb = kb
        self.texts = Texts(kb.texts)
        self.matcher = Matcher(kb)
        self.crisis = CrisisCheck.builtin(kb.crisis.phrases, kb.crisis.exceptions,
                                          kb.crisis.signals)
        self._intents = _Intents.builtin()
        self._follow_ups = follow_up.builtin_follow_ups()
        self._carer_support = self._service_meeting(CARER_NEED)
        topics = kb.gemeente.general_topics
        self._desk_words = tuple(fold(word) for word in topics.topics) if topics else ()
        self._client_support = kb.gemeente.clientondersteuning or self._service_meeting(
            SUPPORT_NEED)
        self.clock = clock or system_clock()

    def with_knowledge(self, kb: KnowledgeBase) -> Engine:
        """The same kind of engine, with the same clock, on another knowledge base."""
        return type(self)(kb, clock=self.clock)

    def now(self) -> dt.datetime:
        """Now, from the engine's clock (fixed in tests)."""
        return self.clock.utc()

    # -- entry point --

    def handle(self, state: State, event: Event, *, queue_ahead: int = 0) -> Turn:
        """One step: the crisis check first for free text, then commands, buttons or search.

        `queue_ahead` is how many requests wait for a meedenker; only the handoff uses it.
        """
        return self._numbers_in_view(remember_choices(self._step(state, event)))

    def _numbers_in_view(self, turn: Turn) -> Turn:
        """After a crisis screen every reply keeps 112, 113 and Veilig Thuis in view, until
        the resident starts over (issue #17): scrolling back must not be needed."""
        if not turn.state.urgent or not turn.replies or any(
                isinstance(effect, CrisisScreen) for effect in turn.effects):
            return turn
        line = self.texts.get("handoff_emergency", turn.state.lang)
        last = turn.replies[-1]
        if line in last.text:
            return turn
        kept = replace(last, text=f"{last.text}\n\n{line}")
        return replace(turn, replies=(*turn.replies[:-1], kept))

    def _step(self, state: State, event: Event) -> Turn:
        if isinstance(event, Start):
            return self._start(state, terminal=event.terminal)
        if isinstance(event, Text):
            return self._text(state, event.text)
        if isinstance(event, Choice):
            return self._choice(state, event.token)
        if isinstance(event, NotText):
            return self._not_text(state, event.kind)
        if isinstance(event, SharedContact):
            return self._not_text(state, "contact")
        return self._command(state, event.name)

    def understand(self, state: State, text: str) -> Understanding:
        """How the engine reads free text: crisis first, then steering words, then search."""
        crisis = self.crisis.check(text)
        if crisis.is_crisis:
            return Understanding(crisis, None, None)
        return self._question(state, text, crisis)

    def _question(
        self, state: State, text: str, crisis: CrisisResult = NO_CRISIS
    ) -> Understanding:
        """Steering words, then search (the crisis check has had its turn)."""
        intent = self._intents.of(text)
        if not fold(text):
            return Understanding(crisis, intent, None)
        if intent:
            return Understanding(crisis, intent, None)
        follow_up = self._follow_up_of(state, text)
        if follow_up:
            return Understanding(crisis, f"{FOLLOW_UP}{follow_up}", None)
        searched = text[:MAX_MATCH_CHARACTERS]
        asked = self.matcher.needs.read(searched)
        result = self.matcher.search(searched, allowed=self._allowed(state), asked=asked)
        best = result.best
        if (best is None or best.score < GEMEENTE_TOPIC_BELOW) and self._gemeente_topic(
                searched, asked):
            return Understanding(crisis, "gemeente_topic", None)
        return Understanding(crisis, None, self._with_generalist(state, asked, result))

    def _follow_up_of(self, state: State, text: str) -> str | None:
        """The fact a short question asks about the entry just shown, if it is one."""
        if not (state.found and state.at_result):
            return None
        asked = self._follow_ups.fact_of(text)
        if asked is None:
            return None
        fact, rest = asked
        if not self.matcher.topical(rest):  # "wat kost dat", "mag mijn dochter erbij zijn"
            return fact
        # "pgb kosten", "hoe laat vertrekt de trein": the other words ask something else,
        # unless they point to the entry just shown.
        best = self.matcher.search(rest, allowed=self._allowed(state)).best
        return fact if best is not None and f"{best.kind}:{best.id}" == state.found[-1] else None

    def _gemeente_topic(self, text: str, asked: dict[str, float]) -> bool:
        """An everyday gemeente matter (paspoort, afval): the gemeente's own desk answers it."""
        padded = f" {fold(text)} "
        if any(f" {word} " in padded for word in self._desk_words):
            return True
        total = sum(asked.values())
        desk = sum(w for need, w in asked.items()
                   if self.matcher.needs.needs[need].domain == GEMEENTE_DOMAIN)
        return total > 0 and desk / total >= GEMEENTE_TOPIC_SHARE

    def _with_generalist(self, state: State, asked: dict[str, float],
                         result: SearchResult) -> SearchResult:
        """Needs in several domains at once: the generalist second, as "one place for all".

        Not first: on the tuning gemeenten that lowered top-1 by 2 to 9 points, because the
        resident's main question usually has its own best answer.
        """
        generalist = self.kb.gemeente.generalist
        best = result.best
        if best is None or generalist is None:
            return result
        care = {need: w for need, w in asked.items()
                if self.matcher.needs.needs[need].domain != GEMEENTE_DOMAIN}
        if (result.ambiguous
                or any(m.id == generalist for m in result.matches[:3])
                or not self._allowed(state)("service", generalist)
                or len(self.matcher.needs.domains_of(care, least=DOMAIN_EVIDENCE))
                < SEVERAL_DOMAINS):
            return result
        second = Match("service", generalist, best.score, (SEVERAL_NEEDS,))
        return SearchResult((best, second, *result.matches[1:]), False)

    # -- events --

    def _start(self, state: State, *, terminal: bool = False) -> Turn:
        state = State(lang=state.lang, gemeente=state.gemeente, role=None)
        t = self.texts
        settings = self.kb.gemeente
        privacy = t.get("privacy_note_terminal", state.lang) if terminal else t.get(
            "privacy_note", state.lang, days=settings.privacy.retention_days,
            team_phone=settings.team.phone or "-")
        intro = [Reply(t.get("welcome", state.lang, name=settings.name)), Reply(privacy)]
        if self._needs_gemeente(state):
            state = replace(state, awaiting_gemeente=True)
            return Turn((*intro, self._gemeente_question(state)), state)
        state = replace(state, node=self.kb.tree.start)
        return Turn((*intro, self._node_reply(state)), state)

    def _text(self, state: State, text: str) -> Turn:
        if state.awaiting_gemeente and not self.crisis.check(text).is_crisis:
            chosen = self._gemeente_from_text(text)
            if chosen:
                return self._set_gemeente(state, chosen)
        written = written_in(text)
        if written is not None and written != state.lang:
            return self._switched(self._text(replace(state, lang=written), text))
        carer_words = self._intents.speaks_as_carer(text) if state.role is None else None
        if carer_words:
            state = replace(state, role="carer", cared_for=cared_for(carer_words))
        understanding = self.understand(state, text)
        crisis = understanding.crisis
        # A question in their own words; after worrying words only the rest (as `pending`):
        # crisis words are never kept (docs/privacy.md).
        words = (text if crisis.level == "none" else crisis.remainder).strip()
        if understanding.intent is None and fold(words) and (
                crisis.level == "none" or self.matcher.topical(words)):
            story = (*state.story, words[:MAX_STORY_CHARACTERS])[-MAX_STORY:]
            state = replace(state, story=story)
        held = replace(state, pending=crisis.remainder[:MAX_PENDING_CHARACTERS] or None,
                       worry=crisis.calls)
        if crisis.is_crisis:
            return self._crisis(held, crisis)
        if crisis.level == "possible":
            return self._check_in(held, crisis)
        return self._respond(replace(state, pending=None, worry=()), text, understanding)

    def _switched(self, turn: Turn) -> Turn:
        """A message in the other language gets its answer in that language, with one tap
        back."""
        *first, last = turn.replies
        back = self._language_option(turn.state)
        if all(option.token != back.token for option in last.options):
            last = replace(last, options=(*last.options, back))
        return replace(turn, replies=(*first, last),
                       effects=(*turn.effects, LanguageChosen(turn.state.lang)))

    def _respond(self, state: State, text: str, understanding: Understanding) -> Turn:
        """Answer a question: a steering word, a search result, or an honest "I don't know"."""
        if understanding.intent:
            return self._intent(state, understanding.intent)
        if understanding.result is None:
            # Letters the matcher cannot fold are another script (Arabic, Cyrillic, …).
            key = "other_script" if any(c.isalpha() for c in text) else "empty_text"
            return Turn((Reply(self.texts.get(key, state.lang), self._menu(state)),), state)
        return self._answer(state, text, understanding.result)

    def _choice(self, state: State, token: str) -> Turn:
        kind, _, rest = token.partition(":")
        handlers: dict[str, Callable[[State, str], Turn | None]] = {
            TREE_OPTION: self._tree_option,
            SERVICE: lambda s, r: self._show(s, "service", r),
            FAQ: lambda s, r: self._show(s, "faq", r),
            LANGUAGE: self._set_language,
            GEMEENTE: self._gemeente_option,
            BACK: lambda s, r: self._back(s),
            RESTART: lambda s, r: self._restart(s),
            SOMETHING_ELSE: lambda s, r: self._something_else(s),
            HANDOFF: lambda s, r: self._handoff(s),
            CONTINUE: lambda s, r: self._continue(s),
            MORE: self._more,
            CHECK_NO: lambda s, r: self._continue(s, notice="check_in_no"),
            CHECK_YES: lambda s, r: self._crisis(s, CrisisResult(
                "acute", rules=("check_in_yes",), calls=s.worry or CALLS)),
        }
        handler = handlers.get(kind)
        turn = handler(state, rest) if handler else None
        return turn or self._old_button(state)

    def _command(self, state: State, name: str) -> Turn:
        name = name.lower().lstrip("/")
        if name == "start":
            return self._start(state)
        intent = {
            "help": "help", "opnieuw": "restart", "terug": "back", "meedenker": "handoff",
            "taal": "language_toggle", "privacy": "privacy",
        }.get(name)
        return self._intent(state, intent) if intent else self._current(state)

    # -- intents --

    def _intent(self, state: State, intent: str) -> Turn:
        lang = state.lang
        if intent == "back":
            return self._back(state)
        if intent == "restart":
            return self._restart(state)
        if intent == "handoff":
            return self._handoff(state)
        if intent == "callback":
            return self._handoff(replace(state, wants_callback=True))
        if intent == "something_else":
            return self._something_else(state)
        if intent in ("language_en", "language_nl", "language_toggle"):
            target = {"language_en": "en", "language_nl": "nl"}.get(
                intent, "en" if lang == "nl" else "nl"
            )
            return self._set_language(state, target) or self._current(state)
        if intent == "privacy":
            text = self.texts.get("privacy", lang, days=self.kb.gemeente.privacy.retention_days,
                                  contact=self.kb.gemeente.privacy.contact)
            return Turn((Reply(text, self._menu(state)),), state)
        if intent.startswith(FOLLOW_UP) and state.found:
            text = follow_up.answer(self.kb, self.texts, state.found[-1],
                                    intent[len(FOLLOW_UP):], lang, self.now())
            return Turn((Reply(text, self._menu(state)),), state)
        if intent == "gemeente_topic":
            return Turn((Reply(self._desk_text(lang), self._menu(state)),), state)
        key = {"help": "help", "greeting": "greeting", "thanks": "thanks",
               "goodbye": "goodbye"}[intent]
        return Turn((Reply(self.texts.get(key, lang), self._menu(state)),), state)

    def _desk_text(self, lang: str) -> str:
        """Where everyday gemeente matters go: the gemeente's own desk."""
        topics = self.kb.gemeente.general_topics
        channel = topics.channel if topics else None
        ways = [way for way in (channel.phone if channel else None,
                                channel.website if channel else None) if way]
        if not ways:
            return self.texts.get("gemeente_topic_unknown", lang, name=self.kb.gemeente.name)
        return self.texts.get("gemeente_topic", lang, name=self.kb.gemeente.name,
                              how=self.texts.get("or_word", lang).join(ways))

    # -- the tree --

    def _tree_option(self, state: State, rest: str) -> Turn | None:
        node_id, _, index_text = rest.rpartition(":")
        node = self.kb.tree.nodes.get(node_id)
        if node is None or not index_text.isdigit() or int(index_text) >= len(node.options):
            return None
        option = node.options[int(index_text)]
        if option.role:
            state = replace(state, role=option.role)
        state = replace(state, trail=(*state.trail, option.label.get("nl"))[-MAX_TRAIL:])
        effects = (TopicChosen(node.topic),) if node.topic else ()
        if option.next:
            history = (*state.history, node_id) if option.next != node_id else state.history
            state = replace(state, node=option.next, history=history, at_result=False)
            return Turn((self._node_reply(state),), state, effects)
        if option.handoff:
            turn = self._handoff(replace(state, node=node_id))
            return replace(turn, effects=effects + turn.effects)
        turn = self._results(replace(state, node=node_id), option)
        return replace(turn, effects=effects + turn.effects)

    def _results(self, state: State, option: TreeOption) -> Turn:
        lang = state.lang
        replies: list[Reply] = []
        effects: list[Effect] = []
        allowed = self._allowed(state)
        for service_id in option.services or []:
            if allowed("service", service_id):
                replies.append(self._result_reply(state, "service", service_id))
                effects.append(Shown(f"service:{service_id}"))
        for faq_id in option.faq or []:
            replies.append(self._result_reply(state, "faq", faq_id))
            effects.append(Shown(f"faq:{faq_id}"))
        if not replies:
            text = self.texts.get("no_services_for_gemeente", lang, gemeente=state.gemeente or "")
            replies.append(Reply(text))
        state = replace(state, at_result=True)
        shown: list[tuple[Kind, str]] = [
            ("service" if e.entry.startswith("service:") else "faq", e.entry.partition(":")[2])
            for e in effects if isinstance(e, Shown)]
        beside, state = self._beside(state, shown)
        replies += beside
        replies.append(Reply(self.texts.get("what_next", lang), self._menu(state)))
        return Turn(tuple(replies), state, tuple(effects))

    def _service_meeting(self, need: str) -> str | None:
        """The service that meets a need most, if any does."""
        met = [(self.matcher.needs_met("service", sid).get(need, 0.0), sid)
               for sid in self.kb.services]
        best = max(met, default=(0.0, ""))
        return best[1] if best[0] > 0 else None

    def _beside(self, state: State, shown: list[tuple[Kind, str]],
                ) -> tuple[list[Reply], State]:
        """Lines under an answer: support for a carer, and once free cliëntondersteuning."""
        replies = self._for_carer(state, shown)
        support = self._client_support
        if (support is not None and not state.told_support
                and self._allowed(state)("service", support)
                and all(item_id != support and SUPPORT_NEED not in self._strong(kind, item_id)
                        and not (kind == "faq" and support in self.kb.faq[item_id].services)
                        for kind, item_id in shown)
                and any(RULES_NEEDS & self._strong(kind, item_id) for kind, item_id in shown)):
            name = self.kb.services[support].name.get(state.lang)
            replies.append(Reply(self.texts.get("client_support", state.lang),
                                 (Option(f"🤝 {name}", token(SERVICE, support)),)))
            state = replace(state, told_support=True)
        return replies, state

    def _strong(self, kind: Kind, item_id: str) -> set[str]:
        return {need for need, weight in self.matcher.needs_met(kind, item_id).items()
                if weight >= STRONG_NEED}

    def _for_carer(self, state: State, shown: list[tuple[Kind, str]]) -> list[Reply]:
        """A carer sees support for themselves beside the help for the one they care for."""
        support = self._carer_support
        if (state.role != "carer" or support is None
                or not self._allowed(state)("service", support)):
            return []
        needs = self.matcher.needs
        for kind, item_id in shown:
            if item_id == support or any(
                    needs.needs[need].domain == CARER_DOMAIN
                    for need in self.matcher.needs_met(kind, item_id)):
                return []  # the answer is about caring already
        name = self.kb.services[support].name.get(state.lang)
        text = (self.texts.get("carer_support_for", state.lang, who=state.cared_for)
                if state.cared_for else self.texts.get("carer_support", state.lang))
        return [Reply(text, (Option(f"🤝 {name}", token(SERVICE, support)),))]

    def _node_reply(self, state: State) -> Reply:
        node = self.kb.tree.nodes[state.node or self.kb.tree.start]
        lang = state.lang
        options = [
            Option(option.label.get(lang), token(TREE_OPTION, state.node, index))
            for index, option in enumerate(node.options)
        ]
        text = node.text.get(lang)
        if state.node == self.kb.tree.start and not state.history:
            text = f"{text}\n{self.texts.get('ask_anything', lang)}"
            options.append(self._language_option(state))
        return Reply(text, (*options, *self._extras(state)))

    def _extras(self, state: State) -> tuple[Option, ...]:
        """The standing buttons under a tree question."""
        return self._standing_options(state, under_question=True)

    def _topic_options(self, state: State) -> tuple[Option, ...]:
        """The tree's topics as buttons, then back and meedenker (no "opnieuw": it is here)."""
        node_id = self._topics_node()
        node = self.kb.tree.nodes[node_id]
        topics = [Option(option.label.get(state.lang), token(TREE_OPTION, node_id, index))
                  for index, option in enumerate(node.options)]
        standing = [o for o in self._menu(state) if o.token != RESTART]
        return (*topics, *standing)

    def _topics_node(self) -> str:
        """The first question that chooses a topic: past questions whose every answer leads
        to the same place (such as "voor wie zoek je hulp?")."""
        tree, node_id, seen = self.kb.tree, self.kb.tree.start, set()
        while node_id not in seen:
            seen.add(node_id)
            targets = {option.next for option in tree.nodes[node_id].options}
            only = targets.pop() if len(targets) == 1 else None  # every answer leads there
            if only is None:
                return node_id
            node_id = only
        return tree.start

    def _menu(self, state: State) -> tuple[Option, ...]:
        """The standing buttons after an answer: back, meedenker, start over."""
        return self._standing_options(state, under_question=False)

    def _standing_options(self, state: State, *, under_question: bool) -> tuple[Option, ...]:
        # Under a question "iets anders" keeps nobody stuck; after an answer it is not needed.
        t, lang = self.texts, state.lang
        moved = bool(state.history or state.at_result)
        options = [Option(t.get("button_back", lang), BACK)] if moved else []
        if under_question:
            options.append(Option(t.get("button_something_else", lang), SOMETHING_ELSE))
        options.append(Option(t.get("button_meedenker", lang), HANDOFF))
        if moved or not under_question:
            options.append(Option(t.get("button_restart", lang), RESTART))
        return tuple(options)

    def _language_option(self, state: State) -> Option:
        other = "en" if state.lang == "nl" else "nl"
        return Option(self.texts.get("button_language", state.lang), token(LANGUAGE, other))

    def _back(self, state: State) -> Turn:
        if state.at_result and state.node:
            state = replace(state, at_result=False)
        elif state.history:
            state = replace(state, node=state.history[-1], history=state.history[:-1])
        else:
            state = replace(state, node=self.kb.tree.start)
        return Turn((self._node_reply(state),), state)

    def _restart(self, state: State) -> Turn:
        state = replace(state, node=self.kb.tree.start, history=(), at_result=False,
                        topic=None, trail=(), found=(), urgent=False, story=(),
                        share_story=False, told_support=False)  # a new story
        if self._needs_gemeente(state):
            state = replace(state, awaiting_gemeente=True)
            return Turn((self._gemeente_question(state),), state)
        return Turn((self._node_reply(state),), state)

    def _current(self, state: State) -> Turn:
        if state.awaiting_gemeente:
            return Turn((self._gemeente_question(state),), state)
        if state.node is None or state.node not in self.kb.tree.nodes:
            state = replace(state, node=self.kb.tree.start, history=())
        state = replace(state, at_result=False)
        return Turn((self._node_reply(state),), state)

    def _old_button(self, state: State) -> Turn:
        turn = self._current(state)
        notice = Reply(self.texts.get("old_button", state.lang))
        return replace(turn, replies=(notice, *turn.replies))

    def _not_text(self, state: State, kind: str) -> Turn:
        key = "voice_message" if kind in ("voice", "video_note", "audio") else "not_text"
        return Turn((Reply(self.texts.get(key, state.lang), self._menu(state)),), state)

    def _something_else(self, state: State) -> Turn:
        text = self.texts.get("something_else", state.lang)
        return Turn((Reply(text, self._menu(state)),), state)

    # -- free-text answers --

    def _answer(self, state: State, text: str, result: SearchResult) -> Turn:
        lang = state.lang
        if not result.matches:
            # Never a dead end: someone who gave up typing can still tap a topic (issue #17).
            return Turn(
                (Reply(self._not_understood_text(lang), self._topic_options(state)),),
                state,
                (NotUnderstood(text),),
            )
        if result.ambiguous:
            options = tuple(self._match_option(m.kind, m.id, lang) for m in result.matches[:3])
            extras = (Option(self.texts.get("button_something_else", lang), SOMETHING_ELSE),
                      Option(self.texts.get("button_meedenker", lang), HANDOFF))
            return Turn((Reply(self.texts.get("did_you_mean", lang), options + extras),), state)
        best = result.matches[0]
        state = replace(state, at_result=True)
        replies = [self._result_reply(state, best.kind, best.id)]
        others = tuple(self._match_option(m.kind, m.id, lang) for m in result.matches[1:4])
        several = next((m for m in result.matches[1:2] if SEVERAL_NEEDS in m.matched), None)
        if several is not None:  # one place for all of it, said in one sentence
            replies.append(Reply(self.texts.get(
                "generalist_why", lang, name=self.kb.services[several.id].name.get(lang)),
                others))
        elif others:
            replies.append(Reply(self.texts.get("also_relevant", lang), others))
        beside, state = self._beside(state, [(best.kind, best.id)])
        replies += beside
        replies.append(Reply(self.texts.get("what_next", lang), self._menu(state)))
        return Turn(tuple(replies), state, (Shown(f"{best.kind}:{best.id}"),))

    def _show(self, state: State, kind: Kind, item_id: str) -> Turn | None:
        exists = item_id in (self.kb.services if kind == "service" else self.kb.faq)
        if not exists or not self._allowed(state)(kind, item_id):
            return None
        state = replace(state, at_result=True)
        beside, state = self._beside(state, [(kind, item_id)])
        replies = (self._result_reply(state, kind, item_id), *beside,
                   Reply(self.texts.get("what_next", state.lang), self._menu(state)))
        return Turn(replies, state, (Shown(f"{kind}:{item_id}"),))

    def _result_reply(self, state: State, kind: Kind, item_id: str) -> Reply:
        """Short first, more on request: what it is, the first step, and the contact."""
        lang = state.lang
        if kind == "service":
            service = self.kb.services[item_id]
            more = self._more_option(lang, service.name.get(lang), kind, item_id)
            return Reply(service_short(service, self.texts, lang, self.now()), (more,))
        entry = self.kb.faq[item_id]
        text, has_more = faq_short(entry, self.texts, lang)
        more_options = (self._more_option(lang, entry.question.get(lang), kind, item_id),
                        ) if has_more else ()
        return Reply(text, (*more_options, *self._related(state, item_id)))

    def _more_option(self, lang: str, name: str, kind: Kind, item_id: str) -> Option:
        short = name if len(name) <= MORE_LABEL else f"{name[:MORE_LABEL - 1]}…"
        return Option(self.texts.get("button_more", lang, name=short),
                      token(MORE, kind, item_id))

    def _more(self, state: State, rest: str) -> Turn | None:
        """"Vertel me meer": the whole card or explanation."""
        named, _, item_id = rest.partition(":")
        kind: Kind = "service" if named == "service" else "faq"
        if named != kind or not self._allowed(state)(kind, item_id) or (
                item_id not in (self.kb.services if kind == "service" else self.kb.faq)):
            return None
        full = (Reply(self._card(item_id, state.lang)) if kind == "service"
                else self._faq_reply(state, item_id))
        state = replace(state, at_result=True)
        return Turn((full, Reply(self.texts.get("what_next", state.lang), self._menu(state))),
                    state)

    def _related(self, state: State, faq_id: str) -> tuple[Option, ...]:
        allowed = self._allowed(state)
        return tuple(
            Option(f"📍 {self.kb.services[sid].name.get(state.lang)}", token(SERVICE, sid))
            for sid in self.kb.faq[faq_id].services
            if allowed("service", sid)
        )

    def _faq_reply(self, state: State, faq_id: str) -> Reply:
        entry = self.kb.faq[faq_id]
        return Reply(faq_answer(entry, self.texts, state.lang), self._related(state, faq_id))

    def _card(self, service_id: str, lang: str) -> str:
        return service_card(self.kb.services[service_id], self.texts, lang, self.now())

    def _match_option(self, kind: Kind, item_id: str, lang: str) -> Option:
        if kind == "service":
            return Option(f"📍 {self.kb.services[item_id].name.get(lang)}", token(SERVICE, item_id))
        return Option(f"❓ {self.kb.faq[item_id].question.get(lang)}", token(FAQ, item_id))

    def _not_understood_text(self, lang: str) -> str:
        team = self.kb.gemeente.team
        return self.texts.get("not_understood", lang, team_name=team.name,
                              team_phone=team.phone or "-")

    # -- safety and people --

    def _crisis(self, state: State, crisis: CrisisResult) -> Turn:
        """The crisis screen: 112, 113 and Veilig Thuis at once, the most fitting first."""
        text = self.crisis_text(state.lang, crisis)
        options = (Option(self.texts.get("button_meedenker", state.lang), HANDOFF),
                   Option(self.texts.get("button_continue", state.lang), CONTINUE))
        return Turn((Reply(text, options),), state, (CrisisScreen(crisis.kinds),))

    def crisis_text(self, lang: str, crisis: CrisisResult) -> str:
        """The crisis reply, with the numbers in the order the signals ask for."""
        post = self.kb.gemeente.huisartsenpost
        doctor = f"{post.name} {post.phone}" if post.phone else self.texts.get("own_doctor", lang)
        lines = [self.texts.get(f"crisis_{call}", lang) for call in crisis.calls or CALLS]
        lines.append(self.texts.get("crisis_doctor", lang, huisartsenpost=doctor))
        lines.append(self.texts.get("crisis_luisterlijn", lang))
        return self.texts.get("crisis", lang, numbers="\n".join(lines))

    def _check_in(self, state: State, crisis: CrisisResult) -> Turn:
        """Worrying words without a clear danger: ask, warmly, and keep the question."""
        key = "check_in_danger" if crisis.about_danger else "check_in"
        lang = state.lang
        options = (Option(self.texts.get("button_check_yes", lang), CHECK_YES),
                   Option(self.texts.get("button_check_no", lang), CHECK_NO),
                   Option(self.texts.get("button_talk", lang), HANDOFF))
        return Turn((Reply(self.texts.get(key, lang), options),), state,
                    (CheckIn(crisis.kinds),))

    def _continue(self, state: State, *, notice: str | None = None) -> Turn:
        """Go on with the question the resident typed before the crisis screen or check-in."""
        rest, state = state.pending, replace(state, pending=None, worry=())
        understanding = self._question(state, rest or "")
        if understanding.intent is None and not understanding.offered:
            # Nothing left to look up: no "I don't know", and nothing kept as unanswered.
            key = "check_in_no_question" if notice else "continue_no_question"
            reply = Reply(self.texts.get(key, state.lang), self._menu(state))
            return Turn((reply,), state)
        turn = self._respond(state, rest or "", understanding)
        if notice == "check_in_no":
            # Someone who sounded at the end of their rope: warmer, shorter, a person first.
            lang = state.lang
            person = Reply(self.texts.get("gentle_person", lang),
                           (Option(self.texts.get("button_meedenker", lang), HANDOFF),))
            first, *rest_replies = turn.replies
            last = rest_replies[-1:] if rest_replies else []
            # Lines beside the answer are left out here, so they count as not yet shown.
            return replace(turn, replies=(Reply(self.texts.get(notice, lang)), person, first,
                                          *last),
                           state=replace(turn.state, told_support=state.told_support))
        if notice:
            turn = replace(turn, replies=(Reply(self.texts.get(notice, state.lang)), *turn.replies))
        return turn

    def _handoff(self, state: State) -> Turn:
        team = self.kb.gemeente.team
        lang = state.lang
        state = replace(state, wants_callback=False)  # phone-only: the number is the callback
        text = self.texts.get("handoff_phone", lang, team_name=team.name,
                              team_phone=team.phone or "-", team_hours=self.team_status(lang))
        if not self._team_open_now():
            # Nobody answers now: the numbers that are always open stay on the screen (issue
            # #17). After worrying words `_numbers_in_view` adds them anyway.
            text = f"{text}\n\n{self.texts.get('handoff_emergency', lang)}"
        return Turn((Reply(text, self._menu(state)),), state, (HandoffAsked(),))

    def _team_open_now(self) -> bool:
        hours = self.kb.gemeente.team.hours
        return hours is not None and opening_status(hours, self.now()).open_now

    def team_status(self, lang: str) -> str:
        """'Ze zijn nu bereikbaar.' or when the meedenkers team opens next."""
        if self._team_open_now():
            return self.texts.get("team_open_now", lang)
        when = self.team_opens(lang)
        return self.texts.get("team_opens", lang, when=when) if when else ""

    def team_opens(self, lang: str) -> str | None:
        """When the team opens next, e.g. 'maandag 09:00'; None when open now or unknown."""
        hours = self.kb.gemeente.team.hours
        if hours is None:
            return None
        now = self.now()
        status = opening_status(hours, now)
        if status.open_now or status.next_open is None:
            return None
        return moment(status.next_open, self.texts, lang, now)

    # -- language and gemeente --

    def _set_language(self, state: State, lang: str) -> Turn | None:
        if lang not in LANGUAGES:
            return None
        state = replace(state, lang=lang)
        current = self._current(state)
        notice = Reply(self.texts.get("language_set", lang))
        return Turn((notice, *current.replies), current.state, (LanguageChosen(lang),))

    def _needs_gemeente(self, state: State) -> bool:
        return len(self.kb.gemeente.gemeenten) > 1 and state.gemeente is None

    def _gemeente_question(self, state: State) -> Reply:
        options = tuple(Option(name, token(GEMEENTE, index))
                        for index, name in enumerate(self.kb.gemeente.gemeenten))
        return Reply(self.texts.get("ask_gemeente", state.lang),
                     (*options, self._language_option(state)))

    def _gemeente_option(self, state: State, rest: str) -> Turn | None:
        names = self.kb.gemeente.gemeenten
        if not rest.isdigit() or int(rest) >= len(names):
            return None
        return self._set_gemeente(state, names[int(rest)])

    def _gemeente_from_text(self, text: str) -> str | None:
        folded = fold(text)
        for name in self.kb.gemeente.gemeenten:
            if fold(name) == folded or f" {fold(name)} " in f" {folded} ":
                return name
        return None

    def _set_gemeente(self, state: State, name: str) -> Turn:
        state = replace(state, gemeente=name, awaiting_gemeente=False,
                        node=self.kb.tree.start, history=(), at_result=False)
        notice = Reply(self.texts.get("gemeente_set", state.lang, gemeente=name))
        return Turn((notice, self._node_reply(state)), state)

    def _allowed(self, state: State) -> Callable[[Kind, str], bool]:
        gemeente = state.gemeente.casefold() if state.gemeente else None

        def allowed(kind: Kind, item_id: str) -> bool:
            if kind != "service" or gemeente is None:
                return True
            served = self.kb.services[item_id].gemeenten
            return not served or gemeente in {name.casefold() for name in served}

        return allowed
