"""The crisis check: runs first on every free text and never depends on the matcher.

A small, explainable model, with all its knowledge in data/crisis.yaml:
1. Signals: named lists of word patterns (intent, a means, a plan, self-harm, harm by
   another person, a child or an elder, a medical emergency, distress, …). A signal that a
   negation stands right before ("ik ben niet suïcidaal") does not count fully.
2. Rules: signals that together mean a crisis ("means" + "hoard" + "self" is a plan), each
   with a level (acute: the crisis screen; possible: a check-in) and the number to call first.
3. Frames: past, reported (news, a song) or hypothetical wording in the same sentence lowers
   a rule one step, so alarming words about a film never get the crisis screen, while a
   worrying message still gets the check-in.
4. A second reader (crisis_model.py) weighs the rules' outcome one step where it is nearly
   sure: wording the rules missed gets the check-in, a worrying check-in the screen, and an
   alarm in a plainly calm message the check-in. It never shows the screen without a
   worrying signal the rules saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from itertools import product
from typing import Any, Literal

import yaml

from bot.engine.crisis_model import CrisisModel, Scores
from bot.engine.language import tokens
from bot.engine.patterns import NOTHING, PatternWords, PhraseList, find_all, pattern_words

Level = Literal["none", "possible", "acute"]
LEVELS: tuple[Level, ...] = ("none", "possible", "acute")
CALLS = ("112", "veilig_thuis", "113")  # also the order when several rules call
DEFAULT_WINDOW = 15  # words a rule's signals may lie apart
# A signal that lowers a rule (a dementia that explains the hitting) counts within this many
# words: "mijn zoon met autisme … mijn man slaat me" is not about the son.
LOWERING_REACH = 20
DEFAULT_FRAMES = ("past", "reported", "hypothetical", "professional", "study")
NEGATION_REACH = 2  # a negation this many words before a signal cancels it
MAX_COMBINATIONS = 64  # anchor hits tried per rule; a long story stays linear
GEMEENTE_SIGNAL = "gemeente"  # a knowledge base's own `phrases:`, always acute
MODEL_SIGNAL = "model"  # the second reader (crisis_model.py) raised a message
DOUBT_SIGNAL = "model_doubt"  # the second reader found the rules' alarm very unlikely
SAYING, SAYING_WITH_GAPS = "saying", "saying_with_gaps"  # exceptions: fixed, or with a "*"
ALONE_MIN_WORDS = 6  # the model alone (no worrying signal) judges messages of 6+ words only
DOUBT_MIN_WORDS = 8  # the model may doubt the rules' alarm in messages of 8+ words only
CALLS_FOR_SELF = ("113", "112", "veilig_thuis")  # a check-in asks first about oneself
MANY, _MANY = 8, "veel"  # a number of 8 or more ("20 oxazepam") reads as "veel"

# Sentences end at . ! ? and line breaks; clauses (the reach of a negation) also at , ; :
# and "maar"/"but". Apostrophes join ("m'n" → "mn", "don't" → "dont").
_SENTENCE = re.compile(r"[.!?\n]+")
_CLAUSE = re.compile(r"[,;:]+|\b(?:maar|but)\b", re.IGNORECASE)
_APOSTROPHE = re.compile(r"['’`´]")


@dataclass(frozen=True)
class CrisisResult:
    """How worrying a text is, which signals fired, and whose number to show first."""

    level: Level = "none"
    signals: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()  # numbers in the order to show them, most fitting first
    # The message without the words that made it worrying: what is left to answer after
    # "Verder met mijn vraag" ("ik wil dood, de schulden zijn te veel" → the debts).
    remainder: str = ""

    @property
    def is_crisis(self) -> bool:
        """True exactly when the crisis screen is due."""
        return self.level == "acute"

    @property
    def kinds(self) -> tuple[str, ...]:
        """The rules that decided the level (for statistics and the staff group)."""
        return self.rules

    @property
    def about_danger(self) -> bool:
        """Whether the worry is danger from others rather than harm to oneself."""
        return bool(self.calls) and self.calls[0] != "113"


@dataclass(frozen=True)
class Rule:
    """Signals that together give a level."""

    name: str
    signals: tuple[str, ...]
    level: Level
    call: str
    window: int = DEFAULT_WINDOW
    frames: tuple[str, ...] = DEFAULT_FRAMES
    framed: Level = "none"  # what a frame or a negation makes of it
    unless: tuple[str, ...] = ()  # in the same sentence: no alarm at all
    lowered_by: tuple[str, ...] = ()  # nearby (LOWERING_REACH): lowered like a frame


@dataclass(frozen=True, order=True)
class _Hit:
    start: int
    end: int
    negated: bool


@dataclass
class _Reading:
    """One message split into words, with the sentence and clause of each word."""

    words: list[str] = field(default_factory=list)
    sentence: list[int] = field(default_factory=list)
    clause: list[int] = field(default_factory=list)


def read(text: str) -> _Reading:
    """Fold a text into words, remembering sentence and clause boundaries."""
    reading = _Reading()
    clause_number = 0
    for sentence_number, sentence in enumerate(_SENTENCE.split(_APOSTROPHE.sub("", text))):
        for clause in _CLAUSE.split(sentence):
            # A number of pills is a quantity ("20 oxazepam"): read 8 or more as "veel".
            words = [_MANY if word.isdigit() and int(word) >= MANY else word
                     for word in tokens(clause or "")]
            reading.words.extend(words)
            reading.sentence.extend([sentence_number] * len(words))
            reading.clause.extend([clause_number] * len(words))
            clause_number += 1
    return reading


class CrisisCheck:
    """Signals, frames and rules from data; `check` is cheap enough for every message."""

    def __init__(self, data: Mapping[str, Any], *, model: CrisisModel | None = None) -> None:
        self._variants = {str(word): tuple(map(str, forms))
                          for word, forms in data.get("variants", {}).items()}
        self._words = PatternWords(real_words=common_words() | frozenset(
            word for raw in data.get("real_words", []) for word in tokens(str(raw))))
        # Frames are common words ("gedicht", "nieuws"): no typo tolerance, or "gezicht"
        # would read as a poem.
        self._frame_words = PatternWords(typos=False)
        # All signals in one list, and all frames in another: one pass over a message finds
        # every pattern that can start at its words.
        self._signals = self._labelled(data["signals"], self._words)
        self._frames = self._labelled(data["frames"], self._frame_words)
        # A saying is a fixed phrase: its words must stand together, or "in een klap" (at
        # once) would hide the blow in "in een opwelling een klap gegeven". A "*" in it
        # allows other words in between, as in signals.
        exceptions = [str(item) for item in data.get("exceptions", [])]
        self._exceptions = self._labelled(
            {SAYING: [item for item in exceptions if "*" not in item.split()],
             SAYING_WITH_GAPS: [item for item in exceptions if "*" in item.split()]},
            self._words)
        self._negation = frozenset(str(word) for word in data.get("negation", []))
        self._negation_blockers = frozenset(map(str, data.get("negation_blockers", [])))
        self._message_frames = frozenset(data.get("message_frames", []))
        self.rules = tuple(_rule(raw) for raw in data["rules"])
        self._model = model
        # Who, where and when: on their own no reason for the model to raise a message.
        self._context = frozenset(map(str, data.get("context_signals", [])))
        known = set(data["signals"]) | set(data["frames"])
        if self._context - known:
            raise ValueError(f"context_signals names unknown {sorted(self._context - known)}")
        for rule in self.rules:
            unknown = {*rule.signals, *rule.unless, *rule.lowered_by, *rule.frames} - known
            if unknown:
                raise ValueError(f"crisis rule {rule.name!r} names unknown {sorted(unknown)}")

    @classmethod
    def builtin(
        cls, extra_phrases: Iterable[str] = (), extra_exceptions: Iterable[str] = (),
        extra_signals: Mapping[str, Iterable[str]] | None = None,
    ) -> CrisisCheck:
        """The shipped rules and model, extended with a knowledge base's own crisis.yaml."""
        data = builtin_data()
        for name, items in (extra_signals or {}).items():
            data["signals"][name] = [*data["signals"].get(name, []), *items]
        extra = list(extra_phrases)
        if extra:
            data["signals"][GEMEENTE_SIGNAL] = extra
            data["rules"].append({"name": GEMEENTE_SIGNAL, "all": [GEMEENTE_SIGNAL],
                                  "level": "acute", "call": "112"})
        data["exceptions"] = [*data.get("exceptions", []), *extra_exceptions]
        return cls(data, model=CrisisModel.builtin())

    def _labelled(self, groups: Mapping[str, Iterable[object]], words: PatternWords) -> _Labelled:
        labels, phrases = [], []
        for name, items in groups.items():
            for item in items:
                phrase = pattern_words(self._expand(str(item)))
                if phrase:
                    labels.append(str(name))
                    phrases.append(phrase)
        return _Labelled(PhraseList(words, phrases), tuple(labels))

    def _expand(self, phrase: str) -> str:
        """Add dialect forms and frequent misspellings (data: variants) to each word."""
        expanded = []
        for word in phrase.split():
            choices = word.split("|")
            extra = [form for choice in choices for form in self._variants.get(choice, ())]
            expanded.append("|".join(dict.fromkeys([*choices, *extra])))
        return " ".join(expanded)

    def check(self, text: str) -> CrisisResult:
        """The level of worry in `text`, the signals behind it and the numbers to show."""
        reading = read(text)
        if not reading.words:
            return CrisisResult()
        hits, frames = self._observe(reading)
        outcomes = [(rule, *self._apply(rule, hits, frames, reading)) for rule in self.rules]
        level: Level = max((lvl for _, lvl, _, _ in outcomes), key=LEVELS.index, default="none")
        scores = self._model.scores(reading.words) if self._model else None
        if level == "none":
            return self._second_reading(reading, hits, scores)
        deciding = [(rule, why, used) for rule, lvl, why, used in outcomes if lvl == level]
        calls = sorted({rule.call for rule, _, _ in deciding}, key=CALLS.index)
        calls += [call for call in CALLS if call not in calls]
        signals = sorted({name for _, why, _ in deciding for name in why})
        used = {position for _, _, positions in deciding for position in positions}
        remainder = " ".join(word for i, word in enumerate(reading.words) if i not in used)
        result = CrisisResult(level, tuple(signals), tuple(rule.name for rule, _, _ in deciding),
                              tuple(calls), remainder)
        return self._weighed(result, scores, len(reading.words))

    def _observe(
        self, reading: _Reading,
    ) -> tuple[dict[str, list[_Hit]], dict[str, set[int]]]:
        """Every signal hit and, per frame, the sentences it covers."""
        matches = [self._words.matched_by(word) for word in reading.words]
        frame_matches = [self._frame_words.matched_by(word) for word in reading.words]
        # Found first, then removed: one saying must not hide the next one's words.
        for kind, positions in list(self._exceptions.occurrences(matches)):
            if kind == SAYING and positions[-1] - positions[0] != len(positions) - 1:
                continue
            for position in positions:
                matches[position] = NOTHING
        hits: dict[str, list[_Hit]] = {}
        for name, positions in self._signals.occurrences(matches):
            hits.setdefault(name, []).append(
                _Hit(positions[0], positions[-1], self._negated(positions, reading)))
        for found in hits.values():
            found.sort()
        frames: dict[str, set[int]] = {}
        for name, positions in self._frames.occurrences(frame_matches):
            frames.setdefault(name, set()).add(reading.sentence[positions[0]])
        if "relapse" in frames:  # "weer begonnen": the past is not over
            frames["past"] = frames.get("past", set()) - frames["relapse"]
        if "present" in frames:  # "een uur geleden geslikt, nu …": it is still happening
            frames["recent_past"] = frames.get("recent_past", set()) - frames["present"]
        every_sentence = set(reading.sentence)
        for name in self._message_frames:
            if frames.get(name):
                frames[name] = every_sentence
        if "concrete" in frames:  # a teacher telling what a pupil said today: a witness now
            frames["professional"] = frames.get("professional", set()) - frames["concrete"]
        return hits, frames

    def _second_reading(
        self, reading: _Reading, hits: Mapping[str, list[_Hit]], scores: Scores | None,
    ) -> CrisisResult:
        """The model's check-in (or screen) for wording the rules missed."""
        if scores is None or self._model is None:
            return CrisisResult()
        worry = sorted(name for name, found in hits.items()
                       if name not in self._context and any(not hit.negated for hit in found))
        limits = self._model.thresholds
        # With a worrying signal the model's word counts; with none, only near certainty in
        # a message long enough to judge: on short ones its letter groups mislead it
        # ("Goedemorgen, ik heb een vraag" scored 0.9 in held-out folds in round 4).
        if not worry and len(reading.words) < ALONE_MIN_WORDS:
            return CrisisResult()
        if scores.worry < (limits.check_in_after_signal if worry else limits.check_in_alone):
            return CrisisResult()
        # The screen needs a worrying signal the rules saw too: never the model alone.
        level: Level = "acute" if worry and scores.acute >= limits.screen else "possible"
        return CrisisResult(level, (MODEL_SIGNAL, *worry), (MODEL_SIGNAL,),
                            self._calls_for(frozenset(worry)), " ".join(reading.words))

    def _weighed(self, result: CrisisResult, scores: Scores | None, words: int) -> CrisisResult:
        """The rules' outcome, raised or lowered one step where the model is nearly sure."""
        if scores is None or self._model is None:
            return result
        limits = self._model.thresholds
        if result.level == "possible" and scores.acute >= limits.screen:
            return replace(result, level="acute", signals=(*result.signals, MODEL_SIGNAL))
        if (result.level == "acute" and scores.acute < limits.keep_screen
                and words >= DOUBT_MIN_WORDS and GEMEENTE_SIGNAL not in result.rules):
            # Alarming words in a plainly calm message (a song, a carer's task): ask first.
            # A short alarm is plain, and gives the model too little to doubt it.
            return replace(result, level="possible", signals=(*result.signals, DOUBT_SIGNAL))
        return result

    def _calls_for(self, worry: frozenset[str]) -> tuple[str, ...]:
        """The numbers for a model's outcome: first that of the first rule naming a signal."""
        first = next((rule.call for rule in self.rules if worry.intersection(rule.signals)),
                     CALLS_FOR_SELF[0])
        return (first, *(call for call in CALLS_FOR_SELF if call != first))

    def _negated(self, positions: list[int], reading: _Reading) -> bool:
        """A negation just before the signal or between its words, in the same clause."""
        start, clause = positions[0], reading.clause[positions[0]]
        own = set(positions)
        return any(reading.words[i] in self._negation and reading.clause[i] == clause
                   and not self._negation_blockers.intersection(reading.words[max(0, i - 3):i])
                   for i in range(max(0, start - NEGATION_REACH), positions[-1] + 1)
                   if i not in own)

    def _apply(
        self, rule: Rule, hits: dict[str, list[_Hit]], frames: dict[str, set[int]],
        reading: _Reading,
    ) -> tuple[Level, tuple[str, ...], frozenset[int]]:
        """The level this rule gives the message, why (signals, frames), and its words."""
        lists = [hits.get(name, []) for name in rule.signals]
        if not all(lists):
            return "none", (), frozenset()
        best: tuple[Level, tuple[str, ...], frozenset[int]] = ("none", (), frozenset())
        for combination in _combinations(lists, rule.window):
            if not _fits(rule, combination):
                continue
            sentences = {reading.sentence[hit.start] for hit in combination}
            if any(reading.sentence[hit.start] in sentences
                   for name in rule.unless for hit in hits.get(name, ())):
                continue  # "ik kan niet meer lopen": a question about help, not distress
            lowering = [name for name in rule.frames if frames.get(name, set()) & sentences]
            start = min(hit.start for hit in combination)
            lowering += [name for name in rule.lowered_by
                         if any(not hit.negated and abs(hit.start - start) <= LOWERING_REACH
                                for hit in hits.get(name, ()))]
            if any(hit.negated for hit in combination):
                lowering.append("negation")
            outcome: Level = rule.framed if lowering else rule.level
            if LEVELS.index(outcome) > LEVELS.index(best[0]):
                words = frozenset(i for hit in combination for i in range(hit.start, hit.end + 1))
                best = (outcome, (*rule.signals, *lowering), words)
                if outcome == rule.level:
                    break
        return best


