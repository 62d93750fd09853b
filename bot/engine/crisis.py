"""The crisis check: runs first on every free text and never depends on the matcher."""

from __future__ import annotations

from dataclasses import dataclass
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


_NOTHING: frozenset[int] = frozenset()


class _PatternWords:
    """Which pattern words ("slaat|sla", "zelfmoord*") a message word matches.

    Worked out once per distinct word and then cached, so a message costs a few dict
    lookups. Short plain pattern words must match exactly and come from a dict; long or
    starred ones allow typos and are each tested once per new word.
    """

    CACHE_LIMIT = 100_000
    LONGEST = 40  # words up to this length look up their candidates by length

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._exact: dict[str, set[int]] = {}
        self._fuzzy: list[tuple[str, int, int, int]] = []  # choice, number, shortest, longest
        self._by_length: list[list[tuple[str, int]]] = []
        self._cache: dict[str, frozenset[int]] = {}

    def id_of(self, pattern: str) -> int:
        """A number for a pattern word; the same pattern gets the same number."""
        known = self._ids.get(pattern)
        if known is not None:
            return known
        number = self._ids[pattern] = len(self._ids)
        for choice in pattern.split("|"):
            if len(choice) < 6 and not choice.endswith("*"):
                self._exact.setdefault(choice, set()).add(number)
            else:
                self._fuzzy.append((choice, number, *_lengths_matching(choice)))
        self._by_length = [
            [(choice, number) for choice, number, shortest, longest in self._fuzzy
             if shortest <= length <= longest]
            for length in range(self.LONGEST + 1)]
        self._cache.clear()
        return number

    def matched_by(self, word: str) -> frozenset[int]:
        """The numbers of the pattern words that `word` matches."""
        cached = self._cache.get(word)
        if cached is None:
            hits = set(self._exact.get(word, ()))
            if len(word) <= self.LONGEST:
                candidates = self._by_length[len(word)]
            else:
                candidates = [(choice, number) for choice, number, _, _ in self._fuzzy]
            hits.update(number for choice, number in candidates
                        if number not in hits and _word_matches(choice, word))
            cached = frozenset(hits) if hits else _NOTHING
            if len(self._cache) < self.CACHE_LIMIT:
                self._cache[word] = cached
        return cached


def _lengths_matching(choice: str) -> tuple[int, int]:
    """The shortest and longest word that `_word_matches` can accept for one choice."""
    if choice.endswith("*"):
        stem = len(choice) - 1
        return (stem - 1 if stem >= 6 else stem), 10_000
    typos = 2 if len(choice) >= 9 else 1
    return len(choice) - typos, len(choice) + typos


def _find(
    phrase: tuple[int, ...], matches: list[frozenset[int]], start: int = 0
) -> list[int] | None:
    """Positions of the phrase's words in order, each at most MAX_GAP after the previous."""
    first_word = phrase[0]
    for first in range(start, len(matches)):
        if first_word not in matches[first]:
            continue
        positions = [first]
        for pattern in phrase[1:]:
            previous = positions[-1]
            window = range(previous + 1, min(len(matches), previous + 2 + MAX_GAP))
            found = next((i for i in window if pattern in matches[i]), None)
            if found is None:
                break
            positions.append(found)
        else:
            return positions
    return None


class _PhraseList:
    """Phrases as pattern-word numbers, indexed by their first word."""

    def __init__(self, words: _PatternWords, phrases: list[tuple[str, ...]]) -> None:
        self.phrases = [tuple(words.id_of(pattern) for pattern in phrase) for phrase in phrases]
        self._starting_with: dict[int, list[int]] = {}
        for index, phrase in enumerate(self.phrases):
            self._starting_with.setdefault(phrase[0], []).append(index)

    def candidates(self, matches: list[frozenset[int]]) -> list[int]:
        """Phrases that could occur in the message, in list order."""
        found = {index for matched in set(matches) for number in matched
                 for index in self._starting_with.get(number, ())}
        return sorted(found)


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
        exceptions_words = [words for words in map(_phrase_tokens, exceptions or []) if words]
        self._words = _PatternWords()
        self._phrase_list = _PhraseList(self._words, [phrase for _, phrase in self._phrases])
        self._exception_list = _PhraseList(self._words, exceptions_words)

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
        matches = [self._words.matched_by(word) for word in words]
        for index in self._exception_list.candidates(matches):
            exception = self._exception_list.phrases[index]
            positions = _find(exception, matches)
            while positions is not None:
                for position in positions:
                    matches[position] = _NOTHING
                positions = _find(exception, matches, positions[0] + 1)
        kinds = {
            self._phrases[index][0]
            for index in self._phrase_list.candidates(matches)
            if _find(self._phrase_list.phrases[index], matches) is not None
        }
        return CrisisResult(bool(kinds), tuple(sorted(kinds)))
