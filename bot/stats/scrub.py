"""Scrub questions the bot did not understand before they are kept: names, phone numbers,
BSN, e-mail addresses, street addresses and postcodes.

deduce (a Dutch de-identification library) finds names and addresses; it needs about a
gigabyte and some seconds to load. The bot therefore scrubs in a worker process
(`ScrubberProcess`), started on first use and stopped when idle, so the bot itself stays
small. The regular expressions run first and catch the numbers whatever deduce makes of them.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
from typing import Any

_PATTERNS = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[EMAIL]"),
    (re.compile(r"\bNL\d{2}\s?[A-Z]{4}(\s?\d{2,4}){3}\b", re.IGNORECASE), "[IBAN]"),
    (re.compile(r"(\+31|0031|\b0)[\s-]?\d([\s-]?\d){8}\b"), "[TELEFOON]"),
    (re.compile(r"\b\d{4}\s?[A-Z]{2}\b"), "[POSTCODE]"),
    (re.compile(r"\b\d{8,9}\b"), "[NUMMER]"),  # BSN and other long numbers
)


_deduce: Any = None  # one per process: loading it again would cost seconds and memory
_lock = threading.Lock()


def _engine() -> Any:
    global _deduce
    with _lock:
        if _deduce is None:
            import deduce  # heavy: only when the first question needs it

            _deduce = deduce.Deduce()
        return _deduce


class Scrubber:
    """Thread-safe; `scrub` blocks, so call it from a worker thread."""

    def scrub(self, text: str) -> str:
        """The text with personal details replaced by [LABELS]."""
        for pattern, label in _PATTERNS:
            text = pattern.sub(label, text)
        result = _engine().deidentify(text)
        return str(result.deidentified_text)


class ScrubberProcess:
    """Scrubs in a worker process, started on first use and stopped after being idle."""

    def __init__(self, *, idle_seconds: float = 600.0) -> None:
        self._idle_seconds = idle_seconds
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._idle_timer: asyncio.TimerHandle | None = None

    async def scrub(self, text: str) -> str:
        """The scrubbed text; one request at a time, in order."""
        async with self._lock:
            process = await self._running()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write((json.dumps(text, ensure_ascii=False) + "\n").encode())
                await process.stdin.drain()
                line = await process.stdout.readline()
            except BaseException:
                # Cancelled or broken mid-request: its answer would be read as the next
                # one's, so this worker is not used again.
                await self._stop(process, grace_seconds=0)
                raise
            if not line:
                self._process = None
                raise RuntimeError("the scrubber process stopped")
            self._arm_idle_timer()
            return str(json.loads(line))

    async def close(self, *, grace_seconds: float = 2.0) -> None:
        """Stop the worker (it is started again when needed)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._process is not None:
            await self._stop(self._process, grace_seconds=grace_seconds)

    async def _stop(self, process: asyncio.subprocess.Process, *, grace_seconds: float) -> None:
        if self._process is process:
            self._process = None
        if process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the worker ends when its input ends…
        try:
            await asyncio.wait_for(process.wait(), grace_seconds)
        except TimeoutError:  # …unless it is busy, e.g. building deduce's tables on a new install
            process.kill()
            await process.wait()

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.stats.scrub_worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        return self._process

    def _arm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(
            self._idle_seconds, lambda: loop.create_task(self.close()))
