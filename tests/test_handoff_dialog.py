"""The handoff dialog as a pure engine: no Telegram, no database."""

from __future__ import annotations

import pytest
from test_handoff import handoff_engine

from bot.engine.conversation import Choice, Command, NotText, SharedContact, State, Text
from bot.handoff.dialog import RequestDraft


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
    (effect,) = [e for e in turn.effects if e.kind == "open_request"]
    draft = RequestDraft.from_json(effect.detail)
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
    assert [(e.kind, e.detail) for e in shared.effects] == [("callback", "+31612345678")]
    done = engine.handle(shared.state, Choice("k:m:avond"))
    assert [(e.kind, e.detail) for e in done.effects] == [("callback_moment", "avond")]
    assert done.replies[0].remove_keyboard and done.state.handoff == "connected"


def test_walking_away_from_consent_is_fine() -> None:
    engine = handoff_engine()
    consent = engine.handle(State(), Command("meedenker")).state
    answer = engine.handle(consent, Text("schulden"))
    assert answer.state.handoff is None and answer.replies[0].text.startswith("📍 Schuldhulp")
    assert not any(e.kind == "open_request" for e in answer.effects)
