"""The SQLite storage: pragmas, versioned migrations, one writer, retention."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from bot.storage import MIGRATIONS, Outgoing, Storage


async def test_opens_in_wal_with_busy_timeout_and_current_schema(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        assert await storage.schema_version() == len(MIGRATIONS)
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_reopening_does_not_migrate_again_or_lose_rows(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    async with Storage.open(db) as storage:
        await storage.store_updates([(1, {"update_id": 1})])
        await storage.commit_turn(1, chat_id=5, state='{"lang":"en"}')
    async with Storage.open(db) as storage:
        assert await storage.load_state(5) == '{"lang":"en"}'
        assert await storage.last_update_id() == 1
        assert await storage.pending_updates() == []
    with sqlite3.connect(db) as raw:  # what the resident sent is not kept once handled
        assert raw.execute("SELECT payload FROM updates").fetchall() == [(None,)]


async def test_a_handled_update_is_never_committed_twice(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        await storage.store_updates([(7, {"update_id": 7})])
        reply = Outgoing(5, "sendMessage", {"chat_id": 5, "text": "hoi"})
        first = await storage.commit_turn(7, chat_id=5, state="{}", outgoing=[reply])
        second = await storage.commit_turn(7, chat_id=5, state="{}", outgoing=[reply])
        assert first is not None and [item.params for item in first] == [reply.params]
        assert second is None
        assert len(await storage.unsent()) == 1
        # A repeat delivery of an update already handled is not stored as new work.
        assert await storage.store_updates([(7, {"update_id": 7})]) == 0
        assert await storage.pending_updates() == []


async def test_concurrent_turns_are_serialised_by_the_one_writer(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        await storage.store_updates([(i, {"update_id": i}) for i in range(1, 201)])
        results = await asyncio.gather(*(
            storage.commit_turn(i, chat_id=i % 10, state=f'{{"n":{i}}}',
                                outgoing=[Outgoing(i % 10, "sendMessage", {"text": str(i)})])
            for i in range(1, 201)
        ))
        assert all(result is not None for result in results)
        assert (await storage.counts())["outbox"] == 200
        assert [item.params["text"] for item in await storage.unsent()] == [
            str(i) for i in range(1, 201)]


async def test_purge_deletes_idle_residents_and_old_update_ids(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        await storage.store_updates([(1, {"update_id": 1}), (2, {"update_id": 2})])
        await storage.commit_turn(1, chat_id=10, state="{}")
        await storage.commit_turn(2, chat_id=11, state="{}")
        later = time.time() + 31 * 86400
        counts = await storage.purge(retention_days=30, now=later)
        # The newest update id stays, so polling resumes after it.
        assert counts == {"residents": 2, "updates": 1, "requests": 0, "unanswered": 0}
        assert await storage.load_state(10) is None
        # The offset survives the purge, so old updates are not fetched again.
        assert await storage.last_update_id() == 2
        kept = await storage.purge(retention_days=30)
        assert kept == {"residents": 0, "updates": 0, "requests": 0, "unanswered": 0}
