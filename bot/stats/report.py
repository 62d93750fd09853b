"""The weekly report for a beleidsmedewerker: text, CSV or a PNG chart. No Telegram."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from bot.stats.optional import ChartsMissing, installed

# The headline metrics, in the order a reader expects them, with Dutch names.
HEADLINES = (
    ("conversations", "Gesprekken"),
    ("handoffs", "Doorgezet naar een meedenker"),
    ("not_understood", "Niet begrepen vragen"),
    ("crises", "Crisissignalen (noodnummers getoond)"),
    ("check_ins", "Zorgen gepeild (gevraagd hoe het gaat)"),
)
TOP = 5


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


def as_text(weeks: list[Week], unanswered: list[tuple[str, str]], names: dict[str, str]) -> str:
    """A report to read: per week the headlines, the top topics and help shown."""
    if not weeks:
        return "Nog geen gegevens in deze periode."
    lines = ["Wegwijzer — weekoverzicht", ""]
    for week in weeks:
        lines.append(f"Week {week.week}")
        for metric, label in HEADLINES:
            lines.append(f"  {label}: {week.totals.get(metric, 0)}")
        claim = week.average_claim_minutes()
        if claim is not None:
            lines.append(f"  Gemiddelde wachttijd tot een meedenker: {claim:.0f} min "
                         f"({week.totals.get('claims', 0)} keer)")
        rating = week.average_rating()
        if rating is not None:
            lines.append(f"  Gemiddeld cijfer: {rating:.1f} van 5 "
                         f"({sum(week.keyed['ratings'].values())} beoordelingen)")
        skipped = week.totals.get("skipped_updates", 0)
        if skipped:  # Telegram sent something this version cannot read: time to update
            lines.append(f"  Berichten die de bot niet kon lezen (overgeslagen): {skipped}")
        for metric, label in (("topics", "Onderwerpen"), ("shown", "Meest getoonde hulp")):
            top = sorted(week.keyed.get(metric, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            if top:
                shown = ", ".join(f"{names.get(k, k)} ({v})" for k, v in top[:TOP])
                lines.append(f"  {label}: {shown}")
        lines.append("")
    if unanswered:
        lines.append("Vragen die de bot niet begreep (zonder namen en nummers):")
        lines.extend(f"  [{week}] {text}" for week, text in unanswered[-20:])
    return "\n".join(lines).rstrip() + "\n"


def as_csv(rows: list[tuple[str, str, str, int]]) -> str:
    """One row per week, metric and key: for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["week", "metric", "key", "count"])
    writer.writerows(rows)
    return out.getvalue()


def as_png(weeks: list[Week]) -> bytes:
    """A bar chart of the headline numbers per week; ChartsMissing without matplotlib."""
    if not installed("matplotlib"):
        raise ChartsMissing
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    labels = [week.week for week in weeks] or ["—"]
    width = 0.8 / len(HEADLINES)
    for index, (metric, label) in enumerate(HEADLINES):
        values = [week.totals.get(metric, 0) for week in weeks] or [0]
        positions = [x + index * width for x in range(len(labels))]
        axes.bar(positions, values, width, label=label)
    axes.set_xticks([x + width * (len(HEADLINES) - 1) / 2 for x in range(len(labels))])
    axes.set_xticklabels(labels)
    axes.set_title("Wegwijzer per week")
    axes.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
