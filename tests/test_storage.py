"""The SQLite storage: pragmas, versioned migrations, one writer, retention."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, OutboxItem, Outgoing, Storage


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
        later = storage.clock.now() + 31 * 86400
        counts = await storage.purge(retention_days=30, now=later)
        # The newest update id stays, so polling resumes after it.
        assert counts == {"residents": 2, "updates": 1, "requests": 0, "unanswered": 0}
        assert await storage.load_state(10) is None
        # The offset survives the purge, so old updates are not fetched again.
        assert await storage.last_update_id() == 2
        kept = await storage.purge(retention_days=30)
        assert kept == {"residents": 0, "updates": 0, "requests": 0, "unanswered": 0}


async def _count_commits(storage: Storage) -> list[str]:
    """Record every COMMIT the storage sends to SQLite."""
    commits: list[str] = []
    await storage._db.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    return commits


async def test_writers_that_queue_up_share_one_commit(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        commits = await _count_commits(storage)

        async def turn(number: int) -> None:
            await storage.commit_turn(number, chat_id=number, state=f'{{"n":{number}}}')
            # Back from the writer means on disk: another connection sees it.
            with sqlite3.connect(tmp_path / "w.db") as other:
                row = other.execute("SELECT state FROM residents WHERE chat_id = ?",
                                    (number,)).fetchone()
            assert row == (f'{{"n":{number}}}',)

        await asyncio.gather(*(turn(n) for n in range(1, 21)))
        assert 1 <= len(commits) < 20, commits
        assert all([await storage.load_state(n) for n in range(1, 21)])


async def test_a_failing_writer_undoes_only_its_own_work(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        entered = asyncio.Event()

        async def failing() -> None:
            async with storage.write() as writer:
                await writer.close_update(1)
                await writer.save_state(1, '{"half":"done"}')
                entered.set()
                await asyncio.sleep(0.05)  # the other writers queue up behind this one
                raise RuntimeError("a bug halfway through a turn")

        async def fine(number: int) -> None:
            await entered.wait()
            await storage.commit_turn(number, chat_id=number, state='{"ok":true}')

        results = await asyncio.gather(failing(), fine(2), fine(3), return_exceptions=True)
        assert isinstance(results[0], RuntimeError) and results[1:] == [None, None]
        assert await storage.load_state(1) is None
        assert await storage.load_state(2) == await storage.load_state(3) == '{"ok":true}'
        # Update 1 was not closed, so it can still be handled.
        assert await storage.commit_turn(1, chat_id=1, state="{}") == []


async def test_a_cancelled_writer_leaves_nothing_and_blocks_nobody(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        inside = asyncio.Event()

        async def slow() -> None:
            async with storage.write() as writer:
                await writer.save_state(9, '{"never":"kept"}')
                inside.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(slow())
        await inside.wait()
        waiting = asyncio.create_task(storage.commit_turn(2, chat_id=2, state='{"ok":1}'))
        await asyncio.sleep(0.01)
        task.cancel()
        assert await asyncio.wait_for(waiting, 5) == []
        assert await storage.load_state(9) is None
        assert await storage.load_state(2) == '{"ok":1}'
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("SELECT chat_id FROM residents").fetchall() == [(2,)]


async def test_messages_sent_at_the_same_time_are_deleted_together(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        items = await storage.commit_turn(
            1, chat_id=5, outgoing=[Outgoing(5, "sendMessage", {"text": str(n)})
                                    for n in range(30)])
        assert items is not None and len({item.id for item in items}) == 30
        deletes: list[str] = []
        await storage._db.set_trace_callback(
            lambda sql: deletes.append(sql) if sql.startswith("DELETE FROM outbox") else None)
        await asyncio.gather(*(storage.mark_sent(item.id) for item in items[:29]))
        assert [item.params["text"] for item in await storage.unsent()] == ["29"]
        assert 1 <= len(deletes) < 29, deletes


async def test_a_repeated_turn_writes_nothing_not_even_its_counters(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        reply = [Outgoing(5, "sendMessage", {"chat_id": 5, "text": "hoi"})]
        for attempt in range(2):
            items = await storage.commit_turn(7, chat_id=5, state=f'{{"attempt":{attempt}}}',
                                              outgoing=reply, counts=[("shown", "service:mee")])
            assert (items is not None) is (attempt == 0)
        assert await storage.load_state(5) == '{"attempt":0}'
        assert [(m, k, c) for _, m, k, c in await storage.weekly_counts()] == [
            ("shown", "service:mee", 1)]
        assert len(await storage.unsent()) == 1


async def _trace(storage: Storage, start: str) -> list[str]:
    """Record every statement the storage sends to SQLite that starts with `start`."""
    statements: list[str] = []
    await storage._db.set_trace_callback(
        lambda sql: statements.append(sql) if sql.lstrip().startswith(start) else None)
    return statements


async def test_turns_that_arrive_together_are_written_with_one_statement_per_table(
    tmp_path: Path,
) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        closes = await _trace(storage, "INSERT INTO updates")

        async def turn(number: int) -> list[OutboxItem] | None:
            return await storage.commit_turn(
                number, chat_id=100 + number, state=f'{{"n":{number}}}',
                outgoing=[Outgoing(100 + number, "sendMessage", {"text": f"{number}-{part}"})
                          for part in range(number % 3)],
                counts=[("shown", "service:mee"), ("conversations", "")])

        results = await asyncio.gather(*(turn(n) for n in range(1, 31)))
        assert 1 <= len(closes) < 30, closes
        # Each turn gets its own replies back, in order, with the ids they were stored under.
        for number, items in enumerate(results, start=1):
            assert items is not None
            assert [item.params["text"] for item in items] == [
                f"{number}-{part}" for part in range(number % 3)]
            assert all(item.chat_id == 100 + number for item in items)
        stored = {item.id: item.params for item in await storage.unsent()}
        assert stored == {item.id: item.params for items in results if items for item in items}
        assert all([await storage.load_state(100 + n) == f'{{"n":{n}}}' for n in range(1, 31)])
        assert sorted((m, k, c) for _, m, k, c in await storage.weekly_counts()) == [
            ("conversations", "", 30), ("shown", "service:mee", 30)]


async def test_a_repeat_in_a_batch_is_skipped_and_the_others_are_written(
    tmp_path: Path,
) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        await storage.commit_turn(1, chat_id=1, state='{"first":true}')
        reply = [Outgoing(2, "sendMessage", {"text": "hoi"})]
        results = await asyncio.gather(
            storage.commit_turn(1, chat_id=1, state='{"again":true}', outgoing=reply,
                                counts=[("shown", "x")]),  # handled before
            storage.commit_turn(2, chat_id=2, state='{"two":1}', outgoing=reply),
            storage.commit_turn(2, chat_id=2, state='{"two":2}', outgoing=reply),  # same update
            storage.commit_turn(3, chat_id=3, state='{"three":1}'),
        )
        assert results[0] is None and results[2] is None
        assert results[1] is not None and len(results[1]) == 1 and results[3] == []
        assert await storage.load_state(1) == '{"first":true}'
        assert await storage.load_state(2) == '{"two":1}'
        assert await storage.load_state(3) == '{"three":1}'
        assert len(await storage.unsent()) == 1
        assert await storage.weekly_counts() == []


async def test_a_turn_whose_reply_cannot_be_stored_fails_alone(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        broken = [Outgoing(1, "sendMessage", {"text": object()})]
        results = await asyncio.gather(
            storage.commit_turn(1, chat_id=1, state='{"broken":1}', outgoing=broken),
            storage.commit_turn(2, chat_id=2, state='{"fine":1}'),
            return_exceptions=True,
        )
        assert isinstance(results[0], TypeError) and results[1] == []
        assert await storage.load_state(1) is None
        assert await storage.load_state(2) == '{"fine":1}'
        # Update 1 was not closed: it can still be handled.
        assert await storage.commit_turn(1, chat_id=1, state="{}") == []


async def test_a_turn_whose_caller_is_cancelled_is_still_committed_whole(
    tmp_path: Path,
) -> None:
    db = tmp_path / "w.db"
    async with Storage.open(db) as storage:
        reply = [Outgoing(4, "sendMessage", {"text": "hoi"})]
        caller = asyncio.create_task(storage.commit_turn(4, chat_id=4, state='{"n":4}',
                                                         outgoing=reply))
        await asyncio.sleep(0)  # queued for the batch
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
    async with Storage.open(db) as storage:
        # On disk with its reply, which the next start sends; the update is not handled twice.
        assert await storage.load_state(4) == '{"n":4}'
        assert [item.params for item in await storage.unsent()] == [{"text": "hoi"}]
        assert await storage.commit_turn(4, chat_id=4, state="{}") is None


async def test_a_writer_failing_between_two_others_undoes_only_its_own_work(
    tmp_path: Path,
) -> None:
    async with Storage.open(tmp_path / "w.db") as storage:
        commits = await _count_commits(storage)
        first_inside = asyncio.Event()

        async def first() -> None:
            async with storage.write() as writer:
                await writer.save_state(1, '{"first":1}')
                first_inside.set()
                await asyncio.sleep(0.05)  # the others queue up: the three share one commit

        async def failing() -> None:
            await first_inside.wait()
            async with storage.write() as writer:
                await writer.save_state(2, '{"half":"done"}')
                raise RuntimeError("a bug halfway through a turn")

        async def last() -> list[OutboxItem] | None:
            await first_inside.wait()
            await asyncio.sleep(0)
            return await storage.commit_turn(3, chat_id=3, state='{"last":3}')

        results = await asyncio.gather(first(), failing(), last(), return_exceptions=True)
        assert results[0] is None and isinstance(results[1], RuntimeError) and results[2] == []
        assert len(commits) == 1
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("SELECT chat_id, state FROM residents ORDER BY chat_id").fetchall() == [
            (1, '{"first":1}'), (3, '{"last":3}')]


async def test_a_cancelled_close_does_not_cancel_the_writes_in_hand(tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "w.db")
    await storage._db.set_trace_callback(lambda sql: time.sleep(0.02))  # a slow disk
    first = asyncio.create_task(storage.commit_turn(1, chat_id=1, state='{"n":1}'))
    await asyncio.sleep(0.01)  # the first batch is being written
    second = asyncio.create_task(storage.commit_turn(2, chat_id=2, state='{"n":2}'))
    await asyncio.sleep(0)  # queued for the next batch
    closing = asyncio.create_task(storage.close())
    await asyncio.sleep(0.01)
    closing.cancel()  # e.g. a shutdown timeout
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert await asyncio.wait_for(first, 5) == []
    assert await asyncio.wait_for(second, 5) == []
    await storage.close()  # a second close still closes the connection
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("SELECT chat_id, state FROM residents ORDER BY chat_id").fetchall() == [
            (1, '{"n":1}'), (2, '{"n":2}')]
