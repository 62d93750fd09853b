"""Relay benchmark: 50 simultaneous resident–meedenker conversations through the Bot API double.

`wegwijzer run` runs as its own process with a forum staff group. Every resident asks for a
meedenker, a meedenker claims each request, and then residents and meedenkers write to each
other. Reported: relay throughput (messages per second, both directions) and relay latency,
from a resident's message until the meedenker sees it (and back). Medians of repeated runs.

    python benchmarks/bench_handoff.py [--conversations 50] [--seconds 8] [--repeat 3]
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from botapi_double import BotApiDouble  # noqa: E402

STAFF = -1009000
MEEDENKER = 9001
FIRST_RESIDENT = 7_000_000


def start_bot(api: BotApiDouble, workdir: Path) -> subprocess.Popen[bytes]:
    """The real bot, polling the double, with the handoff on."""
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
        "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.api_root,
        "WEGWIJZER_DB": str(workdir / "bot.db"), "WEGWIJZER_KB": str(ROOT / "knowledge"),
        "MEEDENKERS_CHAT_ID": str(STAFF), "WEGWIJZER_LOG_LEVEL": "WARNING",
        # The double is not Telegram: lift Telegram's own limits so the bot itself is measured.
        "WEGWIJZER_MAX_RATE": "100000", "WEGWIJZER_CHAT_RATE": "100000",
        "WEGWIJZER_GROUP_RATE": "6000000",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_once(conversations: int, seconds: float) -> dict[str, float]:
    """One run; returns throughput and latency figures."""
    async with BotApiDouble() as api:
        api.add_group(STAFF, "Meedenkers", forum=True, members=[MEEDENKER])
        residents = [FIRST_RESIDENT + i for i in range(conversations)]
        for chat_id in residents:
            api.add_private_chat(chat_id, "Bewoner")
        waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        latest: dict[int, dict[str, Any]] = {}
        cards: dict[int, dict[str, Any]] = {}
        loop = asyncio.get_running_loop()

        def on_sent(chat_id: int, message: dict[str, Any]) -> None:
            latest[chat_id] = message
            text = message.get("text", "")
            key = text.removeprefix("💬 ").split(": ", 1)[-1] if text.startswith("💬") else text
            if chat_id == STAFF and text.startswith(("🆕 Aanvraag #", "🔴 SPOED")):
                cards[int(text.split("#", 1)[1].split()[0])] = message
            for wanted in (key, f"{chat_id}"):
                future = waiting.pop(wanted, None)
                if future and not future.done():
                    future.set_result(message)

        api.sent_listeners.append(on_sent)

        async def expect(key: str, action: Any) -> dict[str, Any]:
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            waiting[key] = future
            action()
            return await asyncio.wait_for(future, 60)

        with tempfile.TemporaryDirectory() as workdir:
            bot = start_bot(api, Path(workdir))
            try:
                # Each resident asks for a meedenker; the meedenker claims every request.
                number_of: dict[int, int] = {}

                async def connect(chat_id: int) -> None:
                    consent = await expect(str(chat_id),
                                           lambda: api.user_sends_text(chat_id, "/meedenker"))
                    sent = await expect(str(chat_id),
                                        lambda: api.user_presses_button(chat_id, consent, "k:yes"))
                    number_of[chat_id] = int(sent["text"].split("nummer ", 1)[1].split(")")[0])

                await asyncio.gather(*(connect(c) for c in residents))
                while len(cards) < conversations:
                    await asyncio.sleep(0.05)
                request_of = {}
                for chat_id, number in number_of.items():
                    card = cards[number]
                    request_of[chat_id] = card
                    await expect(str(chat_id), lambda card=card, n=number:
                                 api.user_presses_button(MEEDENKER, card, f"q:claim:{n}"))

                latencies: list[float] = []
                deadline = time.perf_counter() + seconds
                started = time.perf_counter()

                async def converse(chat_id: int) -> None:
                    thread = request_of[chat_id]["message_thread_id"]
                    turn = 0
                    while time.perf_counter() < deadline:
                        turn += 1
                        question = f"r{chat_id}-{turn} vraag"
                        sent_at = time.perf_counter()
                        await expect(question, lambda q=question: api.user_sends_text(chat_id, q))
                        latencies.append(time.perf_counter() - sent_at)
                        answer = f"m{chat_id}-{turn} antwoord"
                        sent_at = time.perf_counter()
                        await expect(answer, lambda a=answer: api.user_sends_text(
                            MEEDENKER, a, chat_id=STAFF, message_thread_id=thread))
                        latencies.append(time.perf_counter() - sent_at)

                await asyncio.gather(*(converse(c) for c in residents))
                elapsed = time.perf_counter() - started
            finally:
                bot.terminate()
                await asyncio.to_thread(bot.wait, 20)
    ordered = sorted(latencies)
    return {"per_second": len(latencies) / elapsed,
            "p50": ordered[len(ordered) // 2] * 1000,
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [await run_once(args.conversations, args.seconds) for _ in range(args.repeat)]
    print(f"machine: {os.cpu_count()} cores (shared); {args.conversations} conversations; "
          f"{args.repeat} runs of {args.seconds:.0f} s; medians")
    for name, unit in (("per_second", "relayed messages/s"), ("p50", "ms p50 latency"),
                       ("p99", "ms p99 latency")):
        print(f"{statistics.median(r[name] for r in runs):10.1f} {unit}")


if __name__ == "__main__":
    asyncio.run(main())
