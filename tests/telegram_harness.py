"""Run the real WegwijzerBot against the Bot API double, in-process, with a temporary database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from botapi_double import BotApiDouble

from bot.clock import FAKE_NOW, TEST_MODE, Clock, system_clock
from bot.config import Settings
from bot.engine.conversation import Engine
from bot.kb.loader import load_knowledge_base
from bot.storage import Storage
from bot.telegram.app import WegwijzerBot
from bot.telegram.webhook import WebhookConfig
from tests.kbtools import MINIMAL

MONDAY_10 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # 10:00 in Amsterdam
STAFF_CHAT = -1009000


def make_settings(api: BotApiDouble, db_path: Path, **changes: Any) -> Settings:
    """Settings for a bot that talks to the double; pacing is loose so tests run quickly."""
    settings = Settings(
        token=api.token, db_path=db_path, staff_chat_id=STAFF_CHAT, api_url=api.api_root,
        pseudonym_key=b"test-key", max_messages_per_second=1000.0,
        chat_messages_per_second=1000.0, chat_burst=100, group_messages_per_minute=60000.0,
    )
    return replace(settings, **changes)


def make_engine(folder: Path = MINIMAL) -> Engine:
    """An engine on a knowledge base whose clock starts on Monday 10:00 and runs on."""
    return Engine(load_knowledge_base(folder),
                  clock=Clock(start=MONDAY_10))


@asynccontextmanager
async def running_bot(
    api: BotApiDouble, db_path: Path, engine: Engine | None = None, *,
    webhook: WebhookConfig | None = None, kb_path: Path | None = None, **settings: Any,
) -> AsyncIterator[WegwijzerBot]:
    """A started bot; stopped (cleanly) on exit."""
    bot = WegwijzerBot(make_settings(api, db_path, **settings), engine or make_engine(),
                       webhook=webhook, poll_timeout=1, retry_base_seconds=0.05,
                       reminder_interval=0.2, kb_path=kb_path)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def start_bot_process(
    api: BotApiDouble, db: Path, *, kb: Path = MINIMAL, stderr: int = subprocess.DEVNULL,
    **extra_env: str,
) -> subprocess.Popen[bytes]:
    """`wegwijzer run` as a real process (for restarts, kill -9 and signals), talking to the
    double over HTTP; `extra_env` adds settings such as MEEDENKERS_CHAT_ID."""
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
        "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.api_root,
        "WEGWIJZER_DB": str(db), "WEGWIJZER_KB": str(kb), "WEGWIJZER_CHAT_RATE": "100",
        **same_moment(), **extra_env,
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=db.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr)


def same_moment() -> dict[str, str]:
    """Under a fake moment (CI's date runs), a child process starts where this one is now."""
    if not os.environ.get(FAKE_NOW):
        return {}
    return {FAKE_NOW: system_clock().utc().isoformat(), TEST_MODE: "1"}


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """The text of each message."""
    return [m.get("text", "") for m in messages]


def buttons(message: dict[str, Any]) -> list[str]:
    """The callback data of each button under a message."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


async def db_rows(db_path: Path) -> dict[str, int]:
    """Row counts per table, read through a second connection."""
    async with Storage.open(db_path) as storage:
        return await storage.counts()


async def settle(seconds: float = 0.3) -> None:
    """Give the bot a moment in which it must NOT send anything more."""
    await asyncio.sleep(seconds)
