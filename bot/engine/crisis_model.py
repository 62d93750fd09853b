"""A second reader for the crisis check: two linear models over words and letter groups.

The rules in crisis.yaml name what they see, and wording nobody wrote down slips past them.
This reader, trained on the blind sets (tools/train_crisis_model.py), reads the whole message
at once with two heads:
- "worry": is this acute or possible at all? It may raise a message the rules left at
  "none" to the check-in: after a worrying signal at one threshold, with no signal at all
  only at a much higher one.
- "acute": does this need the crisis screen? It may raise a check-in to the screen (never a
  message without any worrying signal), and a rules' alarm it finds very unlikely becomes
  the check-in, which still shows 113 and asks.
Its weights are data (data/crisis_model.json), one per word, word pair or group of letters,
so a reader can see why it scored a message high.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import Any

# Letter groups of these lengths, inside one word ("<dood>" → "<do", "doo", …): they carry
# typos, dialect and compounds the words alone would miss.
LETTER_GROUPS = (3, 4, 5)
MAX_WORDS = 300  # a long story is scored on its first 300 words: enough, and bounded
MODEL_FILE = "data/crisis_model.json"
NEVER = 2.0  # a threshold no score reaches: that step is switched off


def features(words: Iterable[str]) -> set[str]:
    """The words, word pairs and letter groups of a message (folded words, see crisis.read)."""
    words = list(words)[:MAX_WORDS]
    found = {f"b:{a}_{b}" for a, b in itertools.pairwise(words)}
    for word in words:
        found |= _word_features(word)
    return found


@lru_cache(maxsize=65536)
def _word_features(word: str) -> frozenset[str]:
    """A word and its letter groups: the same each time, so worked out once per word."""
    marked = f"<{word}>"
    return frozenset([f"w:{word}", *(f"c:{marked[i:i + size]}" for size in LETTER_GROUPS
                                     for i in range(len(marked) - size + 1))])


@dataclass(frozen=True)
class Head:
    """Logistic regression: bias plus the weights of the features present, scaled by size
    (scored by CrisisModel.scores, both heads in one pass)."""

    bias: float
    weights: Mapping[str, float]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Head:
        """A head from its JSON: bias and weights."""
        return cls(float(data["bias"]), {str(k): float(v) for k, v in data["weights"].items()})


@dataclass(frozen=True)
class Thresholds:
    """Where the heads' scores change an outcome (chosen by the training tool on held-out sets)."""

    check_in_after_signal: float  # worry: the rules' none → check-in, after a worrying signal
    check_in_alone: float  # worry: none → check-in with no worrying signal at all
    screen: float  # acute: a check-in (the rules' or the model's after a signal) → screen
    keep_screen: float  # acute: below this, the rules' screen becomes the check-in

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Thresholds:
        """Thresholds from their JSON; a missing one is switched off."""
        return cls(*(float(data.get(name, default)) for name, default in (
            ("check_in_after_signal", NEVER), ("check_in_alone", NEVER), ("screen", NEVER),
            ("keep_screen", 0.0))))


@dataclass(frozen=True)
class Scores:
    """What the two heads make of one message."""

    worry: float
    acute: float


@dataclass(frozen=True)
class CrisisModel:
    """The two heads and where their scores count."""

    worry: Head
    acute: Head
    thresholds: Thresholds

    def scores(self, words: Iterable[str]) -> Scores:
        """Both heads' scores for a message (its words as crisis.read folds them)."""
        found = features(words)
        if not found:
            return Scores(0.0, 0.0)
        both = self._both
        worry = acute = 0.0
        for name in found & both.keys():  # one pass for both heads; the rest weigh nothing
            w, a = both[name]
            worry += w
            acute += a
        scale = math.sqrt(len(found))
        return Scores(_sigmoid(self.worry.bias + worry / scale),
                      _sigmoid(self.acute.bias + acute / scale))

    @cached_property
    def _both(self) -> dict[str, tuple[float, float]]:
        """Each feature's two weights side by side (0.0 where a head left it out)."""
        return {name: (self.worry.weights.get(name, 0.0), self.acute.weights.get(name, 0.0))
                for name in {*self.worry.weights, *self.acute.weights}}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CrisisModel:
        """A model from the JSON the training tool writes."""
        heads = data["heads"]
        return cls(Head.from_data(heads["worry"]), Head.from_data(heads["acute"]),
                   Thresholds.from_data(data["thresholds"]))

    @classmethod
    def builtin(cls) -> CrisisModel:
        """The shipped model (read once per process; it never changes while running)."""
        return _shipped()


def _sigmoid(total: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, total))))


@cache
def _shipped() -> CrisisModel:
    text = resources.files("bot.engine").joinpath(MODEL_FILE).read_text("utf-8")
    return CrisisModel.from_data(json.loads(text))
