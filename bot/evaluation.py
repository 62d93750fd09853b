"""`wegwijzer eval`: how well the engine answers a file of example questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.engine.conversation import Engine, State

DEFAULT_THRESHOLDS = {"top1": 0.9, "top3": 0.95, "max_missed_crises": 0}


class EvalFileError(Exception):
    """The evaluation file cannot be used; the message says why."""


@dataclass(frozen=True)
class Case:
    """One example question and what the bot should do with it."""

    question: str
    expect: tuple[str, ...] | None  # ids; () means: the bot should not answer
    crisis: bool | None
    gemeente: str | None = None


@dataclass
class Report:
    """Counts and the misses worth reading."""

    answerable: int = 0
    top1: int = 0
    top3: int = 0
    unanswerable: int = 0
    correctly_silent: int = 0
    crises: int = 0
    missed_crises: list[str] = field(default_factory=list)
    false_crises: list[str] = field(default_factory=list)
    misses: list[tuple[float, str, str, tuple[str, ...]]] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def top1_rate(self) -> float:
        """Share of answerable questions whose first answer was right."""
        return self.top1 / self.answerable if self.answerable else 1.0

    @property
    def top3_rate(self) -> float:
        """Share of answerable questions with a right answer among the first three."""
        return self.top3 / self.answerable if self.answerable else 1.0

    @property
    def silent_rate(self) -> float:
        """Share of out-of-scope questions where the bot honestly said it did not know."""
        return self.correctly_silent / self.unanswerable if self.unanswerable else 1.0

    def failures(self) -> list[str]:
        """Which thresholds were not met."""
        failed = []
        for name, value in (("top1", self.top1_rate), ("top3", self.top3_rate),
                            ("no_answer", self.silent_rate)):
            if name in self.thresholds and value < self.thresholds[name]:
                failed.append(f"{name} {value:.1%} is below {self.thresholds[name]:.1%}")
        allowed = self.thresholds.get("max_missed_crises", 0)
        if len(self.missed_crises) > allowed:
            failed.append(f"{len(self.missed_crises)} missed crises (allowed: {allowed:g})")
        if "max_false_crises" in self.thresholds and len(self.false_crises) > self.thresholds[
            "max_false_crises"
        ]:
            failed.append(f"{len(self.false_crises)} false crises")
        return failed


def load_cases(path: Path) -> tuple[list[Case], dict[str, float]]:
    """Read an evaluation file: `thresholds:` and `cases:` (q, expect, crisis, gemeente)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalFileError(f"{path}: cannot read the evaluation file: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise EvalFileError(f"{path}: expected a mapping with a 'cases:' list")
    thresholds = {**DEFAULT_THRESHOLDS, **(data.get("thresholds") or {})}
    cases = [_case(path, index, raw) for index, raw in enumerate(data["cases"])]
    return cases, thresholds


def _case(path: Path, index: int, raw: Any) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
        raise EvalFileError(f"{path}: case {index + 1} needs a 'q:' with the question")
    expect = raw.get("expect")
    if expect in ("none", None, []):
        expected: tuple[str, ...] | None = () if expect is not None else None
    elif isinstance(expect, str):
        expected = (expect,)
    else:
        expected = tuple(str(item) for item in expect)
    crisis = raw.get("crisis")
    return Case(raw["q"], expected, crisis if isinstance(crisis, bool) else None,
                raw.get("gemeente"))


def evaluate(engine: Engine, cases: list[Case], thresholds: dict[str, float]) -> Report:
    """Run every case through the engine exactly as a resident's free text."""
    report = Report(thresholds=thresholds)
    for case in cases:
        understanding = engine.understand(State(gemeente=case.gemeente), case.question)
        level = understanding.crisis.level
        if case.crisis is True:
            report.crises += 1
            if level == "none":  # the crisis screen and the check-in both catch it
                report.missed_crises.append(case.question)
            continue
        if case.crisis is False and level == "acute":
            report.false_crises.append(case.question)
        offered = [match.id for match in understanding.offered]
        if case.expect is None:
            continue
        if case.expect == ():
            report.unanswerable += 1
            if not offered:
                report.correctly_silent += 1
            else:
                top = understanding.offered[0]
                report.misses.append((top.score, case.question, "(none)", (top.id,)))
            continue
        report.answerable += 1
        if offered[:1] and offered[0] in case.expect:
            report.top1 += 1
        else:
            score = understanding.offered[0].score if offered else 0.0
            report.misses.append((score, case.question, "/".join(case.expect), tuple(offered[:3])))
        if set(offered[:3]) & set(case.expect):
            report.top3 += 1
    return report


def format_report(report: Report, *, worst: int = 15) -> str:
    """The report `wegwijzer eval` prints."""
    lines = [
        f"top-1 accuracy:   {report.top1_rate:6.1%}  ({report.top1}/{report.answerable})",
        f"top-3 accuracy:   {report.top3_rate:6.1%}  ({report.top3}/{report.answerable})",
        f"honest 'I don't know': {report.silent_rate:6.1%}  "
        f"({report.correctly_silent}/{report.unanswerable})",
        f"missed crises:    {len(report.missed_crises)} of {report.crises}",
        f"false crises:     {len(report.false_crises)}",
    ]
    lines += [f"  missed crisis: {q}" for q in report.missed_crises]
    lines += [f"  false crisis:  {q}" for q in report.false_crises]
    if report.misses:
        lines.append(f"worst misses (of {len(report.misses)}):")
        ordered = sorted(report.misses, key=lambda miss: -miss[0])[:worst]
        for score, question, expected, got in ordered:
            lines.append(f"  {score:.2f}  {question!r}: expected {expected}, got "
                         f"{', '.join(got) or 'nothing'}")
    failures = report.failures()
    lines.append("FAIL: " + "; ".join(failures) if failures else "PASS")
    return "\n".join(lines)
