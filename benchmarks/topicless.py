"""How often a message that names no topic gets a card anyway (it should not), per language
and style, on both shipped knowledge bases. The blind set is tests/data/topicless.

Usage: python benchmarks/topicless.py [--show]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.conversation import Engine, State
from bot.kb.loader import load_knowledge_base

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "data" / "topicless" / "topicless.yaml"


def main() -> None:
    """Print, per knowledge base, the share of messages that got a card."""
    messages = yaml.safe_load(SET.read_text(encoding="utf-8"))["messages"]
    for folder in (ROOT / "knowledge", ROOT / "examples" / "achterhoek"):
        engine = Engine(load_knowledge_base(folder))
        carded: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        for message in messages:
            understanding = engine.understand(State(), str(message["text"]))
            got = bool(understanding.offered)
            for key in ("all", f"lang={message['lang']}", f"style={message['style']}"):
                totals[key] += 1
                carded[key] += got
            if got and "--show" in sys.argv:
                print(f"  {message['text']!r} → {understanding.offered[0].id}")
        print(folder.name + ": " + ", ".join(
            f"{key} {carded[key]}/{totals[key]}" for key in sorted(totals)))


if __name__ == "__main__":
    main()
