"""Drains the outbox: per chat in order, paced, retried with backoff, never twice on purpose.

A message is deleted from the outbox only after Telegram accepted it. A crash between the two
can repeat that one message after a restart; nothing is ever lost.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.storage import ERASE_TRACES, FILE_MARK, THEN, OutboxItem, Storage
from bot.tasks import backoff
from bot.telegram.inflight import InFlightLimit
from bot.telegram.workers import KeyedWorkers

if TYPE_CHECKING:
    from bot.telegram.staff_router import StaffRouter

log = logging.getLogger(__name__)

# do_api_request suggests the typed method for known endpoints; we use it on purpose (see
# OutboxSender._call), so that one advice is silenced and every other warning stays.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.\w+' instead of", category=PTBUserWarning)

PACED_METHODS = frozenset({"sendMessage", "copyMessage", "sendPhoto", "sendDocument"})
MAX_BACKOFF_SECONDS = 30.0
IDLE_BUCKET_SECONDS = 300.0


@dataclass
class _Bucket:
    """A token bucket: `burst` messages at once, then `rate` per second."""

    tokens: float
    updated: float = field(default_factory=time.monotonic)


class ChatPacer:
    """Telegram allows about one message per second per chat, with short bursts."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = burst
        self._buckets: dict[int, _Bucket] = {}

    async def wait(self, chat_id: int) -> None:
        """Sleep until this chat may receive one more message."""
        now = time.monotonic()
        bucket = self._buckets.setdefault(chat_id, _Bucket(float(self._burst), now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            delay = (1 - bucket.tokens) / self._rate
            await asyncio.sleep(delay)
            bucket.tokens, bucket.updated = 1.0, time.monotonic()
        bucket.tokens -= 1
        if len(self._buckets) > 10_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, b in self._buckets.items()
                        if now - b.updated > IDLE_BUCKET_SECONDS]:
            del self._buckets[chat_id]


class OutboxSender:
    """One worker per chat with waiting messages, so chats don't wait for each other.

    New rows arrive through `submit`, straight from the transaction that wrote them; the
    outbox table itself is only read at start, for what a previous run left unsent.
    """

    def __init__(
        self,
        storage: Storage,
        bot: Bot,
        *,
        pacer: ChatPacer,
        pseudonym: Callable[[int], str],
        retry_base_seconds: float = 0.5,
        router: StaffRouter | None = None,
    ) -> None:
        self._router = router
        self._storage = storage
        self._bot = bot
        self._pacer = pacer
        self._pseudonym = pseudonym
        self._retry_base = retry_base_seconds
        self._queued_ids: set[int] = set()
        self._workers: KeyedWorkers[tuple[int, int | None], OutboxItem] = KeyedWorkers(
            self._send_one, name="outbox-chat")
        self._in_flight = InFlightLimit()

    async def start(self) -> None:
        """Queue what a previous run left in the outbox; call before anything is submitted."""
        after = 0
        while items := await self._storage.unsent(after_id=after):
            self.submit(items)
            after = items[-1].id

    def submit(self, items: Iterable[OutboxItem]) -> None:
        """Send committed outbox rows, each chat in order.

        In the staff group, order only matters within one request (its topic or thread),
        so each request gets its own queue there and conversations don't wait on each other.
        """
        for item in items:
            if item.id in self._queued_ids:
                continue
            self._queued_ids.add(item.id)
            self._workers.put((item.chat_id, item.request_id), item)

    async def stop(self, *, grace_seconds: float = 5.0) -> None:
        """Let each chat finish the call in flight, then stop; the rest waits in the outbox.

        Cancelling a call mid-flight could send a message without recording it, and the next
        run would send it again; so workers get a moment to finish first.
        """
        await self._workers.stop(grace_seconds=grace_seconds)

    async def _send_one(self, key: tuple[int, int | None], item: OutboxItem) -> None:
        if item.method in PACED_METHODS:
            await self._pacer.wait(item.chat_id)
        try:
            delivered = await self._deliver(item)
        except Exception as exc:  # not Telegram's answer: the row stays for the next start
            log.error("send failed method=%s error=%s; kept for the next start", item.method,
                      type(exc).__name__)
            return
        finally:
            self._queued_ids.discard(item.id)
        if not delivered:  # the resident blocked the bot: the storage dropped the rest
            self._queued_ids.difference_update(i.id for i in self._workers.drop(key))
            return
        try:
            await self._storage.mark_sent(item.id)
            if item.params.get(THEN) == ERASE_TRACES:
                # The last row that named an erased resident is gone: fold the WAL so no
                # copy of it, or of their data, stays on disk.
                await self._storage.checkpoint()
        except Exception as exc:  # the row stays; only a restart sends it again
            log.error("sent message not deleted error=%s", type(exc).__name__)

    async def _deliver(self, item: OutboxItem) -> bool:
        """True when done with the item (sent, or hopeless); False when the chat is blocked."""
        attempt = 0
        while True:
            attempt += 1
            try:
                params = dict(item.params)
                if item.request_id is not None and self._router is not None:
                    # A staff-group message: its topic or card is looked up only now.
                    routed = await self._router.prepare(item)
                    if routed is None:
                        return True  # its request was erased or closed meanwhile
                    params = routed
                result = await self._call(item.method, params)
                if item.request_id is not None and self._router is not None:
                    await self._router.after_sent(item, result)
                return True
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                log.warning("send throttled method=%s retry_after=%.0fs", item.method, seconds)
                await asyncio.sleep(seconds)
            except Forbidden:
                actor = self._pseudonym(item.chat_id)
                dropped = await self._storage.mark_blocked(item.chat_id)
                log.info("send refused method=%s actor=%s result=blocked dropped=%d",
                         item.method, actor, dropped)
                if self._router is not None:
                    await self._router.resident_unreachable(item.chat_id)
                return False
            except BadRequest as exc:
                if (_topic_gone(exc) and item.request_id is not None
                        and self._router is not None and attempt <= 2):
                    # Staff deleted the topic: the router makes a new one on the next try.
                    await self._router.topic_lost(item.request_id)
                    continue
                # Retrying cannot fix a request Telegram rejects (e.g. an expired button press).
                log.warning("send rejected method=%s reason=%s", item.method, _reason(exc))
                return True
            except NetworkError as exc:  # includes TimedOut; Telegram or the network is down
                delay = backoff(attempt, self._retry_base, MAX_BACKOFF_SECONDS)
                log.warning("send failed method=%s attempt=%d error=%s retry_in=%.1fs",
                            item.method, attempt, type(exc).__name__, delay)
                await asyncio.sleep(delay)
            except TelegramError as exc:
                log.error("send failed method=%s error=%s; dropped", item.method,
                          type(exc).__name__)
                return True

    async def _call(self, method_name: str, params: dict[str, Any]) -> object:
        # do_api_request still runs through python-telegram-bot's rate limiter and error
        # mapping (RetryAfter, Forbidden, …), but sends our stored JSON as it is and returns
        # Telegram's answer unparsed: building Message objects we never read was a fifth of
        # the bot's CPU per update.
        kwargs = {key: _upload(value) for key, value in params.items()
                  if not key.startswith("_")}
        async with self._in_flight.call():
            result: object = await self._bot.do_api_request(method_name, api_kwargs=kwargs)
        return result


def _upload(value: Any) -> Any:
    """A stored file (see storage.attached_file) becomes an upload; the rest stays as it is."""
    if isinstance(value, dict) and FILE_MARK in value:
        return InputFile(base64.b64decode(value[FILE_MARK]), filename=value.get("filename"))
    return value


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's wait, in seconds (python-telegram-bot gives an int or a timedelta)."""
    wait: object = exc.retry_after
    total = getattr(wait, "total_seconds", None)
    return float(total()) if callable(total) else float(wait)  # type: ignore[arg-type]


def _topic_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "thread not found" in text or "topic_deleted" in text or "topic deleted" in text


def _reason(exc: TelegramError) -> str:
    """Telegram's error text without anything the resident wrote (it never echoes content)."""
    return exc.message[:120]
