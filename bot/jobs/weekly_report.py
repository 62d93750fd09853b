"""Post last week's report to the staff group once a week (Monday from 09:00, Dutch time).

A week is reported only when the bot was already running in it and something happened in
it, so a first start posts nothing. Which week was posted is kept in the database, so a
restart neither skips nor repeats it.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import AMSTERDAM
from bot.jobs.periodic import Every
from bot.service.reports import report_for, report_messages
from bot.service.runtime import Runtime
from bot.stats.command import week_of
from bot.storage import Storage

log = logging.getLogger(__name__)

POSTED_KEY = "weekly_report_posted"
RUNNING_SINCE_KEY = "running_since"  # when the bot first started on this database
CHECK_SECONDS = 600.0
POST_FROM = dt.time(9, 0)  # Monday, Dutch time: when the staff group is at work


def due_week(now: float) -> tuple[str, float]:
    """The newest week whose report is due at `now`, and the moment that week ended.

    A week's report is due from the Monday after it, 09:00 Dutch time.
    """
    local = dt.datetime.fromtimestamp(now, AMSTERDAM)
    monday = local.date() - dt.timedelta(days=local.weekday())
    if local < dt.datetime.combine(monday, POST_FROM, tzinfo=AMSTERDAM):
        monday -= dt.timedelta(days=7)  # this Monday's post is not due yet
    ended = dt.datetime.combine(monday, dt.time(0, 0), tzinfo=AMSTERDAM).timestamp()
    return week_of(monday - dt.timedelta(days=7)), ended


async def note_running_since(storage: Storage) -> float:
    """Remember the first start on this database (kept across restarts); returns it."""
    kept = await storage.get_meta(RUNNING_SINCE_KEY)
    if kept is not None:
        return float(kept)
    now = storage.clock.now()
    await storage.set_meta(RUNNING_SINCE_KEY, repr(now))
    return now


class WeeklyReport(Every):
    """Checks every ten minutes whether last week's report is due."""

    def __init__(self, runtime: Runtime, *, interval: float = CHECK_SECONDS) -> None:
        super().__init__("weekly-report", interval, self.post_if_due)
        self._runtime = runtime

    async def post_if_due(self) -> bool:
        """Post the due week's report if the bot ran in that week, it had activity, and it
        was not posted yet."""
        storage = self._runtime.storage
        week, ended = due_week(self._runtime.clock.now())
        posted = await storage.get_meta(POSTED_KEY)
        if posted is not None and posted >= week:  # "2026-W48" strings sort by time
            return False
        if await note_running_since(storage) >= ended:
            return False  # the bot was not running yet in that week
        if not any(row[0] == week for row in await storage.weekly_counts(since_week=week)):
            return False  # nothing happened: no empty report in the staff group
        text, chart = await report_for(self._runtime, week)
        # The report and "posted" commit together, through the outbox: sent exactly once,
        # even when the chart is refused or the bot stops halfway.
        async with storage.write() as writer:
            await writer.add_outgoing(report_messages(
                self._runtime.staff_chat_id(), text, chart,
                self._runtime.staff_text("staff_report_caption", week=week)))
            await writer.set_meta(POSTED_KEY, week)
        self._runtime.send(writer.items)
        log.info("weekly report queued week=%s", week)
        return True
