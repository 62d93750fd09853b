"""A second reader for the crisis check: a linear model over words and letter groups.

The rules in crisis.yaml name what they see, and wording nobody wrote down slips past them.
This model, trained on the blind sets (tools/train_crisis_model.py), reads the whole
message at once. It can only raise a message the rules left at "none" to "possible" (the
check-in), and only when the rules saw at least one worrying signal; it never shows the
crisis screen on its own. Its weights are data (data/crisis_model.json), one per word, word
pair or group of letters, so a reader can see why it scored a message high.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# Letter groups of these lengths, inside one word ("<dood>" → "<do", "doo", …): they carry
# typos, dialect and compounds the words alone would miss.
LETTER_GROUPS = (3, 4, 5)
MAX_WORDS = 300  # a long story is scored on its first 300 words: enough, and bounded
MODEL_FILE = "data/crisis_model.json"


def features(words: Iterable[str]) -> set[str]:
    """The words, word pairs and letter groups of a message (folded words, see crisis.read)."""
    words = list(words)[:MAX_WORDS]
    found = {f"w:{word}" for word in words}
    found.update(f"b:{a}_{b}" for a, b in itertools.pairwise(words))
    for word in words:
        marked = f"<{word}>"
        for size in LETTER_GROUPS:
            found.update(f"c:{marked[i:i + size]}" for i in range(len(marked) - size + 1))
    return found


@dataclass(frozen=True)
class CrisisModel:
    """Logistic regression: bias plus the weights of the features present, scaled by size."""

    bias: float
    weights: Mapping[str, float]
    threshold: float

    def score(self, words: Iterable[str]) -> float:
        """How likely the message is worrying (acute or possible), from 0 to 1."""
        found = features(words)
        if not found:
            return 0.0
        total = self.bias + sum(self.weights.get(f, 0.0) for f in found) / math.sqrt(len(found))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))

    def raises(self, words: Iterable[str]) -> bool:
        """Whether the model would raise this message to the check-in."""
        return self.score(words) >= self.threshold

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CrisisModel:
        """A model from the JSON the training tool writes."""
        return cls(float(data["bias"]), {str(k): float(v) for k, v in data["weights"].items()},
                   float(data["threshold"]))

    @classmethod
    def builtin(cls) -> CrisisModel:
        """The shipped model (read once per process; it never changes while running)."""
        return _shipped()


@cache
def _shipped() -> CrisisModel:
    text = resources.files("bot.engine").joinpath(MODEL_FILE).read_text("utf-8")
    return CrisisModel.from_data(json.loads(text))
