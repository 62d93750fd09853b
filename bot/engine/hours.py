"""Opening hours: open now, or when next open, in Dutch time with public holidays closed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import holidays

from bot.clock import AMSTERDAM
from bot.kb.models import Hours

LOOKAHEAD_DAYS = 14  # long enough to pass Christmas and a closed week
WHOLE_DAY = (0, 24 * 60)


@lru_cache(maxsize=8)
def _dutch_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year)


def is_public_holiday(day: dt.date) -> bool:
    """True on Dutch public holidays (Nieuwjaarsdag, Pasen, Koningsdag, Kerst, …)."""
    return day in _dutch_holidays(day.year)


@dataclass(frozen=True)
class OpeningStatus:
    """Open now (until when; None means day and night), or the next moment it opens."""

    open_now: bool
    until: dt.datetime | None = None
    next_open: dt.datetime | None = None


def always_open(hours: Hours) -> bool:
    """Day and night, every day ("00:00-24:00" for ma to zo), holidays included."""
    return all(hours.periods(weekday) == [WHOLE_DAY] for weekday in range(7))


def opening_status(hours: Hours, now: dt.datetime) -> OpeningStatus:
    """Where `hours` stands at `now` (any timezone; judged in Europe/Amsterdam)."""
    local = now.astimezone(AMSTERDAM)
    if always_open(hours):
        return OpeningStatus(True)  # day and night, holidays included
    # From yesterday: a night that began yesterday ("17:00-08:00") may still be running.
    for offset in range(-1, LOOKAHEAD_DAYS + 1):
        day = local.date() + dt.timedelta(days=offset)
        periods = hours.periods(day.weekday())
        # Offices close on public holidays; a service open around the clock does not.
        if is_public_holiday(day) and periods != [WHOLE_DAY]:
            continue
        for start, end in periods:
            opens = _at(day, start)
            closes = _at(day, end)
            if opens <= local < closes:
                return OpeningStatus(True, until=closes)
            if local < opens:
                return OpeningStatus(False, next_open=opens)
    return OpeningStatus(False)


def _at(day: dt.date, minutes: int) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=AMSTERDAM)
    # Wall-clock time: add hours and minutes to the local date, not to an absolute instant.
    return midnight.replace(hour=minutes // 60 % 24, minute=minutes % 60) + dt.timedelta(
        days=minutes // (24 * 60)
    )
