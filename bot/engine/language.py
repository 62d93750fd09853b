"""Dutch text normalisation: folding, stop words, synonyms, compounds, stems and typos."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import Stemmer
import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

CONCEPT_PREFIX = "#"
PREFIX_LENGTH = 6  # Snowball splits "schuld"/"schulden"; a shared prefix reunites them
MIN_COMPOUND_LENGTH = 8
MIN_PART_LENGTH = 3
LINKING_LETTERS = ("s", "e", "en")  # Dutch "tussen-s" and "tussen-e(n)"
MAX_CACHED_CORRECTIONS = 50_000
MAX_CACHED_SLOTS = 50_000
LOOSE_STRENGTH = 0.8
PART_STRENGTH = 0.7
MIN_REPAIR_LENGTH = 5  # shorter words have too many neighbours: stuk/stok, hand/hard
TWO_EDIT_LENGTH = 9  # from this length a typo may be two edits (a swap counts as one)

_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case, strip accents (coöperatie → cooperatie), punctuation and emoji."""
    if text.isascii():
        # Most text has no accents; skipping the per-character Unicode pass saves a quarter
        # of the index build of a large knowledge base. For ASCII, casefold() is lower().
        return _NON_WORD.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", without_marks).strip()


def tokens(text: str) -> list[str]:
    """The folded words of `text`."""
    return fold(text).split()


@dataclass(frozen=True)
class Lexicon:
    """General Dutch knowledge of the social domain, read from data."""

    stopwords: frozenset[str]
    concept_of: dict[str, str]  # single folded word → concept name
    phrases: dict[tuple[str, ...], str]  # multi-word phrase → concept name
    english: dict[str, str]
    misspellings: dict[str, str]
    compound_parts: frozenset[str]
    max_phrase_length: int = 1
    # per contact field of a service (phone, address, hours, …): the words asking for it
    contact_fields: dict[str, str] = field(default_factory=dict)
    # words that say which kind of answer is wanted: "service" (a place to go) or "faq"
    # (how a rule works), strongest first; phrases as tuples of folded words
    answer_cues: tuple[tuple[str, frozenset[tuple[str, ...]]], ...] = ()
    # per lexicon group: the broader groups it belongs to (voedselbank → minima, schulden)
    broader: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Lexicon:
        """Build from the parsed lexicon.yaml."""
        concept_of: dict[str, str] = {}
        phrases: dict[tuple[str, ...], str] = {}
        for concept, words in (data.get("concepts") or {}).items():
            for word in words:
                folded = tuple(tokens(str(word)))
                if len(folded) == 1:
                    concept_of.setdefault(folded[0], str(concept))
                elif folded:
                    phrases.setdefault(folded, str(concept))
        for phrase in data.get("stop_phrases") or []:
            phrases.setdefault(tuple(tokens(str(phrase))), "")  # "": no meaning, dropped
        return cls(
            stopwords=frozenset(fold(str(w)) for w in data.get("stopwords") or []),
            concept_of=concept_of,
            phrases=phrases,
            english={fold(str(k)): fold(str(v)) for k, v in (data.get("english") or {}).items()},
            misspellings={
                fold(str(k)): fold(str(v)) for k, v in (data.get("misspellings") or {}).items()
            },
            compound_parts=frozenset(fold(str(w)) for w in data.get("compound_parts") or []),
            max_phrase_length=max((len(p) for p in phrases), default=1),
            contact_fields={str(name): " ".join(str(word) for word in words)
                            for name, words in (data.get("contact_fields") or {}).items()},
            broader={str(name): tuple(str(b) for b in wider)
                     for name, wider in (data.get("broader") or {}).items()},
            answer_cues=tuple(
                (str(cue["kind"]), frozenset(tuple(tokens(str(w))) for w in cue["words"]))
                for cue in data.get("answer_cues") or []
            ),
        )


@lru_cache(maxsize=1)
def builtin_lexicon() -> Lexicon:
    """The lexicon shipped with the engine (bot/engine/data/lexicon.yaml)."""
    text = resources.files("bot.engine").joinpath("data/lexicon.yaml").read_text("utf-8")
    return Lexicon.from_data(load_yaml(text))


def load_yaml(text: str) -> Any:
    """Parse trusted engine data, with libyaml when it is installed (ten times faster)."""
    # The lexicon alone took 0.18 s with the pure-Python parser: most of starting the bot
    # on a small knowledge base. Both loaders are "safe" and give the same data.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


