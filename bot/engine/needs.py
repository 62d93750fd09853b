"""The shared map of needs: from a resident's words to what they need, for every gemeente.

Like the 211 helplines' taxonomy, the map (data/needs/*.yaml) names a few hundred needs,
each with the words residents use for it in Dutch (lay, B1, formal), English and common
misspellings, grouped under life domains and reachable from life events. A question is read
as needs; a knowledge-base entry meets needs (its `needs:` field, or inferred from its text);
the matcher adds their overlap to the word evidence, so a question in words the knowledge-base
editor never used still finds the entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import Stemmer

from bot.engine.language import fold, load_yaml
from bot.kb.models import FaqEntry, LocalSteps, LocalText, Service

NEEDS_FOLDER = "data/needs"
MAX_GAP = 2  # words allowed between the words of a phrase ("rekeningen [niet meer] betalen")
EVENT_SHARE = 0.5  # a life event suggests its needs, more weakly than naming them
NEIGHBOUR_SHARE = 0.4  # a broader or related need counts for this share
ENTRY_NEEDS = 5  # an entry meets at most this many inferred needs
ENTRY_SHARE = 0.4  # an inferred need must have this share of the entry's strongest one
# Where an entry's needs are inferred from when it names none: its title and keywords most.
NEED_FIELDS = {"name": 1.0, "question": 1.0, "keywords": 1.0, "examples": 0.8,
               "summary": 0.6, "details": 0.2, "next_steps": 0.2, "answer": 0.2}


@dataclass(frozen=True)
class Need:
    """One need: where it belongs and which needs lie around it."""

    id: str
    domain: str
    label: Mapping[str, str]
    neighbours: tuple[str, ...]  # broader and related


@dataclass(frozen=True, eq=False)  # compared by identity: one map per process
class NeedMap:
    """The needs, and per stemmed word sequence the needs it stands for (with a weight)."""

    needs: Mapping[str, Need]
    domains: Mapping[str, Mapping[str, str]]
    keys: Mapping[tuple[str, ...], Mapping[str, float]]
    by_first: Mapping[str, tuple[tuple[str, ...], ...]]  # the keys by their first word

    def read(self, text: str) -> dict[str, float]:
        """The needs a text names, each with its evidence (more words, more weight)."""
        variants = [_variants(word) for word in fold(text).split()]
        present = frozenset().union(*variants)
        by_first, keys = self.by_first, self.keys
        found: dict[str, float] = {}
        seen: set[tuple[str, ...]] = set()
        for start, forms in enumerate(variants):
            for form in forms:
                for key in by_first.get(form, ()):
                    # Most phrases fail on a word the text lacks: a cheap set test first.
                    if key in seen or (len(key) > 1 and not (
                            present.issuperset(key[1:]) and _follows(key, variants, start + 1))):
                        continue
                    seen.add(key)
                    for need, weight in keys[key].items():
                        found[need] = found.get(need, 0.0) + weight * len(key)
        return found

    def expand(self, needs: Mapping[str, float]) -> dict[str, float]:
        """The needs with their broader and related needs added, more weakly."""
        wider = dict(needs)
        for need, weight in needs.items():
            for other in self.needs[need].neighbours:
                wider[other] = max(wider.get(other, 0.0), weight * NEIGHBOUR_SHARE)
        return wider

    def domains_of(self, needs: Mapping[str, float], *, least: float) -> set[str]:
        """The life domains with at least `least` evidence."""
        totals: dict[str, float] = {}
        for need, weight in needs.items():
            domain = self.needs[need].domain
            totals[domain] = totals.get(domain, 0.0) + weight
        return {domain for domain, total in totals.items() if total >= least}

    def met_by(self, texts: Iterable[tuple[str, float]]) -> dict[str, float]:
        """The needs an entry meets, inferred from its texts (each with a field weight)."""
        found: dict[str, float] = {}
        for text, weight in texts:
            for need, evidence in self.read(text).items():
                found[need] = found.get(need, 0.0) + evidence * weight
        if not found:
            return {}
        strongest = max(found.values())
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))[:ENTRY_NEEDS]
        return {need: round(weight / strongest, 3) for need, weight in ranked
                if weight >= strongest * ENTRY_SHARE}


def needs_of(need_map: NeedMap, entry: Service | FaqEntry) -> dict[str, float]:
    """The needs an entry meets: the ones it names in `needs:`, else those its text suggests."""
    if entry.needs:
        return {need: 1.0 for need in entry.needs if need in need_map.needs}
    return dict(_inferred(need_map, tuple((text, weight) for name, weight in NEED_FIELDS.items()
                                          for text in field_texts(entry, name))))


@lru_cache(maxsize=16384)
def _inferred(need_map: NeedMap, texts: tuple[tuple[str, float], ...],
              ) -> tuple[tuple[str, float], ...]:
    """Inferred once per entry text: `wegwijzer check` and the matcher both ask."""
    return tuple(need_map.met_by(texts).items())


def field_texts(entry: Service | FaqEntry, field_name: str) -> list[str]:
    """The texts of one field of an entry, Dutch and English."""
    value = getattr(entry, field_name, None)
    if isinstance(value, LocalText):
        return [value.nl, value.en] if value.en else [value.nl]
    if isinstance(value, LocalSteps):
        return [*value.nl, *(value.en or [])]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [] if value is None else [str(value)]


def _follows(key: tuple[str, ...], variants: list[frozenset[str]], position: int) -> bool:
    """Whether the rest of `key` follows in order, each within MAX_GAP words."""
    for word in key[1:]:
        window = range(position, min(position + MAX_GAP + 1, len(variants)))
        position = next((i + 1 for i in window if word in variants[i]), -1)
        if position < 0:
            return False
    return True


_DUTCH = Stemmer.Stemmer("dutch")
_ENGLISH = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _variants(word: str) -> frozenset[str]:
    """The forms a word is looked up by: itself, its Dutch stem and its English stem."""
    return frozenset((word, _DUTCH.stemWord(word), _ENGLISH.stemWord(word)))


def _key(phrase: str, stemmer: Stemmer.Stemmer) -> tuple[str, ...]:
    return tuple(stemmer.stemWords(fold(phrase).split()))


def build(files: Iterable[Any]) -> NeedMap:
    """A map from parsed needs files (domains, needs, life_events)."""
    domains: dict[str, Mapping[str, str]] = {}
    needs: dict[str, Need] = {}
    pointers: dict[tuple[str, ...], dict[str, float]] = {}
    events: list[dict[str, Any]] = []
    raw_needs: list[dict[str, Any]] = []
    for data in files:
        for domain in data.get("domains") or ():
            domains[domain["id"]] = {"nl": domain["nl"], "en": domain["en"]}
        raw_needs += data.get("needs") or []
        events += data.get("life_events") or []
    for raw in raw_needs:
        neighbours = (*raw.get("broader", ()), *raw.get("related", ()))
        needs[raw["id"]] = Need(raw["id"], raw["domain"], {"nl": raw["nl"], "en": raw["en"]},
                                tuple(n for n in neighbours if n != raw["id"]))
        _add_words(pointers, raw.get("words") or {}, {raw["id"]: 1.0})
    for event in events:
        named = {need: EVENT_SHARE for need in event.get("needs", ()) if need in needs}
        _add_words(pointers, event.get("words") or {}, named)
    # A word that stands for several needs is evidence for each, but less for any one.
    keys = {key: {need: weight / len(targets) for need, weight in targets.items()}
            for key, targets in pointers.items() if key}
    needs = {nid: Need(n.id, n.domain, n.label, tuple(x for x in n.neighbours if x in needs))
             for nid, n in needs.items()}
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for key in keys:
        by_first.setdefault(key[0], []).append(key)
    return NeedMap(needs, domains, keys, {w: tuple(group) for w, group in by_first.items()})


def _add_words(pointers: dict[tuple[str, ...], dict[str, float]], words: Mapping[str, Any],
               targets: Mapping[str, float]) -> None:
    for language, stemmer in (("nl", _DUTCH), ("typos", _DUTCH), ("en", _ENGLISH)):
        for phrase in words.get(language) or ():
            key = _key(str(phrase), stemmer)
            for need, weight in targets.items():
                slot = pointers.setdefault(key, {})
                slot[need] = max(slot.get(need, 0.0), weight)


@lru_cache(maxsize=1)
def builtin_needs() -> NeedMap:
    """The map shipped with the engine (bot/engine/data/needs/*.yaml)."""
    folder = resources.files("bot.engine").joinpath(NEEDS_FOLDER)
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")),
                   key=lambda f: f.name)
    return build(load_yaml(f.read_text("utf-8")) for f in files)
