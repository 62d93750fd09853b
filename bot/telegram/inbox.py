"""Updates in: handled once, in order per chat, and confirmed to Telegram only afterwards.

python-telegram-bot's own Updater confirms an update as soon as it is in memory; a crash then
loses it. Here the polling offset only moves past updates whose update_id is in the database,
committed in the same transaction as their effects. Until then Telegram itself keeps them
(for up to 24 hours), so a crash loses nothing: the next run fetches them again, and the
database says which of them were already handled. The raw update is never written to disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.storage import Storage
from bot.tasks import backoff, stop_task
from bot.telegram.sender import retry_after_seconds
from bot.telegram.workers import KeyedWorkers

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
MAX_POLL_BACKOFF_SECONDS = 30.0
READ_MARGIN = 15.0  # seconds beyond the long-poll timeout before a read counts as failed


class DurablePoller:
    """Long-polls getUpdates; the next offset confirms only updates that were handled."""

    def __init__(
        self, bot: Bot, handle: Callable[[Sequence[Update]], Awaitable[set[int]]], *,
        skip: Callable[[int], Awaitable[None]], poll_timeout: int = 30,
        retry_base_seconds: float = 0.5,
    ) -> None:
        self._bot = bot
        self._handle = handle
        self._skip = skip  # closes and counts an update that cannot be read
        self._poll_timeout = poll_timeout
        self._retry_base = retry_base_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start polling from the earliest update Telegram has not had confirmed."""
        self._task = asyncio.create_task(self._run(), name="durable-poller")

    async def stop(self) -> None:
        """Stop polling; unconfirmed updates come again next time."""
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        # No offset at first: Telegram starts with the earliest unconfirmed update, which
        # after a crash may lie before updates that were already handled (and are skipped).
        offset: int | None = None
        failures = 0
        while True:
            try:
                raw = await self._fetch(offset)
                failures = 0
            except InvalidToken:
                log.error("poll refused: the token is not valid")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
                continue
            except (Conflict, NetworkError) as exc:
                # Conflict: another instance is polling. Network: Telegram is unreachable.
                failures += 1
                delay = backoff(failures, self._retry_base, MAX_POLL_BACKOFF_SECONDS)
                log.warning("poll failed error=%s retry_in=%.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            if not raw:
                continue
            ids = [int(payload["update_id"]) for payload in raw]
            updates = []
            for payload in raw:
                update = parse_update(payload, self._bot)
                if update is None:
                    await self._skip(int(payload["update_id"]))
                else:
                    updates.append(update)
            unfinished = await self._handle(updates) if updates else set()
            # Confirm up to the first update still in hand (a stuck handler); it comes again.
            # An update that cannot be read is confirmed with the rest: it would never pass.
            offset = min(unfinished) if unfinished else max(ids) + 1

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        """Telegram's updates as raw JSON, so that one unreadable update spoils no batch.

        Bot.get_updates would parse the whole batch at once, fail on the first update it
        cannot read, and log the batch, content and all.
        """
        kwargs: dict[str, Any] = {"timeout": self._poll_timeout,
                                  "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            kwargs["offset"] = offset
        result = await self._bot.do_api_request(
            "getUpdates", api_kwargs=kwargs, read_timeout=self._poll_timeout + READ_MARGIN)
        return [item for item in result if isinstance(item, dict) and "update_id" in item] \
            if isinstance(result, list) else []


def parse_update(payload: dict[str, Any], bot: Bot) -> Update | None:
    """The Update, or None for one python-telegram-bot cannot read (a newer Bot API field,
    say). Logged without content: only its id and the kind of error."""
    try:
        return Update.de_json(payload, bot)
    except Exception as exc:  # any shape Telegram may send; nothing else must stop
        log.warning("update skipped update_id=%s error=%s", payload.get("update_id"),
                    type(exc).__name__)
        return None


class UpdateProcessor:
    """Feeds updates to the Application: chats side by side, each chat in order.

    Polled updates come from the poller, which waits for them (`handle_batch`); webhook
    updates are stored first and submitted. At start-up it first takes what a previous run
    stored but did not finish (webhook mode).
    """

    def __init__(
        self, application: Application, storage: Storage,  # type: ignore[type-arg]
        *, grace_seconds: float = 5.0, batch_timeout: float = 60.0,
    ) -> None:
        self._application = application
        self._storage = storage
        self._grace = grace_seconds
        self._workers: KeyedWorkers[object, Update] = KeyedWorkers(self._handle,
                                                                   name="chat-updates")
        self._batch_timeout = batch_timeout
        self._done: dict[int, asyncio.Future[None]] = {}

    def submit(self, updates: Iterable[Update]) -> None:
        """Queue updates; each chat gets one worker that keeps its order."""
        for update in updates:
            self._workers.put(_chat_key(update), update)

    async def handle_batch(self, updates: Sequence[Update]) -> set[int]:
        """Handle a polled batch; returns the update ids not finished within the time limit."""
        loop = asyncio.get_running_loop()
        waiting = {u.update_id: loop.create_future() for u in updates}
        self._done.update(waiting)
        self.submit(updates)
        await asyncio.wait(waiting.values(), timeout=self._batch_timeout)
        for update_id in waiting:
            self._done.pop(update_id, None)
        return {update_id for update_id, done in waiting.items() if not done.done()}

    async def start(self) -> None:
        """Resume the updates a previous run stored but did not finish, oldest first."""
        after = 0
        while batch := await self._storage.pending_updates(after_id=after, limit=500):
            readable = []
            for pending in batch:
                update = parse_update(pending.payload, self._application.bot)
                if update is None:
                    await self._storage.skip_unreadable(pending.update_id)
                else:
                    readable.append(update)
            self.submit(readable)
            after = batch[-1].update_id

    async def stop(self) -> None:
        """Let each chat finish the update in hand, then stop; the rest is handled next time,
        as nothing of it was committed."""
        await self._workers.stop(grace_seconds=self._grace)

    async def _handle(self, key: object, update: Update) -> None:
        try:
            await self._application.process_update(update)
        except Exception:
            # The error handler logged handler errors already; this catches the rest.
            log.exception("update %d could not be processed", update.update_id)
        # Handlers commit their effects with the update; this closes the ones that had
        # none, or failed, so one bad update never blocks the chat behind it.
        await self._storage.mark_handled(update.update_id)
        done = self._done.pop(update.update_id, None)
        if done is not None and not done.done():
            done.set_result(None)


def _chat_key(update: Update) -> object:
    chat = update.effective_chat
    return chat.id if chat is not None else ("update", update.update_id)

