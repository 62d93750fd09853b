"""The handoff dialog as a pure engine: no Telegram, no database."""

from __future__ import annotations

import pytest
from test_handoff import handoff_engine

from bot.engine.conversation import Choice, Command, NotText, SharedContact, State, Text
from bot.handoff.effects import Callback, CallbackMoment, OpenRequest, RequestDraft


@pytest.mark.parametrize("text", ["ik wil iemand spreken", "kan ik een mens spreken",
                                  "I want to talk to a person"])
def test_free_text_asks_for_consent_first(text: str) -> None:
    turn = handoff_engine().handle(State(), Text(text))
    assert turn.state.handoff == "consent"
    assert "Dit geef ik door:" in turn.replies[0].text or "This is what" in turn.replies[0].text
    kinds = [e.kind for e in turn.effects]
    assert kinds == ["handoff", *(["language"] if text.startswith("I ") else [])]  # not opened


def test_yes_opens_a_request_with_exactly_what_was_shown() -> None:
    engine = handoff_engine()
    state = engine.handle(State(), Choice("o:begin:1")).state
    state = engine.handle(state, Choice("o:onderwerp:0")).state  # Schuldhulp is shown
    state = engine.handle(state, Choice("h")).state
    consent = engine.handle(state, Choice("k:msg"))
    state = engine.handle(consent.state, Text("Ik heb 3 maanden huurachterstand")).state
    turn = engine.handle(state, Choice("k:yes"), queue_ahead=2)
    (effect,) = [e for e in turn.effects if isinstance(e, OpenRequest)]
    draft = effect.draft
    assert RequestDraft.from_json(draft.to_json()) == draft  # stored with the request as JSON
    assert draft.answers == ("Voor iemand anders", "Geld")
    assert draft.found == ("Schuldhulp",) and draft.topic == "algemeen"
    assert draft.message == "Ik heb 3 maanden huurachterstand" and not draft.share_name
    assert "Er zijn 2 mensen voor je." in turn.replies[0].text
    assert turn.state.handoff == "connected"


def test_while_connected_the_bot_is_silent_but_crisis_and_stop_work() -> None:
    engine = handoff_engine()
    connected = State(handoff="connected", request_id=7)
    quiet = engine.handle(connected, Text("hoe gaat het nu verder"))
    assert quiet.replies == () and [e.kind for e in quiet.effects] == ["relay"]
    photo = engine.handle(connected, NotText("photo"))
    assert photo.replies == () and [e.kind for e in photo.effects] == ["relay"]
    crisis = engine.handle(connected, Text("ik wil dood"))
    assert "113" in crisis.replies[0].text
    assert {e.kind for e in crisis.effects} == {"crisis", "relay"}
    stop = engine.handle(connected, Text("stop gesprek"))
    assert stop.state.handoff == "rating"
    assert [e.kind for e in stop.effects] == ["close_request"]
    menu = engine.handle(connected, Command("opnieuw"))
    assert menu.state.handoff == "connected" and menu.effects == ()


def test_callback_needs_the_residents_own_number_and_a_moment() -> None:
    engine = handoff_engine()
    state = State(handoff="connected", request_id=3)
    ask = engine.handle(state, Choice("k:cb"))
    assert ask.replies[0].contact_button == "📱 Deel mijn nummer"
    typed = engine.handle(ask.state, Text("0612345678"))
    assert typed.state.handoff == "callback_phone" and typed.effects == ()
    shared = engine.handle(ask.state, SharedContact("+31612345678"))
    assert shared.effects == (Callback("+31612345678"),)
    done = engine.handle(shared.state, Choice("k:m:avond"))
    assert done.effects == (CallbackMoment("avond"),)
    assert done.replies[0].remove_keyboard and done.state.handoff == "connected"


def test_walking_away_from_consent_is_fine() -> None:
    engine = handoff_engine()
    consent = engine.handle(State(), Command("meedenker")).state
    answer = engine.handle(consent, Text("schulden"))
    assert answer.state.handoff is None and answer.replies[0].text.startswith("📍 Schuldhulp")
    assert not any(e.kind == "open_request" for e in answer.effects)


