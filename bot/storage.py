"""All durable state, in one SQLite file through aiosqlite: inbox, residents, outbox.

One connection is the one writer; a lock serialises transactions, because aiosqlite does not
keep two coroutines' transactions apart on a shared connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

# Telegram keeps an update for at most 24 hours, so two days of update_ids is enough to
# recognise every repeat.
UPDATE_MEMORY_SECONDS = 2 * 24 * 3600
STATE_CACHE_SIZE = 10_000

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
)


@dataclass(frozen=True)
class Outgoing:
    """One Bot API call to make on the resident's behalf, e.g. sendMessage."""

    chat_id: int
    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class OutboxItem:
    """A stored outgoing call that has not been confirmed as sent."""

    id: int
    chat_id: int
    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class PendingUpdate:
    """An update that was stored but whose effects are not yet committed."""

    update_id: int
    payload: dict[str, Any]


class Storage:
    """The bot's database; use `async with Storage.open(path) as storage:`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._write_lock = asyncio.Lock()
        # Updates a turn closed; the processor's mark_handled can skip them (saves a commit).
        self._closed_by_turn: set[int] = set()
        # This connection is the only writer, so recent states can be served from memory.
        self._states: dict[int, str] = {}

    @classmethod
    def open(cls, path: Path | str, *, synchronous: str = "FULL") -> _Opener:
        """Open (and migrate) the database; `synchronous=FULL` survives power loss."""
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        return _Opener(path, synchronous)

    async def close(self) -> None:
        """Close the connection; an open aiosqlite connection keeps the process alive."""
        await self._db.close()

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
        now = time.time()
        rows = [(uid, json.dumps(payload, ensure_ascii=False), now) for uid, payload in updates]
        sql = "INSERT OR IGNORE INTO updates(update_id, payload, received_at) VALUES (?,?,?)"
        before = self._db.total_changes
        if len(rows) == 1:
            async with self._write_lock:  # one statement commits by itself: one trip
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

    async def _close_update(self, update_id: int) -> bool:
        cursor = await self._db.execute(
            "UPDATE updates SET handled_at = ?, payload = NULL "
            "WHERE update_id = ? AND handled_at IS NULL",
            (time.time(), update_id),
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
    ) -> list[OutboxItem] | None:
        """Record the update as handled together with its effects.

        Returns the stored outbox rows, for the sender; None if the update was handled before.
        """
        async with self._transaction():
            if not await self._close_update(update_id):
                # Handled before (a repeat delivery) or never stored: do nothing twice.
                exists = await self._fetch_one(
                    "SELECT 1 FROM updates WHERE update_id = ?", (update_id,))
                if exists:
                    return None
                await self._db.execute(
                    "INSERT INTO updates(update_id, received_at, handled_at) VALUES (?,?,?)",
                    (update_id, time.time(), time.time()),
                )
            if chat_id is not None and state is not None:
                await self._db.execute(
                    "INSERT INTO residents(chat_id, state, updated_at) VALUES (?,?,?) "
                    # A resident who writes to us has not blocked us (any more).
                    "ON CONFLICT(chat_id) DO UPDATE SET state = excluded.state, "
                    "updated_at = excluded.updated_at, blocked = 0",
                    (chat_id, state, time.time()),
                )
            items = await self._add_outgoing(outgoing)
        self._closed_by_turn.add(update_id)
        if chat_id is not None and state is not None:
            if len(self._states) >= STATE_CACHE_SIZE:
                self._states.pop(next(iter(self._states)))  # the oldest entry
            self._states[chat_id] = state
        return items

    async def _add_outgoing(self, outgoing: Sequence[Outgoing]) -> list[OutboxItem]:
        items = []
        for call in outgoing:  # usually one or two rows; each needs its id back
            cursor = await self._db.execute(
                "INSERT INTO outbox(chat_id, method, params, created_at) VALUES (?,?,?,?)",
                (call.chat_id, call.method, json.dumps(call.params, ensure_ascii=False),
                 time.time()),
            )
            assert cursor.lastrowid is not None
            items.append(OutboxItem(cursor.lastrowid, call.chat_id, call.method, call.params))
        return items

    # ---- outbox --------------------------------------------------------------------------

    async def unsent(self, *, after_id: int = 0, limit: int = 500) -> list[OutboxItem]:
        """Outgoing calls not yet confirmed, in the order they were made."""
        rows = await self._db.execute_fetchall(
            "SELECT id, chat_id, method, params FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [OutboxItem(int(r[0]), int(r[1]), str(r[2]), json.loads(r[3])) for r in rows]

    async def mark_sent(self, outbox_id: int) -> None:
        """Forget a sent message: its text has no reason to stay on disk."""
        async with self._write_lock:  # one autocommitted statement: no BEGIN/COMMIT trips
            await self._db.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))

    async def mark_blocked(self, chat_id: int, *, blocked: bool = True) -> int:
        """Remember that a resident blocked the bot; drops what was waiting for them."""
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO residents(chat_id, state, updated_at, blocked) VALUES (?,?,?,?) "
                "ON CONFLICT(chat_id) DO UPDATE SET blocked = excluded.blocked",
                (chat_id, "{}", time.time(), int(blocked)),
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
        async with self._transaction():
            if not await self._close_update(update_id):
                return []
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO told_groups(chat_id) VALUES (?)", (outgoing.chat_id,))
            if cursor.rowcount != 1:
                return []
            return await self._add_outgoing([outgoing])

    # ---- retention -----------------------------------------------------------------------

    async def purge(self, *, retention_days: int, now: float | None = None) -> dict[str, int]:
        """Delete residents idle longer than the retention period, and old update ids."""
        now = time.time() if now is None else now
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
            counts = {"residents": residents.rowcount, "updates": updates.rowcount}
        await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts

    async def counts(self) -> dict[str, int]:
        """Row counts per table, for tests and `doctor`."""
        result = {}
        for table in ("updates", "residents", "outbox", "told_groups"):
            row = await self._fetch_one(f"SELECT COUNT(*) FROM {table}", ())
            result[table] = int(row[0]) if row else 0
        return result

    # ---- helpers -------------------------------------------------------------------------

    async def _fetch_one(self, sql: str, params: tuple[Any, ...]) -> Any:
        # execute_fetchall is one trip to aiosqlite's thread; a cursor would take three.
        rows = list(await self._db.execute_fetchall(sql, params))
        return rows[0] if rows else None

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._write_lock)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT under the writer lock; ROLLBACK on any error."""

    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        try:
            await self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self._lock.release()


class _Opener:
    """Makes `Storage.open(...)` work both awaited and with `async with`."""

    def __init__(self, path: Path | str, synchronous: str) -> None:
        self._path = path
        self._synchronous = synchronous
        self._storage: Storage | None = None

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._open().__await__()

    async def _open(self) -> Storage:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so transactions are explicit.
        connection = await aiosqlite.connect(str(self._path), isolation_level=None)
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute(f"PRAGMA synchronous={self._synchronous}")
            await connection.execute("PRAGMA secure_delete=ON")  # erased text is overwritten
            storage = Storage(connection)
            await storage._migrate()
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
