"""Score the crisis check on labelled messages: recall, false alarms, per category, language
and style (the blind sets in tests/data/crisis_blind use this format)."""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.engine.crisis import CrisisCheck, Level

# Blind sets measured once, as they came, and never read or trained on: their texts are
# never printed (no previews in known_misses.yaml, no --show).
FROZEN_SETS = frozenset({"fresh5"})


@dataclass(frozen=True)
class Message:
    """One labelled message."""

    text: str
    level: str  # what it should get: acute, possible or none
    category: str = ""
    lang: str = ""
    style: str = ""

    @property
    def half(self) -> str:
        """'tune' or 'check': a stable split of a set in two halves."""
        return "tune" if zlib.crc32(self.text.encode()) % 2 == 0 else "check"


@dataclass
class Tally:
    """What the check gave, for messages of one expected level."""

    got: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """How many messages."""
        return sum(self.got.values())

    def share(self, *levels: Level) -> float:
        """The share of messages that got one of `levels`."""
        return sum(self.got[level] for level in levels) / self.total if self.total else 0.0


@dataclass
class CrisisReport:
    """Tallies per expected level, and per level split by category, language and style."""

    overall: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by: dict[tuple[str, str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    misses: list[tuple[Message, str]] = field(default_factory=list)  # (message, level got)


def load_messages(paths: Iterable[Path]) -> list[Message]:
    """Messages from blind-set files (`messages:` with text, level, category, lang, style)."""
    found = []
    for path in paths:
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
            found.append(Message(str(raw["text"]), str(raw["level"]), str(raw.get("category", "")),
                                 str(raw.get("lang", "")), str(raw.get("style", ""))))
    return found


def score(check: CrisisCheck, messages: Iterable[Message]) -> CrisisReport:
    """Run the check on every message and tally the outcome."""
    report = CrisisReport()
    for message in messages:
        got = check.check(message.text).level
        report.overall[message.level].got[got] += 1
        for axis, value in (("category", message.category), ("lang", message.lang),
                            ("style", message.style)):
            report.by[(message.level, axis, value)].got[got] += 1
        missed = (message.level == "acute" and got != "acute") or (
            message.level != "acute" and got == "acute")
        if missed or (message.level == "possible" and got == "none"):
            report.misses.append((message, got))
    return report


def message_id(message: Message) -> str:
    """A short, stable name for a message (CRC-32 of its text, in hex)."""
    return f"{zlib.crc32(message.text.encode()):08x}"


def missed_acute(check: CrisisCheck, messages: Iterable[Message]) -> list[Message]:
    """Acute messages that get neither the crisis screen nor the check-in."""
    return [m for m in messages if m.level == "acute" and check.check(m.text).level == "none"]


def describe(report: CrisisReport) -> list[str]:
    """The report as lines: acute recall, check-in share, false alarms; then per axis."""
    lines = []
    for level, tally in sorted(report.overall.items()):
        lines.append(f"{level:9} n={tally.total:4}  {_shares(tally)}")
    for axis in ("category", "lang", "style"):
        lines.append(f"-- per {axis}")
        for (level, kind, value), tally in sorted(report.by.items()):
            if kind == axis:
                lines.append(f"  {level:9} {value:28} n={tally.total:4}  {_shares(tally)}")
    return lines


def _shares(tally: Tally) -> str:
    levels: tuple[Level, ...] = ("acute", "possible", "none")
    return "  ".join(f"{level} {tally.share(level):6.1%}" for level in levels)
