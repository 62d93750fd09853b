"""All durable state, in one SQLite file through aiosqlite: inbox, residents, outbox.

One connection is the one writer. Writers take turns under a lock, because aiosqlite does not
keep two coroutines' transactions apart on a shared connection; writers that queue up share
one COMMIT, and plain turns that arrive together are written with one statement per table
(both in group_commit.py). What a write transaction may do is the Writer's (writer.py); the
SQL both use is in sql.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.clock import Clock, system_clock
from bot.storage.group_commit import Batches, GroupCommit, Member
from bot.storage.records import (
    OutboxItem,
    Outgoing,
    PendingUpdate,
    Request,
    SchemaTooNew,
    iso_week,
)
from bot.storage.schema import MIGRATIONS
from bot.storage.sent_journal import SentJournal
from bot.storage.sql import (
    SELECT_REQUEST,
    SET_META,
    STALE_REQUEST,
    close_updates,
    counts_upsert,
    fetch_one,
    outbox_insert_rows,
    outbox_items,
    outbox_rows,
    request_of,
    save_states,
)
from bot.storage.writer import Writer

# Telegram keeps an update for at most 24 hours, so two days of update_ids is enough to
# recognise every repeat.
UPDATE_MEMORY_SECONDS = 2 * 24 * 3600
STATE_CACHE_SIZE = 10_000
SENT_BATCH = 500  # outbox rows deleted in one statement at most (SQLite limits parameters)
MAX_TURN_BATCH = 200  # turns written together at most (SQLite limits parameters too)


class Storage:
    """The bot's database; use `async with Storage.open(path) as storage:`."""

    def __init__(self, connection: aiosqlite.Connection, *, clock: Clock | None = None) -> None:
        self._db = connection
        self.clock = clock or system_clock()
        self._group = GroupCommit(connection)
        # Updates a turn closed; the processor's mark_handled can skip them (saves a commit).
        self._closed_by_turn: set[int] = set()
        # Sent outbox rows are deleted, and plain turns written, in batches (`Batches`).
        self._sent: Batches[int, None] = Batches(self._delete_sent, limit=SENT_BATCH)
        # This connection is the only writer, so recent states can be served from memory.
        self._states: dict[int, str] = {}
        self._turns: Batches[_QueuedTurn, list[OutboxItem] | None] = Batches(
            self._write_turns, limit=MAX_TURN_BATCH)
        self._journal: SentJournal | None = None  # only the bot's own connection has one

    @classmethod
    def open(
        cls, path: Path | str, *, synchronous: str = "FULL", clock: Clock | None = None,
        sent_journal: bool = False,
    ) -> _Opener:
        """Open (and migrate) the database; `synchronous=FULL` survives power loss.

        `sent_journal=True` is for the one process that sends the outbox (see sent_journal).
        """
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        return _Opener(path, synchronous, clock, sent_journal)

    async def close(self) -> None:
        """Close the connection; an open aiosqlite connection keeps the process alive."""
        await self._sent.wait_idle()
        await self._turns.wait_idle()
        await self._group.wait_idle()
        await self._db.close()
        if self._journal is not None:
            self._journal.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- schema --------------------------------------------------------------------------

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > len(MIGRATIONS):
            raise SchemaTooNew(f"the database has schema {version}, newer than this Wegwijzer "
                               f"knows ({len(MIGRATIONS)}); upgrade Wegwijzer, or restore a "
                               "backup made by this version")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first; the version bump is part of the same script.
            await self._db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        """The applied migration number."""
        row = await self._fetch_one("PRAGMA user_version", ())
        return int(row[0]) if row else 0

    # ---- inbox ---------------------------------------------------------------------------

    async def store_updates(self, updates: Sequence[tuple[int, dict[str, Any]]]) -> int:
        """Keep new updates before they are confirmed to Telegram; repeats are ignored."""
        if not updates:
            return 0
        now = self.clock.now()
        rows = [(uid, json.dumps(payload, ensure_ascii=False), now) for uid, payload in updates]
        sql = "INSERT OR IGNORE INTO updates(update_id, payload, received_at) VALUES (?,?,?)"
        before = self._db.total_changes
        if len(rows) == 1:
            async with self._one_statement():
                await self._db.execute(sql, rows[0])
        else:
            async with self._transaction():
                await self._db.executemany(sql, rows)
        return self._db.total_changes - before

    async def last_update_id(self) -> int | None:
        """The highest update_id ever stored; polling continues after it."""
        row = await self._fetch_one("SELECT MAX(update_id) FROM updates", ())
        return int(row[0]) if row and row[0] is not None else None

    async def pending_updates(self, *, after_id: int = 0, limit: int = 100) -> list[PendingUpdate]:
        """Stored updates not yet handled, oldest first."""
        rows = await self._db.execute_fetchall(
            "SELECT update_id, payload FROM updates WHERE handled_at IS NULL AND update_id > ? "
            "ORDER BY update_id LIMIT ?",
            (after_id, limit),
        )
        return [PendingUpdate(int(r[0]), json.loads(r[1])) for r in rows]

    async def mark_handled(self, update_id: int) -> None:
        """Close an update that had no effects to commit (or whose handler failed)."""
        if update_id in self._closed_by_turn:
            self._closed_by_turn.discard(update_id)  # already closed with its effects
            return
        async with self._transaction():
            await self._close_update(update_id)

    async def skip_unreadable(self, update_id: int) -> None:
        """An update python-telegram-bot cannot read: closed unhandled, and counted once."""
        async with self.write() as writer:
            if await writer.close_update(update_id):
                await writer.count("skipped_updates")

    async def _close_update(self, update_id: int) -> bool:
        cursor = await self._db.execute(
            "UPDATE updates SET handled_at = ?, payload = NULL "
            "WHERE update_id = ? AND handled_at IS NULL",
            (self.clock.now(), update_id),
        )
        return cursor.rowcount == 1

    # ---- one turn ------------------------------------------------------------------------

    async def load_state(self, chat_id: int) -> str | None:
        """The resident's saved conversation state (JSON), if any."""
        if chat_id in self._states:
            return self._states[chat_id]
        row = await self._fetch_one("SELECT state FROM residents WHERE chat_id = ?", (chat_id,))
        return str(row[0]) if row else None

    async def commit_turn(
        self,
        update_id: int,
        *,
        chat_id: int | None = None,
        state: str | None = None,
        outgoing: Sequence[Outgoing] = (),
        counts: Iterable[tuple[str, str]] = (),
    ) -> list[OutboxItem] | None:
        """Record the update as handled together with its effects: the resident's state, the
        replies, and this week's counters (metric, key) for the turn.

        Returns the stored outbox rows, for the sender; None if the update was handled before.
        Turns that arrive while others are written are written together (`Batches`).
        """
        # Encoded here, so that a reply that cannot be stored fails its own turn only.
        turn = _QueuedTurn(update_id, chat_id, state, list(outgoing), outbox_rows(outgoing),
                           list(counts))
        return await self._turns.write(turn)

    async def _write_turns(self, batch: Sequence[_QueuedTurn]) -> list[list[OutboxItem] | None]:
        """Commit a batch of turns with one statement per table; None for a repeated update."""
        now = self.clock.now()
        async with self._transaction():
            closed = await self._db.execute_fetchall(
                f"{close_updates(len(batch))} RETURNING update_id",
                [value for turn in batch for value in (turn.update_id, now, now)])
            newly_closed = {int(row[0]) for row in closed}
            fresh = []
            for turn in batch:
                if turn.update_id in newly_closed:
                    newly_closed.discard(turn.update_id)  # a second copy is a repeat
                    fresh.append(turn)
            states = [(t.chat_id, t.state, now) for t in fresh
                      if t.chat_id is not None and t.state is not None]
            week = iso_week(now)
            counts = Counter((week, metric, key) for turn in fresh for metric, key in turn.counts)
            rows = [row for turn in fresh for row in turn.outbox_rows]
            # Sent to aiosqlite's thread together; they run back to back: one wait.
            pending: list[Awaitable[Any]] = []
            if states:
                pending.append(self._db.execute(
                    save_states(len(states)), [v for row in states for v in row]))
            if counts:
                pending.append(self._db.execute(*counts_upsert(counts)))
            if rows:
                pending.append(self._db.execute_fetchall(*outbox_insert_rows(rows, now)))
            results: list[Any] = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result  # the batch's savepoint is rolled back
        # Committed: hand each turn its own stored replies, in the order they were inserted.
        items = iter(outbox_items(results[-1] if rows else [],
                                   [call for turn in fresh for call in turn.outgoing]))
        written: dict[int, list[OutboxItem]] = {}
        for turn in fresh:
            written[id(turn)] = [next(items) for _ in turn.outgoing]
            self._closed_by_turn.add(turn.update_id)
        self._remember_states({chat_id: state for chat_id, state, _ in states})
        return [written.get(id(turn)) for turn in batch]

    def write(self) -> _WriterContext:
        """One write transaction: `async with storage.write() as writer: ...`; the sender
        gets `writer.items` once it has committed."""
        return _WriterContext(self)

    def _after_commit(self, writer: Writer) -> None:
        if writer.closed_update is not None:
            self._closed_by_turn.add(writer.closed_update)
        self._remember_states(writer.states)

    def _remember_states(self, states: dict[int, str]) -> None:
        for chat_id, state in states.items():
            if not state:
                self._states.pop(chat_id, None)
                continue
            if len(self._states) >= STATE_CACHE_SIZE:
                self._states.pop(next(iter(self._states)))  # the oldest entry
            self._states[chat_id] = state

    async def waiting_ahead(self, *, urgent: bool = False) -> int:
        """Requests still waiting; a crisis request only waits behind other crises."""
        row = await self._fetch_one(
            "SELECT COUNT(*) FROM requests WHERE status = 'waiting' AND urgent >= ?",
            (int(urgent),))
        return int(row[0]) if row else 0

    async def get_request(self, request_id: int) -> Request | None:
        """One request by number, outside a transaction."""
        row = await self._fetch_one(f"{SELECT_REQUEST} WHERE id = ?", (request_id,))
        return request_of(row) if row else None

    # ---- outbox --------------------------------------------------------------------------

    async def unsent(self, *, after_id: int = 0, limit: int = 500) -> list[OutboxItem]:
        """Outgoing calls not yet confirmed, in the order they were made."""
        rows = await self._db.execute_fetchall(
            "SELECT id, chat_id, method, params, request_id FROM outbox WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [OutboxItem(int(r[0]), int(r[1]), str(r[2]), json.loads(r[3]), r[4]) for r in rows]

    async def mark_sent(self, outbox_id: int) -> None:
        """Forget a sent message: its text has no reason to stay on disk.

        The sent journal has the id at once, before this first waits; the deletion itself
        returns once committed. Messages sent while one deletion is being written are deleted
        together in the next statement: one trip instead of one each.
        """
        if self._journal is not None:
            self._journal.record(outbox_id)
        await self._sent.write(outbox_id)

    async def _delete_sent(self, ids: Sequence[int]) -> list[None]:
        async with self._one_statement():
            await self._db.execute(
                f"DELETE FROM outbox WHERE id IN ({', '.join('?' * len(ids))})", list(ids))
        if self._journal is not None:
            self._journal.committed(ids)
        return [None] * len(ids)

    async def _replay_sent(self, journal: SentJournal) -> int:
        """Delete the rows a killed run had sent but not yet deleted; start a new journal."""
        ids = journal.read()
        for start in range(0, len(ids), SENT_BATCH):
            await self._delete_sent(ids[start:start + SENT_BATCH])
        journal.open()
        self._journal = journal
        return len(ids)

    async def mark_blocked(self, chat_id: int, *, blocked: bool = True) -> int:
        """Remember that a resident blocked the bot; drops what was waiting for them."""
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO residents(chat_id, state, updated_at, blocked) VALUES (?,?,?,?) "
                "ON CONFLICT(chat_id) DO UPDATE SET blocked = excluded.blocked",
                (chat_id, "{}", self.clock.now(), int(blocked)),
            )
            dropped = 0
            if blocked:
                cursor = await self._db.execute(
                    "DELETE FROM outbox WHERE chat_id = ?", (chat_id,))
                dropped = cursor.rowcount
        return dropped

    async def is_blocked(self, chat_id: int) -> bool:
        """Whether the resident blocked the bot."""
        row = await self._fetch_one("SELECT blocked FROM residents WHERE chat_id = ?", (chat_id,))
        return bool(row and row[0])

    # ---- groups --------------------------------------------------------------------------

    async def group_was_told(self, chat_id: int) -> bool:
        """Whether a group already heard that the bot only works in private chats."""
        return await self._fetch_one(
            "SELECT 1 FROM told_groups WHERE chat_id = ?", (chat_id,)) is not None

    async def commit_group_notice(self, update_id: int, outgoing: Outgoing) -> list[OutboxItem]:
        """Tell a group once: the notice, the group and the update in one transaction."""
        async with self.write() as writer:
            if not await writer.close_update(update_id):
                return []
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO told_groups(chat_id) VALUES (?)", (outgoing.chat_id,))
            if cursor.rowcount != 1:
                return []
            return await writer.add_outgoing([outgoing])

    # ---- retention -----------------------------------------------------------------------

    async def purge(self, *, retention_days: int, now: float | None = None) -> dict[str, int]:
        """Delete residents idle longer than the retention period, and old update ids."""
        now = self.clock.now() if now is None else now
        self._states.clear()
        async with self._transaction():
            residents = await self._db.execute(
                "DELETE FROM residents WHERE updated_at < ?", (now - retention_days * 86400,))
            updates = await self._db.execute(
                "DELETE FROM updates WHERE handled_at IS NOT NULL AND handled_at < ? "
                # The newest row stays: polling resumes after its update_id.
                "AND update_id < (SELECT MAX(update_id) FROM updates)",
                (now - UPDATE_MEMORY_SECONDS,),
            )
            cutoff = now - retention_days * 86400
            stale = STALE_REQUEST
            await self._db.execute(
                f"DELETE FROM staff_messages WHERE request_id IN "
                f"(SELECT id FROM requests WHERE {stale})", {"cutoff": cutoff})
            requests = await self._db.execute(f"DELETE FROM requests WHERE {stale}",
                                              {"cutoff": cutoff})
            unanswered = await self._db.execute(
                "DELETE FROM unanswered WHERE created_at < ?", (cutoff,))
            counts = {"residents": residents.rowcount, "updates": updates.rowcount,
                      "requests": requests.rowcount, "unanswered": unanswered.rowcount}
        await self.checkpoint()
        return counts

    async def stale_staff_places(
        self, *, retention_days: int, now: float | None = None
    ) -> tuple[list[int], list[int]]:
        """Topics and staff-group messages of the requests the next purge deletes."""
        cutoff = (self.clock.now() if now is None else now) - retention_days * 86400
        topics = await self._db.execute_fetchall(
            f"SELECT thread_id FROM requests WHERE ({STALE_REQUEST}) AND thread_id IS NOT NULL",
            {"cutoff": cutoff})
        messages = await self._db.execute_fetchall(
            "SELECT message_id FROM staff_messages WHERE request_id IN "
            f"(SELECT id FROM requests WHERE ({STALE_REQUEST}) AND thread_id IS NULL)",
            {"cutoff": cutoff})
        return [int(r[0]) for r in topics], [int(r[0]) for r in messages]

    async def weekly_counts(self, *, since_week: str = "") -> list[tuple[str, str, str, int]]:
        """(week, metric, key, count) rows from a week on, oldest first."""
        rows = await self._db.execute_fetchall(
            "SELECT week, metric, key, count FROM weekly_counts WHERE week >= ? "
            "ORDER BY week, metric, key", (since_week,))
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    async def unanswered_texts(self, *, since_week: str = "") -> list[tuple[str, str]]:
        """(week, scrubbed text) of the questions the bot did not understand."""
        rows = await self._db.execute_fetchall(
            "SELECT week, text FROM unanswered WHERE week >= ? ORDER BY id", (since_week,))
        return [(str(r[0]), str(r[1])) for r in rows]

    async def get_meta(self, key: str) -> str | None:
        """A small named value the bot keeps between runs."""
        row = await self._fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small named value."""
        async with self._one_statement():
            await self._db.execute(SET_META, (key, value))

    async def checkpoint(self) -> None:
        """Fold the WAL into the database file and empty it, so erased rows are gone."""
        async with await self._group.exclusive():
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def counts(self) -> dict[str, int]:
        """Row counts per table, for tests and `doctor`."""
        result = {}
        for table in ("updates", "residents", "outbox", "told_groups", "requests",
                      "staff_messages"):
            row = await self._fetch_one(f"SELECT COUNT(*) FROM {table}", ())
            result[table] = int(row[0]) if row else 0
        return result

    # ---- helpers -------------------------------------------------------------------------

    async def _fetch_one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return await fetch_one(self._db, sql, params)

    def _transaction(self) -> Member:
        return self._group.member()

    def _one_statement(self) -> Member:
        # A single statement is undone by SQLite as a whole: no savepoint trips needed.
        return self._group.member(savepoint=False)


class _WriterContext:
    """BEGIN IMMEDIATE … COMMIT around a Writer; caches are updated only after COMMIT."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._transaction = storage._transaction()
        self._writer: Writer | None = None

    async def __aenter__(self) -> Writer:
        await self._transaction.__aenter__()
        storage = self._storage
        self._writer = Writer(storage._db, clock=storage.clock, read_state=storage.load_state)
        return self._writer

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None and self._writer is not None:
            try:
                await self._writer.write_counts()
            except BaseException as error:
                await self._transaction.__aexit__(type(error), error, error.__traceback__)
                raise
        await self._transaction.__aexit__(kind, exc, tb)
        if kind is None and self._writer is not None:
            self._storage._after_commit(self._writer)


