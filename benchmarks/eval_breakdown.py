"""Split eval misses into ranking errors and threshold errors, per knowledge base.

Usage: python benchmarks/eval_breakdown.py KB_DIR [KB_DIR ...]  (each with its eval.yaml)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine.conversation import Engine, State
from bot.evaluation import load_cases
from bot.kb.loader import load_knowledge_base


def main() -> None:
    """Print, per knowledge base: ranking top-1, answered top-1, silent misses, wrong answers."""
    for folder in map(Path, sys.argv[1:]):
        engine = Engine(load_knowledge_base(folder))
        cases, _ = load_cases(folder / "eval.yaml")
        ranked_ok = answered_ok = silent = wrong = total = 0
        for case in cases:
            if case.crisis is True or not case.expect:
                continue
            state = State(gemeente=case.gemeente)
            understanding = engine.understand(state, case.question)
            if understanding.result is None:
                continue
            total += 1
            raw = engine.matcher.search(case.question, allowed=engine._allowed(state), floor=0.0)
            ranked_ok += bool(raw.matches) and raw.matches[0].id in case.expect
            offered = understanding.offered
            if not offered:
                silent += 1
            elif offered[0].id in case.expect:
                answered_ok += 1
            else:
                wrong += 1
        print(f"{folder}: ranking top-1 {ranked_ok / total:.1%}, answered top-1 "
              f"{answered_ok / total:.1%}, silent {silent}, wrong {wrong} (of {total})")


if __name__ == "__main__":
    main()
