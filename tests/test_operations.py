"""Running it: reload without restart (/herlaad, SIGHUP), /stats, the weekly post."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from botapi_double import BotApiDouble
from telegram_harness import STAFF_CHAT, db_rows, running_bot, settle, start_bot_process

from bot.clock import AMSTERDAM, FrozenClock
from bot.handoff.dialog import HandoffEngine
from bot.jobs.weekly_report import WeeklyReport, due_week
from bot.kb.loader import load_knowledge_base
from bot.telegram.app import WegwijzerBot
from tests.kbtools import copy_kb, edit

ADMIN, MEMBER, RESIDENT = 3001, 3002, 3003
NEW_SERVICE = """  - id: klusdienst
    name: Klusdienst
    summary: Vrijwilligers helpen met kleine klussen in huis.
    keywords: [klusjes, lamp ophangen, klusdienst]
"""


def staff_group(api: BotApiDouble) -> None:
    api.add_group(STAFF_CHAT, "Meedenkers", supergroup=True, members=[MEMBER], admins=[ADMIN])
    api.add_private_chat(RESIDENT, "Ans")


async def ask(api: BotApiDouble, text: str) -> str:
    seen = len(api.sent_messages(RESIDENT))
    api.user_sends_text(RESIDENT, text)
    return str((await api.wait_for_messages(RESIDENT, seen + 1))[seen]["text"])


async def test_herlaad_refuses_a_broken_knowledge_base_and_loads_a_good_one(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    staff_group(botapi)
    kb = copy_kb(tmp_path)
    engine = HandoffEngine(load_knowledge_base(kb))
    async with running_bot(botapi, tmp_path / "bot.db", engine, kb_path=kb) as bot:
        services = (kb / "services.yaml").read_text(encoding="utf-8")
        (kb / "services.yaml").write_text(services + "  - id: kapot\n    nam: Kapot\n",
                                          encoding="utf-8")
        botapi.user_sends_text(MEMBER, "/herlaad", chat_id=STAFF_CHAT)  # not an admin
        botapi.user_sends_text(ADMIN, "/herlaad", chat_id=STAFF_CHAT)
        refused = (await botapi.wait_for_messages(STAFF_CHAT, 1))[0]["text"]
        assert (await ask(botapi, "ik heb schulden")).startswith("📍 Schuldhulp")  # old one
        (kb / "services.yaml").write_text(services + NEW_SERVICE, encoding="utf-8")
        botapi.user_sends_text(ADMIN, "/herlaad", chat_id=STAFF_CHAT)
        loaded = (await botapi.wait_for_messages(STAFF_CHAT, 2))[1]["text"]
        answer = await ask(botapi, "klusdienst")
        await settle()
        assert bot.engine.kb.services.keys() >= {"klusdienst"}
    assert refused.startswith("✗ De nieuwe kennisbank heeft") and "De oude blijft actief." in refused
    assert "services.yaml:" in refused and "nam" in refused
    assert loaded == "✓ Nieuwe kennisbank geladen: 3 diensten, 1 vragen."
    assert answer.startswith("📍 Klusdienst")
    assert len(botapi.sent_messages(STAFF_CHAT)) == 2  # the member's try got no answer


async def test_sighup_reloads_and_a_broken_one_keeps_the_old(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(RESIDENT, "Ans")
    kb = copy_kb(tmp_path)
    bot = start_bot_process(botapi, tmp_path / "bot.db", kb=kb, stderr=subprocess.PIPE)
    try:
        assert (await ask_slow(botapi, "ik heb schulden")).startswith("📍 Schuldhulp")
        edit(kb, "services.yaml", "name: Schuldhulp", "nam: Schuldhulp")  # broken
        bot.send_signal(signal.SIGHUP)
        await asyncio.sleep(1.5)
        assert (await ask_slow(botapi, "ik heb schulden")).startswith("📍 Schuldhulp")
        edit(kb, "services.yaml", "nam: Schuldhulp", "name: Schuldhulpmaatje")
        bot.send_signal(signal.SIGHUP)
        await asyncio.sleep(1.5)
        assert (await ask_slow(botapi, "ik heb schulden")).startswith("📍 Schuldhulpmaatje")
    finally:
        bot.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(bot.wait, 15)
    stderr = bot.stderr.read().decode() if bot.stderr else ""
    assert code == 0, stderr
    # Unknown key "nam" and the missing "name": both reported, old one kept.
    assert "reload refused errors=2" in stderr and "reload done services=2" in stderr


async def ask_slow(api: BotApiDouble, text: str) -> str:
    seen = len(api.sent_messages(RESIDENT))
    api.user_sends_text(RESIDENT, text)
    return str((await api.wait_for_messages(RESIDENT, seen + 1, timeout=20))[seen]["text"])


async def test_stats_for_admins_only(botapi: BotApiDouble, tmp_path: Path) -> None:
    staff_group(botapi)
    async with running_bot(botapi, tmp_path / "bot.db", HandoffEngine(
            load_knowledge_base(copy_kb(tmp_path)))):
        await ask(botapi, "ik heb schulden")
        botapi.user_sends_text(MEMBER, "/stats", chat_id=STAFF_CHAT)
        botapi.user_sends_text(ADMIN, "/stats", chat_id=STAFF_CHAT)
        report = (await botapi.wait_for_messages(STAFF_CHAT, 2))
        assert report[0]["text"].startswith("Wegwijzer — weekoverzicht")
        assert "Gesprekken: 1" in report[0]["text"] and "Schuldhulp (1)" in report[0]["text"]
        assert "photo" in report[1]
        await settle()
    assert len(botapi.sent_messages(STAFF_CHAT)) == 2  # nothing for the member


# Week 48 of 2026 runs from Monday 23 November to Sunday 29 November.
WEDNESDAY_W48 = dt.datetime(2026, 11, 25, 14, 0, tzinfo=AMSTERDAM)
MONDAY_W49 = dt.datetime(2026, 11, 30, tzinfo=AMSTERDAM)


def bot_at(
    api: BotApiDouble, db: Path, kb: Path, clock: FrozenClock
) -> AbstractAsyncContextManager[WegwijzerBot]:
    """A running bot with a staff group, on a knowledge base, at the clock's moment."""
    return running_bot(api, db, HandoffEngine(load_knowledge_base(kb), clock=clock))


