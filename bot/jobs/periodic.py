"""Background work with a start/stop lifecycle: a job every so many seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.tasks import stop_task

log = logging.getLogger(__name__)


class Every:
    """Runs `job` now and then every `interval` seconds; a failing run is logged, not fatal."""

    def __init__(self, name: str, interval: float, job: Callable[[], Awaitable[object]]) -> None:
        self._name = name
        self._interval = interval
        self._job = job
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin."""
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop; whatever the job keeps in the database stays there."""
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._job()
            except Exception:
                log.exception("%s failed", self._name)
            await asyncio.sleep(self._interval)
