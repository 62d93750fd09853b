"""Kill loop: `kill -9` the bot again and again under load; count replies lost and sent twice.

Residents talk to the real `wegwijzer run` through the Bot API double over HTTP, each one
sending a question, waiting for the answer (Wegwijzer answers a question in one message),
and asking the next. Meanwhile the bot is killed with SIGKILL at a random moment and
started again, `--kills` times. At the end the last bot runs until every question has its
answer, and the script prints, per run: questions asked, answers lost, answers sent twice,
and duplicates per kill.

    python benchmarks/kill_loop.py [--kills 30] [--residents 20] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_bot import questions  # noqa: E402
from botapi_double import BotApiDouble  # noqa: E402
from harness import Replies, start_wegwijzer  # noqa: E402

CHAT_BASE = 6_000_000


@dataclass
class Outcome:
    """One run of the loop."""

    kills: int
    asked: int
    lost: int
    twice: int
    seconds: float

    @property
    def sent_per_second(self) -> float:
        return (self.asked + self.twice - self.lost) / self.seconds if self.seconds else 0.0

    @property
    def twice_per_kill(self) -> float:
        return self.twice / self.kills if self.kills else 0.0


def start_bot(api: BotApiDouble, db: Path, *, unpaced: bool) -> subprocess.Popen[bytes]:
    if unpaced:
        # Beyond what Telegram allows: more messages in flight at each kill than a real
        # bot ever has, the hardest case for "never twice".
        return start_wegwijzer(api, db, WEGWIJZER_MAX_RATE="100000",
                               WEGWIJZER_CHAT_RATE="100000")
    return start_wegwijzer(api, db)


async def run_loop(
    kills: int, residents: int, texts: list[str], *, seed: int, unpaced: bool,
) -> Outcome:
    """Residents talk without pause while the bot is killed `kills` times."""
    rng = random.Random(seed)
    async with BotApiDouble() as api:
        replies = Replies(api)
        chats = [CHAT_BASE + i for i in range(residents)]
        for chat_id in chats:
            api.add_private_chat(chat_id, "Bewoner")
        asked = dict.fromkeys(chats, 0)
        stopping = False

        async def resident(index: int, chat_id: int) -> None:
            turn = index
            while not stopping:
                asked[chat_id] += 1
                turn += 7
                api.user_sends_text(chat_id, texts[turn % len(texts)])
                # The answer, or (if it was sent twice) more; a lost one stops this resident.
                await replies.wait_for(chat_id, asked[chat_id])

        with tempfile.TemporaryDirectory() as workdir:
            db = Path(workdir) / "bot.db"
            bot = start_bot(api, db, unpaced=unpaced)
            started = time.monotonic()
            talkers = [asyncio.create_task(resident(i, c)) for i, c in enumerate(chats)]
            try:
                for _ in range(kills):
                    await asyncio.sleep(rng.uniform(1.5, 3.0))  # start-up takes about 1 s
                    bot.send_signal(signal.SIGKILL)
                    await asyncio.to_thread(bot.wait)
                    bot = start_bot(api, db, unpaced=unpaced)
                stopping = True
                seconds = time.monotonic() - started
                for talker in talkers:  # a resident still waiting has asked its last question
                    talker.cancel()
                await asyncio.gather(*talkers, return_exceptions=True)
                deadline = time.monotonic() + 30
                while replies.total() < sum(asked.values()) and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2.0)  # anything sent twice would arrive now
            finally:
                bot.send_signal(signal.SIGTERM)
                await asyncio.to_thread(bot.wait, 20)
        lost = sum(max(0, asked[c] - replies.of(c)) for c in chats)
        twice = sum(max(0, replies.of(c) - asked[c]) for c in chats)
        return Outcome(kills, sum(asked.values()), lost, twice, seconds)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--residents", type=int, default=40)
    parser.add_argument("--unpaced", action="store_true",
                        help="lift Telegram's 30 messages/s and 1 per chat/s limits")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is shown")
    args = parser.parse_args()
    texts = questions()
    pace = "unpaced" if args.unpaced else "Telegram's pace (30 messages/s, 1 per chat/s)"
    print(f"machine: {os.cpu_count()} cores (shared); {args.residents} residents; "
          f"{args.kills} kills per run; {pace}")
    print(f"{'run':>4} {'asked':>7} {'sent/s':>7} {'lost':>5} {'twice':>6} {'twice/kill':>11}")
    outcomes = []
    for run in range(args.repeat):
        outcome = await run_loop(args.kills, args.residents, texts, seed=run,
                                 unpaced=args.unpaced)
        outcomes.append(outcome)
        print(f"{run + 1:>4} {outcome.asked:>7} {outcome.sent_per_second:>7.1f} "
              f"{outcome.lost:>5} {outcome.twice:>6} {outcome.twice_per_kill:>11.2f}", flush=True)
    print(f"median duplicates per kill: "
          f"{statistics.median(o.twice_per_kill for o in outcomes):.2f}; "
          f"lost in all runs: {sum(o.lost for o in outcomes)}")


if __name__ == "__main__":
    asyncio.run(main())
