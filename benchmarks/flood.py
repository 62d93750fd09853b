"""Flood: one resident sends 4,096-character messages at 10 per second; does anyone else wait?

The real `wegwijzer run` talks to the Bot API double over HTTP, with Telegram's own pace
(30 messages a second in all, 1 a second per chat). A bystander asks an ordinary question,
waits for the answer, reads it for 1.5 s, and asks again. The script prints the bystander's
median and 90th-percentile reply time without a flood and during one, and how many of the
flood's messages were answered by the end (a flooding chat waits its turn; nothing is lost).

    python benchmarks/flood.py [--seconds 20] [--rate 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_bot import questions  # noqa: E402
from botapi_double import BotApiDouble  # noqa: E402
from harness import Replies, start_wegwijzer  # noqa: E402

FLOODER, BYSTANDER = 7_000_001, 7_000_002
LONGEST = 4096


@dataclass
class Run:
    """The bystander's reply times in one run, and what the flooder got."""

    latencies: list[float] = field(default_factory=list)
    flood_sent: int = 0
    flood_answered: int = 0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def long_texts(texts: list[str], count: int, seed: int) -> list[str]:
    """Different 4,096-character stories made of residents' questions, a third of the words
    misspelt: words the bot has not seen cost the most (no cache helps)."""
    rng = random.Random(seed)
    stories = []
    for _ in range(count):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < LONGEST:
            words += [_typo(w, rng) if rng.random() < 0.33 else w
                      for w in rng.choice(texts).split()]
        stories.append(" ".join(words)[:LONGEST])
    return stories


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(len(word))
    return word[:at] + rng.choice("aeiouklmnrst") + word[at + 1:]


async def run_once(texts: list[str], *, seconds: float, rate: float, seed: int) -> Run:
    """The bystander talks for `seconds`; with rate > 0 the flooder sends meanwhile."""
    run = Run()
    stories = long_texts(texts, int(seconds * rate) + 1, seed)  # each one new
    async with BotApiDouble() as api:
        replies = Replies(api)
        api.add_private_chat(FLOODER, "Veel")
        api.add_private_chat(BYSTANDER, "Rustig")
        asked = 0

        async def ask(text: str) -> float:
            nonlocal asked
            asked += 1
            started = time.perf_counter()
            api.user_sends_text(BYSTANDER, text)
            await replies.wait_for(BYSTANDER, asked)
            return time.perf_counter() - started

        async def flood(until: float) -> None:
            next_at = time.perf_counter()
            while time.perf_counter() < until:
                api.user_sends_text(FLOODER, stories[run.flood_sent % len(stories)])
                run.flood_sent += 1
                next_at += 1 / rate
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

        with tempfile.TemporaryDirectory() as workdir:
            bot = start_wegwijzer(api, Path(workdir) / "bot.db")
            try:
                await asyncio.wait_for(ask("hallo"), 60)  # the bot is up
                until = time.perf_counter() + seconds
                flooding = asyncio.create_task(flood(until)) if rate > 0 else None
                turn = seed
                while time.perf_counter() < until:
                    turn += 7
                    run.latencies.append(await asyncio.wait_for(
                        ask(texts[turn % len(texts)]), 120))
                    await asyncio.sleep(1.5)  # a person reads; Telegram allows 1 a second
                if flooding is not None:
                    await flooding
                run.flood_answered = replies.of(FLOODER)
            finally:
                bot.terminate()
                await asyncio.to_thread(bot.wait, 20)
    return run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=10.0, help="flood messages per second")
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians shown")
    args = parser.parse_args()
    texts = questions()
    print(f"machine: {os.cpu_count()} cores (shared); {args.repeat} runs of "
          f"{args.seconds:.0f} s; flood: {LONGEST}-character messages at {args.rate:g}/s")
    print(f"{'case':10} {'p50 ms':>8} {'p90 ms':>8} {'asked':>6} {'flood sent':>11} "
          f"{'answered':>9}")
    for label, rate in (("calm", 0.0), ("flood", args.rate)):
        runs = [await run_once(texts, seconds=args.seconds, rate=rate, seed=n)
                for n in range(args.repeat)]
        print(f"{label:10} {statistics.median(r.percentile(0.5) for r in runs):>8.1f} "
              f"{statistics.median(r.percentile(0.9) for r in runs):>8.1f} "
              f"{statistics.median(len(r.latencies) for r in runs):>6.0f} "
              f"{statistics.median(r.flood_sent for r in runs):>11.0f} "
              f"{statistics.median(r.flood_answered for r in runs):>9.0f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
