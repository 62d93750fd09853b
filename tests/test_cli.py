"""The commands as a user runs them: chat over standard input, ask --json, eval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.kbtools import ACHTERHOEK_KB, DEFAULT_KB, MINIMAL, ROOT


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` the way a user would, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=ROOT, timeout=60, check=False,
    )


def test_chat_end_to_end_over_standard_input() -> None:
    script = "\n".join([
        "2",                     # Voor iemand anders
        "1",                     # Geld → service card
        "terug",                 # back to the topic question
        "opnieuw",               # start over
        "ik heb schulden",       # free text
        "ik wil er niet meer zijn",  # crisis
        "wat is het recept voor appeltaart",  # unknown
        "/stop",
    ]) + "\n"
    result = run("chat", "--kb", str(MINIMAL), stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.index("computerprogramma, geen mens") < out.index("Voor wie zoek je hulp?")
    assert "  1) Voor mezelf\n  2) Voor iemand anders" in out
    assert out.count("📍 Schuldhulp") == 2  # from the tree and from free text
    assert out.count("Waar gaat het over?") == 2  # once forward, once after "terug"
    assert "0800-0113" in out and "0800-2000" in out and "112" in out
    assert "Sorry, dat weet ik niet." in out
    assert out.rstrip().endswith("Tot ziens! / Goodbye!")


def test_the_terminal_says_what_happens_to_the_conversation_there() -> None:
    result = run("chat", "--kb", str(MINIMAL), stdin="/start\n/stop\n")
    out = result.stdout
    assert out.count("dit gesprek blijft op deze computer") == 2  # at the start and on /start
    assert "Telegram zijn niet end-to-end versleuteld" not in out


def test_chat_ends_cleanly_at_end_of_input() -> None:
    result = run("chat", "--kb", str(MINIMAL), stdin="1\n")
    assert result.returncode == 0
    assert "Waar gaat het over?" in result.stdout


def test_ask_json_contract() -> None:
    questions = ("ik kan mijn rekeningen niet betalen\nik wil dood\nhoe laat speelt psv\n"
                 "ik zit er helemaal doorheen\n\n")
    result = run("ask", "--kb", str(MINIMAL), "--json", stdin=questions)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == [
        "ik kan mijn rekeningen niet betalen", "ik wil dood", "hoe laat speelt psv",
        "ik zit er helemaal doorheen"]
    debts, crisis, unknown, worried = lines
    assert set(debts) == {"question", "crisis", "crisis_level", "crisis_signals", "matches"}
    assert debts["crisis"] is False and debts["crisis_level"] == "none"
    assert debts["crisis_signals"] == []
    assert debts["matches"][0] == {"kind": "service", "id": "schuldhulp",
                                   "score": debts["matches"][0]["score"]}
    assert 0 < debts["matches"][0]["score"] <= 1
    assert len(debts["matches"]) <= 5
    scores = [m["score"] for m in debts["matches"]]
    assert scores == sorted(scores, reverse=True)
    assert crisis == {"question": "ik wil dood", "crisis": True, "crisis_level": "acute",
                      "crisis_signals": ["intent"], "matches": []}
    assert unknown["matches"] == [] and unknown["crisis"] is False
    # "crisis" stays true exactly on the crisis screen; the check-in is "possible".
    assert worried["crisis"] is False and worried["crisis_level"] == "possible"
    assert worried["crisis_signals"] == ["distress"] and worried["matches"] == []


def test_ask_takes_each_argument_as_a_question(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(MINIMAL), "--json", "wat is de wmo", "schulden"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["question"], line["matches"][0]["id"]) for line in lines] == [
        ("wat is de wmo", "wat-is-de-wmo"), ("schulden", "schuldhulp")]


def test_eval_passes_and_fails_on_its_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = """
cases:
  - {q: ik heb schulden, expect: [schuldhulp]}
  - {q: wat is de wmo, expect: wat-is-de-wmo}
  - {q: hoe laat speelt psv, expect: none}
  - {q: ik wil er niet meer zijn, crisis: true}
  - {q: ik ben doodmoe, crisis: false}
