"""The crisis check on its own: patterns, sayings, and a blind held-out set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine.crisis import CrisisCheck

HOLDOUT = Path(__file__).parent / "data" / "crisis_holdout.yaml"


@pytest.fixture(scope="module")
def check() -> CrisisCheck:
    return CrisisCheck.builtin()


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("ik denk aan zelfmoord", "suicide"),
        ("Ik wil ER niet meer zijn!!", "suicide"),
        ("ik zie het nie meer zitte", "suicide"),
        ("zelfmoort", "suicide"),  # typo in a long word
        ("mijn vriend sloeg me gisteren", "violence"),
        ("de thuiszorg doet mijn moeder pijn", "violence"),
        ("ik ben verkracht", "abuse"),
        ("mijn vader ademt niet", "danger"),
    ],
)
def test_recognises_crises(check: CrisisCheck, message: str, kind: str) -> None:
    result = check.check(message)
    assert result.is_crisis and kind in result.kinds


@pytest.mark.parametrize(
    "message",
    ["ik ben doodmoe", "ik lach me dood", "de rekeningen slaan me om de oren",
     "ik heb een beroerte gehad, hoe kom ik aan vervoer", "ik zou hem wel kunnen slaan",
     "mijn moeder heeft niet lang meer te leven, kan ik zorgverlof krijgen"],
)
def test_sayings_are_not_crises(check: CrisisCheck, message: str) -> None:
    assert not check.check(message).is_crisis


def test_knowledge_base_can_add_phrases_and_exceptions() -> None:
    check = CrisisCheck.builtin(["noodgeval bij de molen"], ["ik schrik me een hoedje"])
    assert check.check("er is een noodgeval bij de oude molen").kinds == ("other",)


def test_blind_holdout_set() -> None:
    """Written by someone who never saw the phrase list; first run: 54 of 97 (see README)."""
    data = yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))
    check = CrisisCheck.builtin()
    missed = [m for m in data["crisis"] if not check.check(m).is_crisis]
    false_alarms = [m for m in data["not_crisis"] if check.check(m).is_crisis]
    assert missed == []
    assert len(false_alarms) <= 2, false_alarms
