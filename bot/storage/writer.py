"""The operations allowed inside one write transaction: a Writer knows the connection and
the clock, never the store around it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosqlite

from bot.clock import Clock
from bot.storage.records import SETTABLE_REQUEST_COLUMNS, OutboxItem, Outgoing, Request, iso_week
from bot.storage.sql import (
    CLOSE_UPDATE,
    SAVE_STATE,
    SELECT_REQUEST,
    SET_META,
    counts_upsert,
    fetch_one,
    insert_outgoing,
    request_of,
)


class Writer:
    """The operations allowed inside one write transaction."""

    def __init__(
        self, db: aiosqlite.Connection, *, clock: Clock,
        read_state: Callable[[int], Awaitable[str | None]],
    ) -> None:
        self._db = db
        self._clock = clock
        self._read_state = read_state  # the store's state, cache first
        self.items: list[OutboxItem] = []
        self.closed_update: int | None = None
        self.states: dict[int, str] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    async def close_update(self, update_id: int) -> bool:
        """Mark the update handled; False when it already was (then do nothing)."""
        now = self._clock.now()
        cursor = await self._db.execute(CLOSE_UPDATE, (update_id, now, now))
        if cursor.rowcount != 1:
            return False
        self.closed_update = update_id
        return True

    async def load_state(self, chat_id: int) -> str | None:
        """A resident's state as this transaction sees it."""
        if chat_id in self.states:
            return self.states[chat_id]
        return await self._read_state(chat_id)

    async def save_state(self, chat_id: int, state: str) -> None:
        """Store a resident's conversation state."""
        await self._db.execute(SAVE_STATE, (chat_id, state, self._clock.now()))
        self.states[chat_id] = state

    async def set_meta(self, key: str, value: str) -> None:
        """Store a small named value, committed with the rest of this transaction."""
        await self._db.execute(SET_META, (key, value))

    async def add_outgoing(self, outgoing: Sequence[Outgoing]) -> list[OutboxItem]:
        """Queue Bot API calls; they are sent after the commit."""
        items = await insert_outgoing(self._db, outgoing, self._clock.now())
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
            (chat_id, int(urgent), shared, name, self._clock.now(), remind_at),
        )
        assert cursor.lastrowid is not None
        request = await self.request(cursor.lastrowid)
        assert request is not None
        return request

    async def request(self, request_id: int) -> Request | None:
        """One request by number."""
        row = await self._one(f"{SELECT_REQUEST} WHERE id = ?", (request_id,))
        return request_of(row) if row else None

    async def open_request_for(self, chat_id: int) -> Request | None:
        """The resident's request that is waiting or claimed, if any."""
        row = await self._one(
            f"{SELECT_REQUEST} WHERE chat_id = ? AND status != 'closed' ORDER BY id DESC",
            (chat_id,))
        return request_of(row) if row else None

    async def request_by_thread(self, thread_id: int) -> Request | None:
        """The request whose forum topic this is."""
        row = await self._one(f"{SELECT_REQUEST} WHERE thread_id = ? ORDER BY id DESC",
                              (thread_id,))
        return request_of(row) if row else None

    async def request_by_staff_message(self, message_id: int) -> Request | None:
        """The request a staff-group message (card or relayed message) belongs to."""
        row = await self._one(
            f"{SELECT_REQUEST} WHERE id = (SELECT request_id FROM staff_messages "
            "WHERE message_id = ?)", (message_id,))
        return request_of(row) if row else None

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
            (user_id, name, self._clock.now(), request_id))
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
            "WHERE id = ? AND status != 'closed'", (self._clock.now(), request_id))
        return cursor.rowcount == 1

    async def count(self, metric: str, key: str = "", amount: int = 1) -> None:
        """Add to this week's anonymous counter (written with the rest, in one statement)."""
        week = iso_week(self._clock.now())
        self._counts[(week, metric, key)] = self._counts.get((week, metric, key), 0) + amount

    async def write_counts(self) -> None:
        """Write the counters added so far; the writer's context does this before it ends."""
        counts, self._counts = self._counts, {}
        if counts:
            await self._db.execute(*counts_upsert(counts))

    async def add_unanswered(self, text: str, *, owner: str | None = None) -> None:
        """Keep one scrubbed question the bot did not understand; `owner` is the asker's
        keyed pseudonym, so that /vergeet can erase it."""
        now = self._clock.now()
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
            f"{SELECT_REQUEST} WHERE status != 'closed' ORDER BY urgent DESC, id")
        return [request_of(row) for row in rows]

    async def due_reminders(self, now: float) -> list[Request]:
        """Waiting requests whose reminder time has come."""
        rows = await self._db.execute_fetchall(
            f"{SELECT_REQUEST} WHERE status = 'waiting' AND remind_at <= ? ORDER BY id",
            (now,))
        return [request_of(row) for row in rows]

    async def staff_messages_of(self, chat_id: int) -> list[int]:
        """The staff-group messages (cards, copies) of a resident's requests."""
        rows = await self._db.execute_fetchall(
            "SELECT message_id FROM staff_messages WHERE request_id IN "
            "(SELECT id FROM requests WHERE chat_id = ?)", (chat_id,))
        return [int(r[0]) for r in rows]

    async def forget_resident(self, chat_id: int, *, owner: str | None = None) -> list[Request]:
        """Erase everything about a resident, and the questions kept under their pseudonym
        `owner`; returns their requests as they were."""
        rows = await self._db.execute_fetchall(f"{SELECT_REQUEST} WHERE chat_id = ?",
                                               (chat_id,))
        requests = [request_of(row) for row in rows]
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
        rows = await self._db.execute_fetchall(f"{SELECT_REQUEST} WHERE chat_id = ? ORDER BY id",
                                               (chat_id,))
        return [request_of(row) for row in rows]

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return await fetch_one(self._db, sql, params)
