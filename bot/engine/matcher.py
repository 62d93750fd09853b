"""Free-text search over services and FAQ entries: an index built once, scored 0..1."""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from bot.engine.language import (
    CONCEPT_PREFIX,
    Analyzer,
    Lexicon,
    Slot,
    builtin_lexicon,
    fold,
    load_yaml,
)
from bot.engine.needs import NeedMap, builtin_needs, field_texts, needs_of
from bot.kb.loader import KnowledgeBase
from bot.kb.models import Contact, FaqEntry, Service

Kind = Literal["service", "faq"]
# A slot's terms (exact, loose, parts, synonyms): what its credit depends on.
_CreditKey = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]

# How strongly a word in each field says what a document is about.
FIELD_WEIGHTS = {
    "name": 1.0,
    "keywords": 1.0,
    "question": 1.0,
    "examples": 0.85,
    "summary": 0.7,
    "details": 0.45,
    "next_steps": 0.45,  # what happens next: the same kind of words as details
    "answer": 0.45,
    "bring": 0.35,
    "for_whom": 0.35,
    "cost": 0.2,
}
CONTACT_WEIGHT = 0.7  # a service card that shows a phone number answers "telefoonnummer"
MIN_SCORE = 0.42  # below this the bot says honestly that it does not know
CLOSE_MARGIN = 0.08  # two results closer than this: ask "Bedoel je…?"
RELATIVE_FLOOR = 0.75  # further results must reach this share of the best score
MAX_RESULTS = 5
_CAPITALS = re.compile(r"\b[A-ZÀ-Ý]{2,}\b")  # a name such as MEE or CAK, written in capitals
UNKNOWN_WORD_SHARE = 0.35  # weight of a word the knowledge base never uses, relative to median
QUERY_WEIGHT_CAP = 5.0  # long stories: the score is judged on the strongest few words
WEAK_WORD_SHARE = 0.3  # "uitleg", "regelen", "hulp": how someone asks, not what about
SATURATION = 1.5  # summed field weight at which a word's credit reaches 63%
CANDIDATES = 50  # documents that get the title bonus and a place in the ranking
TITLE_BONUS = 0.15  # a question that covers a document's whole title is most likely about it
# "telefoonnummer" asks for a service card, "hoe werkt" for an explanation: the other kind
# loses this share of the score
KIND_PENALTY = 0.05
LOOSE_FACTOR = 0.8  # a word that only shares its first letters with the question counts less
GUESS_SHARE = 0.6  # a typo repair or a broader meaning is a guess: it counts for less
SYNONYM_FACTOR = 0.85  # a word from the same lexicon group counts a bit less than the word itself
PART_SHARE = 0.9  # all parts of a compound together count a little less than the whole word
MAX_RECENT_ENTRIES = 200_000  # bound on remembered group-plus-own credits of other words
# A question whose needs (bot/engine/needs.py) an entry fully meets gains this share of the
# question's weight: the map finds entries in words their editor never used.
NEED_WEIGHT = 0.3
NEED_MARK = "~"  # a Match's `matched` lists a met need as "~need-id"
NEED_CANDIDATES = 40  # per need, the documents that meet it most get a place in the ranking
NEED_SCALE_TOP = 3  # a long story names many needs: an entry is judged on the strongest few


@dataclass(frozen=True)
class Match:
    """One search result: what it is, how well it fits, and why."""

    kind: Kind
    id: str
    score: float
    matched: tuple[str, ...]  # the resident's words that matched

    def explain(self) -> str:
        """Which words matched, for logs of the eval tool and for authors."""
        return ", ".join(self.matched) or "-"


@dataclass(frozen=True)
class SearchResult:
    """Ranked matches plus the bot's decision about them."""

    matches: tuple[Match, ...]
    ambiguous: bool  # the best two are too close to choose: ask the resident

    @classmethod
    def of(cls, offered: list[Match]) -> SearchResult:
        """The offered matches, best first; ambiguous when the best two are too close."""
        ambiguous = len(offered) > 1 and offered[0].score - offered[1].score < CLOSE_MARGIN
        return cls(tuple(offered), ambiguous)

    @property
    def best(self) -> Match | None:
        """The top match, if any."""
        return self.matches[0] if self.matches else None


@dataclass
class _Document:
    kind: Kind
    id: str
    title: tuple[frozenset[str], ...] = ()  # per title word: the terms that stand for it


