"""Top-1 and top-3 per style and language, and how often out-of-scope questions are declined.

Usage: python benchmarks/eval_styles.py KB_DIR [KB_DIR ...]  (each with its eval.yaml)

The eval files of the blind gemeenten tag every case with `style` (english, long, informal,
formal, short, typos), `lang` (nl, en) and `kind` (in_scope, out_of_scope, gemeente_topic).
Files without tags count everything as in scope, style "-".
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.conversation import Engine, State
from bot.kb.loader import load_knowledge_base


def main() -> None:
    """Print one table per knowledge base."""
    for folder in map(Path, sys.argv[1:]):
        engine = Engine(load_knowledge_base(folder))
        data = yaml.safe_load((folder / "eval.yaml").read_text(encoding="utf-8"))
        groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # n, top-1, top-3
        declined: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # n, declined
        for case in data["cases"]:
            if case.get("crisis") is True:
                continue
            understanding = engine.understand(State(gemeente=case.get("gemeente")), case["q"])
            offered = [match.id for match in understanding.offered]
            expect = case.get("expect")
            if expect in ("none", None, []):
                kind = case.get("kind", "out_of_scope")
                for key in (kind, "all out of scope"):
                    declined[key][0] += 1
                    declined[key][1] += not offered
                continue
            expected = {expect} if isinstance(expect, str) else set(expect)
            for key in ("all", f"style {case.get('style', '-')}", f"lang {case.get('lang', '-')}"):
                groups[key][0] += 1
                groups[key][1] += bool(offered[:1]) and offered[0] in expected
                groups[key][2] += bool(set(offered[:3]) & expected)
        print(f"\n{folder}")
        print(f"  {'group':<18} {'n':>4} {'top-1':>7} {'top-3':>7}")
        for key in sorted(groups, key=lambda k: (k != "all", k)):
            n, one, three = groups[key]
            print(f"  {key:<18} {n:>4} {one / n:>7.1%} {three / n:>7.1%}")
        for key in sorted(declined):
            n, ok = declined[key]
            print(f"  {key + ' declined':<26} {n:>4} {ok / n:>7.1%}")


if __name__ == "__main__":
    main()
