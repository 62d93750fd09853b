"""One worker per key (a chat, or a request's topic): each key in order, keys side by side.

The inbox uses it for updates and the sender for outbox rows. A worker lives only while its
key has work, so an idle chat costs nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.tasks import stop_task

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class KeyedWorkers(Generic[K, T]):
    """Runs `work(key, item)` for every item put, in order per key."""

    def __init__(self, work: Callable[[K, T], Awaitable[None]], *, name: str) -> None:
        self._work = work
        self._name = name
        self._queues: dict[K, deque[T]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._stopping = False

    def put(self, key: K, item: T) -> None:
        """Queue an item; starts the key's worker if it has none."""
        self._queues.setdefault(key, deque()).append(item)
        if key not in self._tasks and not self._stopping:
            self._tasks[key] = asyncio.create_task(self._run(key), name=self._name)

    def drop(self, key: K) -> list[T]:
        """Take away what still waits for a key (its worker stops after the current item)."""
        queue = self._queues.get(key)
        waiting = list(queue or ())
        if queue is not None:
            queue.clear()
        return waiting

    async def stop(self, *, grace_seconds: float) -> None:
        """Let each worker finish the item in hand, then stop; waiting items stay unhandled."""
        self._stopping = True
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace_seconds)
        for task in tasks:
            await stop_task(task)
        self._tasks.clear()

    async def _run(self, key: K) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._stopping:
                await self._work(key, queue.popleft())
        finally:
            self._tasks.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
