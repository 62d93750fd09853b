"""/vergeet leaves no trace: within seconds of the confirmation, no byte of the resident's id
or of what they wrote is left in the database, its WAL or its shared memory (issue 15)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from botapi_double import BotApiDouble
from telegram_harness import running_bot, settle

from bot.engine.callbacks import FORGET_YES
from bot.storage import Storage

RESIDENT = 7312345678901  # large, so that its bytes cannot turn up by chance
WORD = "xylofoonkwartet"  # in a question the bot does not understand: that one is kept


def traces(db: Path) -> list[str]:
    """Which traces of the resident the database files still hold."""
    found = []
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        data = path.read_bytes() if path.exists() else b""
        if str(RESIDENT).encode() in data:
            found.append(f"{path.name}: id as text")
        if RESIDENT.to_bytes(6, "big") in data:
            found.append(f"{path.name}: id as an integer")
        if WORD.encode() in data:
            found.append(f"{path.name}: their words")
    return found


async def test_vergeet_leaves_no_bytes_behind(botapi: BotApiDouble, tmp_path: Path) -> None:
    botapi.add_private_chat(RESIDENT, "Xandra")
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db) as bot:
        botapi.user_sends_text(RESIDENT, f"waar kan ik met mijn {WORD} terecht")
        await botapi.wait_for_messages(RESIDENT, 1)
        assert bot._keeper is not None
        await bot._keeper.wait()
        async with Storage.open(db) as reader:
            kept = await reader.unanswered_texts()
        assert any(WORD in text for _, text in kept)  # the question was kept, scrubbed
        assert traces(db)  # and the resident is in the files, as expected
        botapi.user_sends_text(RESIDENT, "/vergeet")
        ask = (await botapi.wait_for_messages(RESIDENT, 2))[1]
        botapi.user_presses_button(RESIDENT, ask, FORGET_YES)
        await botapi.wait_for_messages(RESIDENT, 3)
        for _ in range(50):  # within 5 s of the confirmation
            if not traces(db):
                break
            await asyncio.sleep(0.1)
        left = traces(db)
        await settle()
    assert left == []
