"""The crisis check on its own: signals and rules, frames, negation, levels and numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine.crisis import CrisisCheck, builtin_data

HOLDOUT = Path(__file__).parent / "data" / "crisis_holdout.yaml"


@pytest.fixture(scope="module")
def check() -> CrisisCheck:
    return CrisisCheck.builtin()


@pytest.mark.parametrize(
    ("message", "rule", "first_call"),
    [
        ("ik denk aan zelfmoord", "intent", "113"),
        ("Ik wil ER niet meer zijn!!", "intent", "113"),
        ("zelfmoort", "intent", "113"),  # a typo in a long word
        ("ik heb pillen gespaard", "plan", "113"),
        ("ich wil neet mie leve", "intent", "113"),  # Limburgs
        ("mijn vriend sloeg me gisteren", "harm_to_me", "veilig_thuis"),
        ("de thuiszorg doet mijn moeder pijn", "elder_harm", "veilig_thuis"),
        ("ik ben verkracht", "sexual", "veilig_thuis"),
        ("hij ging door terwijl ik nee zei", "sexual", "veilig_thuis"),
        ("de buurman slaat zijn kinderen", "child_harm", "veilig_thuis"),
        ("mijn vader ademt niet", "medical", "112"),
        ("mijn man staat met een mes voor de deur", "weapon_intrusion", "112"),
    ],
)
def test_acute_messages_get_the_screen_with_the_fitting_number_first(
    check: CrisisCheck, message: str, rule: str, first_call: str
) -> None:
    result = check.check(message)
    assert result.level == "acute" and result.is_crisis
    assert rule in result.rules
    assert result.calls[0] == first_call
    assert set(result.calls) == {"112", "113", "veilig_thuis"}  # all three, always


@pytest.mark.parametrize(
    "message",
    ["wat kan ik er aan doen", "ben ik beter af zonder pgb",
     "mijn moeder vergeet al haar pillen in te nemen", "ik zet de medicijnen klaar voor pa",
     "de gemeente reageert niet op mijn aanvraag", "iemand heeft misbruik gemaakt van mijn pgb",
     "mijn moeder moet een eigen bijdrage betalen, wat kan ik daar aan doen?",
     "ik ben doodmoe", "ik lach me dood", "de rekeningen slaan me om de oren",
     "ik heb een beroerte gehad, hoe kom ik aan vervoer", "ik zou hem wel kunnen slaan",
     "mijn moeder heeft niet lang meer te leven, kan ik zorgverlof krijgen",
     "zag op het nieuws dat er weer iemand is vermoord"],
)
def test_ordinary_questions_with_alarming_words_get_no_screen(
    check: CrisisCheck, message: str
) -> None:
    assert check.check(message).level != "acute"


@pytest.mark.parametrize(
    "message",
    ["ik ben er klaar mee, met alles", "I can't go on like this", "ik zit er helemaal doorheen",
     "ik zie het niet meer zitten"],
)
def test_distress_without_danger_gets_the_check_in(check: CrisisCheck, message: str) -> None:
    result = check.check(message)
    assert result.level == "possible" and not result.is_crisis
    assert "distress" in result.signals


def test_a_negation_or_a_frame_lowers_a_level_but_never_hides_it(check: CrisisCheck) -> None:
    denied = check.check("ik ben niet suicidaal hoor")
    assert denied.level == "possible" and "negation" in denied.signals
    past = check.check("vroeger sneed ik mezelf, nu gaat het goed. Kan ik pleegouder worden?")
    assert past.level == "possible" and "past" in past.signals
    film = check.check("in de serie pleegt een meisje zelfmoord, hoe praat ik daarover met mijn kind")
    assert film.level != "acute"
    relapse = check.check("vroeger sneed ik mezelf en nu ben ik weer begonnen met snijden")
    assert relapse.level == "acute"  # "weer begonnen": the past is not over


def test_a_carers_story_about_dementia_is_lowered_not_the_other_way_round(
    check: CrisisCheck,
) -> None:
    assert check.check("mijn vader met dementie slaat me soms").level == "possible"
    assert check.check("mijn vader slaat me").level == "acute"


def test_the_remainder_keeps_the_question_without_the_worrying_words(check: CrisisCheck) -> None:
    result = check.check("ik wil dood, de schulden zijn te veel")
    assert result.is_crisis and "schulden" in result.remainder and "dood" not in result.remainder


def test_a_knowledge_base_can_add_phrases_exceptions_and_signal_words() -> None:
    check = CrisisCheck.builtin(["noodgeval bij de molen"], ["ik schrik me een hoedje"],
                                {"weapon": ["hooivork"]})
    assert check.check("er is een noodgeval bij de oude molen").rules == ("gemeente",)
    assert check.check("hij bedreigt me met een hooivork").is_crisis


def test_rules_that_name_an_unknown_signal_are_refused() -> None:
    data = builtin_data()
    data["rules"].append({"name": "broken", "all": ["no_such_signal"], "level": "acute",
                          "call": "112"})
    with pytest.raises(ValueError, match="no_such_signal"):
        CrisisCheck(data)


def test_the_older_blind_holdout_set_is_caught_whole() -> None:
    """The earlier blind set (97 crises, 92 ordinary): every crisis at least gets the check-in."""
    data = yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))
    check = CrisisCheck.builtin()
    missed = [m for m in data["crisis"] if check.check(m).level == "none"]
    false_alarms = [m for m in data["not_crisis"] if check.check(m).is_crisis]
    assert missed == []
    assert len(false_alarms) <= 2, false_alarms


@pytest.mark.parametrize(
    ("message", "level"),
    [("ik heb haar in een opwelling een klap gegeven", "acute"),  # not the saying "in een klap"
     ("in een klap was al mijn geld weg", "none"),  # the saying, its words together
     ("my mum is always killing me with her questions lol", "none")],  # a "*" allows a gap
)
def test_a_saying_needs_its_words_together_unless_it_allows_a_gap(
    check: CrisisCheck, message: str, level: str,
) -> None:
    assert check.check(message).level == level


@pytest.mark.parametrize(
    ("message", "rule"),
    [("ik heb mijn vader zijn eten niet gegeven sinds gisteren", "carer_harm"),
     ("hij komt s nachts in mijn bed en ik ben 13", "sexual")],
)
def test_harm_told_as_a_story_gets_the_screen(check: CrisisCheck, message: str, rule: str) -> None:
    result = check.check(message)
    assert result.level == "acute" and rule in result.rules
    assert result.calls[0] == "veilig_thuis"
