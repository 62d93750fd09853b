"""Post last week's report to the staff group once a week (Monday from 09:00, Dutch time).

Which week was posted is kept in the database, so a restart neither skips nor repeats it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from telegram import Bot

from bot.engine.hours import AMSTERDAM
from bot.handlers.runtime import Runtime
from bot.periodic import Every
from bot.stats.command import display_names, last_week
from bot.stats.report import as_png, as_text, weeks_from

log = logging.getLogger(__name__)

POSTED_KEY = "weekly_report_posted"
CHECK_SECONDS = 600.0


async def report_for(runtime: Runtime, week: str) -> tuple[str, bytes]:
    """The text and chart of one week."""
    rows = [r for r in await runtime.storage.weekly_counts(since_week=week) if r[0] == week]
    unanswered = [u for u in await runtime.storage.unanswered_texts(since_week=week)
                  if u[0] == week]
    weeks = weeks_from(rows)
    text = as_text(weeks, unanswered, display_names(runtime.engine.kb))
    chart = await asyncio.to_thread(as_png, weeks)
    return text, chart


async def post_report(runtime: Runtime, bot: Bot, week: str) -> None:
    """Send the report of a week to the staff group: the text, then the chart."""
    staff = runtime.staff_chat_id()
    text, chart = await report_for(runtime, week)
    await bot.send_message(staff, text[:4000])
    await bot.send_photo(staff, chart, caption=f"Wegwijzer, week {week}")


class WeeklyReport(Every):
    """Checks every ten minutes whether last week's report is due."""

    def __init__(self, runtime: Runtime, bot: Bot, *, interval: float = CHECK_SECONDS) -> None:
        super().__init__("weekly-report", interval, lambda: self.post_if_due(time.time()))
        self._runtime = runtime
        self._bot = bot

    async def post_if_due(self, now: float) -> bool:
        """Post last week's report if it is Monday 09:00 or later and not yet posted."""
        local = dt.datetime.fromtimestamp(now, AMSTERDAM)
        if local.weekday() == 0 and local.hour < 9:
            return False
        week = last_week(now)
        if await self._runtime.storage.get_meta(POSTED_KEY) == week:
            return False
        await post_report(self._runtime, self._bot, week)
        await self._runtime.storage.set_meta(POSTED_KEY, week)
        log.info("weekly report posted week=%s", week)
        return True