"""
    good = tmp_path / "good.yaml"
    good.write_text("thresholds: {top1: 0.9, top3: 0.9}\n" + cases)
    assert main(["eval", "--kb", str(MINIMAL), str(good)]) == 0
    out = capsys.readouterr().out
    assert "top-1 accuracy:   100.0%  (2/2)" in out
    assert "missed crises:    0 of 1" in out and out.rstrip().endswith("PASS")

    bad = tmp_path / "bad.yaml"
    bad.write_text(cases + "  - {q: ik zorg voor mijn moeder, expect: [schuldhulp]}\n"
                   "  - {q: helemaal niets, crisis: true}\n")
    assert main(["eval", "--kb", str(MINIMAL), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "top-1 accuracy:    66.7%  (2/3)" in out
    assert "missed crisis: helemaal niets" in out
    assert "expected schuldhulp, got mantelzorg" in out
    assert "FAIL: top1 66.7% is below 90.0%" in out


def test_eval_reports_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("cases:\n  - expect: [x]\n")
    assert main(["eval", "--kb", str(MINIMAL), str(broken)]) == 2
    assert "case 1 needs a 'q:'" in capsys.readouterr().err


def test_project_evaluation_file_passes_its_own_thresholds() -> None:
    """CI bar for the default knowledge base: `wegwijzer eval` passes with the file's own
    thresholds (top-1 at least 90%), and no crisis is missed. The README keeps the figures."""
    from bot.evaluation import load_cases

    _, thresholds = load_cases(DEFAULT_KB / "eval.yaml")
    assert thresholds["top1"] >= 0.90 and thresholds["max_missed_crises"] == 0
    result = run("eval", str(DEFAULT_KB / "eval.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "missed crises:    0 of" in result.stdout
    assert result.stdout.rstrip().endswith("PASS")


def test_project_evaluation_file_is_broad() -> None:
    from bot.engine.conversation import Engine
    from bot.evaluation import evaluate, load_cases
    from bot.kb.loader import load_knowledge_base

    cases, thresholds = load_cases(DEFAULT_KB / "eval.yaml")
    report = evaluate(Engine(load_knowledge_base(DEFAULT_KB)), cases, thresholds)
    assert report.answerable >= 300 and report.unanswerable >= 50 and report.crises >= 40
    assert report.missed_crises == []
    assert len(report.false_crises) <= 2


def test_held_out_evaluation_does_not_fall_back() -> None:
    """examples/achterhoek/eval.yaml is never tuned on; this floor only stops regressions."""
    from bot.engine.conversation import Engine
    from bot.evaluation import evaluate, load_cases
    from bot.kb.loader import load_knowledge_base

    cases, thresholds = load_cases(ACHTERHOEK_KB / "eval.yaml")
    report = evaluate(Engine(load_knowledge_base(ACHTERHOEK_KB)), cases, thresholds)
    assert report.missed_crises == []
    assert report.top1_rate >= 0.80
    assert report.silent_rate >= 0.60


@pytest.mark.parametrize("gemeente", ["dijkhoven", "bosveen"])
def test_blind_gemeenten_pass_their_own_thresholds(gemeente: str) -> None:
    """Issue 16's blind gemeenten (Dijkhoven frozen, Bosveen tuned on): `wegwijzer eval`."""
    folder = ROOT / "examples" / gemeente
    result = run("eval", "--kb", str(folder), str(folder / "eval.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("PASS")


def test_broken_knowledge_base_stops_chat_with_the_errors(tmp_path: Path) -> None:
    (tmp_path / "services.yaml").write_text("services: [\n")
    result = run("chat", "--kb", str(tmp_path))
    assert result.returncode == 1
    assert "services.yaml:2: error: YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("encoding", ["", "utf-8"])
def test_ask_json_always_prints_valid_json(encoding: str) -> None:
    """Invalid UTF-8 on standard input is replaced, whatever PYTHONIOENCODING says."""
    env = {**os.environ, "PYTHONIOENCODING": encoding} if encoding else dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--kb", str(MINIMAL), "--json"],
        input=b"ik heb schulden \xff\xfe\nwat is de wmo\n", capture_output=True, cwd=ROOT,
        env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert lines[0]["question"] == "ik heb schulden \ufffd\ufffd"
    assert lines[0]["matches"][0]["id"] == "schuldhulp"
    assert lines[1]["question"] == "wat is de wmo"
