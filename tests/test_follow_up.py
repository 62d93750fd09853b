"""Follow-up questions about the entry just shown (issue 16): answered from its fields,
honestly when the field is missing, and still after a restart (the state is stored)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.clock import AMSTERDAM, FrozenClock
from bot.engine.conversation import Engine, State, Text
from bot.kb.loader import load_knowledge_base
from tests.kbtools import copy_kb, edit

MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "keywords: [schulden, rekeningen, deurwaarder]",
         "keywords: [schulden, rekeningen, deurwaarder]\n    cost: Gratis.")
    return Engine(load_knowledge_base(kb), clock=FrozenClock(MONDAY_10))


def shown(engine: Engine) -> State:
    """A resident who just got the debt-help card, stored and read back as after a restart."""
    state = engine.handle(State(), Text("ik heb schulden")).state
    assert state.found[-1] == "service:schuldhulp"
    return State.from_json(state.to_json())


@pytest.mark.parametrize(("question", "fact"), [
    ("wat kost dat?", "Gratis."),
    ("wanneer zijn ze open", "Nu open, tot 12:00"),
    ("telefoonnummer?", "0475 538 888"),
    ("how much does it cost", "Gratis."),
])
def test_a_follow_up_is_answered_from_the_entry_just_shown(
        engine: Engine, question: str, fact: str) -> None:
    turn = engine.handle(shown(engine), Text(question))
    assert turn.replies[0].text.startswith("Schuldhulp:")
    assert fact in turn.replies[0].text
    assert turn.state.found[-1] == "service:schuldhulp"  # a second follow-up works too


def test_a_missing_fact_is_said_honestly_with_the_way_to_ask(engine: Engine) -> None:
    turn = engine.handle(shown(engine), Text("mag mijn dochter erbij zijn"))
    assert turn.replies[0].text == (
        "Dat weet ik niet van Schuldhulp. Bel Schuldhulp en vraag het: 0475 538 888.")


def test_a_new_question_with_a_cue_word_is_searched_not_followed_up(engine: Engine) -> None:
    turn = engine.handle(shown(engine), Text("wat kost mantelzorg"))
    assert "Mantelzorgsteunpunt" in turn.replies[0].text


def test_without_anything_shown_a_cue_word_is_an_ordinary_question(engine: Engine) -> None:
    understanding = engine.understand(State(), "wat kost dat")
    assert understanding.intent is None