@dataclass(frozen=True)
class _Labelled:
    """Phrases of several named groups in one list, so one pass finds them all."""

    phrases: PhraseList
    labels: tuple[str, ...]

    def occurrences(self, matches: list[frozenset[int]]) -> Iterable[tuple[str, list[int]]]:
        """(group name, positions) for every occurrence of every phrase."""
        for index in self.phrases.candidates(matches):
            for positions in find_all(self.phrases.phrases[index], matches):
                yield self.labels[index], positions


def _combinations(lists: list[list[_Hit]], window: int) -> Iterator[tuple[_Hit, ...]]:
    """Hits of each signal, one per signal, near enough to each other; unnegated first.

    Anchored on the signal with the fewest hits, each combination draws only on hits within
    the window of its anchor, so a long text full of "ik" and "met" stays linear.
    """
    anchor = min(range(len(lists)), key=lambda i: len(lists[i]))
    for hit in lists[anchor][:MAX_COMBINATIONS]:
        near = [[h for h in hits if abs(h.start - hit.start) <= window] for hits in lists]
        near[anchor] = [hit]
        yield from product(*(sorted(hits, key=lambda h: h.negated) for hits in near))


def _fits(rule: Rule, combination: tuple[_Hit, ...]) -> bool:
    """Within the rule's window."""
    return max(hit.end for hit in combination) - min(hit.start for hit in combination) \
        <= rule.window


def _rule(raw: Mapping[str, Any]) -> Rule:
    level = raw["level"]
    if level not in ("acute", "possible") or raw["call"] not in CALLS:
        raise ValueError(f"crisis rule {raw.get('name')!r}: bad level or call")
    default_framed: Level = "possible" if level == "acute" else "none"
    return Rule(
        name=str(raw["name"]), signals=tuple(raw["all"]), level=level, call=str(raw["call"]),
        window=int(raw.get("window", DEFAULT_WINDOW)),
        frames=tuple(raw.get("frames", DEFAULT_FRAMES)),
        framed=raw.get("framed", default_framed),
        unless=tuple(raw.get("unless", ())), lowered_by=tuple(raw.get("lowered_by", ())))


def builtin_data() -> dict[str, Any]:
    """A fresh copy of data/crisis.yaml (callers may extend it)."""
    text = resources.files("bot.engine").joinpath("data/crisis.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@cache
def common_words() -> frozenset[str]:
    """Frequent Dutch and English words: never read as a typo of a crisis word."""
    text = resources.files("bot.engine").joinpath("data/common_words.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def signal_names() -> frozenset[str]:
    """The signals a knowledge base may add words to."""
    return frozenset(builtin_data()["signals"])