def weekly_job(bot: WegwijzerBot) -> WeeklyReport:
    """The running bot's weekly report job."""
    assert bot._weekly is not None, "the weekly report runs with a staff group"
    return bot._weekly


async def test_a_first_start_leaves_nothing_in_the_staff_group(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    staff_group(botapi)
    clock = FrozenClock(MONDAY_W49 + dt.timedelta(hours=10))  # a report would be due now
    engine = HandoffEngine(load_knowledge_base(copy_kb(tmp_path)), clock=clock)
    async with running_bot(botapi, tmp_path / "bot.db", engine) as bot:
        assert not await weekly_job(bot).post_if_due()
        await settle()
    assert botapi.sent_messages(STAFF_CHAT) == []


async def test_the_weekly_report_is_posted_once_after_monday_9_and_not_after_a_restart(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    staff_group(botapi)
    db, kb = tmp_path / "bot.db", copy_kb(tmp_path)
    clock = FrozenClock(WEDNESDAY_W48)
    async with bot_at(botapi, db, kb, clock) as bot:
        await ask(botapi, "ik heb schulden")  # activity in week 48
        job = weekly_job(bot)
        clock.set(MONDAY_W49 + dt.timedelta(hours=8, minutes=59))
        assert not await job.post_if_due()  # not before 09:00
        clock.set(MONDAY_W49 + dt.timedelta(hours=9, minutes=1))
        assert await job.post_if_due()
        clock.advance(3600)
        assert not await job.post_if_due()  # once per week
    async with bot_at(botapi, db, kb, clock) as bot:
        assert not await weekly_job(bot).post_if_due()  # nor again after a restart
        await settle()
    posted = botapi.sent_messages(STAFF_CHAT)
    assert len(posted) == 2
    assert posted[0]["text"].startswith("Wegwijzer — weekoverzicht")
    assert "Week 2026-W48" in posted[0]["text"] and "Gesprekken: 1" in posted[0]["text"]
    assert "photo" in posted[1]


async def test_a_quiet_week_gets_no_report(botapi: BotApiDouble, tmp_path: Path) -> None:
    staff_group(botapi)
    db, kb = tmp_path / "bot.db", copy_kb(tmp_path)
    clock = FrozenClock(WEDNESDAY_W48)
    async with bot_at(botapi, db, kb, clock):
        await settle()  # running in week 48, but nobody wrote
    clock.set(MONDAY_W49 + dt.timedelta(hours=10))
    async with bot_at(botapi, db, kb, clock) as bot:
        assert not await weekly_job(bot).post_if_due()
        await settle()
    assert botapi.sent_messages(STAFF_CHAT) == []


@pytest.mark.parametrize(("moment", "week", "ended"), [
    # Just before and after the Monday 09:00 boundary, in winter and in summer time.
    ("2026-11-30T08:59:00+01:00", "2026-W47", "2026-11-23T00:00:00+01:00"),
    ("2026-11-30T09:00:00+01:00", "2026-W48", "2026-11-30T00:00:00+01:00"),
    ("2026-12-06T23:59:00+01:00", "2026-W48", "2026-11-30T00:00:00+01:00"),
    ("2027-01-01T00:30:00+01:00", "2026-W52", "2026-12-28T00:00:00+01:00"),
    ("2027-11-01T09:30:00+01:00", "2027-W43", "2027-11-01T00:00:00+01:00"),  # after DST ended
    ("2027-03-29T09:00:00+02:00", "2027-W12", "2027-03-29T00:00:00+02:00"),  # after DST began
])
def test_due_week_follows_dutch_time(moment: str, week: str, ended: str) -> None:
    now = dt.datetime.fromisoformat(moment).timestamp()
    assert due_week(now) == (week, dt.datetime.fromisoformat(ended).timestamp())


async def test_a_refused_chart_does_not_repeat_the_weekly_text(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    """Issue 15: when sendPhoto failed, the text was posted again every ten minutes."""
    staff_group(botapi)
    db, kb = tmp_path / "bot.db", copy_kb(tmp_path)
    clock = FrozenClock(WEDNESDAY_W48)
    botapi.fail_next("sendPhoto", 400, description="Bad Request: not enough rights to send "
                     "photos to the chat", times=5)
    async with bot_at(botapi, db, kb, clock) as bot:
        await ask(botapi, "ik heb schulden")
        clock.set(MONDAY_W49 + dt.timedelta(hours=10))
        job = weekly_job(bot)
        assert await job.post_if_due()
        await botapi.wait_for_messages(STAFF_CHAT, 1)
        await settle()
        clock.advance(600)
        assert not await job.post_if_due()
    async with bot_at(botapi, db, kb, clock) as bot:
        assert not await weekly_job(bot).post_if_due()
        await settle()
    posted = botapi.sent_messages(STAFF_CHAT)
    assert [m["text"].split("\n")[0] for m in posted] == ["Wegwijzer — weekoverzicht"]
    assert len(botapi.calls_to("sendPhoto")) == 1  # tried once, refused, not repeated
    assert (await db_rows(db))["outbox"] == 0
