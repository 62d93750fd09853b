"""B1 readability hints for Dutch texts, using the Flesch–Douma measure."""

from __future__ import annotations

import re

MAX_SENTENCE_WORDS = 20  # B1 aims at about 15; warn only when clearly over
MAX_WORD_LETTERS = 22  # Dutch compounds are long; warn only for the extreme ones
MIN_FLESCH_DOUMA = 50.0  # 60+ reads easily; under 50 is hard for many residents
MIN_WORDS_FOR_SCORE = 25  # the formula says little about one short sentence

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:-[A-Za-zÀ-ÿ]+)*")
_VOWEL_GROUP = re.compile(r"[aeiouyàáâäèéêëìíîïòóôöùúûü]+")


def sentences(text: str) -> list[str]:
    """Split a text into sentences on . ! ? and line breaks."""
    return [part.strip() for part in _SENTENCE_END.split(text) if _WORD.search(part)]


def syllables(word: str) -> int:
    """Approximate Dutch syllable count: vowel groups, with 'ij' as one vowel."""
    lowered = word.lower().replace("ij", "y")
    return max(1, len(_VOWEL_GROUP.findall(lowered)))


def flesch_douma(text: str) -> float:
    """Flesch–Douma reading ease: 206.835 − 0.93·(words/sentence) − 77·(syllables/word)."""
    parts = sentences(text)
    words = _WORD.findall(text)
    if not parts or not words:
        return 100.0
    syllable_count = sum(syllables(word) for word in words)
    return 206.835 - 0.93 * (len(words) / len(parts)) - 77 * (syllable_count / len(words))


def readability_problems(text: str) -> list[str]:
    """Plain-language hints about what makes `text` hard to read at B1."""
    problems = []
    for sentence in sentences(text):
        count = len(_WORD.findall(sentence))
        if count > MAX_SENTENCE_WORDS:
            start = " ".join(sentence.split()[:6])
            problems.append(
                f"sentence of {count} words (B1: at most about 15) starting '{start} …'"
            )
    for word in sorted({w for w in _WORD.findall(text) if len(w) > MAX_WORD_LETTERS}):
        problems.append(f"long word '{word}': can you use shorter words?")
    if len(_WORD.findall(text)) >= MIN_WORDS_FOR_SCORE:
        score = flesch_douma(text)
        if score < MIN_FLESCH_DOUMA:
            problems.append(
                f"hard to read (Flesch–Douma {score:.0f}, aim for {MIN_FLESCH_DOUMA:.0f} or more)"
            )
    return problems
