"""What the storage hands out and takes in: outgoing calls, outbox rows, requests."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from bot.clock import AMSTERDAM

FILE_MARK = "_file_base64"  # an outbox parameter that holds a file (see attached_file)
# An outbox parameter saying what the sender does once the message is sent and deleted:
# ERASE_TRACES folds the WAL, for the last message to a resident who was just erased.
THEN, ERASE_TRACES = "_then", "erase_traces"


def iso_week(timestamp: float) -> str:
    """'2026-W48': the ISO week of a moment, in Dutch time."""
    year, week, _ = dt.datetime.fromtimestamp(timestamp, AMSTERDAM).isocalendar()
    return f"{year}-W{week:02d}"


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
