"""All durable state, in one SQLite file through aiosqlite: inbox, residents, outbox.

One connection is the one writer. Writers take turns under a lock, because aiosqlite does not
keep two coroutines' transactions apart on a shared connection; writers that queue up share
one COMMIT (see `_GroupCommit`), and plain turns that arrive together are written with one
statement per table (see `_Batches`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import aiosqlite

from bot.clock import AMSTERDAM, Clock, system_clock
from bot.sent_journal import SentJournal

# Telegram keeps an update for at most 24 hours, so two days of update_ids is enough to
# recognise every repeat.
UPDATE_MEMORY_SECONDS = 2 * 24 * 3600
STATE_CACHE_SIZE = 10_000
SENT_BATCH = 500  # outbox rows deleted in one statement at most (SQLite limits parameters)
MAX_TURN_BATCH = 200  # turns written together at most (SQLite limits parameters too)
Item = TypeVar("Item")
Result = TypeVar("Result")
# Closed requests after the retention period; open ones nobody touched for that long are
# abandoned and go too.
STALE_REQUEST = ("(status = 'closed' AND closed_at < :cutoff) OR "
                 "(status != 'closed' AND COALESCE(claimed_at, created_at) < :cutoff)")


FILE_MARK = "_file_base64"  # an outbox parameter that holds a file (see attached_file)
# An outbox parameter saying what the sender does once the message is sent and deleted:
# ERASE_TRACES folds the WAL, for the last message to a resident who was just erased.
THEN, ERASE_TRACES = "_then", "erase_traces"
_SET_META = ("INSERT INTO meta(key, value) VALUES (?, ?) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value")


def iso_week(timestamp: float) -> str:
    """'2026-W48': the ISO week of a moment, in Dutch time."""
    year, week, _ = dt.datetime.fromtimestamp(timestamp, AMSTERDAM).isocalendar()
    return f"{year}-W{week:02d}"

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE updates (
        update_id   INTEGER PRIMARY KEY,
        payload     TEXT,            -- the raw update; cleared once handled
        received_at REAL NOT NULL,
        handled_at  REAL
    );
    CREATE INDEX updates_pending ON updates(update_id) WHERE handled_at IS NULL;
    CREATE TABLE residents (
        chat_id    INTEGER PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at REAL NOT NULL,
        blocked    INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id    INTEGER NOT NULL,
        method     TEXT NOT NULL,
        params     TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX outbox_chat ON outbox(chat_id, id);
    CREATE TABLE told_groups (
        chat_id INTEGER PRIMARY KEY
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: the warm handoff
    """
    CREATE TABLE requests (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id         INTEGER NOT NULL,      -- the resident
        status          TEXT NOT NULL,         -- waiting | claimed | closed
        urgent          INTEGER NOT NULL DEFAULT 0,
        shared          TEXT NOT NULL,         -- JSON: only what the resident agreed to share
        name            TEXT,                  -- first name, only when the resident chose so
        callback_phone  TEXT,
        callback_moment TEXT,
        created_at      REAL NOT NULL,
        claimed_at      REAL,
        closed_at       REAL,
        claimed_by      INTEGER,
        claimed_name    TEXT,
        thread_id       INTEGER,               -- forum topic in the staff group
        card_message_id INTEGER,
        remind_at       REAL,                  -- next reminder while nobody claimed it
        rating          INTEGER,
        remark          TEXT
    );
    CREATE INDEX requests_resident ON requests(chat_id, status);
    CREATE INDEX requests_thread ON requests(thread_id);
    CREATE INDEX requests_reminder ON requests(remind_at) WHERE status = 'waiting';
    CREATE TABLE staff_messages (              -- staff-group messages that belong to a request
        message_id INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE
    );
    ALTER TABLE outbox ADD COLUMN request_id INTEGER;  -- staff messages: route by request
    """,
    # 3: anonymous weekly statistics: counts per ISO week, never a resident
    """
    CREATE TABLE weekly_counts (
        week   TEXT NOT NULL,                  -- ISO week in Dutch time, e.g. 2026-W48
        metric TEXT NOT NULL,                  -- conversations, topics, shown, crises, …
        key    TEXT NOT NULL DEFAULT '',       -- e.g. the topic or "service:mee"
        count  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (week, metric, key)
    );
    CREATE TABLE unanswered (                  -- scrubbed questions the bot did not understand
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        week       TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 4: a kept question knows whose it was (a keyed pseudonym), so /vergeet erases it too
    """
    ALTER TABLE unanswered ADD COLUMN owner TEXT;
    CREATE INDEX unanswered_owner ON unanswered(owner);
    """,
)

