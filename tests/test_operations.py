"""Running it: reload without restart (/herlaad, SIGHUP), /stats, the weekly post."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
from pathlib import Path

from botapi_double import BotApiDouble
from telegram_harness import STAFF_CHAT, running_bot, settle, start_bot_process

from bot.engine.hours import AMSTERDAM
from bot.handoff.dialog import HandoffEngine
from bot.kb.loader import load_knowledge_base
from bot.weekly_report import WeeklyReport
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


async def test_stats_for_admins_and_the_weekly_post_once(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    staff_group(botapi)
    async with running_bot(botapi, tmp_path / "bot.db", HandoffEngine(
            load_knowledge_base(copy_kb(tmp_path)))) as bot:
        await ask(botapi, "ik heb schulden")
        botapi.user_sends_text(MEMBER, "/stats", chat_id=STAFF_CHAT)
        botapi.user_sends_text(ADMIN, "/stats", chat_id=STAFF_CHAT)
        report = (await botapi.wait_for_messages(STAFF_CHAT, 2))
        assert report[0]["text"].startswith("Wegwijzer — weekoverzicht")
        assert "Gesprekken: 1" in report[0]["text"] and "Schuldhulp (1)" in report[0]["text"]
        assert "photo" in report[1]
        await settle()
        assert len(botapi.sent_messages(STAFF_CHAT)) == 2  # nothing for the member
        assert bot._runtime is not None
        weekly = WeeklyReport(bot._runtime, bot.application.bot)  # type: ignore[union-attr]
        monday_8 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM).timestamp()
        monday_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=AMSTERDAM).timestamp()
        assert not await weekly.post_if_due(monday_8)
        assert await weekly.post_if_due(monday_10)
        assert not await weekly.post_if_due(monday_10 + 3600)  # once per week
    posted = botapi.sent_messages(STAFF_CHAT)[2:]
    assert posted[0]["text"].startswith("Wegwijzer — weekoverzicht")
    assert "Week 2026-W48" in posted[0]["text"] and "photo" in posted[1]
    assert len(posted) == 2
