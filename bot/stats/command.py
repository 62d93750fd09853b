"""`wegwijzer stats`: the weekly report from the database, for people and spreadsheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.engine.texts import Texts
from bot.kb.loader import KnowledgeBase
from bot.stats.report import as_csv, as_png, as_text, weeks_from
from bot.storage import Storage


def week_of(date: dt.date) -> str:
    """The ISO week a date falls in, e.g. 2026-W48."""
    year, week, _ = date.isocalendar()
    return f"{year}-W{week:02d}"


def display_names(kb: KnowledgeBase | None) -> dict[str, str]:
    """'service:mee' → 'MEE Limburg', so the report speaks the gemeente's language."""
    if kb is None:
        return {}
    names = {f"service:{sid}": s.name.get("nl") for sid, s in kb.services.items()}
    names.update({f"faq:{fid}": f.question.get("nl") for fid, f in kb.faq.items()})
    return names


async def build_report(
    db_path: Path, *, since: dt.date | None, output_format: str, kb: KnowledgeBase | None,
) -> bytes:
    """The report as bytes: UTF-8 text or CSV, or a PNG."""
    since_week = week_of(since) if since else ""
    async with Storage.open(db_path) as storage:
        rows = await storage.weekly_counts(since_week=since_week)
        unanswered = await storage.unanswered_texts(since_week=since_week)
    if output_format == "csv":
        return as_csv(rows).encode()
    texts = Texts(kb.texts) if kb is not None else Texts()  # the gemeente's wording, if any
    if output_format == "png":
        return as_png(weeks_from(rows), texts=texts)
    return as_text(weeks_from(rows), unanswered, display_names(kb), texts=texts).encode()

