"""A week's report for the staff group: its text and chart, as outbox messages."""

from __future__ import annotations

import asyncio

from bot.service.runtime import Runtime
from bot.stats.command import display_names
from bot.stats.optional import ChartsMissing
from bot.stats.report import as_png, as_text, weeks_from
from bot.storage import Outgoing, attached_file


async def report_for(runtime: Runtime, week: str) -> tuple[str, bytes | None]:
    """The text and chart of one week."""
    rows = [r for r in await runtime.storage.weekly_counts(since_week=week) if r[0] == week]
    unanswered = [u for u in await runtime.storage.unanswered_texts(since_week=week)
                  if u[0] == week]
    weeks = weeks_from(rows)
    texts = runtime.engine.texts
    text = as_text(weeks, unanswered, display_names(runtime.engine.kb), texts=texts)
    try:
        chart: bytes | None = await asyncio.to_thread(as_png, weeks, texts=texts)
    except ChartsMissing:
        chart = None  # the text alone; `wegwijzer doctor` says how to add the chart
    return text, chart


def report_messages(chat_id: int, text: str, chart: bytes | None, caption: str,
                    **extra: object) -> list[Outgoing]:
    """The report as outbox calls: the text, then the chart (when matplotlib is there)."""
    message = Outgoing(chat_id, "sendMessage", {"chat_id": chat_id, "text": text[:4000], **extra})
    if chart is None:
        return [message]
    return [message, Outgoing(chat_id, "sendPhoto", {
        "chat_id": chat_id, "caption": caption, **extra,
        "photo": attached_file(chart, "wegwijzer.png")})]