class Matcher:
    """The search service: build once from a knowledge base, then answer many questions."""

    def __init__(self, kb: KnowledgeBase, *, lexicon: Lexicon | None = None,
                 needs: NeedMap | None = None) -> None:
        self.analyzer = Analyzer(lexicon or builtin_lexicon())
        self.needs = needs or builtin_needs()
        weak = weak_words()
        # An English word is weak when its Dutch meaning is ("support" like "ondersteuning").
        english = self.analyzer.lexicon.english
        self._weak = weak | {word for word, dutch in english.items() if dutch in weak}
        self._no_topic = self._weak | topicless_words()
        entries: list[Service | FaqEntry] = [*kb.services.values(), *kb.faq.values()]
        self.analyzer.learn(text for entry in entries for text in _texts(entry))
        self.analyzer.protect_acronyms(
            text for service in kb.services.values() for text in field_texts(service, "name")
        )
        self.analyzer.freeze()
        self._documents = [self._document(entry) for entry in entries]
        self._doc_needs = [needs_of(self.needs, entry) for entry in entries]
        self._position = {(d.kind, d.id): i for i, d in enumerate(self._documents)}
        # Per need, the documents that meet it most: a bounded set of candidates, so a need
        # that half of a large knowledge base meets costs no more than a rare one.
        postings: dict[str, list[tuple[float, int]]] = {}
        for index, own in enumerate(self._doc_needs):
            for need, weight in own.items():
                postings.setdefault(need, []).append((-weight, index))
        self._need_candidates = {need: tuple(index for _, index in sorted(found)[:NEED_CANDIDATES])
                                 for need, found in postings.items()}
        # Per term: document index → credit (0..1). A one-term slot (most of them) uses this
        # mapping as it is, without copying it for every question.
        self._contact_terms: dict[str, list[tuple[str, float]]] = {}
        self._postings = self._postings_of(entries)
        # Group plus own credit per lexicon word: those the knowledge base uses, and a bounded
        # memory of the others that questions used.
        self._combined: dict[_CreditKey, dict[int, float]] = {}
        self._recent: dict[_CreditKey, dict[int, float]] = {}
        self._recent_size = 0
        self._combine_known_words()
        self.analyzer.indexed = frozenset(self._postings)
        count = len(self._documents)
        self._idf = {
            term: math.log(1 + (count - len(posting) + 0.5) / (len(posting) + 0.5))
            for term, posting in self._postings.items()
        }
        ordered = sorted(self._idf.values())
        median = ordered[len(ordered) // 2] if ordered else 1.0
        self._unknown_weight = median * UNKNOWN_WORD_SHARE
        # A word used in only one or two documents is not more important to the resident's
        # question than a topic word: cap its weight so rare filler cannot drown the topic.
        self._weight_cap = math.log(1 + (count - 2.5) / 3.5) if count > 3 else 1.0

    def search(
        self,
        text: str,
        *,
        allowed: Callable[[Kind, str], bool] | None = None,
        floor: float = MIN_SCORE,
        asked: Mapping[str, float] | None = None,
    ) -> SearchResult:
        """Rank documents for `text`; `allowed` filters (e.g. by the resident's gemeente).

        `asked` is the text's needs when the caller read them already.
        """
        slots = self.analyzer.slots(text)
        if not slots:
            return SearchResult((), False)
        slot_weights = [self._slot_weight(slot) for slot in slots]
        total = min(sum(slot_weights), max(QUERY_WEIGHT_CAP, max(slot_weights)))
        credits = [self._credit(slot) for slot in slots]
        scores = _weighted_sum(credits, slot_weights, len(self._documents))
        # The title bonus is at most TITLE_BONUS of the total, so only the leaders can gain
        # from it; judging just them keeps large knowledge bases fast.
        leaders = self._leaders(scores, allowed)
        query_terms = {t for slot in slots
                       for t in (*slot.exact, *slot.loose, *slot.parts, *slot.synonyms)}
        wanted = self.analyzer.wanted_kind(text)
        final: dict[int, float] = {}
        met = self._need_overlap(self.needs.read(text) if asked is None else asked, leaders,
                                 allowed)
        for index in leaders:
            title = self._documents[index].title
            covered = sum(1 for word_terms in title if word_terms & query_terms)
            final[index] = scores[index] + (
                TITLE_BONUS * total * covered / len(title) if title else 0.0)
            if wanted is not None and self._documents[index].kind != wanted:
                final[index] -= KIND_PENALTY * total
        for index, (overlap, _) in met.items():
            final[index] = final.get(index, scores[index]) + NEED_WEIGHT * total * overlap
        # Scores only fall down the ranking, so what the bot offers is a prefix of it: the
        # best MAX_RESULTS are all that can be offered, and only those become a Match.
        order = heapq.nsmallest(
            MAX_RESULTS, final,
            key=lambda i: (-final[i], self._documents[i].kind != "faq", self._documents[i].id),
        )
        ranked = [(i, round(min(1.0, final[i] / total), 4)) for i in order]
        matches = [Match(self._documents[i].kind, self._documents[i].id, score,
                         tuple(slot.word for slot, credit in zip(slots, credits, strict=True)
                               if i in credit) + met.get(i, (0.0, ()))[1])
                   for i, score in _offered(ranked, floor)]
        names = {fold(word) for word in _CAPITALS.findall(text)}  # MEE, CAK: names count
        return SearchResult.of([m for m in matches if any(
            word not in self._no_topic or word in names for word in m.matched)])

    def topical(self, text: str) -> bool:
        """Whether a text names a topic, beyond how or about whom someone asks."""
        return any(slot.word not in self._no_topic and not self._weak.intersection(slot.exact)
                   for slot in self.analyzer.slots(text, correct=False))

    def needs_met(self, kind: Kind, entry_id: str) -> Mapping[str, float]:
        """The needs an entry meets (named in `needs:`, or inferred), with their weight."""
        return self._doc_needs[self._position[(kind, entry_id)]]

    def _need_overlap(self, asked: Mapping[str, float], leaders: list[int],
                      allowed: Callable[[Kind, str], bool] | None,
                      ) -> dict[int, tuple[float, tuple[str, ...]]]:
        """Per document: how much of the question's needs it meets (0..1), and which."""
        if not asked:
            return {}
        scale = sum(sorted(asked.values(), reverse=True)[:NEED_SCALE_TOP])
        wider = self.needs.expand(asked)
        candidates = set(leaders)
        for need in asked:  # the neighbours add to the score, not to the candidates
            candidates.update(self._need_candidates.get(need, ()))
        met: dict[int, tuple[float, tuple[str, ...]]] = {}
        for index in candidates:
            document = self._documents[index]
            if allowed is not None and not allowed(document.kind, document.id):
                continue
            own = self._doc_needs[index]
            shared = [need for need in own if need in wider]
            if shared:
                overlap = sum(wider[need] * own[need] for need in shared) / scale
                met[index] = (min(1.0, overlap), tuple(NEED_MARK + need for need in shared))
        return met

    def _slot_weight(self, slot: Slot) -> float:
        # A bare number (an age, an amount) sets the scene rather than the topic.
        weak = slot.word in self._weak or slot.word.isdigit() or any(
            term in self._weak for term in (*slot.exact, *slot.synonyms))
        factor = WEAK_WORD_SHARE if weak else 1.0
        if slot.guessed:
            factor *= GUESS_SHARE
        known = [self._idf[t] for t in (*(slot.synonyms or slot.exact), *slot.loose)
                 if t in self._idf]
        if known:
            return factor * min(max(known), self._weight_cap)
        parts = [self._idf[t] for t in slot.parts if t in self._idf]
        if parts:
            return factor * min(sum(parts) / len(slot.parts), self._weight_cap)
        return factor * self._unknown_weight

    def _credit(self, slot: Slot) -> Mapping[int, float]:
        """Per document, how fully it covers this slot (0..1). Read-only: may be shared.

        A word of a lexicon group is covered by every word of the group, and a little more
        by the word itself: SYNONYM_FACTOR of the group's credit plus the rest of its own.
        """
        if not slot.synonyms:
            return self._slot_credit(slot)
        key = (slot.exact, slot.loose, slot.parts, slot.synonyms)
        combined = self._combined.get(key) or self._recent.get(key)
        if combined is None:
            combined = self._combine(slot)
            # Questions repeat the same topic words: keep their sums, within a bound.
            if self._recent_size + len(combined) > MAX_RECENT_ENTRIES:
                self._recent.clear()
                self._recent_size = 0
            self._recent[key] = combined
            self._recent_size += len(combined)
        return combined

    def _combine(self, slot: Slot) -> dict[int, float]:
        """The group's credit times SYNONYM_FACTOR plus the word's own credit for the rest."""
        group: list[Mapping[int, float]] = [
            self._postings.get(term, {}) for term in slot.synonyms]
        merged = group[0] if len(group) == 1 else _highest(group)
        combined = {index: SYNONYM_FACTOR * value for index, value in merged.items()}
        for index, value in self._slot_credit(slot).items():
            combined[index] = combined.get(index, 0.0) + (1.0 - SYNONYM_FACTOR) * value
        return combined

    def _combine_known_words(self) -> None:
        """Sum group and own credits once for every lexicon word the knowledge base uses:
        the words questions use most, so that a question needs one pass per word."""
        concept_of = self.analyzer.lexicon.concept_of
        for word in self.analyzer.frequency:
            if word in concept_of:
                slot = self.analyzer.slots(word, correct=False)
                if len(slot) == 1 and slot[0].synonyms:
                    found = slot[0]
                    key = (found.exact, found.loose, found.parts, found.synonyms)
                    if key not in self._combined:
                        self._combined[key] = self._combine(found)

    def _slot_credit(self, slot: Slot) -> Mapping[int, float]:
        """Per document, how fully it covers the slot's own word (0..1). Read-only."""
        exact = [self._postings.get(term, {}) for term in slot.exact]
        if len(exact) == 1 and not slot.loose and not slot.parts:
            return exact[0]  # most slots: one term, whose credits need no copy
        loose = [_scaled(self._postings.get(term, {}), LOOSE_FACTOR) for term in slot.loose]
        # A document covers the slot as well as its best-matching form of the word.
        return _highest([*exact, *loose, self._part_credit(slot.parts)])

    def _part_credit(self, parts: tuple[str, ...]) -> dict[int, float]:
        """Per document, the credit for the parts of a compound: each part counts for a share."""
        if not parts:
            return {}
        share = PART_SHARE / len(parts)
        credit: dict[int, float] = {}
        for term in dict.fromkeys(parts):  # each distinct part once, in a fixed order
            for index, weight in self._postings.get(term, {}).items():
                credit[index] = credit.get(index, 0.0) + weight * share
        return credit

    def _leaders(
        self, scores: list[float], allowed: Callable[[Kind, str], bool] | None
    ) -> list[int]:
        """The CANDIDATES best allowed documents; equal scores in knowledge-base order.

        Asking `allowed` only about the best few, instead of about every document that
        shares a word with the question, saves most of the filtering on a large knowledge base.
        """
        wanted = CANDIDATES
        while True:
            best = _best(scores, wanted)
            if allowed is None:
                return best
            kept = [i for i in best if allowed(self._documents[i].kind, self._documents[i].id)]
            if len(kept) >= CANDIDATES or len(best) < wanted:
                return kept[:CANDIDATES]
            wanted *= 4  # too many were filtered out: look further down the ranking

    def _postings_of(self, entries: list[Service | FaqEntry]) -> dict[str, dict[int, float]]:
        """Per term, the credit of every document (by index) that uses it."""
        evidence: dict[str, dict[int, float]] = {}
        for index, entry in enumerate(entries):
            for term, weight in self._evidence(entry).items():
                evidence.setdefault(term, {})[index] = weight
        # Only these per-term mappings are kept: no per-document copy of the same numbers.
        return {term: _saturate(posting) for term, posting in evidence.items()}

    def _evidence(self, entry: Service | FaqEntry) -> dict[str, float]:
        """Per term, the summed field weight of every place the entry uses it."""
        # Evidence adds up: a document that names a word in its title, keywords and examples
        # is more about it than one that mentions it once.
        weights: dict[str, float] = {}
        texts = [(text, weight) for field_name, weight in FIELD_WEIGHTS.items()
                 for text in field_texts(entry, field_name)]
        texts.append((entry.id.replace("-", " "), FIELD_WEIGHTS["keywords"]))
        for text, weight in texts:
            for term, strength in self.analyzer.terms(text):
                weights[term] = weights.get(term, 0.0) + weight * strength
        for words in self._contact_words(entry):  # the same few texts for every service
            terms = self._contact_terms.get(words)
            if terms is None:
                terms = self._contact_terms[words] = self.analyzer.terms(words)
            for term, strength in terms:
                weights[term] = weights.get(term, 0.0) + CONTACT_WEIGHT * strength
        return weights

    def _contact_words(self, entry: Service | FaqEntry) -> list[str]:
        """The words residents use to ask for what the service card shows (phone, hours…)."""
        if not isinstance(entry, Service):
            return []
        fields = self.analyzer.lexicon.contact_fields
        shown = {name for name, value in (entry.contact or Contact()) if value}
        if entry.hours is not None:
            shown.add("hours")
        return [fields[name] for name in sorted(shown) if name in fields]

    def _document(self, entry: Service | FaqEntry) -> _Document:
        kind: Kind = "service" if isinstance(entry, Service) else "faq"
        return _Document(kind, entry.id, self._title(entry, kind))

    def _title(self, entry: Service | FaqEntry, kind: Kind) -> tuple[frozenset[str], ...]:
        """Per word of the name or question: the terms that stand for it."""
        title_field = "name" if kind == "service" else "question"
        return tuple(
            frozenset((*slot.exact, *slot.loose, *slot.parts, *slot.synonyms))
            for text in field_texts(entry, title_field)[:1]
            for slot in self.analyzer.slots(text, correct=False)
            if slot.word not in self._weak
        )


@lru_cache(maxsize=1)
def topicless_words() -> frozenset[str]:
    """Words that never decide a match by themselves (data/weak_words.yaml: topicless)."""
    text = resources.files("bot.engine").joinpath("data/weak_words.yaml").read_text("utf-8")
    return frozenset(fold(str(word)) for word in load_yaml(text).get("topicless", []))


def weak_words() -> frozenset[str]:
    """Words that say how someone asks rather than what about (data/weak_words.yaml)."""
    text = resources.files("bot.engine").joinpath("data/weak_words.yaml").read_text("utf-8")
    data = load_yaml(text)
    words = {fold(str(word)) for word in [*data["weak_words"], *data["more_weak_words"]]}
    return frozenset(words | {CONCEPT_PREFIX + str(name) for name in data["weak_concepts"]})


def _saturate(posting: dict[int, float]) -> dict[int, float]:
    """Turn summed evidence into a credit between 0 and 1 (diminishing returns)."""
    return {index: 1.0 - math.exp(-weight / SATURATION) for index, weight in posting.items()}


def _scaled(credit: Mapping[int, float], factor: float) -> dict[int, float]:
    """Every credit times `factor`."""
    return {index: value * factor for index, value in credit.items()}


def _highest(credits: list[Mapping[int, float]]) -> dict[int, float]:
    """Per document, the highest of its credits."""
    largest = max(credits, key=len)
    merged = dict(largest)  # copying the largest mapping at C speed saves most of the work
    for credit in credits:
        if credit is largest:
            continue
        for index, value in credit.items():
            if value > merged.get(index, 0.0):
                merged[index] = value
    return merged


def _weighted_sum(
    credits: list[Mapping[int, float]], weights: list[float], size: int
) -> list[float]:
    """Per document index, the sum of slot weight × slot credit (0.0: no word in common)."""
    # A list indexed by document is about 1.7 times faster to add into than a dictionary,
    # and every slot of a question on a large knowledge base touches thousands of documents.
    scores = [0.0] * size
    for credit, weight in zip(credits, weights, strict=True):
        for index, value in credit.items():
            scores[index] += weight * value
    return scores


def _best(scores: list[float], count: int) -> list[int]:
    """Indexes of the `count` highest positive scores, best first; equal scores by index."""
    # Finding the cut-off score among the bare numbers first, then sorting only the documents
    # that reach it, is a third faster than heapq.nlargest with a key over all documents.
    highest = heapq.nlargest(count, scores)
    cutoff = highest[-1] if highest else 0.0
    reaching = [i for i, score in enumerate(scores) if score >= cutoff and score > 0.0]
    reaching.sort(key=scores.__getitem__, reverse=True)  # stable: ties stay in index order
    return reaching[:count]


def _offered(ranked: list[tuple[int, float]], min_score: float) -> list[tuple[int, float]]:
    """The ranked (index, score) pairs the bot would really offer: near enough to the best."""
    if not ranked or ranked[0][1] < min_score:
        return []
    floor = max(min_score, ranked[0][1] * RELATIVE_FLOOR)
    return [(index, score) for index, score in ranked if score >= floor][:MAX_RESULTS]


def _texts(entry: Service | FaqEntry) -> list[str]:
    return [text for name in FIELD_WEIGHTS for text in field_texts(entry, name)]
