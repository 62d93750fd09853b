"""Load benchmark: simulated residents talk to the bot through the Bot API double.

Both bots run as separate processes, polling the double over real HTTP on 127.0.0.1:
Wegwijzer (`wegwijzer run`, durable storage and matching) and a minimal python-telegram-bot
echo bot (the floor). For 1, 20 and 200 concurrent residents it reports round trips per
second, p50/p99 latency, the bot's memory (RSS) and CPU time per update, and checks that
every resident got exactly the replies expected: nothing lost, nothing twice.

    python benchmarks/bench_bot.py [--seconds 8] [--residents 1 20 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import yaml  # noqa: E402
from botapi_double import BotApiDouble  # noqa: E402

KB = ROOT / "knowledge"
CHAT_BASE = 5_000_000


@dataclass
class Result:
    """One bot at one concurrency."""

    bot: str
    residents: int
    round_trips: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    cpu_ms_per_update: float = 0.0
    lost: int = 0
    extra: int = 0

    @property
    def per_second(self) -> float:
        return self.round_trips / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def questions() -> list[str]:
    """Answerable resident questions from the project's evaluation file."""
    cases = yaml.safe_load((KB / "eval.yaml").read_text(encoding="utf-8"))["cases"]
    return [c["q"] for c in cases if c.get("expect") not in (None, "none") and not c.get("crisis")]


def process_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds used, RSS in MB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open(f"/proc/{pid}/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return cpu, rss_kb / 1024


def start_bot(kind: str, api: BotApiDouble, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.api_root,
        "WEGWIJZER_DB": str(workdir / f"{kind}.db"),
        "WEGWIJZER_KB": str(KB),
        "WEGWIJZER_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        # The double is not Telegram: lift Telegram's own limits so the bot itself is measured.
        "WEGWIJZER_MAX_RATE": "100000",
        "WEGWIJZER_CHAT_RATE": "100000",
    }
    command = ([sys.executable, "-m", "bot", "run"] if kind == "wegwijzer"
               else [sys.executable, str(ROOT / "benchmarks" / "echo_bot.py")])
    log = open(os.environ["BENCH_LOG"], "ab") if os.environ.get("BENCH_LOG") else None  # noqa: SIM115
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                            stderr=log or subprocess.DEVNULL)


async def run_one(kind: str, residents: int, seconds: float, texts: list[str]) -> Result:
    """Each resident sends a question and waits for the answer, again and again."""
    result = Result(kind, residents)
    async with BotApiDouble() as api:
        waiting: dict[int, tuple[int, asyncio.Future[None]]] = {}
        received: dict[int, int] = {}

        def on_sent(chat_id: int, message: Any) -> None:
            received[chat_id] = received.get(chat_id, 0) + 1
            entry = waiting.get(chat_id)
            if entry and received[chat_id] >= entry[0] and not entry[1].done():
                entry[1].set_result(None)

        api.sent_listeners.append(on_sent)
        chats = [CHAT_BASE + i for i in range(residents)]
        for chat_id in chats:
            api.add_private_chat(chat_id, "Bewoner")
        expected = dict.fromkeys(chats, 0)
        with tempfile.TemporaryDirectory() as workdir:
            bot = start_bot(kind, api, Path(workdir))
            try:
                loop = asyncio.get_running_loop()

                async def talk(chat_id: int, text: str) -> float:
                    expected[chat_id] += 1  # Wegwijzer answers each turn in one message
                    future = loop.create_future()
                    waiting[chat_id] = (expected[chat_id], future)
                    started = time.perf_counter()
                    api.user_sends_text(chat_id, text)
                    await asyncio.wait_for(future, 60)
                    return time.perf_counter() - started

                # Warm-up: the bot starts, and every resident has one exchange.
                await asyncio.gather(*(talk(c, texts[i % len(texts)])
                                       for i, c in enumerate(chats)))
                cpu_before, _ = process_stats(bot.pid)
                deadline = time.perf_counter() + seconds
                started = time.perf_counter()

                async def resident(index: int, chat_id: int) -> None:
                    turn = index
                    while time.perf_counter() < deadline:
                        turn += 7
                        result.latencies.append(await talk(chat_id, texts[turn % len(texts)]))

                await asyncio.gather(*(resident(i, c) for i, c in enumerate(chats)))
                result.seconds = time.perf_counter() - started
                result.round_trips = len(result.latencies)
                cpu_after, result.rss_mb = process_stats(bot.pid)
                result.cpu_ms_per_update = (cpu_after - cpu_before) * 1000 / result.round_trips
                await asyncio.sleep(1.0)  # anything sent twice would arrive now
                for chat_id in chats:
                    got = received.get(chat_id, 0)
                    result.lost += max(0, expected[chat_id] - got)
                    result.extra += max(0, got - expected[chat_id])
            finally:
                bot.terminate()
                await asyncio.to_thread(bot.wait, 20)
    return result


def median_of(runs: list[Result], value: Callable[[Result], float]) -> float:
    """The median of one figure over repeated runs (the machine is shared)."""
    return statistics.median(value(run) for run in runs)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per bot; medians shown")
    parser.add_argument("--residents", type=int, nargs="+", default=[1, 20, 200])
    args = parser.parse_args()
    texts = questions()
    print(f"machine: {os.cpu_count()} cores (shared); {len(texts)} distinct questions; "
          f"{args.repeat} runs of {args.seconds:.0f} s per bot and size; medians")
    print(f"{'bot':10} {'residents':>9} {'round trips/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'RSS MB':>7} {'CPU ms/update':>14} {'lost':>5} {'twice':>6}")
    per_second: dict[tuple[str, int], float] = {}
    for residents in args.residents:
        runs: dict[str, list[Result]] = {"echo": [], "wegwijzer": []}
        for _ in range(args.repeat):  # interleaved, so both bots see the same machine load
            for kind in runs:
                runs[kind].append(await run_one(kind, residents, args.seconds, texts))
        for kind, results in runs.items():
            per_second[(kind, residents)] = median_of(results, lambda r: r.per_second)
            print(f"{kind:10} {residents:>9} {per_second[(kind, residents)]:>14.0f} "
                  f"{median_of(results, lambda r: r.percentile(0.5)):>8.1f} "
                  f"{median_of(results, lambda r: r.percentile(0.99)):>8.1f} "
                  f"{median_of(results, lambda r: r.rss_mb):>7.0f} "
                  f"{median_of(results, lambda r: r.cpu_ms_per_update):>14.2f} "
                  f"{sum(r.lost for r in results):>5} {sum(r.extra for r in results):>6}",
                  flush=True)
    for residents in args.residents:
        ratio = per_second[("wegwijzer", residents)] / max(1e-9, per_second[("echo", residents)])
        print(f"wegwijzer / echo at {residents} residents: {ratio:.0%}")


if __name__ == "__main__":
    asyncio.run(main())
