"""`wegwijzer backup`: a sound copy of the live database, and a restore that gives it all back."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.backup import backup_database, database_path
from bot.cli import main
from bot.storage import MIGRATIONS, Outgoing, Storage


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (SQLite's own included), read through a fresh connection."""
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
                for table in tables}


def make_damaged_database(path: Path) -> None:
    """A database whose index page points nowhere: SQLite opens it, integrity_check fails."""
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        connection.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)")
        connection.execute("CREATE INDEX notes_body ON notes(body)")
        connection.executemany("INSERT INTO notes(body) VALUES (?)",
                               [(f"note {i}",) for i in range(2000)])
        root, page_size = connection.execute(
            "SELECT rootpage, (SELECT page_size FROM pragma_page_size()) FROM sqlite_master "
            "WHERE name = 'notes_body'").fetchone()
    connection.close()
    with path.open("r+b") as raw:  # overwrite the child pointers of the index's root page
        raw.seek(root * page_size - 200)
        raw.write(b"\x07" * 100)


async def fill(storage: Storage) -> None:
    """What a running bot leaves behind: handled and pending updates, residents, an outbox,
    a handoff request with its staff-group link, a told group and a blocked resident."""
    await storage.store_updates([(uid, {"update_id": uid, "message": {"text": f"vraag {uid}"}})
                                 for uid in range(1, 8)])
    for uid, chat_id in ((1, 11), (2, 12), (3, 13)):
        state = {"lang": "nl", "node": "mantelzorg", "trail": ["Ik zorg voor iemand"],
                 "found": ["service:mee"], "gemeente": "Roerdalen"}
        await storage.commit_turn(uid, chat_id=chat_id, state=json.dumps(state), outgoing=[
            Outgoing(chat_id, "sendMessage", {"chat_id": chat_id, "text": f"antwoord {uid}"})])
    async with storage.write() as writer:
        await writer.close_update(4)
        shared = json.dumps({"topic": "mantelzorg", "answers": ["Ik zorg voor iemand"],
                             "found": ["MEE"], "lang": "nl", "gemeente": "Roerdalen",
                             "message": None, "share_name": True, "urgent": False})
        request = await writer.insert_request(11, shared, name="Ans", urgent=False,
                                              remind_at=storage.clock.now() + 600)
        await writer.update_request(request.id, callback_phone="+31612345678",
                                    callback_moment="middag", thread_id=77)
        await writer.link_staff_message(501, request.id)
        await writer.add_outgoing([Outgoing(-1009000, "sendMessage",
                                            {"chat_id": -1009000, "_kind": "card"}, request.id)])
    await storage.commit_group_notice(5, Outgoing(-42, "sendMessage",
                                                  {"chat_id": -42, "text": "privé"}))
    await storage.mark_blocked(13)


def restore(backup: Path, live: Path) -> None:
    """The restore steps in docs/operations.md, with the bot stopped."""
    for suffix in ("-wal", "-shm"):  # stale files of the broken database must not be replayed
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, live)


