"""Small asyncio helpers shared by the channel and the jobs."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has really stopped.

    A task that already died of an error is not raised again: a stop must always finish.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception as exc:
        log.error("%s had stopped with error=%s", task.get_name(), type(exc).__name__)


def backoff(attempt: int, base: float, most: float) -> float:
    """Seconds to wait before try `attempt + 1`: doubling from `base`, at most `most`."""
    return min(most, base * 2.0 ** min(attempt - 1, 10))
