"""The crisis check's second reader: a check-in for worrying wording the rules missed, the
screen only after a worrying signal, and a check-in instead of an alarm it finds very
unlikely."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.callbacks import CHECK_NO, CHECK_YES
from bot.engine.conversation import Choice, Engine, State, Text
from bot.engine.crisis import CrisisCheck, builtin_data
from bot.engine.crisis_model import NEVER, CrisisModel, Head, Thresholds, features
from bot.kb.loader import load_knowledge_base
from tests.kbtools import MINIMAL


def always(worry: float, acute: float = 0.5, *, alone: float = NEVER) -> CrisisModel:
    """A model whose heads give every message the same score (only their bias counts).

    An acute score of 0.5 changes nothing: below the screen, above the doubt."""
    def head(score: float) -> Head:
        return Head({1.0: 30.0, 0.5: 0.0, 0.0: -30.0}[score], {})
    return CrisisModel(head(worry), head(acute), Thresholds(
        check_in_after_signal=0.6, check_in_alone=alone, screen=0.7, keep_screen=0.1))


def test_the_model_raises_a_message_to_the_check_in_only_after_a_worrying_signal() -> None:
    check = CrisisCheck(builtin_data(), model=always(1.0))
    plain = check.check("wordt het morgen mooi weer in Roermond en Herkenbosch")
    assert plain.level == "none"  # no worrying signal, and no threshold for that: none
    lifted = check.check("mijn vader heeft een mes gekocht")  # a weapon, no rule fires
    assert lifted.level == "possible"
    assert lifted.signals[0] == "model" and "weapon" in lifted.signals
    assert lifted.calls[0] == "113"  # the first rule naming a weapon is about oneself
    acute = check.check("ik wil dood")
    assert acute.level == "acute" and "model" not in acute.signals  # the rules decide


def test_without_any_signal_only_near_certainty_gives_the_check_in_and_never_the_screen() -> None:
    check = CrisisCheck(builtin_data(), model=always(1.0, acute=1.0, alone=0.95))
    plain = check.check("wordt het morgen mooi weer in Roermond en Herkenbosch")
    assert plain.level == "possible" and plain.signals == ("model",)
    assert plain.calls[0] == "113"
    assert check.check("goedemorgen, ik heb een vraag").level == "none"  # too short to judge


def test_a_sure_acute_head_raises_a_check_in_to_the_screen() -> None:
    rules = CrisisCheck(builtin_data()).check("ik zie het niet meer zitten")
    assert rules.level == "possible"
    raised = CrisisCheck(builtin_data(), model=always(1.0, acute=1.0)).check(
        "ik zie het niet meer zitten")
    assert raised.level == "acute" and raised.signals[-1] == "model"
    assert raised.calls == rules.calls  # the rules still choose the numbers
    weapon = CrisisCheck(builtin_data(), model=always(1.0, acute=1.0)).check(
        "mijn vader heeft een mes gekocht")
    assert weapon.level == "acute"  # a worrying signal and a sure head: the screen


def test_an_alarm_the_acute_head_finds_very_unlikely_becomes_the_check_in() -> None:
    doubting = CrisisCheck(builtin_data(), model=always(1.0, acute=0.0))
    doubted = doubting.check("ik wil dood, ik heb alles geprobeerd en niemand helpt")
    assert doubted.level == "possible" and doubted.signals[-1] == "model_doubt"
    assert doubted.calls[0] == "113"  # the check-in asks about oneself
    assert doubting.check("ik wil dood").level == "acute"  # too short to doubt: plain words
    own = CrisisCheck(own_data(["de brug bij de markt"]), model=always(1.0, acute=0.0))
    kept = own.check("ik sta op de brug bij de markt")
    assert kept.level == "acute"  # the gemeente's own words are never doubted


def own_data(phrases: list[str]) -> dict[str, Any]:
    """The builtin data with a gemeente's own crisis phrases, as CrisisCheck.builtin adds them."""
    data = builtin_data()
    data["signals"]["gemeente"] = phrases
    data["rules"].append({"name": "gemeente", "all": ["gemeente"], "level": "acute",
                          "call": "112"})
    return data


def test_a_model_that_sees_nothing_adds_nothing() -> None:
    check = CrisisCheck(builtin_data(), model=always(0.0, acute=0.0))
    assert check.check("mijn vader heeft een mes gekocht").level == "none"
    # keep_screen doubts the rules' alarm when the acute head is 0.0, so an alarm in a
    # longer message drops to the check-in, never lower
    assert check.check("ik wil dood, ik heb alles geprobeerd en niemand helpt").level == \
        "possible"


def test_the_shipped_model_scores_its_features_in_the_open() -> None:
    model = CrisisModel.builtin()
    limits = model.thresholds
    assert 0.5 <= limits.check_in_after_signal < limits.check_in_alone
    assert limits.keep_screen < 0.5 <= limits.screen < 1
    found = features(["ik", "wil", "niet", "meer"])
    assert {"w:ik", "b:wil_niet", "c:<wi", "c:meer>"} <= found
    assert any(name.startswith("c:") for name in model.worry.weights)  # letter groups: typos
    calm = model.scores(["hoe", "vraag", "ik", "huishoudelijke", "hulp", "aan"])
    worried = model.scores(["ik", "zie", "geen", "uitweg", "meer", "en", "heb", "pillen",
                            "gespaard"])
    assert calm.worry < limits.check_in_after_signal <= worried.worry
    assert calm.acute < limits.keep_screen < worried.acute


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