def test_the_residents_own_words_travel_only_when_ticked_and_exactly_as_shown() -> None:
    """Issue 17: the last 3 questions are offered on the consent screen, not shared by
    default; ticked, they are listed in full and sent exactly so; then forgotten."""
    engine = handoff_engine()
    state = State()
    for text in ("ik heb schulden", "mijn moeder heeft dementie",
                 "en ik slaap slecht van de zorgen", "wat is de wmo"):
        state = engine.handle(state, Text(text)).state
    assert state.story == ("mijn moeder heeft dementie", "en ik slaap slecht van de zorgen",
                           "wat is de wmo")  # the last three; steering words are not kept
    consent = engine.handle(state, Text("ik wil iemand spreken"))
    assert consent.state.story == state.story
    assert "Je eigen woorden (3 berichten): niet" in consent.replies[0].text
    assert "mijn moeder heeft dementie" not in consent.replies[0].text
    assert "k:story" in [o.token for o in consent.replies[0].options]
    not_ticked = engine.handle(consent.state, Choice("k:yes"))
    (effect,) = [e for e in not_ticked.effects if isinstance(e, OpenRequest)]
    assert effect.draft.story == ()
    ticked = engine.handle(consent.state, Choice("k:story"))
    screen = ticked.replies[0].text
    for line in state.story:
        assert f"“{line}”" in screen
    assert "🙈 Mijn woorden toch niet" in [o.label for o in ticked.replies[0].options]
    opened = engine.handle(ticked.state, Choice("k:yes"))
    (effect,) = [e for e in opened.effects if isinstance(e, OpenRequest)]
    assert effect.draft.story == state.story
    assert opened.state.story == () and not opened.state.share_story


def test_without_own_words_the_consent_screen_offers_none() -> None:
    consent = handoff_engine().handle(State(), Choice("h"))
    assert "k:story" not in [o.token for o in consent.replies[0].options]
    assert "eigen woorden" not in consent.replies[0].text


def test_bel_me_opens_the_callback_flow_after_consent() -> None:
    engine = handoff_engine()
    consent = engine.handle(State(), Text("kunt u mij bellen?"))
    assert consent.state.handoff == "consent" and consent.state.wants_callback
    assert "• Je wilt gebeld worden" in consent.replies[0].text
    opened = engine.handle(consent.state, Choice("k:yes"))
    assert [e.kind for e in opened.effects] == ["open_request"]
    assert opened.state.handoff == "callback_phone" and not opened.state.wants_callback
    assert opened.replies[-1].contact_button  # "share my number", as in the callback flow
    cancelled = engine.handle(engine.handle(State(), Text("bel me")).state, Choice("k:no"))
    assert not cancelled.state.wants_callback


@pytest.mark.parametrize("text", ["stop", "doei", "dat was het"])
def test_stop_and_goodbye_end_politely(text: str) -> None:
    # "klaar" alone is not here: the crisis check, which runs first, reads it as possible
    # exhaustion ("ik ben er klaar mee") and asks; that check was left unchanged.
    engine = handoff_engine()
    turn = engine.handle(State(), Text(text))
    assert turn.replies[0].text == engine.texts.get("goodbye", "nl")
    assert "h" in [o.token for o in turn.replies[0].options]  # a person stays within reach


def test_walking_away_from_consent_forgets_the_callback_wish_and_the_tick() -> None:
    engine = handoff_engine()
    state = engine.handle(State(), Text("ik heb schulden")).state
    consent = engine.handle(state, Text("bel me"))
    ticked = engine.handle(consent.state, Choice("k:story")).state
    assert ticked.wants_callback and ticked.share_story
    away = engine.handle(ticked, Text("wat is de wmo")).state
    assert not away.wants_callback and not away.share_story and away.handoff is None


def test_worrying_words_never_enter_the_story() -> None:
    engine = handoff_engine()
    state = engine.handle(State(), Text("ik zit er helemaal doorheen, ik heb schulden")).state
    assert state.story and "doorheen" not in " ".join(state.story)
    assert "schulden" in state.story[-1]
    screen = engine.handle(State(), Text("ik wil er niet meer zijn")).state
    assert screen.story == ()


def test_a_long_story_still_fits_on_one_request_card() -> None:
    import json

    from bot.handoff.staff import MAX_CARD, request_card
    from bot.storage import Request

    words = "😢 " * 499 + "einde"
    shared = {"topic": "algemeen", "answers": [], "found": [], "lang": "nl", "gemeente": "X",
              "message": "m" * 1000, "share_name": False, "story": [words] * 3}
    request = Request(id=1, chat_id=5, status="open", urgent=0, shared=json.dumps(shared),
                      name=None, callback_phone=None, callback_moment=None, created_at=0.0,
                      claimed_at=None, closed_at=None, claimed_by=None, claimed_name=None,
                      thread_id=None, card_message_id=None, remind_at=None, rating=None,
                      remark=None)
    card = request_card(request, 60.0, handoff_engine().texts)
    assert len(card.encode("utf-16-le")) // 2 <= MAX_CARD
    assert "m" * 1000 in card and card.splitlines()[-1]  # the rest of the card stays whole
