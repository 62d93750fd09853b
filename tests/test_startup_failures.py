"""Fatal start-up errors: one clear message and a non-zero exit within seconds, never a hung
process or a traceback (issue 15, faults 2 and 3)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from botapi_double import BotApiDouble

from bot.tasks import stop_task
from tests.kbtools import MINIMAL


def run_bot(api: BotApiDouble, db: Path, *args: str) -> tuple[int, str, float]:
    """`wegwijzer run ARGS` against the double; exit code, stderr and seconds taken."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.api_root,
           "WEGWIJZER_DB": str(db), "WEGWIJZER_KB": str(MINIMAL)}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot", "run", *args], env=env,
                            cwd=db.parent if db.parent.exists() else None,
                            capture_output=True, text=True, timeout=30, check=False)
    return result.returncode, result.stderr, time.monotonic() - started


def broken_databases() -> dict[str, Callable[[Path], Path]]:
    def missing_folder(tmp: Path) -> Path:
        return tmp / "no-such-folder" / "bot.db"

    def a_directory(tmp: Path) -> Path:
        (tmp / "bot.db").mkdir()
        return tmp / "bot.db"

    def random_bytes(tmp: Path) -> Path:
        (tmp / "bot.db").write_bytes(os.urandom(4096))
        return tmp / "bot.db"

    def newer_schema(tmp: Path) -> Path:
        with sqlite3.connect(tmp / "bot.db") as connection:
            connection.execute("PRAGMA user_version = 999")
        return tmp / "bot.db"

    return {"missing folder": missing_folder, "a directory": a_directory,
            "random bytes": random_bytes, "newer schema": newer_schema}


@pytest.mark.parametrize("kind", sorted(broken_databases()))
async def test_a_broken_database_gives_one_message_and_exit_2(
    botapi: BotApiDouble, tmp_path: Path, kind: str
) -> None:
    db = broken_databases()[kind](tmp_path)
    code, stderr, seconds = await _in_thread(run_bot, botapi, db)
    assert code == 2, stderr
    assert "Wegwijzer cannot start: cannot use the database" in stderr and "WEGWIJZER_DB" in stderr
    assert "Traceback" not in stderr
    assert seconds < 5 + _STARTUP_SECONDS


async def test_a_webhook_port_in_use_gives_one_message_and_exit_2(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stderr, seconds = await _in_thread(
            run_bot, botapi, tmp_path / "bot.db", "--webhook", "https://bot.example.nl/t",
            "--listen", "127.0.0.1", "--port", str(port))
    assert code == 2, stderr
    assert "Wegwijzer cannot start: cannot listen for the webhook" in stderr
    assert "Traceback" not in stderr and seconds < 5 + _STARTUP_SECONDS


async def test_an_impossible_port_is_refused_before_anything_starts(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    code, stderr, _ = await _in_thread(run_bot, botapi, tmp_path / "bot.db", "--webhook",
                                       "https://bot.example.nl/t", "--port", "99999")
    assert code == 2 and "--port must be between 0 and 65535" in stderr


async def test_stopping_a_task_that_died_of_an_error_finishes() -> None:
    async def dies() -> None:
        raise RuntimeError("the poller died")

    import asyncio
    task = asyncio.create_task(dies())
    await asyncio.sleep(0)
    await stop_task(task)  # returns: before, it raised the poller's error again
    assert task.done()


# Python and the bot's imports take about two seconds on this machine before anything runs.
_STARTUP_SECONDS = 3.0


async def _in_thread(function: Callable[..., tuple[int, str, float]], *args: object
                     ) -> tuple[int, str, float]:
    import asyncio
    return await asyncio.to_thread(function, *args)


@pytest.mark.parametrize("kind", ["a directory", "random bytes", "newer schema"])
def test_stats_on_a_broken_database_says_so_and_exits_2(tmp_path: Path, kind: str) -> None:
    db = broken_databases()[kind](tmp_path)
    result = subprocess.run([sys.executable, "-m", "bot", "stats", "--db", str(db)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert f"Cannot read the database {db}" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_refused_set_webhook_says_what_telegram_refused_and_exits_2(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.fail_next("setWebhook", 400, description="Bad Request: bad webhook: "
                     "IP address 10.0.0.1 is reserved")
    code, stderr, _ = await _in_thread(run_bot, botapi, tmp_path / "bot.db", "--webhook",
                                       "https://bot.example.nl/t", "--port", "0")
    assert code == 2, stderr
    assert "telegram refused: bad webhook: ip address 10.0.0.1 is reserved" in stderr.lower()
    assert "cannot reach Telegram" not in stderr and "Traceback" not in stderr
