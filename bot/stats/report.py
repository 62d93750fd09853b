"""The weekly report for a beleidsmedewerker: text, CSV or a PNG chart. No Telegram."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from bot.engine.texts import Texts
from bot.stats.optional import ChartsMissing, installed

# The headline metrics, in the order a reader expects them; their names are texts.yaml's
# report_<metric>, in the staff's language.
HEADLINES = ("conversations", "handoffs", "not_understood", "crises", "check_ins")
TOP = 5
STAFF_LANGUAGE = "nl"  # the gemeente's own staff read Dutch (as bot/handoff/staff.py)


@dataclass
class Week:
    """One week's counts."""

    week: str
    totals: dict[str, int] = field(default_factory=dict)
    keyed: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def average_claim_minutes(self) -> float | None:
        """Mean minutes until a meedenker took a request."""
        claims = self.totals.get("claims", 0)
        return self.totals.get("claim_minutes_total", 0) / claims if claims else None

    def average_rating(self) -> float | None:
        """Mean rating from 1 to 5."""
        ratings = self.keyed.get("ratings", {})
        votes = sum(ratings.values())
        return sum(int(k) * v for k, v in ratings.items()) / votes if votes else None


def weeks_from(rows: list[tuple[str, str, str, int]]) -> list[Week]:
    """Group (week, metric, key, count) rows into weeks, oldest first."""
    weeks: dict[str, Week] = {}
    for week, metric, key, count in rows:
        entry = weeks.setdefault(week, Week(week))
        entry.totals[metric] = entry.totals.get(metric, 0) + count
        if key:
            entry.keyed[metric][key] = entry.keyed[metric].get(key, 0) + count
    return [weeks[w] for w in sorted(weeks)]


def as_text(
    weeks: list[Week], unanswered: list[tuple[str, str]], names: dict[str, str], *,
    texts: Texts | None = None, lang: str = STAFF_LANGUAGE,
) -> str:
    """A report to read: per week the headlines, the top topics and help shown."""
    texts = texts or Texts()

    def say(key: str, **values: object) -> str:
        return texts.get(f"report_{key}", lang, **values)

    if not weeks:
        return say("empty")
    lines = [say("title"), ""]
    for week in weeks:
        lines.append(say("week", week=week.week))
        for metric in HEADLINES:
            lines.append(f"  {say(metric)}: {week.totals.get(metric, 0)}")
        claim = week.average_claim_minutes()
        if claim is not None:
            lines.append("  " + say("claim", minutes=f"{claim:.0f}",
                                    count=week.totals.get("claims", 0)))
        rating = week.average_rating()
        if rating is not None:
            lines.append("  " + say("rating", rating=f"{rating:.1f}",
                                    count=sum(week.keyed["ratings"].values())))
        skipped = week.totals.get("skipped_updates", 0)
        if skipped:  # Telegram sent something this version cannot read: time to update
            lines.append("  " + say("skipped", count=skipped))
        for metric, label in (("topics", "topics"), ("shown", "shown")):
            top = sorted(week.keyed.get(metric, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            if top:
                shown = ", ".join(f"{names.get(k, k)} ({v})" for k, v in top[:TOP])
                lines.append(f"  {say(label)}: {shown}")
        lines.append("")
    if unanswered:
        lines.append(say("unanswered"))
        lines.extend(f"  [{week}] {text}" for week, text in unanswered[-20:])
    return "\n".join(lines).rstrip() + "\n"


def as_csv(rows: list[tuple[str, str, str, int]]) -> str:
    """One row per week, metric and key: for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["week", "metric", "key", "count"])
    writer.writerows(rows)
    return out.getvalue()


def as_png(weeks: list[Week], *, texts: Texts | None = None, lang: str = STAFF_LANGUAGE) -> bytes:
    """A bar chart of the headline numbers per week; ChartsMissing without matplotlib."""
    if not installed("matplotlib"):
        raise ChartsMissing
    texts = texts or Texts()
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    labels = [week.week for week in weeks] or ["—"]
    width = 0.8 / len(HEADLINES)
    for index, metric in enumerate(HEADLINES):
        values = [week.totals.get(metric, 0) for week in weeks] or [0]
        positions = [x + index * width for x in range(len(labels))]
        axes.bar(positions, values, width, label=texts.get(f"report_{metric}", lang))
    axes.set_xticks([x + width * (len(HEADLINES) - 1) / 2 for x in range(len(labels))])
    axes.set_xticklabels(labels)
    axes.set_title(texts.get("report_chart_title", lang))
    axes.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
