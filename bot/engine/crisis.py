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


class _FirstWordIndex:
    """Which phrases can start at a word; so a message is only compared with those phrases.

    Short first words must match exactly and are looked up in a dict. Long or starred first
    words allow typos, so each is tested once per distinct word ever seen (then cached).
    """

    CACHE_LIMIT = 100_000

    def __init__(self, phrases: list[tuple[str, ...]]) -> None:
        self._exact: dict[str, list[int]] = {}
        self._fuzzy: dict[str, list[int]] = {}
        for index, phrase in enumerate(phrases):
            choices = phrase[0].split("|")
            if all(len(choice) < 6 and not choice.endswith("*") for choice in choices):
                for choice in choices:
                    self._exact.setdefault(choice, []).append(index)
            else:
                self._fuzzy.setdefault(phrase[0], []).append(index)
        self._cache: dict[str, tuple[int, ...]] = {}

    def starting_at(self, word: str) -> tuple[int, ...]:
        """Indices of the phrases whose first word matches `word`."""
        cached = self._cache.get(word)
        if cached is None:
            hits = list(self._exact.get(word, ()))
            for pattern, indices in self._fuzzy.items():
                if _word_matches(pattern, word):
                    hits.extend(indices)
            cached = tuple(hits)
            if len(self._cache) < self.CACHE_LIMIT:
                self._cache[word] = cached
        return cached

    def candidates(self, words: list[str]) -> set[int]:
        """Phrases that could occur in the message."""
        return {index for word in set(words) if word for index in self.starting_at(word)}


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
        self._phrase_index = _FirstWordIndex([phrase for _, phrase in self._phrases])
        self._exception_index = _FirstWordIndex(self._exceptions)

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
        for index in sorted(self._exception_index.candidates(words)):
            exception = self._exceptions[index]
            positions = _find(exception, words)
            while positions is not None:
                for position in positions:
                    words[position] = ""
                positions = _find(exception, words, positions[0] + 1)
        kinds = {
            self._phrases[index][0]
            for index in self._phrase_index.candidates(words)
            if _find(self._phrases[index][1], words) is not None
        }
        return CrisisResult(bool(kinds), tuple(sorted(kinds)))
