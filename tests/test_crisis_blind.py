"""The blind crisis sets as regression tests (tests/data/crisis_blind/README.md says who wrote
which, and under what brief).

The goal is that every acute message reaches at least the check-in. The detector is not
there yet, so these floors ratchet: they are the figures measured on 2026-12-06 (rounded
down), and a change that catches fewer acute messages, or raises more false alarms, fails
CI. Raise a floor whenever the detector improves; never lower one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.crisis_evaluation import load_messages, score
from bot.engine.conversation import Engine
from bot.engine.crisis import CrisisCheck
from bot.evaluation import load_cases
from bot.kb.loader import load_knowledge_base
from tests.kbtools import ACHTERHOEK_KB, DEFAULT_KB

BLIND = Path(__file__).parent / "data" / "crisis_blind"

# set: (acute messages caught by the screen or the check-in, at least;
#       near-crisis and ordinary messages that got the crisis screen, at most)
FLOORS = {
    "set1": (0.86, 0.01),   # tuned on half of it
    "set2": (0.89, 0.005),  # tuned on it
    "set3": (0.92, 0.005),  # tuned on it
    "fresh": (0.70, 0.03),  # frozen: never read while tuning; first measured 70.3%, 3.0%
}


@pytest.fixture(scope="module")
def check() -> CrisisCheck:
    return CrisisCheck.builtin()


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_a_blind_set_does_not_fall_back(check: CrisisCheck, name: str) -> None:
    report = score(check, load_messages(sorted((BLIND / name).glob("*.yaml"))))
    acute, near = report.overall["acute"], report.overall["none"]
    assert acute.total == 300 and near.total == 300  # the sets are whole
    caught_floor, false_alarm_ceiling = FLOORS[name]
    assert acute.share("acute", "possible") >= caught_floor
    assert near.share("acute") <= false_alarm_ceiling


@pytest.mark.parametrize("folder", [DEFAULT_KB, ACHTERHOEK_KB], ids=["roerdalen", "achterhoek"])
def test_ordinary_questions_almost_never_get_the_crisis_screen(folder: Path) -> None:
    engine = Engine(load_knowledge_base(folder))
    cases, _ = load_cases(folder / "eval.yaml")
    ordinary = [case.question for case in cases if case.crisis is not True]
    alarms = [q for q in ordinary if engine.crisis.check(q).is_crisis]
    assert len(alarms) <= 0.005 * len(ordinary), alarms