@dataclass
class _QueuedTurn:
    """A plain turn waiting to be written with the others that arrived with it."""

    update_id: int
    chat_id: int | None
    state: str | None
    outgoing: list[Outgoing]
    outbox_rows: list[tuple[Any, ...]]
    counts: list[tuple[str, str]]  # (metric, key), one each


class _Opener:
    """Makes `Storage.open(...)` work both awaited and with `async with`."""

    def __init__(
        self, path: Path | str, synchronous: str, clock: Clock | None, sent_journal: bool,
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._clock = clock
        self._sent_journal = sent_journal
        self._storage: Storage | None = None

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._open().__await__()

    async def _open(self) -> Storage:
        # Said plainly before SQLite tries: a failed connect leaves aiosqlite's thread behind.
        path = Path(self._path)
        if str(self._path) != ":memory:":
            if path.is_dir():
                raise sqlite3.OperationalError(f"{path} is a folder, not a database file")
            if not path.parent.is_dir():
                raise sqlite3.OperationalError(f"the folder {path.parent} does not exist")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so transactions are explicit.
        connection = await aiosqlite.connect(str(self._path), isolation_level=None)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute(f"PRAGMA synchronous={self._synchronous}")
            await connection.execute("PRAGMA secure_delete=ON")  # erased text is overwritten
            storage = Storage(connection, clock=self._clock)
            await storage._migrate()
            if self._sent_journal and str(self._path) != ":memory:":
                await storage._replay_sent(SentJournal(Path(f"{self._path}-sent")))
        except BaseException:
            await connection.close()
            raise
        return storage

    async def __aenter__(self) -> Storage:
        self._storage = await self._open()
        return self._storage

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._storage is not None:
            await self._storage.close()
