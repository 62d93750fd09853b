"""The crisis check: runs first on every free text and never depends on the matcher."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from rapidfuzz.distance import Levenshtein

from bot.engine.language import tokens

MAX_GAP = 3  # words allowed between the words of a phrase ("ik wil er niet meer zijn")


@dataclass(frozen=True)
class CrisisResult:
    """Whether a text signals a crisis, and which kinds."""

    is_crisis: bool
    kinds: tuple[str, ...] = ()


@lru_cache(maxsize=200_000)
def _word_matches(pattern: str, word: str) -> bool:
    if "|" in pattern:
        return any(_word_matches(choice, word) for choice in pattern.split("|"))
    if pattern.endswith("*"):
        stem = pattern[:-1]
        return word.startswith(stem) or (
            len(stem) >= 6 and Levenshtein.distance(word[: len(stem)], stem) <= 1
        )
    if pattern == word:
        return True
    if len(pattern) >= 9:
        return Levenshtein.distance(pattern, word, score_cutoff=2) <= 2
    if len(pattern) >= 6:
        return Levenshtein.distance(pattern, word, score_cutoff=1) <= 1
    return False


def _phrase_tokens(phrase: object) -> tuple[str, ...]:
    """Fold each word of a phrase, keeping the pattern marks: "slaat me|mij", "zelfmoord*"."""
    words = []
    for raw in str(phrase).split():
        choices = ["".join(tokens(choice)) + ("*" if choice.endswith("*") else "")
                   for choice in raw.split("|")]
        choices = [choice for choice in choices if choice.strip("*")]
        if choices:
            words.append("|".join(choices))
    return tuple(words)


def _find(phrase: tuple[str, ...], words: list[str], start: int = 0) -> list[int] | None:
    """Positions of the phrase's words in order, each at most MAX_GAP after the previous."""
    for first in range(start, len(words)):
        if not _word_matches(phrase[0], words[first]):
            continue
        positions = [first]
        for pattern in phrase[1:]:
            previous = positions[-1]
            window = range(previous + 1, min(len(words), previous + 2 + MAX_GAP))
            found = next((i for i in window if _word_matches(pattern, words[i])), None)
            if found is None:
                break
            positions.append(found)
        else:
            return positions
    return None


class CrisisCheck:
    """Phrase lists from data; `check` is cheap enough for every message."""

    def __init__(
        self, phrases: dict[str, list[str]], exceptions: list[str] | None = None
    ) -> None:
        self._phrases = [
            (kind, words)
            for kind, items in phrases.items()
            for words in map(_phrase_tokens, items)
            if words
        ]
        self._exceptions = [words for words in map(_phrase_tokens, exceptions or []) if words]
        # Most phrases start with a short word that must match exactly: index those by that
        # word, so a message is only compared with phrases that can start in it.
        self._by_first_word: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        self._always: list[tuple[str, tuple[str, ...]]] = []
        for kind, phrase in self._phrases:
            choices = phrase[0].split("|")
            if all(len(choice) < 6 and not choice.endswith("*") for choice in choices):
                for choice in choices:
                    self._by_first_word.setdefault(choice, []).append((kind, phrase))
            else:
                self._always.append((kind, phrase))

    @classmethod
    def builtin(
        cls, extra_phrases: list[str] | None = None, extra_exceptions: list[str] | None = None
    ) -> CrisisCheck:
        """The shipped list, extended with a knowledge base's own crisis.yaml."""
        text = resources.files("bot.engine").joinpath("data/crisis.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
        phrases: dict[str, list[str]] = {k: list(v) for k, v in data["phrases"].items()}
        if extra_phrases:
            phrases.setdefault("other", []).extend(extra_phrases)
        return cls(phrases, [*data.get("exceptions", []), *(extra_exceptions or [])])

    def check(self, text: str) -> CrisisResult:
        """Look for crisis wording; sayings listed as exceptions are ignored."""
        words = tokens(text)
        if not words:
            return CrisisResult(False)
        for exception in self._exceptions:
            positions = _find(exception, words)
            while positions is not None:
                for position in positions:
                    words[position] = ""
                positions = _find(exception, words, positions[0] + 1)
        present = set(words)
        candidates = [*self._always]
        for word in present:
            candidates.extend(self._by_first_word.get(word, ()))
        kinds = {kind for kind, phrase in candidates if _find(phrase, words) is not None}
        return CrisisResult(bool(kinds), tuple(sorted(kinds)))
