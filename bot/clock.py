"""The one clock: the only module that reads the wall clock, so every test can fix the time.

Everything that needs "now" gets a `Clock` passed in. Wall time is seconds since the epoch;
dates, weeks and opening hours are Dutch local time (Europe/Amsterdam).

For tests of the bot as a real process, `WEGWIJZER_FAKE_NOW` (an ISO moment with a UTC
offset) moves a process's clock to that moment, from where it runs on at the normal pace.
It is honoured only together with `WEGWIJZER_TEST_MODE=1`, so a stray setting can never
move a production bot in time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from functools import cache
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FAKE_NOW = "WEGWIJZER_FAKE_NOW"
TEST_MODE = "WEGWIJZER_TEST_MODE"

log = logging.getLogger(__name__)


class Clock:
    """Real time, optionally started at a chosen moment; it then runs on at the normal pace."""

    def __init__(self, *, start: dt.datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("a clock's start needs a time zone")
        self._offset = 0.0 if start is None else start.timestamp() - time.time()

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time() + self._offset

    def utc(self) -> dt.datetime:
        """Now, as an aware datetime in UTC."""
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def local(self) -> dt.datetime:
        """Now in Dutch time."""
        return dt.datetime.fromtimestamp(self.now(), AMSTERDAM)

    def today(self) -> dt.date:
        """Today's date in the Netherlands."""
        return self.local().date()


class FrozenClock(Clock):
    """A clock that stands still until a test moves it (`set`, `advance`)."""

    def __init__(self, moment: dt.datetime) -> None:
        super().__init__()
        self._moment = 0.0
        self.set(moment)

    def now(self) -> float:
        """The moment it was set to."""
        return self._moment

    def set(self, moment: dt.datetime) -> None:
        """Stand at `moment` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("a clock's moment needs a time zone")
        self._moment = moment.timestamp()

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self._moment += seconds


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """The real clock, or with the test flag the clock started at `WEGWIJZER_FAKE_NOW`."""
    values = os.environ if environ is None else environ
    raw = values.get(FAKE_NOW, "").strip()
    if not raw:
        return Clock()
    if values.get(TEST_MODE, "") != "1":
        log.warning("%s is ignored: it only works with %s=1 (tests)", FAKE_NOW, TEST_MODE)
        return Clock()
    try:
        start = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{FAKE_NOW} must be an ISO moment such as "
                         f"2026-12-13T23:59:00+01:00, not {raw!r}") from None
    if start.tzinfo is None:
        raise ValueError(f"{FAKE_NOW} needs a UTC offset, such as +01:00")
    return Clock(start=start)


@cache
def system_clock() -> Clock:
    """The process's clock, read once from the environment."""
    return clock_from_env()
