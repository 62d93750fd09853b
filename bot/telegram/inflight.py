"""How many Bot API calls may be in flight at once: as many as Telegram's pace needs now.

Telegram accepts about 30 messages a second per bot. By Little's law, reaching that takes
`rate × latency` calls in flight: 3 at Telegram's usual 100 ms, 1 on a fast network. Each
extra pooled connection costs CPU on every request (httpcore checks every idle connection,
with a system call, before it picks one), so the limit follows the latency seen: low while
calls are fast, higher while they are slow, so that one slow call never holds up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator

TELEGRAM_MESSAGES_PER_SECOND = 30.0
FEWEST_CALLS = 2  # one slow call must not stop all sending
MOST_CALLS = 8  # as many as the HTTP pool has connections (telegram_app.py)
SMOOTHING = 0.2  # weight of the newest call in the running latency


class InFlightLimit:
    """`async with limit.call():` around each Bot API call."""

    def __init__(
        self, *, rate: float = TELEGRAM_MESSAGES_PER_SECOND,
        fewest: int = FEWEST_CALLS, most: int = MOST_CALLS,
    ) -> None:
        self._rate = rate
        self._fewest = fewest
        self._most = most
        self._latency = 0.0  # running average of call durations, in seconds
        self._busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """The number of calls allowed in flight right now."""
        return max(self._fewest, min(self._most, math.ceil(self._rate * self._latency)))

    @property
    def busy(self) -> int:
        """Calls in flight now."""
        return self._busy

    @contextlib.asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """Wait for a free place, hold it during the call, and learn from its duration."""
        await self._acquire()
        started = time.monotonic()
        try:
            yield
        finally:
            self._busy -= 1
            self._latency += SMOOTHING * (time.monotonic() - started - self._latency)
            self._wake()

    async def _acquire(self) -> None:
        if self._busy < self.limit and not self._waiting:
            self._busy += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter  # `_wake` hands the place over: it is counted as busy already
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._busy -= 1  # handed over, then cancelled: pass the place on
            else:
                with contextlib.suppress(ValueError):  # `_wake` may have dropped it already
                    self._waiting.remove(waiter)
            self._wake()  # whoever queued behind this caller may go now
            raise

    def _wake(self) -> None:
        """Hand free places to the callers waiting longest."""
        while self._waiting and self._busy < self.limit:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled caller's future is done already
                waiter.set_result(None)
                self._busy += 1
