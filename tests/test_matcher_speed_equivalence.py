"""The matcher's fast paths rank exactly like the plain definition of its scoring.

Each slot's credit is the best of its terms' credits (for a word of a lexicon group: 0.15 of
the word's own credit plus 0.85 of the group's); a document's score is the weighted sum
of its slot credits; the leaders are the CANDIDATES best allowed documents, equal scores in
knowledge-base order. The plain versions below follow that text word for word, so any
speed-up that changes a ranking shows up here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from benchmarks.bench_ask import generate_kb, questions
from bot.engine.language import Slot
from bot.engine.matcher import CANDIDATES, Kind, Matcher, _best, _weighted_sum
from bot.kb.loader import KnowledgeBase, load_knowledge_base
from tests.kbtools import ACHTERHOEK_KB, DEFAULT_KB

Allowed = Callable[[Kind, str], bool] | None


def plain_credit(matcher: Matcher, slot: Slot) -> dict[int, float]:
    postings = matcher._postings
    credit: dict[int, float] = {}
    for terms, factor in ((slot.exact, 1.0), (slot.loose, 0.8)):
        for term in terms:
            for index, weight in postings.get(term, {}).items():
                credit[index] = max(credit.get(index, 0.0), weight * factor)
    part_credit: dict[int, float] = {}
    for term in dict.fromkeys(slot.parts):
        for index, weight in postings.get(term, {}).items():
            share = 0.9 / len(slot.parts)
            part_credit[index] = part_credit.get(index, 0.0) + weight * share
    for index, value in part_credit.items():
        credit[index] = max(credit.get(index, 0.0), value)
    return credit


def plain_slot_credit(matcher: Matcher, slot: Slot) -> dict[int, float]:
    """A word of a lexicon group: 0.15 of its own credit plus 0.85 of the group's."""
    own = plain_credit(matcher, slot)
    if not slot.synonyms:
        return own
    group: dict[int, float] = {}
    for term in slot.synonyms:
        for index, weight in matcher._postings.get(term, {}).items():
            group[index] = max(group.get(index, 0.0), weight)
    return {index: (1.0 - 0.85) * own.get(index, 0.0) + 0.85 * group.get(index, 0.0)
            for index in {*own, *group}}


def plain_leaders(matcher: Matcher, text: str, allowed: Allowed) -> list[tuple[int, float]]:
    slots = matcher.analyzer.slots(text)
    scores: dict[int, float] = {}
    for slot in slots:
        weight = matcher._slot_weight(slot)
        for index, value in plain_slot_credit(matcher, slot).items():
            scores[index] = scores.get(index, 0.0) + weight * value
    documents = matcher._documents
    kept = [i for i in scores if allowed is None or allowed(documents[i].kind, documents[i].id)]
    kept.sort(key=lambda i: (-scores[i], i))
    return [(i, scores[i]) for i in kept[:CANDIDATES]]


def fast_leaders(matcher: Matcher, text: str, allowed: Allowed) -> list[tuple[int, float]]:
    slots = matcher.analyzer.slots(text)
    credits = [matcher._credit(slot) for slot in slots]
    for slot, credit in zip(slots, credits, strict=True):
        assert dict(credit) == plain_slot_credit(matcher, slot), slot
    weights = [matcher._slot_weight(slot) for slot in slots]
    scores = _weighted_sum(credits, weights, len(matcher._documents))
    return [(i, scores[i]) for i in matcher._leaders(scores, allowed)]


def eval_questions(kb: Path) -> list[str]:
    data = yaml.safe_load((kb / "eval.yaml").read_text(encoding="utf-8"))
    return [case["q"] for case in data["cases"]]


def served_in(kb: KnowledgeBase, gemeente: str | None) -> Allowed:
    if gemeente is None:
        return None

    def allowed(kind: Kind, item_id: str) -> bool:
        served = kb.services[item_id].gemeenten if kind == "service" else []
        return not served or gemeente in served

    return allowed


def test_real_knowledge_bases_rank_as_the_plain_definition() -> None:
    for folder, gemeenten in ((DEFAULT_KB, [None]), (ACHTERHOEK_KB, [None, "Aalten"])):
        kb = load_knowledge_base(folder)
        matcher = Matcher(kb)
        for gemeente in gemeenten:
            allowed = served_in(kb, gemeente)
            for text in eval_questions(folder):
                assert fast_leaders(matcher, text, allowed) == plain_leaders(
                    matcher, text, allowed), text


def test_large_overlapping_knowledge_base_ranks_as_the_plain_definition(tmp_path: Path) -> None:
    # A small vocabulary shared by hundreds of documents: long postings and many equal scores.
    rng = random.Random(7)
    generate_kb(tmp_path, 150, 150, rng)
    matcher = Matcher(load_knowledge_base(tmp_path))

    def few_services(kind: Kind, item_id: str) -> bool:
        return kind == "faq" or item_id.endswith("7")  # forces looking past the first leaders

    for text in questions(150, rng):
        for allowed in (None, few_services):
            assert fast_leaders(matcher, text, allowed) == plain_leaders(
                matcher, text, allowed), text


@pytest.mark.parametrize("count", [1, 5, 50, 400])
def test_best_is_the_highest_positive_scores_with_ties_in_index_order(count: int) -> None:
    rng = random.Random(count)
    scores = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) for _ in range(300)]
    expected = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
    assert _best(scores, count) == expected[:count]
