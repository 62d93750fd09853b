"""Word patterns for the crisis check: folded words in order, typos tolerated, cached.

Pattern syntax, per word: "word*" matches every word starting with "word"; "a|b" matches
either; words of 6+ letters tolerate one typo, of 9+ two; shorter words must be exact. The
words of a pattern appear in order, at most MAX_GAP other words apart. A lone "*" is a
reminder that words may stand between; it matches nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.engine.language import tokens

MAX_GAP = 3  # words allowed between the words of a pattern ("ik wil er niet meer zijn")


def pattern_words(phrase: object) -> tuple[str, ...]:
    """Fold each word of a phrase, keeping the pattern marks: "slaat me|mij", "zelfmoord*"."""
    words = []
    for raw in str(phrase).split():
        choices = ["".join(tokens(choice)) + ("*" if choice.endswith("*") else "")
                   for choice in raw.split("|")]
        choices = [choice for choice in choices if choice.strip("*")]
        if choices:
            words.append("|".join(choices))
    return tuple(words)


NOTHING: frozenset[int] = frozenset()


class PatternWords:
    """Which pattern words ("slaat|sla", "zelfmoord*") a message word matches.

    Worked out once per distinct word and then cached, so a message costs a few dict
    lookups. Exact words and starred stems come from dicts; a new word is compared with
    the long and starred ones for typos in C (see _Candidates).
    """

    CACHE_LIMIT = 100_000
    LONGEST = 40  # words up to this length look up their candidates by length

    def __init__(self, *, real_words: frozenset[str] = frozenset(), typos: bool = True) -> None:
        self._ids: dict[str, int] = {}
        self._exact: dict[str, set[int]] = {}  # every plain choice, for exact matches
        self._stems: dict[str, set[int]] = {}  # every starred stem, for exact prefixes
        self._fuzzy: list[tuple[str, int, int, int]] = []  # choice, number, shortest, longest
        self._by_length: list[_Candidates] | None = None  # built on first use
        self._cache: dict[str, frozenset[int]] = {}
        # Real words that sit one letter from a pattern word ("geschokt" and "geschopt"):
        # they are never read as a typo of it.
        self._real_words = real_words
        self._typos = typos

    def id_of(self, pattern: str) -> int:
        """A number for a pattern word; the same pattern gets the same number."""
        known = self._ids.get(pattern)
        if known is not None:
            return known
        number = self._ids[pattern] = len(self._ids)
        for choice in pattern.split("|"):
            if choice.endswith("*"):
                self._stems.setdefault(choice[:-1], set()).add(number)
            else:
                self._exact.setdefault(choice, set()).add(number)
            if len(choice) >= 6 or choice.endswith("*"):
                self._fuzzy.append((choice, number, *_lengths_matching(choice)))
        self._by_length = None
        self._cache.clear()
        return number

    def matched_by(self, word: str) -> frozenset[int]:
        """The numbers of the pattern words that `word` matches."""
        cached = self._cache.get(word)
        if cached is None:
            hits = set(self._exact.get(word, ()))
            for end in range(1, len(word) + 1):  # starred stems the word starts with
                hits.update(self._stems.get(word[:end], ()))
            if self._typos and word not in self._real_words and len(word) <= self.LONGEST:
                hits.update(self._lengths()[len(word)].typos_of(word))
            cached = frozenset(hits) if hits else NOTHING
            if len(self._cache) < self.CACHE_LIMIT:
                self._cache[word] = cached
        return cached

    def _lengths(self) -> list[_Candidates]:
        if self._by_length is None:
            self._by_length = [
                _Candidates.of([(choice, number) for choice, number, shortest, longest
                                in self._fuzzy if shortest <= length <= longest])
                for length in range(self.LONGEST + 1)]
        return self._by_length


@dataclass(frozen=True)
class _Candidates:
    """The pattern choices a word of one length may be a typo of, ready for rapidfuzz, which
    compares a word with all of them in C: a new word costs microseconds, not a loop."""

    plain: tuple[str, ...]
    plain_numbers: tuple[int, ...]
    plain_typos: tuple[int, ...]  # edits allowed: 1 from 6 letters, 2 from 9
    stars: tuple[tuple[int, tuple[str, ...], tuple[int, ...]], ...]  # (stem length, …)

    @classmethod
    def of(cls, choices: list[tuple[str, int]]) -> _Candidates:
        plain = [(c, n) for c, n in choices if not c.endswith("*")]
        by_stem: dict[int, list[tuple[str, int]]] = {}
        for choice, number in choices:
            if choice.endswith("*") and len(choice) - 1 >= 6:
                by_stem.setdefault(len(choice) - 1, []).append((choice[:-1], number))
        return cls(tuple(c for c, _ in plain), tuple(n for _, n in plain),
                   tuple(2 if len(c) >= 9 else 1 for c, _ in plain),
                   tuple((length, tuple(s for s, _ in stems), tuple(n for _, n in stems))
                         for length, stems in sorted(by_stem.items())))

    def typos_of(self, word: str) -> set[int]:
        """The numbers of the choices `word` is one or two typos away from."""
        hits = set()
        if self.plain:
            for _, distance, index in process.extract(
                    word, self.plain, scorer=Levenshtein.distance, score_cutoff=2, limit=None):
                if distance <= self.plain_typos[index]:
                    hits.add(self.plain_numbers[index])
        for length, stems, numbers in self.stars:
            for _, _, index in process.extract(
                    word[:length], stems, scorer=Levenshtein.distance, score_cutoff=1,
                    limit=None):
                hits.add(numbers[index])
        return hits


def _lengths_matching(choice: str) -> tuple[int, int]:
    """The shortest and longest word that can be a typo of one choice."""
    if choice.endswith("*"):
        stem = len(choice) - 1
        return (stem - 1 if stem >= 6 else stem), 10_000
    typos = 2 if len(choice) >= 9 else 1
    return len(choice) - typos, len(choice) + typos


def find(
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


def find_all(phrase: tuple[int, ...], matches: list[frozenset[int]]) -> list[list[int]]:
    """Every occurrence of a phrase, each starting after the previous one's start."""
    found = []
    positions = find(phrase, matches)
    while positions is not None:
        found.append(positions)
        positions = find(phrase, matches, positions[0] + 1)
    return found


class PhraseList:
    """Phrases as pattern-word numbers, indexed by their first word."""

    def __init__(self, words: PatternWords, phrases: list[tuple[str, ...]]) -> None:
        self.phrases = [tuple(words.id_of(pattern) for pattern in phrase) for phrase in phrases]
        self._starting_with: dict[int, list[int]] = {}
        for index, phrase in enumerate(self.phrases):
            self._starting_with.setdefault(phrase[0], []).append(index)
        self._needs = [frozenset(phrase) for phrase in self.phrases]

    def candidates(self, matches: list[frozenset[int]]) -> list[int]:
        """Phrases whose words all occur in the message (in any order), in list order."""
        present = frozenset().union(*matches)
        found = {index for number in present for index in self._starting_with.get(number, ())
                 if self._needs[index] <= present}
        return sorted(found)
