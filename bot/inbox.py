"""Updates in: stored before Telegram hears they arrived, then handled once, in order per chat.

python-telegram-bot's own Updater confirms an update as soon as it is in memory; a crash then
loses it. Here the offset only moves past updates that are safely in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.storage import PendingUpdate, Storage

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


class DurablePoller:
    """Long-polls getUpdates; the next offset confirms only what `store_updates` committed."""

    def __init__(
        self, bot: Bot, storage: Storage, on_stored: Callable[[], None], *,
        poll_timeout: int = 30, retry_base_seconds: float = 0.5,
    ) -> None:
        self._bot = bot
        self._storage = storage
        self._on_stored = on_stored
        self._poll_timeout = poll_timeout
        self._retry_base = retry_base_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start polling where the database says we stopped."""
        self._task = asyncio.create_task(self._run(), name="durable-poller")

    async def stop(self) -> None:
        """Stop polling; unconfirmed updates come again next time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        last = await self._storage.last_update_id()
        offset = last + 1 if last is not None else None
        failures = 0
        while True:
            try:
                updates = await self._bot.get_updates(
                    offset=offset, timeout=self._poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                )
                failures = 0
            except InvalidToken:
                log.error("poll refused: the token is not valid")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (Conflict, NetworkError) as exc:
                # Conflict: another instance is polling. Network: Telegram is unreachable.
                failures += 1
                delay = min(30.0, self._retry_base * 2 ** min(failures - 1, 10))
                log.warning("poll failed error=%s retry_in=%.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if not updates:
                continue
            await self._storage.store_updates([(u.update_id, u.to_dict()) for u in updates])
            newest = max(u.update_id for u in updates)
            offset = max(offset or 0, newest + 1)
            self._on_stored()


class UpdateProcessor:
    """Feeds stored updates to the Application: chats side by side, each chat in order."""

    def __init__(self, application: Application, storage: Storage) -> None:  # type: ignore[type-arg]
        self._application = application
        self._storage = storage
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """New updates were stored."""
        self._wake.set()

    async def start(self) -> None:
        """Begin with the updates a previous run stored but did not finish."""
        self._task = asyncio.create_task(self._run(), name="update-processor")
        self.wake()

    async def stop(self) -> None:
        """Stop; an update cut off mid-way is handled again next time, as its effects were
        not committed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while batch := await self._storage.pending_updates(limit=200):
                by_chat: dict[object, list[PendingUpdate]] = defaultdict(list)
                for pending in batch:
                    by_chat[_chat_key(pending)].append(pending)
                await asyncio.gather(*(self._handle_in_order(items) for items in by_chat.values()))

    async def _handle_in_order(self, items: list[PendingUpdate]) -> None:
        for pending in items:
            try:
                update = Update.de_json(pending.payload, self._application.bot)
                await self._application.process_update(update)
            except Exception:
                # The error handler has already logged handler errors; this catches the rest.
                log.exception("update %d could not be processed", pending.update_id)
            # Handlers commit their effects with the update; this closes the ones that had
            # none, or that failed, so one bad update never blocks the chat behind it.
            await self._storage.mark_handled(pending.update_id)


def _chat_key(pending: PendingUpdate) -> object:
    payload = pending.payload
    for key in ("message", "edited_message", "my_chat_member"):
        if key in payload:
            return payload[key].get("chat", {}).get("id")
    if "callback_query" in payload:
        query = payload["callback_query"]
        return (query.get("message") or {}).get("chat", {}).get("id") or query["from"]["id"]
    return pending.update_id


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
