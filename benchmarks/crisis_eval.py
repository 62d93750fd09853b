"""Figures for the crisis check on the blind sets, per category, language and style.

Usage: python benchmarks/crisis_eval.py SET_FOLDER [--half tune|check] [--show]
       python benchmarks/crisis_eval.py --ordinary   (the eval questions of both knowledge bases)
--show lists what went wrong; it refuses a frozen set (FROZEN_SETS), which stays unread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.crisis_evaluation import FROZEN_SETS, Message, describe, load_messages, score
from bot.engine.crisis import CrisisCheck
from bot.evaluation import load_cases

ROOT = Path(__file__).resolve().parent.parent
ORDINARY = [ROOT / "knowledge" / "eval.yaml", ROOT / "examples" / "achterhoek" / "eval.yaml"]


def ordinary_questions() -> list[Message]:
    """The knowledge bases' eval questions that are not crises: none should get the alarm."""
    found = []
    for path in ORDINARY:
        cases, _ = load_cases(path)
        found += [Message(case.question, "none", "ordinary", "nl", path.parent.name)
                  for case in cases if case.crisis is not True]
    return found


def main() -> None:
    """Print the report, and the median time per message."""
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--half", choices=["tune", "check"])
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--ordinary", action="store_true")
    args = parser.parse_args()
    if args.show and args.folder and args.folder.name in FROZEN_SETS:
        parser.error(f"{args.folder.name} is frozen: its messages are never shown")
    messages = ordinary_questions() if args.ordinary else load_messages(
        sorted(args.folder.glob("*.yaml")))
    if args.half:
        messages = [m for m in messages if m.half == args.half]
    check = CrisisCheck.builtin()
    first = []  # every word new to the check: what a stranger's message costs
    for message in messages:
        started = time.perf_counter()
        check.check(message.text)
        first.append(time.perf_counter() - started)
    report = score(check, messages)
    print("\n".join(describe(report)))
    again = []  # words seen before, as in daily use
    for message in messages * 3:
        started = time.perf_counter()
        check.check(message.text)
        again.append(time.perf_counter() - started)
    for name, times in (("first time", first), ("seen words", again)):
        print(f"{name}: median {statistics.median(times) * 1e6:.0f} µs per message, "
              f"p99 {sorted(times)[int(len(times) * 0.99)] * 1e6:.0f} µs "
              f"({len(messages)} messages)")
    if args.show:
        for message, got in report.misses:
            print(f"  [{message.level}->{got}] {message.category}/{message.lang}/{message.style}: "
                  f"{message.text}")


if __name__ == "__main__":
    main()