REQUEST_COLUMNS = (
    "id", "chat_id", "status", "urgent", "shared", "name", "callback_phone", "callback_moment",
    "created_at", "claimed_at", "closed_at", "claimed_by", "claimed_name", "thread_id",
    "card_message_id", "remind_at", "rating", "remark",
)
SETTABLE_REQUEST_COLUMNS = frozenset(REQUEST_COLUMNS) - {"id", "chat_id", "created_at"}


@dataclass(frozen=True)
class Outgoing:
    """One Bot API call to make, e.g. sendMessage; `request_id` marks a staff-group message
    that is routed to its request's topic or card at the moment it is sent."""

    chat_id: int
    method: str
    params: dict[str, Any]
    request_id: int | None = None


def attached_file(data: bytes, filename: str) -> dict[str, str]:
    """A file (a chart) as an outbox parameter: JSON can hold it, the sender uploads it."""
    return {FILE_MARK: base64.b64encode(data).decode("ascii"), "filename": filename}


@dataclass(frozen=True)
class OutboxItem:
    """A stored outgoing call that has not been confirmed as sent."""

    id: int
    chat_id: int
    method: str
    params: dict[str, Any]
    request_id: int | None = None


@dataclass(frozen=True)
class Request:
    """A resident's request for a meedenker."""

    id: int
    chat_id: int
    status: str
    urgent: int
    shared: str
    name: str | None
    callback_phone: str | None
    callback_moment: str | None
    created_at: float
    claimed_at: float | None
    closed_at: float | None
    claimed_by: int | None
    claimed_name: str | None
    thread_id: int | None
    card_message_id: int | None
    remind_at: float | None
    rating: int | None
    remark: str | None

    @property
    def shared_data(self) -> dict[str, Any]:
        """The shared JSON, parsed."""
        data: dict[str, Any] = json.loads(self.shared)
        return data


@dataclass(frozen=True)
class PendingUpdate:
    """An update that was stored but whose effects are not yet committed."""

    update_id: int
    payload: dict[str, Any]


class SchemaTooNew(Exception):
    """The database was made by a newer Wegwijzer."""


