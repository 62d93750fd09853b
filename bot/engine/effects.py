"""What a turn asks the rest of the bot to do: count it, remember it, pass it on.

Each kind is a small frozen class, so a consumer matches on the class and its fields
(`match effect: case Shown(entry=entry): ...`) instead of parsing a string. `kind` names it
in the weekly counts and in tests. The warm handoff's own effects live in bot/handoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Effect:
    """The base of every effect."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class CrisisScreen(Effect):
    """The crisis screen was shown; the rules that decided it (for the counts)."""

    rules: tuple[str, ...] = ()
    kind: ClassVar[str] = "crisis"


@dataclass(frozen=True)
class CheckIn(Effect):
    """The check-in was asked ("Denk je erover om jezelf iets aan te doen?")."""

    rules: tuple[str, ...] = ()
    kind: ClassVar[str] = "check_in"


@dataclass(frozen=True)
class Shown(Effect):
    """A card or an answer was shown: "service:<id>" or "faq:<id>"."""

    entry: str
    kind: ClassVar[str] = "shown"


@dataclass(frozen=True)
class NotUnderstood(Effect):
    """A question the bot could not answer (kept scrubbed, for the gemeente)."""

    text: str
    kind: ClassVar[str] = "not_understood"


@dataclass(frozen=True)
class HandoffAsked(Effect):
    """The resident asked for a person."""

    kind: ClassVar[str] = "handoff"


@dataclass(frozen=True)
class TopicChosen(Effect):
    """A topic in the question tree was chosen."""

    topic: str
    kind: ClassVar[str] = "topic"


@dataclass(frozen=True)
class LanguageChosen(Effect):
    """The resident switched language."""

    lang: str
    kind: ClassVar[str] = "language"