@dataclass(frozen=True)
class Slot:
    """One meaningful unit of text (word, phrase or compound) with the terms standing for it."""

    word: str
    exact: tuple[str, ...]  # terms that match fully: concept or stem
    loose: tuple[str, ...] = ()  # prefix form: a weaker match
    parts: tuple[str, ...] = ()  # terms of the compound's parts
    guessed: bool = False  # a typo repair or a broader meaning: a guess, so it counts for less
    synonyms: tuple[str, ...] = ()  # the concept of the word: a match that counts a bit less


class Analyzer:
    """Turns text into slots; knows the vocabulary of one knowledge base for typo repair."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.protected: set[str] = set()  # acronyms in names (MEE, CAK) beat stop words
        self.vocabulary: set[str] = set()  # folded words seen in the knowledge base
        self.frequency: Counter[str] = Counter()  # how often the knowledge base uses each word
        self._stemmer = Stemmer.Stemmer("dutch")
        self._by_length: dict[tuple[str, int], list[str]] = {}
        self._stem_words: dict[str, str] = {}
        self._parts: frozenset[str] = lexicon.compound_parts
        self._corrections: dict[str, tuple[str, bool]] = {}
        # Knowledge bases and questions repeat the same words over and over; stemming and
        # compound splitting each word once keeps the index build fast.
        self._slot_cache: dict[str, Slot] = {}
        self._english_cache: dict[str, Slot] = {}
        self._terms_cache: dict[str, list[tuple[str, float]]] = {}  # for indexing only
        # the terms the knowledge base's texts use, once indexed (None: not known yet)
        self.indexed: frozenset[str] | None = None
        self._phrase_starts = frozenset(phrase[0] for phrase in lexicon.phrases)

    def learn(self, texts: Iterable[str]) -> None:
        """Add the words of knowledge-base texts to the vocabulary used for typo repair."""
        for text in texts:
            self.frequency.update(tokens(text))
        self.vocabulary.update(self.frequency)

    def protect_acronyms(self, names: Iterable[str]) -> None:
        """Keep capitalised names such as MEE or CJG even when they look like stop words."""
        for name in names:
            for word in re.findall(r"\b[A-ZÀ-Ý]{2,}\b", name):
                self.protected.add(fold(word))

    def freeze(self) -> None:
        """Prepare the typo and compound indexes once all texts are learned."""
        self.vocabulary |= set(self.lexicon.concept_of) | self.lexicon.compound_parts
        self._by_length = {}
        # Typo repair prefers, among equally close words, the one the knowledge base uses
        # most, then the alphabetically first: the same answer whatever the hash seed.
        for word in sorted(self.vocabulary, key=self._preference):
            if len(word) >= 4 and not word.isdigit():
                self._by_length.setdefault((word[0], len(word)), []).append(word)
        # A word whose stem the knowledge base uses is another form of a known word (deuren →
        # deur), or a typo that keeps the stem (rekenigen → rekeningen): read it as the known
        # word with that stem that the knowledge base uses most.
        learned = sorted(self.frequency, key=self._preference)
        self._stem_words = {}
        for word, stem in zip(learned, self._stemmer.stemWords(learned), strict=True):
            self._stem_words.setdefault(stem, word)
        long_words = {word for word in self.vocabulary if len(word) >= 4}
        self._parts = self.lexicon.compound_parts | long_words
        self._corrections = {}
        self._slot_cache = {}  # compound splits depend on the parts just learned
        self._english_cache = {}
        self._terms_cache = {}

    def slots(self, text: str, *, correct: bool = True) -> list[Slot]:
        """The meaningful units of `text`, with stop words removed."""
        found = tokens(text)
        if correct:
            found = self._joined(found)
            canonical = [self._canonical(word, correct) for word in found]
        else:  # knowledge-base text: only the listed misspellings are mended
            spelling = self.lexicon.misspellings
            canonical = [(spelling.get(word, word), False) for word in found]
        words = [word for word, _ in canonical]
        changed = words != found  # a repair may make a phrase: check the repaired words too
        result: list[Slot] = []
        index = 0
        while index < len(words):
            # A phrase as the resident wrote it, or after spelling repair.
            phrase = self._phrase_at(found, index) or (
                self._phrase_at(words, index) if changed else ())
            if phrase and not self.lexicon.phrases[phrase]:
                index += len(phrase)  # emphasis only ("ik ga dood van de zenuwen")
                continue
            if phrase:
                concept = CONCEPT_PREFIX + self.lexicon.phrases[phrase]
                text = " ".join(phrase)
                slot = Slot(text, (text,), synonyms=(concept,))
                if correct and self.indexed is not None and concept not in self.indexed:
                    # The knowledge base never speaks of this: its broader meaning counts
                    # or else its words, as the parts of a compound do.
                    parts = tuple(self._part_term(word) for word in phrase
                                  if word not in self.lexicon.stopwords)
                    slot = self._broader(slot) or Slot(text, (text,), parts=parts)
                result.append(slot)
                index += len(phrase)
                continue
            word = words[index]
            index += 1
            if (word in self.lexicon.stopwords and word not in self.protected) or len(word) < 2:
                continue
            if (correct and word in self.lexicon.english and not canonical[index - 1][1]
                    and word not in self.lexicon.concept_of):
                result.append(self._english_slot(word))
                continue
            slot = self._cached_slot(word)
            if canonical[index - 1][1]:
                slot = replace(slot, guessed=True)
            if (correct and slot.synonyms and self.indexed is not None
                    and slot.synonyms[0] not in self.indexed):
                slot = self._broader(slot) or slot
            result.append(slot)
        return result

    def _broader(self, slot: Slot) -> Slot | None:
        """The slot read in its broader meaning(s) that the knowledge base does speak of:
        voedselbank → schulden. A guess, so it counts for less. None if there is none."""
        assert self.indexed is not None
        broader = tuple(
            CONCEPT_PREFIX + name
            for concept in slot.synonyms
            for name in self.lexicon.broader.get(concept[len(CONCEPT_PREFIX):], ())
            if CONCEPT_PREFIX + name in self.indexed
        )
        if not broader:
            return None
        return replace(slot, synonyms=broader, guessed=True)

    def _english_slot(self, word: str) -> Slot:
        """An English word of a question: itself (for English texts) and its Dutch meaning."""
        slot = self._english_cache.get(word)
        if slot is None:
            meant = self.slots(self.lexicon.english[word], correct=False)
            synonyms = tuple(dict.fromkeys(
                term for found in meant for term in (*found.synonyms, *found.exact)))
            own = self._stemmer.stemWord(word)
            slot = Slot(word, (own,), synonyms=tuple(t for t in synonyms if t != own))
            self._english_cache[word] = slot  # bounded: one per word of the English list
        return slot

    def wanted_kind(self, text: str) -> str | None:
        """Which kind of answer the wording asks for ("service", "faq"), if it says so."""
        words = tokens(text)
        grams = {tuple(words[i:i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
        for kind, cues in self.lexicon.answer_cues:
            if grams & cues:
                return kind
        return None

    def _joined(self, words: list[str]) -> list[str]:
        """Rejoin a compound written as two words, if the knowledge base writes it as one:
        "geld zorgen" → geldzorgen."""
        if len(words) < 2:
            return words
        joined: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            if index + 1 < len(words):
                after = words[index + 1]
                whole = word + after
                if (whole in self.frequency and len(word) >= MIN_PART_LENGTH
                        and len(after) >= MIN_PART_LENGTH
                        and word not in self.lexicon.stopwords
                        and after not in self.lexicon.stopwords):
                    joined.append(whole)
                    index += 2
                    continue
            joined.append(word)
            index += 1
        return joined

    def terms(self, text: str) -> list[tuple[str, float]]:
        """Index terms of a knowledge-base text with their strength (1.0 exact, lower loose)."""
        found: list[tuple[str, float]] = []
        cache = self._terms_cache
        for slot in self.slots(text, correct=False):
            # Without repairs the same word or phrase always gives the same slot.
            terms = cache.get(slot.word)
            if terms is None:
                terms = cache[slot.word] = (
                    [(term, 1.0) for term in (*slot.exact, *slot.synonyms)]
                    + [(term, LOOSE_STRENGTH) for term in slot.loose]
                    + [(term, PART_STRENGTH) for term in slot.parts])
            found += terms
        return found

    def _phrase_at(self, words: list[str], index: int) -> tuple[str, ...]:
        """The longest lexicon phrase starting at `index`, or ()."""
        if words[index] not in self._phrase_starts:
            return ()  # most words start no phrase: skip building a tuple per phrase length
        longest = min(self.lexicon.max_phrase_length, len(words) - index)
        for length in range(longest, 1, -1):
            phrase = tuple(words[index:index + length])
            if phrase in self.lexicon.phrases:
                return phrase
        return ()

    def _canonical(self, word: str, correct: bool) -> tuple[str, bool]:
        """The word to look up, and whether it is a guess (a typo repair)."""
        word = self.lexicon.misspellings.get(word, word)
        if (word in self.vocabulary or word in self.lexicon.stopwords
                or word in self.lexicon.english):
            return word, False
        if correct:
            corrected = self._corrections.get(word)
            if corrected is None:
                if len(self._corrections) >= MAX_CACHED_CORRECTIONS:
                    self._corrections.clear()  # a long-running bot must not grow without end
                corrected = self._corrections[word] = self._correct(word)
            return corrected
        return word, False

    def _correct(self, word: str) -> tuple[str, bool]:
        """The known word meant by an unknown one, and whether that is a guess (a typo)."""
        if len(word) < MIN_REPAIR_LENGTH or word.isdigit():
            return word, False
        known = self._stem_words.get(self._stemmer.stemWord(word))
        if known is not None:
            return known, False  # another form of a known word: deuren → deur
        if self._splits(word):
            return word, False
        max_edits = 1 if len(word) < TWO_EDIT_LENGTH else 2
        # People rarely mistype the first letter; a different first letter mostly means a
        # different word (licht/zicht, morgen/zorgen, dreigen/eigen).
        candidates = [
            candidate
            for length in range(len(word) - max_edits, len(word) + max_edits + 1)
            for candidate in self._by_length.get((word[0], length), ())
        ]
        close = process.extract(
            word, candidates, scorer=OSA.distance, score_cutoff=max_edits, limit=None
        )
        if not close:
            return word, False
        # Fewest edits first; among equals the word the knowledge base uses most.
        best = min(close, key=lambda found: (found[1], self._preference(found[0])))
        return str(best[0]), True

    def _preference(self, word: str) -> tuple[int, str]:
        """Sort key among equally good typo repairs: most used in the knowledge base first."""
        return (-self.frequency.get(word, 0), word)

    def _cached_slot(self, word: str) -> Slot:
        slot = self._slot_cache.get(word)
        if slot is None:
            if len(self._slot_cache) >= MAX_CACHED_SLOTS:
                self._slot_cache.clear()  # a long-running bot must not grow without end
            slot = self._slot_cache[word] = self._slot(word)
        return slot

    def _slot(self, word: str) -> Slot:
        concept = self.lexicon.concept_of.get(word)
        stem = self._stemmer.stemWord(word)
        if concept:
            return Slot(word, (stem,), synonyms=(CONCEPT_PREFIX + concept,))
        loose = (word[:PREFIX_LENGTH] + "~",) if len(word) >= PREFIX_LENGTH else ()
        parts = self._splits(word) if len(word) >= MIN_COMPOUND_LENGTH else ()
        part_terms = tuple(self._part_term(part) for part in parts)
        return Slot(word, (stem,), loose, part_terms)

    def _part_term(self, part: str) -> str:
        concept = self.lexicon.concept_of.get(part)
        return CONCEPT_PREFIX + concept if concept else self._stemmer.stemWord(part)

    def _splits(self, word: str) -> tuple[str, ...]:
        """Split a compound into known parts (mantelzorgwaardering → mantelzorg, waardering)."""
        return _split_compound(word, self._parts)


def _split_compound(word: str, parts: frozenset[str]) -> tuple[str, ...]:
    """Fewest-parts split of `word` into known parts, allowing linking letters; () if none."""
    best: dict[int, tuple[str, ...]] = {0: ()}
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 25), end - MIN_PART_LENGTH + 1):
            if start not in best:
                continue
            piece = word[start:end]
            if piece in parts:
                candidate = (*best[start], piece)
                if end not in best or len(candidate) < len(best[end]):
                    best[end] = candidate
            for link in LINKING_LETTERS:
                if piece.endswith(link) and piece[: -len(link)] in parts and start > 0:
                    candidate = (*best[start], piece[: -len(link)])
                    if end not in best or len(candidate) < len(best[end]):
                        best[end] = candidate
    split = best.get(len(word), ())
    return split if len(split) >= 2 else ()
