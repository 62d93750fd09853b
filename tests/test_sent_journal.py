"""A message Telegram accepted is not sent again after kill -9, even if its delete was not
committed yet (issue #15, fault 5)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.storage import Outgoing, Storage
from bot.storage.sent_journal import COMPACT_BYTES, SentJournal

ROOT = Path(__file__).resolve().parent.parent

# Two replies are committed; Telegram accepts the first, and the process dies before the
# deletion of that row can be committed (a commit takes several trips to SQLite's thread).
KILLED_AFTER_SEND = textwrap.dedent("""
    import asyncio, os, signal, sys
    from bot.storage import Outgoing, Storage

    async def main() -> None:
        storage = await Storage.open(sys.argv[1], sent_journal=True)
        items = await storage.commit_turn(1, chat_id=5, outgoing=[
            Outgoing(5, "sendMessage", {"chat_id": 5, "text": "eerste"}),
            Outgoing(5, "sendMessage", {"chat_id": 5, "text": "tweede"})])
        asyncio.ensure_future(storage.mark_sent(items[0].id))
        await asyncio.sleep(0)  # mark_sent ran up to its first wait
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
""")


def _outbox_texts(db: Path) -> list[str]:
    with sqlite3.connect(db) as raw:
        return [row[0] for row in raw.execute(
            "SELECT json_extract(params, '$.text') FROM outbox ORDER BY id")]


async def test_a_message_accepted_just_before_kill_9_is_not_sent_again(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    process = subprocess.run([sys.executable, "-c", KILLED_AFTER_SEND, str(db)], cwd=ROOT,
                             capture_output=True, timeout=60)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    # The deletion never reached the database: without the journal it would be sent again.
    assert _outbox_texts(db) == ["eerste", "tweede"]
    journal = Path(f"{db}-sent").read_text(encoding="ascii")
    assert journal.split() == ["1"]  # the row's id, and nothing of the message or the chat

    async with Storage.open(db, sent_journal=True) as storage:
        assert [item.params["text"] for item in await storage.unsent()] == ["tweede"]
    assert _outbox_texts(db) == ["tweede"]
    assert Path(f"{db}-sent").read_bytes() == b""  # replayed, then emptied on a clean close


async def test_other_processes_leave_the_journal_alone(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with Storage.open(db) as storage:
        await storage.commit_turn(1, chat_id=5, outgoing=[
            Outgoing(5, "sendMessage", {"chat_id": 5, "text": "eerste"})])
    Path(f"{db}-sent").write_text("1\n", encoding="ascii")
    async with Storage.open(db) as storage:  # e.g. `wegwijzer stats` while the bot runs
        assert len(await storage.unsent()) == 1
    assert Path(f"{db}-sent").read_text(encoding="ascii") == "1\n"


async def test_sent_rows_are_deleted_and_the_journal_forgets_them(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with Storage.open(db, sent_journal=True) as storage:
        items = await storage.commit_turn(1, chat_id=5, outgoing=[
            Outgoing(5, "sendMessage", {"chat_id": 5, "text": str(n)}) for n in range(3)])
        assert items is not None
        for item in items:
            await storage.mark_sent(item.id)
        assert await storage.unsent() == []
        assert Path(f"{db}-sent").read_text(encoding="ascii").split() == ["1", "2", "3"]
    assert Path(f"{db}-sent").read_bytes() == b""


def test_a_long_journal_is_rewritten_with_only_the_ids_still_pending(tmp_path: Path) -> None:
    path = tmp_path / "bot.db-sent"
    journal = SentJournal(path)
    journal.open()
    count = COMPACT_BYTES // 6 + 10  # lines of "10000\n" and up: past the limit
    ids = list(range(10_000, 10_000 + count))
    for outbox_id in ids:
        journal.record(outbox_id)
    assert path.stat().st_size > COMPACT_BYTES
    journal.committed(ids[:-2])  # the last two deletions are still being written
    assert journal.read() == ids[-2:]
    journal.record(7)  # appends to the new file
    assert journal.read() == [*ids[-2:], 7]
    journal.close()  # two deletions never committed: the file keeps them for the next start
    assert SentJournal(path).read() == [*ids[-2:], 7]


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bot.db-sent"
    path.write_bytes(b"12\n34\n5")  # "5" may be the start of 56: not trusted
    assert SentJournal(path).read() == [12, 34]
    path.write_bytes(b"12\n3\x00")
    assert SentJournal(path).read() == [12]