class Storage:
    """The bot's database; use `async with Storage.open(path) as storage:`."""

    def __init__(self, connection: aiosqlite.Connection, *, clock: Clock | None = None) -> None:
        self._db = connection
        self.clock = clock or system_clock()
        self._group = _GroupCommit(connection)
        # Updates a turn closed; the processor's mark_handled can skip them (saves a commit).
        self._closed_by_turn: set[int] = set()
        # Sent outbox rows are deleted, and plain turns written, in batches (`_Batches`).
        self._sent: _Batches[int, None] = _Batches(self._delete_sent, limit=SENT_BATCH)
        # This connection is the only writer, so recent states can be served from memory.
        self._states: dict[int, str] = {}
        self._turns: _Batches[_QueuedTurn, list[OutboxItem] | None] = _Batches(
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
        Turns that arrive while others are written are written together (`_Batches`).
        """
        # Encoded here, so that a reply that cannot be stored fails its own turn only.
        turn = _QueuedTurn(update_id, chat_id, state, list(outgoing), _outbox_rows(outgoing),
                           list(counts))
        return await self._turns.write(turn)

    async def _write_turns(self, batch: Sequence[_QueuedTurn]) -> list[list[OutboxItem] | None]:
        """Commit a batch of turns with one statement per table; None for a repeated update."""
        now = self.clock.now()
        async with self._transaction():
            closed = await self._db.execute_fetchall(
                f"{_close_updates(len(batch))} RETURNING update_id",
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
                    _save_states(len(states)), [v for row in states for v in row]))
            if counts:
                pending.append(self._db.execute(*_counts_upsert(counts)))
            if rows:
                pending.append(self._db.execute_fetchall(*_outbox_insert_rows(rows, now)))
            results: list[Any] = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result  # the batch's savepoint is rolled back
        # Committed: hand each turn its own stored replies, in the order they were inserted.
        items = iter(_outbox_items(results[-1] if rows else [],
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
        row = await self._fetch_one(f"{_SELECT_REQUEST} WHERE id = ?", (request_id,))
        return _request(row) if row else None

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
            await self._db.execute(_SET_META, (key, value))

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
        # execute_fetchall is one trip to aiosqlite's thread; a cursor would take three.
        rows = list(await self._db.execute_fetchall(sql, params))
        return rows[0] if rows else None

    def _transaction(self) -> _Member:
        return self._group.member()

    def _one_statement(self) -> _Member:
        # A single statement is undone by SQLite as a whole: no savepoint trips needed.
        return self._group.member(savepoint=False)


def _values(rows: int, width: int) -> str:
    row = f"({', '.join('?' * width)})"
    return ", ".join([row] * rows)


def _close_updates(count: int) -> str:
    # One statement for both cases: a polled update is new here; a webhook update was stored
    # first and is closed now (its content cleared). Handled before: no change.
    return (f"INSERT INTO updates(update_id, received_at, handled_at) VALUES {_values(count, 3)} "
            "ON CONFLICT(update_id) DO UPDATE SET handled_at = excluded.handled_at, "
            "payload = NULL WHERE updates.handled_at IS NULL")


def _save_states(count: int) -> str:
    return (f"INSERT INTO residents(chat_id, state, updated_at) VALUES {_values(count, 3)} "
            # A resident who writes to us has not blocked us (any more).
            "ON CONFLICT(chat_id) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at, blocked = 0")


_CLOSE_UPDATE = _close_updates(1)
_SAVE_STATE = _save_states(1)


def _outbox_rows(outgoing: Sequence[Outgoing]) -> list[tuple[Any, ...]]:
    """Outgoing calls as outbox rows (without their time)."""
    return [(call.chat_id, call.method, json.dumps(call.params, ensure_ascii=False),
             call.request_id) for call in outgoing]


def _outbox_insert_rows(rows: Sequence[tuple[Any, ...]], now: float) -> tuple[str, list[Any]]:
    """Outbox rows in one INSERT; RETURNING gives their ids."""
    return (
        f"INSERT INTO outbox(chat_id, method, params, request_id, created_at) "
        f"VALUES {_values(len(rows), 5)} RETURNING id",
        [value for row in rows for value in (*row, now)],
    )


def _outbox_items(returned: Iterable[Any], outgoing: Sequence[Outgoing]) -> list[OutboxItem]:
    # RETURNING gives no order, but ids grow in the order the rows were inserted.
    ids = sorted(int(row[0]) for row in returned)
    return [OutboxItem(outbox_id, call.chat_id, call.method, call.params, call.request_id)
            for outbox_id, call in zip(ids, outgoing, strict=True)]


def _counts_upsert(counts: dict[tuple[str, str, str], int]) -> tuple[str, list[Any]]:
    return (
        f"INSERT INTO weekly_counts(week, metric, key, count) VALUES {_values(len(counts), 4)} "
        "ON CONFLICT(week, metric, key) DO UPDATE SET count = count + excluded.count",
        [value for (week, metric, key), amount in counts.items()
         for value in (week, metric, key, amount)],
    )


async def _insert_outgoing(
    db: aiosqlite.Connection, outgoing: Sequence[Outgoing], now: float
) -> list[OutboxItem]:
    if not outgoing:
        return []
    returned = await db.execute_fetchall(*_outbox_insert_rows(_outbox_rows(outgoing), now))
    return _outbox_items(returned, outgoing)


def _request(row: Any) -> Request:
    return Request(*row)


_SELECT_REQUEST = f"SELECT {', '.join(REQUEST_COLUMNS)} FROM requests"


class Writer:
    """The operations allowed inside one write transaction."""

    def __init__(self, storage: Storage, db: aiosqlite.Connection) -> None:
        self._storage = storage
        self._db = db
        self.items: list[OutboxItem] = []
        self.closed_update: int | None = None
        self.states: dict[int, str] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    async def close_update(self, update_id: int) -> bool:
        """Mark the update handled; False when it already was (then do nothing)."""
        now = self._storage.clock.now()
        cursor = await self._db.execute(_CLOSE_UPDATE, (update_id, now, now))
        if cursor.rowcount != 1:
            return False
        self.closed_update = update_id
        return True

    async def load_state(self, chat_id: int) -> str | None:
        """A resident's state as this transaction sees it."""
        if chat_id in self.states:
            return self.states[chat_id]
        return await self._storage.load_state(chat_id)

    async def save_state(self, chat_id: int, state: str) -> None:
        """Store a resident's conversation state."""
        await self._db.execute(_SAVE_STATE, (chat_id, state, self._storage.clock.now()))
        self.states[chat_id] = state

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small named value, committed with the rest of this transaction."""
        await self._db.execute(_SET_META, (key, value))

    async def add_outgoing(self, outgoing: Sequence[Outgoing]) -> list[OutboxItem]:
        """Queue Bot API calls; they are sent after the commit."""
        items = await _insert_outgoing(self._db, outgoing, self._storage.clock.now())
        self.items.extend(items)
        return items

    # -- requests --

    async def insert_request(
        self, chat_id: int, shared: str, *, name: str | None, urgent: bool, remind_at: float,
    ) -> Request:
        """A new waiting request."""
        cursor = await self._db.execute(
            "INSERT INTO requests(chat_id, status, urgent, shared, name, created_at, remind_at) "
            "VALUES (?, 'waiting', ?, ?, ?, ?, ?)",
            (chat_id, int(urgent), shared, name, self._storage.clock.now(), remind_at),
        )
        assert cursor.lastrowid is not None
        request = await self.request(cursor.lastrowid)
        assert request is not None
        return request

    async def request(self, request_id: int) -> Request | None:
        """One request by number."""
        row = await self._one(f"{_SELECT_REQUEST} WHERE id = ?", (request_id,))
        return _request(row) if row else None

    async def open_request_for(self, chat_id: int) -> Request | None:
        """The resident's request that is waiting or claimed, if any."""
        row = await self._one(
            f"{_SELECT_REQUEST} WHERE chat_id = ? AND status != 'closed' ORDER BY id DESC",
            (chat_id,))
        return _request(row) if row else None

    async def request_by_thread(self, thread_id: int) -> Request | None:
        """The request whose forum topic this is."""
        row = await self._one(f"{_SELECT_REQUEST} WHERE thread_id = ? ORDER BY id DESC",
                              (thread_id,))
        return _request(row) if row else None

    async def request_by_staff_message(self, message_id: int) -> Request | None:
        """The request a staff-group message (card or relayed message) belongs to."""
        row = await self._one(
            f"{_SELECT_REQUEST} WHERE id = (SELECT request_id FROM staff_messages "
            "WHERE message_id = ?)", (message_id,))
        return _request(row) if row else None

    async def update_request(self, request_id: int, **fields: Any) -> None:
        """Change columns of a request (names are checked against the schema)."""
        unknown = set(fields) - SETTABLE_REQUEST_COLUMNS
        if unknown:
            raise ValueError(f"not request columns: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self._db.execute(f"UPDATE requests SET {assignments} WHERE id = ?",
                               (*fields.values(), request_id))

    async def claim(self, request_id: int, user_id: int, name: str) -> bool:
        """Take a waiting request; False when someone else was first (or it is closed)."""
        cursor = await self._db.execute(
            "UPDATE requests SET status = 'claimed', claimed_by = ?, claimed_name = ?, "
            "claimed_at = ?, remind_at = NULL WHERE id = ? AND status = 'waiting'",
            (user_id, name, self._storage.clock.now(), request_id))
        return cursor.rowcount == 1

    async def release(self, request_id: int, user_id: int, remind_at: float) -> bool:
        """Give a claimed request back to the queue; only its claimer can."""
        cursor = await self._db.execute(
            "UPDATE requests SET status = 'waiting', claimed_by = NULL, claimed_name = NULL, "
            "claimed_at = NULL, remind_at = ? WHERE id = ? AND status = 'claimed' "
            "AND claimed_by = ?", (remind_at, request_id, user_id))
        return cursor.rowcount == 1

    async def close_request(self, request_id: int) -> bool:
        """End a request; False when it was closed already."""
        cursor = await self._db.execute(
            "UPDATE requests SET status = 'closed', closed_at = ?, remind_at = NULL "
            "WHERE id = ? AND status != 'closed'", (self._storage.clock.now(), request_id))
        return cursor.rowcount == 1

    async def count(self, metric: str, key: str = "", amount: int = 1) -> None:
        """Add to this week's anonymous counter (written with the rest, in one statement)."""
        week = iso_week(self._storage.clock.now())
        self._counts[(week, metric, key)] = self._counts.get((week, metric, key), 0) + amount

    async def write_counts(self) -> None:
        """Write the counters added so far; the writer's context does this before it ends."""
        counts, self._counts = self._counts, {}
        if counts:
            await self._db.execute(*_counts_upsert(counts))

    async def add_unanswered(self, text: str, *, owner: str | None = None) -> None:
        """Keep one scrubbed question the bot did not understand; `owner` is the asker's
        keyed pseudonym, so that /vergeet can erase it."""
        now = self._storage.clock.now()
        await self._db.execute(
            "INSERT INTO unanswered(week, text, created_at, owner) VALUES (?, ?, ?, ?)",
            (iso_week(now), text, now, owner))

    async def link_staff_message(self, message_id: int, request_id: int) -> None:
        """Remember that a staff-group message belongs to a request (for replies)."""
        await self._db.execute(
            "INSERT OR REPLACE INTO staff_messages(message_id, request_id) VALUES (?, ?)",
            (message_id, request_id))

    async def open_requests(self) -> list[Request]:
        """Waiting and claimed requests: crises first, then oldest first."""
        rows = await self._db.execute_fetchall(
            f"{_SELECT_REQUEST} WHERE status != 'closed' ORDER BY urgent DESC, id")
        return [_request(row) for row in rows]

    async def due_reminders(self, now: float) -> list[Request]:
        """Waiting requests whose reminder time has come."""
        rows = await self._db.execute_fetchall(
            f"{_SELECT_REQUEST} WHERE status = 'waiting' AND remind_at <= ? ORDER BY id",
            (now,))
        return [_request(row) for row in rows]

    async def staff_messages_of(self, chat_id: int) -> list[int]:
        """The staff-group messages (cards, copies) of a resident's requests."""
        rows = await self._db.execute_fetchall(
            "SELECT message_id FROM staff_messages WHERE request_id IN "
            "(SELECT id FROM requests WHERE chat_id = ?)", (chat_id,))
        return [int(r[0]) for r in rows]

    async def forget_resident(self, chat_id: int, *, owner: str | None = None) -> list[Request]:
        """Erase everything about a resident, and the questions kept under their pseudonym
        `owner`; returns their requests as they were."""
        rows = await self._db.execute_fetchall(f"{_SELECT_REQUEST} WHERE chat_id = ?",
                                               (chat_id,))
        requests = [_request(row) for row in rows]
        await self._db.execute(
            "DELETE FROM staff_messages WHERE request_id IN "
            "(SELECT id FROM requests WHERE chat_id = ?)", (chat_id,))
        await self._db.execute("DELETE FROM requests WHERE chat_id = ?", (chat_id,))
        await self._db.execute("DELETE FROM residents WHERE chat_id = ?", (chat_id,))
        await self._db.execute("DELETE FROM outbox WHERE chat_id = ?", (chat_id,))
        if owner is not None:
            await self._db.execute("DELETE FROM unanswered WHERE owner = ?", (owner,))
        self.states[chat_id] = ""  # dropped from the cache on commit
        return requests

    async def requests_of(self, chat_id: int) -> list[Request]:
        """All stored requests of a resident (for /mijngegevens)."""
        rows = await self._db.execute_fetchall(f"{_SELECT_REQUEST} WHERE chat_id = ? ORDER BY id",
                                               (chat_id,))
        return [_request(row) for row in rows]

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return await self._storage._fetch_one(sql, params)


class _WriterContext:
    """BEGIN IMMEDIATE … COMMIT around a Writer; caches are updated only after COMMIT."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._transaction = storage._transaction()
        self._writer: Writer | None = None

    async def __aenter__(self) -> Writer:
        await self._transaction.__aenter__()
        self._writer = Writer(self._storage, self._storage._db)
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


class _Batches(Generic[Item, Result]):
    """Items that arrive while a batch is being written go together in the next one.

    Each statement costs a trip to aiosqlite's thread and back, about as much CPU as the
    statement itself; a batch takes one statement per table, whatever its size. `write`
    returns each item's result once its batch is committed. A caller that is cancelled while
    waiting leaves its item in the batch: it is committed anyway (a turn's replies are then
    sent from the outbox at the next start).
    """

    def __init__(
        self, write: Callable[[Sequence[Item]], Awaitable[list[Result]]], *, limit: int,
    ) -> None:
        self._write = write
        self._limit = limit
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, item: Item) -> Result:
        """Queue an item and return its result once its batch is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()
        self._queued.append((item, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="write-batches")
        return await asyncio.shield(done)

    async def wait_idle(self) -> None:
        """Let the batches in hand finish (before the connection closes)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                # Shielded: a caller that stops waiting must not cancel the writes in hand.
                await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[:self._limit], self._queued[self._limit:]
            try:
                results = await self._write([item for item, _ in batch])
            except BaseException as exc:
                stopped = not isinstance(exc, Exception)  # cancelled: nothing more is written
                if stopped:
                    batch, self._queued = batch + self._queued, []
                for _, done in batch:
                    _fail(done, exc)
                if stopped:
                    raise
            else:
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)


class _GroupCommit:
    """Group commit: writers that queue up while a COMMIT waits for the disk share the next.

    With synchronous=FULL each COMMIT waits for the disk (about 2 ms here), and only one
    writer runs at a time, so one COMMIT per turn made the disk, not the bot, the limit.
    Writers still take turns, each in its own SAVEPOINT, so a failing writer undoes only its
    own statements. A committer task queues behind the writers already waiting for the lock
    and commits for all of them. Each writer returns only after the COMMIT that holds its
    work: nothing is sent, or confirmed to Telegram, before it is on disk.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._committed: asyncio.Future[None] | None = None  # the open transaction's COMMIT
        self._committer: asyncio.Task[None] | None = None

    def member(self, *, savepoint: bool = True) -> _Member:
        """`async with group.member():` write inside the shared transaction.

        `savepoint=False` is for a single statement, which SQLite already undoes as a whole.
        """
        return _Member(self, savepoint)

    async def enter(self, savepoint: bool) -> asyncio.Future[None]:
        """Take the lock and the open transaction (or begin one); returns its COMMIT."""
        await self._lock.acquire()
        begin = asyncio.ensure_future(self._begin(savepoint))
        try:
            return await asyncio.shield(begin)
        except BaseException:
            # Cancelled or failed: whatever `begin` still queued in aiosqlite's thread has to
            # run before the lock is free again (the thread runs operations in order).
            await asyncio.shield(self._abandon(begin, savepoint))
            raise

    async def leave(self, *, failed: bool, savepoint: bool) -> None:
        """Keep (or on failure undo) this writer's work and let the next writer in."""
        try:
            if savepoint and failed:
                await self._db.execute("ROLLBACK TO writer")
            # A savepoint that is kept needs no RELEASE (one trip less): COMMIT ends them all,
            # and ROLLBACK TO finds the innermost one of that name, the failing writer's own.
            if self._committed is not None and not self._db.in_transaction:
                # SQLite rolled the whole transaction back (e.g. disk full): tell its writers.
                await self._end(RuntimeError("the transaction was rolled back"))
        except BaseException as exc:
            await self._end(exc)
        finally:
            self._schedule_commit()
            self._lock.release()

    async def commit_now(self) -> None:
        """Commit the open transaction, if any; call with the lock held."""
        committed, self._committed = self._committed, None
        if committed is None:
            return
        try:
            await self._db.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self._db.execute("ROLLBACK")
            _fail(committed, exc)
            raise
        committed.set_result(None)

    async def exclusive(self) -> _Exclusive:
        """The lock with no transaction open: for statements SQLite refuses inside one."""
        await self._lock.acquire()
        try:
            await asyncio.shield(self.commit_now())
        except BaseException:
            self._lock.release()
            raise
        return _Exclusive(self._lock)

    async def wait_idle(self) -> None:
        """Let a pending COMMIT finish (before the connection closes)."""
        if self._committer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._committer)  # a cancelled caller leaves it running

    async def _begin(self, savepoint: bool) -> asyncio.Future[None]:
        if self._committed is None:
            await self._db.execute("BEGIN IMMEDIATE")
            self._committed = asyncio.get_running_loop().create_future()
        committed = self._committed
        if savepoint:
            await self._db.execute("SAVEPOINT writer")
        return committed

    async def _abandon(self, begin: asyncio.Future[asyncio.Future[None]], savepoint: bool) -> None:
        try:
            await begin
        except BaseException:
            # No savepoint was made; the transaction, if any, belongs to the others.
            self._schedule_commit()
            self._lock.release()
            return
        await self.leave(failed=True, savepoint=savepoint)

    async def _end(self, error: BaseException) -> None:
        committed, self._committed = self._committed, None
        if self._db.in_transaction:
            with contextlib.suppress(Exception):
                await self._db.execute("ROLLBACK")
        if committed is not None:
            _fail(committed, error)

    def _schedule_commit(self) -> None:
        # One committer at a time; it queues behind the writers waiting now, so they join.
        if self._committed is not None and (self._committer is None or self._committer.done()):
            self._committer = asyncio.get_running_loop().create_task(
                self._commit_queued(), name="group-commit")

    async def _commit_queued(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):  # the writers get the error, not this task
                await asyncio.shield(self.commit_now())


def _fail(committed: asyncio.Future[Any], error: BaseException) -> None:
    if not committed.done():
        committed.set_exception(RuntimeError(f"the write failed: {type(error).__name__}"))
        committed.add_done_callback(lambda future: future.exception())  # retrieved if nobody waits


class _Member:
    """One writer's turn in the shared transaction."""

    def __init__(self, group: _GroupCommit, savepoint: bool) -> None:
        self._group = group
        self._savepoint = savepoint
        self._committed: asyncio.Future[None] | None = None

    async def __aenter__(self) -> None:
        self._committed = await self._group.enter(self._savepoint)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Shielded: the lock must not be free before this writer's work is kept or undone.
        await asyncio.shield(self._group.leave(failed=kind is not None,
                                               savepoint=self._savepoint))
        if kind is None and self._committed is not None:
            await asyncio.shield(self._committed)


class _Exclusive:
    """Holds the writer lock with no transaction open; releases it on exit."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()


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