async def test_backup_while_the_bot_runs_restores_to_the_same_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "backups" / "wegwijzer-1.db"
    copy.parent.mkdir()
    async with Storage.open(live) as storage:
        await fill(storage)
        # The rows are still in the write-ahead log: a plain file copy would miss them.
        assert Path(f"{live}-wal").stat().st_size > 0
        before = snapshot(live)
        assert main(["backup", "--db", str(live), str(copy)]) == 0
        out = capsys.readouterr().out
        assert f"Backed up {live} to {copy}" in out and "integrity ok" in out
        assert "residents 3" in out and "requests 1" in out

    assert not Path(f"{copy}-wal").exists()  # one self-contained file
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600  # it holds personal data
    assert list(copy.parent.iterdir()) == [copy]  # no temporary file left behind

    restored = tmp_path / "server" / "wegwijzer.db"
    restored.parent.mkdir()
    restored.write_bytes(b"the broken database")
    Path(f"{restored}-wal").write_bytes(b"stale")
    Path(f"{restored}-shm").write_bytes(b"stale")
    restore(copy, restored)
    async with Storage.open(restored) as storage:
        assert await storage.schema_version() == len(MIGRATIONS)
        assert await storage.load_state(12) is not None
        assert await storage.is_blocked(13)
        assert [item.params.get("text") for item in await storage.unsent()] == [
            "antwoord 1", "antwoord 2", None, "privé"]  # 13 blocked: its message is dropped
    with sqlite3.connect(restored) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    after = snapshot(restored)
    assert after == before
    for table in ("updates", "residents", "outbox", "requests", "staff_messages", "told_groups"):
        assert after[table], f"{table} should hold rows for the comparison to mean something"
    pending = [row for row in after["updates"] if row[1] is not None]
    assert [row[0] for row in pending] == [6, 7]  # unhandled updates keep their payload


async def test_backup_during_writes_is_one_consistent_moment(tmp_path: Path) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    async with Storage.open(live) as storage:
        await storage.store_updates([(uid, {"update_id": uid}) for uid in range(1, 401)])

        underway = asyncio.Event()

        async def turns() -> None:
            for uid in range(1, 401):  # each turn: one resident and one outbox row, together
                await storage.commit_turn(uid, chat_id=uid, state="{}", outgoing=[
                    Outgoing(uid, "sendMessage", {"chat_id": uid, "text": "hoi"})])
                if uid == 5:
                    underway.set()

        writing = asyncio.create_task(turns())
        await underway.wait()
        result = await asyncio.to_thread(backup_database, live, copy)
        await writing
    residents, outbox = result.rows["residents"], result.rows["outbox"]
    assert residents == outbox  # never half a transaction
    assert 5 <= residents <= 400
    with sqlite3.connect(copy) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


async def test_refuses_to_overwrite_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    async with Storage.open(live) as storage:
        await storage.commit_turn(1, chat_id=5, state='{"lang":"en"}')
    copy.write_text("last week's backup")
    assert main(["backup", "--db", str(live), str(copy)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert copy.read_text() == "last week's backup"
    assert main(["backup", "--db", str(live), "--force", str(copy)]) == 0
    assert snapshot(copy)["residents"] == snapshot(live)["residents"]


def test_a_missing_database_is_a_usage_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, copy = tmp_path / "nowhere.db", tmp_path / "copy.db"
    assert main(["backup", "--db", str(live), str(copy)]) == 2
    assert f"There is no database at {live}" in capsys.readouterr().err
    assert not live.exists() and not copy.exists()
    assert main(["backup", "--db", str(tmp_path / "x.db"),
                 str(tmp_path / "no-such-folder" / "copy.db")]) == 2


def test_a_damaged_database_gives_exit_1_and_no_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    make_damaged_database(live)
    assert main(["backup", "--db", str(live), str(copy)]) == 1
    err = capsys.readouterr().err
    assert "fails PRAGMA integrity_check" in err and "No backup was written" in err
    assert list(tmp_path.iterdir()) == [live]


async def test_the_database_comes_from_the_environment_or_dotenv_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("WEGWIJZER_DB", raising=False)
    assert database_path() == Path("wegwijzer.db")
    Path(".env").write_text("WEGWIJZER_DB=from-dotenv.db\n")
    assert database_path() == Path("from-dotenv.db")
    monkeypatch.setenv("WEGWIJZER_DB", str(tmp_path / "from-env.db"))
    assert database_path() == tmp_path / "from-env.db"  # the environment wins
    async with Storage.open(tmp_path / "from-env.db") as storage:
        await storage.commit_turn(1, chat_id=5, state="{}")
    assert main(["backup", "copy.db"]) == 0
    assert "from-env.db to copy.db" in capsys.readouterr().out
    assert snapshot(tmp_path / "copy.db")["residents"]
