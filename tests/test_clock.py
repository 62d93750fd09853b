"""The one clock: nothing else reads the wall clock, and tests can move it, also in a process."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time

import pytest

from bot.clock import AMSTERDAM, FAKE_NOW, TEST_MODE, Clock, FrozenClock, clock_from_env
from tests.kbtools import MINIMAL, ROOT

# Calls that read the wall clock. time.monotonic() is allowed: it measures durations and
# knows no date.
WALL_CLOCK = re.compile(
    r"time\.time\(|time\.time_ns\(|datetime\.now\(|datetime\.utcnow\(|datetime\.today\("
    r"|date\.today\(|dt\.datetime\.now\(|dt\.date\.today\(|time\.localtime\(|time\.gmtime\("
    r"|time\.ctime\(|time\.strftime\(")


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "clock.py" and path.parent.name == "bot":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WALL_CLOCK.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_rule_catches_a_direct_call() -> None:
    assert WALL_CLOCK.search("    cutoff = time.time() - days * 86400")
    assert WALL_CLOCK.search("today = dt.date.today()")
    assert not WALL_CLOCK.search("started = time.monotonic()")


def test_a_started_clock_runs_on_from_its_moment() -> None:
    start = dt.datetime(2026, 12, 13, 23, 59, tzinfo=AMSTERDAM)
    clock = Clock(start=start)
    first = clock.now()
    assert abs(first - start.timestamp()) < 1.0
    time.sleep(0.02)
    assert clock.now() > first  # it runs on at the normal pace
    assert clock.local().date() in (dt.date(2026, 12, 13), dt.date(2026, 12, 14))
    assert clock.utc().tzinfo is dt.UTC


def test_a_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(dt.datetime(2026, 12, 31, 23, 59, tzinfo=AMSTERDAM))
    assert clock.today() == dt.date(2026, 12, 31)
    clock.advance(60)
    assert clock.today() == dt.date(2027, 1, 1)
    assert clock.local().hour == 0 and clock.utc().hour == 23  # Dutch time is UTC+1 in winter
    with pytest.raises(ValueError, match="time zone"):
        clock.set(dt.datetime(2027, 1, 1))


def test_fake_now_needs_the_test_flag() -> None:
    moment = "2027-10-31T02:30:00+01:00"
    faked = clock_from_env({FAKE_NOW: moment, TEST_MODE: "1"})
    assert abs(faked.now() - dt.datetime.fromisoformat(moment).timestamp()) < 1.0
    unflagged = clock_from_env({FAKE_NOW: moment})
    assert abs(unflagged.now() - time.time()) < 1.0  # a stray setting moves nothing
    with pytest.raises(ValueError, match="UTC offset"):
        clock_from_env({FAKE_NOW: "2027-10-31T02:30:00", TEST_MODE: "1"})
    with pytest.raises(ValueError, match="ISO moment"):
        clock_from_env({FAKE_NOW: "next sunday", TEST_MODE: "1"})


def chat_at(moment: str, *, flag: bool = True) -> subprocess.CompletedProcess[str]:
    """`wegwijzer chat` as a real process at a fake moment, asking about debts."""
    env = {k: v for k, v in os.environ.items() if k not in (FAKE_NOW, TEST_MODE)}
    env[FAKE_NOW] = moment
    if flag:
        env[TEST_MODE] = "1"
    return subprocess.run([sys.executable, "-m", "bot", "chat", "--kb", str(MINIMAL)],
                          input="ik heb schulden\n", capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60, check=False)


def test_fake_now_reaches_a_real_process() -> None:
    # Schuldhulp is open on Tuesday from 09:00 to 17:00, and closed on Sunday.
    assert "Nu open, tot 17:00" in chat_at("2026-12-08T10:00:00+01:00").stdout
    sunday = chat_at("2026-12-13T23:59:00+01:00").stdout
    assert "Gesloten, opent morgen 09:00" in sunday
    ignored = chat_at("2026-12-08T10:00:00+01:00", flag=False)
    assert f"{FAKE_NOW} is ignored" in ignored.stderr
