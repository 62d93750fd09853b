"""Updates in: stored before Telegram hears they arrived, then handled once, in order per chat.

python-telegram-bot's own Updater confirms an update as soon as it is in memory; a crash then
loses it. Here the offset only moves past updates that are safely in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.storage import Storage

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


class DurablePoller:
    """Long-polls getUpdates; the next offset confirms only what `store_updates` committed."""

    def __init__(
        self, bot: Bot, storage: Storage, on_stored: Callable[[Sequence[Update]], None], *,
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
            # Stored first; only now may they be handled (and the next poll confirm them).
            self._on_stored(updates)


class UpdateProcessor:
    """Feeds updates to the Application: chats side by side, each chat in order.

    Fresh updates come straight from the poller (already parsed and stored); at start-up it
    first takes what a previous run stored but did not finish.
    """

    def __init__(
        self, application: Application, storage: Storage,  # type: ignore[type-arg]
        *, grace_seconds: float = 5.0,
    ) -> None:
        self._application = application
        self._storage = storage
        self._grace = grace_seconds
        self._queues: dict[object, deque[Update]] = {}
        self._workers: dict[object, asyncio.Task[None]] = {}
        self._stopping = False

    def submit(self, updates: Iterable[Update]) -> None:
        """Queue stored updates; each chat gets one worker that keeps its order."""
        for update in updates:
            key = _chat_key(update)
            self._queues.setdefault(key, deque()).append(update)
            if key not in self._workers and not self._stopping:
                self._workers[key] = asyncio.create_task(self._work(key), name="chat-updates")

    async def start(self) -> None:
        """Resume the updates a previous run stored but did not finish, oldest first."""
        after = 0
        while batch := await self._storage.pending_updates(after_id=after, limit=500):
            self.submit(Update.de_json(p.payload, self._application.bot) for p in batch)
            after = batch[-1].update_id

    async def stop(self) -> None:
        """Let each chat finish the update in hand, then stop; the rest is handled next time,
        as nothing of it was committed."""
        self._stopping = True
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=self._grace)
        for task in workers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()

    async def _work(self, key: object) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._stopping:
                update = queue.popleft()
                try:
                    await self._application.process_update(update)
                except Exception:
                    # The error handler logged handler errors already; this catches the rest.
                    log.exception("update %d could not be processed", update.update_id)
                # Handlers commit their effects with the update; this closes the ones that
                # had none, or failed, so one bad update never blocks the chat behind it.
                await self._storage.mark_handled(update.update_id)
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)


def _chat_key(update: Update) -> object:
    chat = update.effective_chat
    return chat.id if chat is not None else ("update", update.update_id)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
