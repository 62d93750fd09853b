"""English or Dutch? A cheap guess from function words, which every sentence has.

Only the small words are counted: "the", "my", "is not" in English; "de", "mijn", "niet" in
Dutch. Content words mislead (Dutch residents write "pgb", English residents write "Wmo").
"""

from __future__ import annotations

from bot.engine.language import fold

ENGLISH = frozenset("""
the a an and or but my your his her our their i i'm im you he she we they it this that these
those is are was were am be been being do does did don't dont can't cant cannot can could would
should will won't have has had not no to of for with from about at on by how what where when why
who which there here please help need needs get any some if so just also very too than then
""".split())
DUTCH = frozenset("""
de het een en of maar mijn jouw zijn haar onze hun ik jij je hij zij wij we ze dit dat deze die
is zijn was waren ben bent wordt worden doe doet deed kan kun kunt kon zou zal wil wilt heb hebt
heeft had niet geen te van voor met uit over bij op door hoe wat waar wanneer waarom wie welke
er hier graag hulp nodig krijgen iets als dan ook erg nog al wel
""".split())
LEAST = 2  # function words before a message counts as written in a language at all


def written_in(text: str) -> str | None:
    """"en" or "nl" when the message has clearly more function words of one; else None."""
    words = fold(text.replace("'", "")).split()
    english = sum(word in ENGLISH and word not in DUTCH for word in words)
    dutch = sum(word in DUTCH and word not in ENGLISH for word in words)
    if english >= LEAST and english > 2 * dutch:
        return "en"
    if dutch >= LEAST and dutch > 2 * english:
        return "nl"
    return None
