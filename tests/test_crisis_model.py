"""The crisis check's second reader: a check-in for worrying wording the rules missed, never
the crisis screen, and never without a worrying signal."""

from __future__ import annotations

import pytest

from bot.engine.callbacks import CHECK_NO, CHECK_YES
from bot.engine.conversation import Choice, Engine, State, Text
from bot.engine.crisis import CrisisCheck, builtin_data
from bot.engine.crisis_model import CrisisModel, features
from bot.kb.loader import load_knowledge_base
from tests.kbtools import MINIMAL


def always(score: float) -> CrisisModel:
    """A model that gives every message the same score (only its bias counts)."""
    bias = {1.0: 30.0, 0.0: -30.0}[score]
    return CrisisModel(bias, {}, threshold=0.7)


def test_the_model_raises_only_messages_with_a_worrying_signal_and_only_to_the_check_in() -> None:
    check = CrisisCheck(builtin_data(), model=always(1.0))
    plain = check.check("wordt het morgen mooi weer in Roermond")
    assert plain.level == "none"  # no worrying signal: whatever the model says
    lifted = check.check("mijn vader heeft een mes gekocht")  # a weapon, no rule fires
    assert lifted.level == "possible"
    assert lifted.signals[0] == "model" and "weapon" in lifted.signals
    assert lifted.calls[0] == "113"
    acute = check.check("ik wil dood")
    assert acute.level == "acute" and "model" not in acute.signals  # the rules decide


def test_a_model_that_sees_nothing_adds_nothing() -> None:
    check = CrisisCheck(builtin_data(), model=always(0.0))
    assert check.check("mijn vader heeft een mes gekocht").level == "none"


def test_the_shipped_model_scores_its_features_in_the_open() -> None:
    model = CrisisModel.builtin()
    assert 0.5 <= model.threshold < 1
    found = features(["ik", "wil", "niet", "meer"])
    assert {"w:ik", "b:wil_niet", "c:<wi", "c:meer>"} <= found
    assert any(name.startswith("c:") for name in model.weights)  # letter groups: typos
    calm, worried = model.score(["hoe", "vraag", "ik", "huishoudelijke", "hulp", "aan"]), \
        model.score(["ik", "zie", "geen", "uitweg", "meer", "en", "heb", "pillen", "gespaard"])
    assert calm < model.threshold <= worried


@pytest.mark.parametrize("answer", [CHECK_NO, CHECK_YES])
def test_a_model_check_in_goes_on_like_any_other(answer: str) -> None:
    engine = Engine(load_knowledge_base(MINIMAL))
    engine.crisis = CrisisCheck(builtin_data(), model=always(1.0))
    asked = engine.handle(State(node="onderwerp", history=("begin",)),
                          Text("mijn vader heeft een mes gekocht, ik heb schulden"))
    assert "Denk je erover om jezelf iets aan te doen?" in asked.replies[0].text
    after = engine.handle(asked.state, Choice(answer))
    text = "\n".join(reply.text for reply in after.replies)
    if answer == CHECK_YES:
        assert "112" in text and "0800-0113" in text and "0800-2000" in text
    else:
        assert "Schuldhulp" in text  # the question typed before the check-in is answered
