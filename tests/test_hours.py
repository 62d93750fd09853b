"""Opening hours through the night and day and night (issue #18): written, checked, shown."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clock import AMSTERDAM
from bot.engine.cards import service_card
from bot.engine.hours import opening_status
from bot.engine.texts import Texts
from bot.kb.models import Hours, Service, parse_periods

WEEKDAYS = ("ma", "di", "wo", "do", "vr")
ALWAYS = Hours(**dict.fromkeys(("ma", "di", "wo", "do", "vr", "za", "zo"), "00:00-24:00"))
EVENINGS = Hours(**dict.fromkeys(WEEKDAYS, "17:00-08:00"))  # a huisartsenpost on weekdays


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in Amsterdam in the week of Monday 2026-11-23 (no public holidays)."""
    return dt.datetime(2026, 11, 23 + day, hour, minute, tzinfo=AMSTERDAM)


def test_a_period_that_ends_before_it_starts_runs_through_the_night() -> None:
    assert parse_periods("17:00-08:00") == [(17 * 60, 32 * 60)]
    with pytest.raises(ValueError, match="starts and ends at the same time"):
        parse_periods("08:00-08:00")


@pytest.mark.parametrize(("moment", "open_now", "edge"), [
    (at(0, 18), True, at(1, 8)),      # Monday evening: open until Tuesday 08:00
    (at(1, 2, 30), True, at(1, 8)),   # the night after Monday: still open
    (at(1, 9), False, at(1, 17)),     # Tuesday morning: closed until 17:00
    (at(5, 7), True, at(5, 8)),       # Saturday 07:00: Friday's night runs on
    (at(5, 9), False, at(7, 17)),     # Saturday 09:00: closed until Monday 17:00
])
def test_a_night_that_began_yesterday_is_still_open(
    moment: dt.datetime, open_now: bool, edge: dt.datetime,
) -> None:
    status = opening_status(EVENINGS, moment)
    assert status.open_now is open_now
    assert (status.until if open_now else status.next_open) == edge


def test_a_line_open_day_and_night_says_so_on_its_card_even_on_christmas() -> None:
    line = Service(id="lijn", name={"nl": "De Lijn"}, summary={"nl": "Altijd bereikbaar."},
                   contact={"phone": "0800 0113"}, hours=ALWAYS)
    christmas = dt.datetime(2026, 12, 25, 3, 0, tzinfo=AMSTERDAM)
    card = service_card(line, Texts(), "nl", christmas)
    assert "🕘 Dag en nacht open" in card
    assert "00:00-24:00" not in card  # no week summary that says the same in numbers
    evening = Service(id="post", name={"nl": "Post"}, summary={"nl": "Avond."},
                      hours=EVENINGS)
    assert "17:00-08:00" in service_card(evening, Texts(), "nl", at(1, 9))
