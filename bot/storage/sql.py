"""The SQL the store and its writer share: statements, and rows to records and back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from bot.storage.records import REQUEST_COLUMNS, OutboxItem, Outgoing, Request

# Closed requests after the retention period; open ones nobody touched for that long are
# abandoned and go too.
STALE_REQUEST = ("(status = 'closed' AND closed_at < :cutoff) OR "
                 "(status != 'closed' AND COALESCE(claimed_at, created_at) < :cutoff)")

SET_META = ("INSERT INTO meta(key, value) VALUES (?, ?) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value")


def value_rows(rows: int, width: int) -> str:
    row = f"({', '.join('?' * width)})"
    return ", ".join([row] * rows)


def close_updates(count: int) -> str:
    # One statement for both cases: a polled update is new here; a webhook update was stored
    # first and is closed now (its content cleared). Handled before: no change.
    return ("INSERT INTO updates(update_id, received_at, handled_at) "
            f"VALUES {value_rows(count, 3)} "
            "ON CONFLICT(update_id) DO UPDATE SET handled_at = excluded.handled_at, "
            "payload = NULL WHERE updates.handled_at IS NULL")


def save_states(count: int) -> str:
    return (f"INSERT INTO residents(chat_id, state, updated_at) VALUES {value_rows(count, 3)} "
            # A resident who writes to us has not blocked us (any more).
            "ON CONFLICT(chat_id) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at, blocked = 0")


CLOSE_UPDATE = close_updates(1)
SAVE_STATE = save_states(1)


def outbox_rows(outgoing: Sequence[Outgoing]) -> list[tuple[Any, ...]]:
    """Outgoing calls as outbox rows (without their time)."""
    return [(call.chat_id, call.method, json.dumps(call.params, ensure_ascii=False),
             call.request_id) for call in outgoing]


def outbox_insert_rows(rows: Sequence[tuple[Any, ...]], now: float) -> tuple[str, list[Any]]:
    """Outbox rows in one INSERT; RETURNING gives their ids."""
    return (
        f"INSERT INTO outbox(chat_id, method, params, request_id, created_at) "
        f"VALUES {value_rows(len(rows), 5)} RETURNING id",
        [value for row in rows for value in (*row, now)],
    )


def outbox_items(returned: Iterable[Any], outgoing: Sequence[Outgoing]) -> list[OutboxItem]:
    # RETURNING gives no order, but ids grow in the order the rows were inserted.
    ids = sorted(int(row[0]) for row in returned)
    return [OutboxItem(outbox_id, call.chat_id, call.method, call.params, call.request_id)
            for outbox_id, call in zip(ids, outgoing, strict=True)]


def counts_upsert(counts: dict[tuple[str, str, str], int]) -> tuple[str, list[Any]]:
    return (
        f"INSERT INTO weekly_counts(week, metric, key, count) VALUES {value_rows(len(counts), 4)} "
        "ON CONFLICT(week, metric, key) DO UPDATE SET count = count + excluded.count",
        [value for (week, metric, key), amount in counts.items()
         for value in (week, metric, key, amount)],
    )


async def insert_outgoing(
    db: aiosqlite.Connection, outgoing: Sequence[Outgoing], now: float
) -> list[OutboxItem]:
    if not outgoing:
        return []
    returned = await db.execute_fetchall(*outbox_insert_rows(outbox_rows(outgoing), now))
    return outbox_items(returned, outgoing)


def request_of(row: Any) -> Request:
    return Request(*row)


SELECT_REQUEST = f"SELECT {', '.join(REQUEST_COLUMNS)} FROM requests"


async def fetch_one(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """The first row of a query, or None."""
    # execute_fetchall is one trip to aiosqlite's thread; a cursor would take three.
    rows = list(await db.execute_fetchall(sql, params))
    return rows[0] if rows else None
