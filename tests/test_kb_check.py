"""`wegwijzer check`: every problem reported at once, each with file and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import system_clock
from bot.kb.loader import (
    KnowledgeBaseError,
    check_knowledge_base,
    load_knowledge_base,
    stale_worklist,
)
from tests.kbtools import ACHTERHOEK_KB, DEFAULT_KB, RECENT, copy_kb, edit

SHIPPED_REVIEWED = dt.date(2026, 12, 6)  # the shipped knowledge bases' last review
TODAY = system_clock().today()  # the copies' `checked` dates are relative to it


def messages(folder: Path) -> list[str]:
    """Every problem as 'file:line: severity: message', with the folder stripped."""
    return [str(p).replace(f"{folder}/", "") for p in check_knowledge_base(folder, today=TODAY)]


def test_minimal_fixture_is_clean(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    assert messages(kb) == []
    loaded = load_knowledge_base(kb, today=TODAY)
    assert set(loaded.services) == {"schuldhulp", "mantelzorg"}
    assert loaded.services["schuldhulp"].summary.get("en") == "Free help if you have debts."
    assert loaded.services["mantelzorg"].summary.get("en") == "Steun voor mantelzorgers."


def test_bad_yaml_reports_the_line(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "faq.yaml", "    keywords: [wmo]", "    keywords: [wmo\n    services: [")
    assert any(m.startswith("faq.yaml:10: error: YAML syntax error") for m in messages(kb))


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "    keywords: [schulden", "    keywrods: [schulden")
    assert (
        "services.yaml:7: error: unknown key 'keywrods' (in service 'schuldhulp'); "
        "did you mean 'keywords'?"
    ) in messages(kb)


def test_unknown_nested_key_suggests_from_the_nested_model(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "      phone: \"0475", "      phoen: \"0475")
    assert any("unknown key 'phoen'" in m and "did you mean 'phone'?" in m for m in messages(kb))


def test_missing_required_field(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "    summary: Steun voor mantelzorgers.\n", "")
    assert "services.yaml:16: error: 'summary' is required (in service 'mantelzorg')" in messages(kb)


def test_duplicate_id(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "  - id: mantelzorg", "  - id: schuldhulp")
    assert (
        "services.yaml:16: error: duplicate id 'schuldhulp': every id must be unique"
        in messages(kb)
    )


def test_dangling_references_everywhere(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "tree.yaml", "services: [schuldhulp]", "services: [schuldhlup]")
    edit(kb, "tree.yaml", "faq: [wat-is-de-wmo]", "faq: [wmo]")
    edit(kb, "tree.yaml", "        next: onderwerp\n        role: carer", "        next: elders\n        role: carer")
    edit(kb, "faq.yaml", "services: [schuldhulp]", "services: [geld]")
    found = messages(kb)
    assert (
        "tree.yaml:17: error: node 'onderwerp' names service 'schuldhlup', which does not "
        "exist; did you mean 'schuldhulp'?"
    ) in found
    assert "tree.yaml:19: error: node 'onderwerp' names FAQ entry 'wmo', which does not exist" in found
    assert any(m.startswith("tree.yaml:10: error: node 'begin' leads to node 'elders'") for m in found)
    assert any(m.startswith("faq.yaml:10: error: FAQ entry 'wat-is-de-wmo' names service 'geld'")
               for m in found)


def test_unreachable_node(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    (kb / "tree.yaml").write_text(
        (kb / "tree.yaml").read_text() + "  vergeten:\n    text: Niemand komt hier\n"
        "    options:\n      - label: Terug\n        next: begin\n"
    )
    assert "tree.yaml:22: error: node 'vergeten' cannot be reached from start 'begin'" in messages(kb)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"9:00-17:00"', "is not a valid time"),
        ('"17:00-17:00"', "starts and ends at the same time"),
        ('"10:00-24:30"', "ends after 24:00"),
        ('"09:00-13:00, 12:00-17:00"', "has overlapping times"),
        ("9:00", "write opening hours in quotes"),
        ('"open"', "is not a valid time"),
    ],
)
def test_bad_hours(tmp_path: Path, value: str, expected: str) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", 'di: "09:00-17:00"', f"di: {value}")
    found = messages(kb)
    assert any(m.startswith("services.yaml:14: error: di:") and expected in m for m in found), found


def test_bad_phone_url_date_and_placeholder(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", '"0475 538 888"', '"12345"')
    edit(kb, "services.yaml", "https://www.example.nl/schulden", "www.example.nl")
    edit(kb, "services.yaml", f"checked: {RECENT}", "checked: 1-11-2026")
    edit(kb, "gemeente.yaml", 'phone: "088 88 77 000"', 'phone: "0900 000 0000"')
    found = messages(kb)
    assert "services.yaml:10: error: phone: '12345' is not a Dutch phone number (in service 'schuldhulp')" in found
    assert any(m.startswith("services.yaml:11: error: website: 'www.example.nl' is not a web address")
               for m in found)
    assert any(m.startswith("services.yaml:15: error: checked: '1-11-2026' is not a date")
               for m in found)
    assert any(m.startswith("gemeente.yaml:10: error: phone:") and "placeholder" in m for m in found)


def test_every_error_at_once_across_files(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "    keywords: [mantelzorg", "    kewords: [mantelzorg")
    edit(kb, "faq.yaml", "  - id: wat-is-de-wmo", "  - id: Wat Is")
    edit(kb, "gemeente.yaml", "name: Testdorp\n", "")
    files = {m.split(":")[0] for m in messages(kb) if ": error:" in m}
    assert files == {"services.yaml", "faq.yaml", "gemeente.yaml"}


def test_stale_checked_date_is_a_warning_not_an_error(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    stale = TODAY - dt.timedelta(days=400)
    edit(kb, "services.yaml", f"checked: {RECENT}", f"checked: {stale}")
    found = messages(kb)
    assert found == [
        f"services.yaml:15: warning: 'schuldhulp' was last checked on {stale}, more than "
        "12 months ago; please verify it again"
    ]
    load_knowledge_base(kb, today=TODAY)  # warnings alone do not block loading


def test_hard_text_gets_a_readability_warning(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", "    summary: Steun voor mantelzorgers.",
         "    summary: De ondersteuningsmogelijkheden binnen het kader van de maatschappelijke "
         "ondersteuning worden individueel vastgesteld na een uitgebreide beoordeling van de "
         "persoonlijke omstandigheden van de aanvrager en diens sociale netwerk.")
    found = messages(kb)
    assert any("warning: 'mantelzorg' summary: sentence of 27 words" in m for m in found), found
    assert any("ondersteuningsmogelijkheden" in m and "long word" in m for m in found), found


def test_missing_file_is_named(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    (kb / "faq.yaml").unlink()
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(kb)
    assert any("faq.yaml is missing" in p.message for p in caught.value.problems)


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb = copy_kb(tmp_path)
    assert main(["check", "--kb", str(kb)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    edit(kb, "tree.yaml", "start: begin", "start: begn")
    assert main(["check", "--kb", str(kb)]) == 1
    out = capsys.readouterr().out
    assert "tree.yaml:1: error: start names node 'begn', which does not exist; did you mean 'begin'?" in out
    assert out.rstrip().endswith("1 error(s), 0 warning(s)")


@pytest.mark.parametrize("folder", [DEFAULT_KB, ACHTERHOEK_KB], ids=["roerdalen", "achterhoek"])
def test_shipped_knowledge_bases_pass_check(folder: Path) -> None:
    # As of their last review: `wegwijzer check` tells the editor when real time makes them
    # stale; a test must not start failing on a date.
    problems = check_knowledge_base(folder, today=SHIPPED_REVIEWED)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert [str(p) for p in problems if "more than 12 months" in p.message] == []


def test_crisis_signals_are_checked_with_file_and_line(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    (kb / "crisis.yaml").write_text(
        "phrases: [van de Maasbrug springen]\nsignals:\n  means: [brug bij de stuw]\n"
        "  meanz: [hooivork]\n", encoding="utf-8")
    found = messages(kb)
    assert any(m.startswith("crisis.yaml:4: error: signals: 'meanz' is not a crisis signal; "
                            "did you mean 'means'?") for m in found), found
    (kb / "crisis.yaml").write_text(
        "phrases: [van de Maasbrug springen]\nsignals:\n  means: [brug bij de stuw]\n",
        encoding="utf-8")
    engine_kb = load_knowledge_base(kb, today=TODAY)
    assert engine_kb.crisis.signals == {"means": ["brug bij de stuw"]}


def test_a_crowded_screen_and_a_repeated_target_are_warned_about(tmp_path: Path) -> None:
    """Issue 17: at most 6 choices on a phone screen, never the same target twice."""
    kb = copy_kb(tmp_path)
    more = "".join(f"      - label: Ook geld {n}\n        faq: [wat-is-de-wmo]\n"
                   for n in range(4))
    edit(kb, "tree.yaml", "      - label: Mens\n        handoff: true\n",
         "      - label: Mens\n        handoff: true\n" + more)
    found = messages(kb)
    assert "tree.yaml:15: warning: node 'onderwerp' has 7 choices; at most 6 fit on a phone " \
           "screen (the bot adds back and meedenker): group some under a sub-question" in found
    assert "tree.yaml:22: warning: node 'onderwerp': choice 4 leads to the same place as " \
           "choice 2" in found
    assert not any("node 'begin'" in m for m in found)  # same next, different role: fine


def test_the_shipped_trees_fit_a_phone_screen() -> None:
    for folder in (DEFAULT_KB, ACHTERHOEK_KB):
        assert not [m for m in messages(folder) if "choices" in m or "same place" in m]


def test_a_passed_valid_until_is_a_warning_with_its_line(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    passed = TODAY - dt.timedelta(days=1)
    edit(kb, "services.yaml", f"    checked: {RECENT}", f"    checked: {RECENT}\n    valid_until: {passed}")
    assert messages(kb) == [
        f"services.yaml:16: warning: 'schuldhulp' was valid until {passed}; update its amounts "
        "or dates, then valid_until"]


def test_next_steps_are_at_most_four_with_the_line_of_the_field(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    steps = "".join(f"\n        - Stap {n}." for n in range(1, 6))
    edit(kb, "services.yaml", f"    checked: {RECENT}",
         f"    checked: {RECENT}\n    next_steps:\n      nl:{steps}")
    (found,) = [m for m in messages(kb) if ": error:" in m]
    assert found.startswith("services.yaml:17: error:") and "at most 4" in found


def test_the_stale_worklist_lists_what_to_check_again_this_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    kb = copy_kb(tmp_path)
    due = TODAY - dt.timedelta(days=350)  # a year old within the month
    edit(kb, "services.yaml", f"checked: {RECENT}",
         f"checked: {due}\n    valid_until: {TODAY + dt.timedelta(days=10)}")
    found = [str(problem).split(": ", 2)[2] for problem in stale_worklist(kb, today=TODAY)]
    assert f"'schuldhulp' was checked on {due}: check it again by " \
           f"{due + dt.timedelta(days=365)}" in found
    assert f"'schuldhulp' is valid until {TODAY + dt.timedelta(days=10)}: update its amounts " \
           "or dates by then" in found
    assert "'mantelzorg' still shows example data: replace it with checked facts" in found
    assert main(["check", "--kb", str(kb), "--stale"]) == 0
    assert f"{kb}: {len(found)} to check again this month" in capsys.readouterr().out
