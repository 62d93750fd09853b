"""Train the crisis check's second reader (bot/engine/crisis_model.py) on the blind sets.

Positive: acute and possible messages. Negative: near-crisis and ordinary messages, and the
ordinary questions of both knowledge bases' eval files. Frozen sets (FROZEN) are never used.
The run is deterministic: the same data give the same bot/engine/data/crisis_model.json.

    python tools/train_crisis_model.py             # train on everything but FROZEN; write
    python tools/train_crisis_model.py --evaluate  # leave one set out at a time; print
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.crisis_evaluation import Message, load_messages  # noqa: E402
from bot.engine.crisis import CrisisCheck, builtin_data, read  # noqa: E402
from bot.engine.crisis_model import MODEL_FILE, CrisisModel, features  # noqa: E402
from bot.evaluation import load_cases  # noqa: E402

BLIND = ROOT / "tests" / "data" / "crisis_blind"
FROZEN = {"fresh3"}  # measured once, as it came; never trained on
KNOWLEDGE_BASES = (ROOT / "knowledge", ROOT / "examples" / "achterhoek")
THRESHOLD = 0.7  # chosen on held-out sets: a check-in for few ordinary questions
EPOCHS, RATE, DECAY, SEED = 8, 0.5, 1e-5, 0
SMALLEST_WEIGHT = 0.1  # lighter weights are left out of the file: they change no decision


def training_sets() -> dict[str, list[Message]]:
    """Every blind set that may be trained on, by folder name."""
    return {folder.name: load_messages(sorted(folder.glob("*.yaml")))
            for folder in sorted(BLIND.iterdir())
            if folder.is_dir() and folder.name not in FROZEN}


def ordinary_questions() -> list[str]:
    """The eval files' questions that are not a crisis."""
    questions = []
    for folder in KNOWLEDGE_BASES:
        cases, _ = load_cases(folder / "eval.yaml")
        questions += [case.question for case in cases if case.crisis is not True]
    return questions


def train(texts: Sequence[str], labels: Sequence[int]) -> CrisisModel:
    """Logistic regression by stochastic gradient descent, in a fixed order."""
    rows = [sorted(features(read(text).words)) for text in texts]
    vocabulary = {name: i for i, name in enumerate(sorted({f for row in rows for f in row}))}
    indexed = [np.array([vocabulary[f] for f in row], dtype=np.int64) for row in rows]
    weights, bias = np.zeros(len(vocabulary)), 0.0
    order = list(range(len(rows)))
    shuffle = random.Random(SEED)
    for _ in range(EPOCHS):
        shuffle.shuffle(order)
        for i in order:
            found = indexed[i]
            if not len(found):
                continue
            scale = 1 / math.sqrt(len(found))
            total = bias + float(weights[found].sum()) * scale
            error = (1 / (1 + math.exp(-max(-30.0, min(30.0, total)))) - labels[i]) * RATE
            weights[found] -= error * scale + DECAY * weights[found]
            bias -= error
    kept = {name: round(float(weights[i]), 4) for name, i in vocabulary.items()
            if abs(weights[i]) >= SMALLEST_WEIGHT}
    return CrisisModel(round(bias, 4), kept, THRESHOLD)


def fit(sets: dict[str, list[Message]], ordinary: Sequence[str]) -> CrisisModel:
    """A model on these sets plus the ordinary questions."""
    messages = [m for found in sets.values() for m in found]
    return train([m.text for m in messages] + list(ordinary),
                 [int(m.level != "none") for m in messages] + [0] * len(ordinary))


def evaluate(sets: dict[str, list[Message]], ordinary: list[str]) -> None:
    """Leave one set out (and half the ordinary questions): what the model adds there."""
    rules = CrisisCheck(builtin_data())
    print(f"{'held out':9} {'acute caught by rules':>22} {'+ model':>8} "
          f"{'near on check-in +':>19} {'ordinary on check-in +':>23}")
    for held in sets:
        model = fit({name: m for name, m in sets.items() if name != held}, ordinary[::2])
        both = CrisisCheck(builtin_data(), model=model)
        acute = [m for m in sets[held] if m.level == "acute"]
        near = [m for m in sets[held] if m.level == "none"]
        caught = sum(rules.check(m.text).level != "none" for m in acute)
        added = sum(both.check(m.text).level != "none" for m in acute) - caught
        near_added = sum(both.check(m.text).level == "possible" for m in near) - sum(
            rules.check(m.text).level == "possible" for m in near)
        rest = ordinary[1::2]
        ordinary_added = sum(both.check(q).level != rules.check(q).level for q in rest)
        print(f"{held:9} {caught:>15} of {len(acute)} {added:>+8} "
              f"{near_added:>+12} of {len(near)} {ordinary_added:>+16} of {len(rest)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluate", action="store_true", help="leave one set out; print")
    args = parser.parse_args()
    sets, ordinary = training_sets(), ordinary_questions()
    if args.evaluate:
        evaluate(sets, ordinary)
        return
    model = fit(sets, ordinary)
    data = {"about": "bot/engine/crisis_model.py; written by tools/train_crisis_model.py",
            "trained_on": [*sorted(sets), "eval.yaml ordinary questions"],
            "threshold": model.threshold, "bias": model.bias,
            "weights": dict(sorted(model.weights.items()))}
    out = ROOT / "bot" / "engine" / MODEL_FILE
    out.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}: {len(model.weights)} weights")


if __name__ == "__main__":
    main()
