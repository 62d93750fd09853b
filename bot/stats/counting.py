"""What is counted, per ISO week: the same transaction as the turn, so nothing counts twice."""

from __future__ import annotations

import asyncio
import logging
import time

from bot.engine.conversation import Turn
from bot.engine.effects import Effect, Shown, TopicChosen
from bot.handoff.effects import Rating
from bot.stats.optional import SCRUB_INSTALL, installed
from bot.stats.scrub import ScrubberProcess
from bot.storage import Storage, Writer

log = logging.getLogger(__name__)

# Effect kind → the metric it counts; a key where it says something about the service,
# never about the person (which card, which topic, which rating).
METRICS = {
    "topic": "topics",
    "shown": "shown",
    "not_understood": "not_understood",
    "crisis": "crises",
    "check_in": "check_ins",
    "open_request": "handoffs",
    "rating": "ratings",
}
# Questions waiting for the scrubber at most; more means it is stuck or still loading.
MAX_PENDING = 100
CLAIM_BUCKETS = ((5, "0-5 min"), (15, "5-15 min"), (60, "15-60 min"))


def turn_counts(*, new_conversation: bool, turn: Turn) -> list[tuple[str, str]]:
    """The counters one resident turn adds to: (metric, key), one each."""
    counts = [("conversations", "")] if new_conversation else []
    for effect in turn.effects:
        metric = METRICS.get(effect.kind)
        if metric is not None:
            counts.append((metric, _key(effect)))
    return counts


def _key(effect: Effect) -> str:
    match effect:
        case TopicChosen(topic=topic):
            return topic
        case Shown(entry=entry):
            return entry
        case Rating(value=value):
            return str(value)
    return ""


async def count_turn(writer: Writer, *, new_conversation: bool, turn: Turn) -> None:
    """Count one resident turn inside a write transaction."""
    for metric, key in turn_counts(new_conversation=new_conversation, turn=turn):
        await writer.count(metric, key)


async def count_claim(writer: Writer, waited_seconds: float) -> None:
    """How long a request waited before a meedenker took it."""
    minutes = waited_seconds / 60
    bucket = next((name for limit, name in CLAIM_BUCKETS if minutes < limit), "60+ min")
    await writer.count("claim_time", bucket)
    await writer.count("claim_minutes_total", amount=round(minutes))
    await writer.count("claims")


class UnansweredKeeper:
    """Scrubs unanswered questions in a worker process, then stores them without a link.

    The raw text lives only in memory until scrubbed; if the bot stops first, that sample is
    simply not kept.
    """

    def __init__(
        self, storage: Storage, scrubber: ScrubberProcess | None = None, *,
        per_minute: int = 20,
    ) -> None:
        self._storage = storage
        self._scrubber = scrubber or ScrubberProcess()
        self._can_scrub = scrubber is not None or installed("deduce")
        if not self._can_scrub:
            log.info("deduce is not installed (%s): unanswered questions are counted, "
                     "their text is not kept", SCRUB_INSTALL)
        self._tasks: set[asyncio.Task[None]] = set()
        # A sample is enough to improve the knowledge base, and scrubbing costs about 10 ms
        # of CPU each: keep at most `per_minute` (every question is still counted).
        self._per_minute = per_minute
        self._minute = 0
        self._kept_this_minute = 0

    def keep(self, text: str, owner: str | None = None) -> None:
        """Schedule one question (and its asker's keyed pseudonym); returns at once."""
        if not self._can_scrub:
            return  # without deduce the question is counted, its text never kept
        minute = int(time.monotonic() // 60)
        if minute != self._minute:
            self._minute, self._kept_this_minute = minute, 0
        if self._kept_this_minute >= self._per_minute or len(self._tasks) >= MAX_PENDING:
            return  # over the sample, or the scrubber is stuck: don't pile up raw text
        self._kept_this_minute += 1
        task = asyncio.create_task(self._keep(text, owner), name="keep-unanswered")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Let scrubbing in progress finish (tests)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self, *, grace_seconds: float = 2.0) -> None:
        """Give scrubbing in progress a moment, drop the rest, and stop the scrubber process.

        A stop signal must not wait for deduce: on a new install its first load builds
        tables for minutes. What is dropped was only a sample, and was never stored.
        """
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=grace_seconds)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._scrubber.close()

    async def _keep(self, text: str, owner: str | None) -> None:
        try:
            scrubbed = await self._scrubber.scrub(text[:500])
            async with self._storage.write() as writer:
                await writer.add_unanswered(scrubbed, owner=owner)
        except Exception:
            log.exception("keeping an unanswered question failed")
