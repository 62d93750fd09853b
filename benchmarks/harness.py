"""What the process benchmarks share: `wegwijzer run` against the double, and its replies."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from botapi_double import BotApiDouble

KB = Path(__file__).resolve().parent.parent / "knowledge"


def start_wegwijzer(
    api: BotApiDouble, db: Path, **settings: str,
) -> subprocess.Popen[bytes]:
    """`wegwijzer run` as its own process, polling the double; `settings` adds variables."""
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
        "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.api_root,
        "WEGWIJZER_DB": str(db), "WEGWIJZER_KB": str(KB), "WEGWIJZER_LOG_LEVEL": "ERROR",
        **settings,
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=db.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Replies:
    """Counts the messages the bot sends to each chat, and wakes whoever waits for them."""

    def __init__(self, api: BotApiDouble) -> None:
        self._counts: dict[int, int] = {}
        self._waiting: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}
        api.sent_listeners.append(self._sent)

    def of(self, chat_id: int) -> int:
        """How many messages this chat got so far."""
        return self._counts.get(chat_id, 0)

    def total(self) -> int:
        """How many messages all chats got."""
        return sum(self._counts.values())

    async def wait_for(self, chat_id: int, count: int) -> None:
        """Return once the chat got `count` messages (cancel to stop waiting)."""
        if self.of(chat_id) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(chat_id, []).append((count, future))
        await future

    def _sent(self, chat_id: int, message: Any) -> None:
        self._counts[chat_id] = self.of(chat_id) + 1
        still = []
        for count, future in self._waiting.pop(chat_id, []):
            if future.done():
                continue
            if self._counts[chat_id] >= count:
                future.set_result(None)
            else:
                still.append((count, future))
        if still:
            self._waiting[chat_id] = still
