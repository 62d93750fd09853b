"""Write bot/engine/data/common_words.txt: frequent Dutch and English words (wordfreq).

The crisis check tolerates typos in long words; a frequent real word ("mensen", "vermoeden")
is never read as a typo of a crisis word ("messen", "vermoorden"). Run again after a wordfreq
upgrade: pip install wordfreq && python tools/common_words.py
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import wordfreq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.language import fold

MIN_ZIPF = 3.0  # about once per 100,000 words of text, or more often
MIN_LENGTH = 5  # shorter words never get typo tolerance anyway
TARGET = Path(__file__).resolve().parent.parent / "bot" / "engine" / "data" / "common_words.txt"


def main() -> None:
    """Collect, fold, sort and write the list."""
    words = set()
    for language in ("nl", "en"):
        for word in wordfreq.top_n_list(language, 200_000):
            folded = fold(word)
            if (len(folded) >= MIN_LENGTH and folded.isalpha()
                    and wordfreq.zipf_frequency(word, language) >= MIN_ZIPF):
                words.add(folded)
    header = (f"# Frequent Dutch and English words (wordfreq {version('wordfreq')}, zipf >= "
              f"{MIN_ZIPF}), made by tools/common_words.py\n")
    TARGET.write_text(header + "\n".join(sorted(words)) + "\n", encoding="utf-8")
    print(f"{len(words)} words → {TARGET}")


if __name__ == "__main__":
    main()
