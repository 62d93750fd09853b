"""An update python-telegram-bot cannot read (a newer Bot API shape) is counted, logged
without content, confirmed and skipped; the bot goes on (issue 15, fault 1)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botapi_double import BotApiDouble
from telegram_harness import running_bot, settle

from bot.storage import Storage
from bot.telegram.webhook import SECRET_HEADER, WebhookConfig

RESIDENT = 931
SECRET_WORDS = "Geheimpje Jansen 0612345678"


def poison(api: BotApiDouble) -> dict[str, Any]:
    """A message with a poll that lacks the fields python-telegram-bot requires."""
    return {"message": {"message_id": 77, "date": 0,
                        "chat": {"id": RESIDENT, "type": "private", "first_name": "Geheimpje"},
                        "from": {"id": RESIDENT, "is_bot": False, "first_name": "Geheimpje",
                                 "last_name": "Jansen"},
                        "poll": {"question": SECRET_WORDS}}}


async def skipped(db: Path) -> int:
    """How many unreadable updates the weekly counts hold."""
    async with Storage.open(db) as storage:
        rows = await storage.weekly_counts()
    return sum(count for _, metric, _, count in rows if metric == "skipped_updates")


async def test_polling_skips_an_unreadable_update_and_goes_on(
    botapi: BotApiDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    botapi.add_private_chat(RESIDENT, "Geheimpje")
    caplog.set_level(logging.INFO)  # the level a bot runs at (telegram.ext never below INFO)
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db):
        botapi.user_sends_text(RESIDENT, "/start")
        await botapi.wait_for_messages(RESIDENT, 1)
        bad = botapi.inject_update(poison(botapi))
        botapi.user_sends_text(RESIDENT, "ik heb schulden")
        answer = (await botapi.wait_for_messages(RESIDENT, 2))[1]
        botapi.repeat_updates([bad["update_id"]])  # Telegram sends it again: counted once
        await botapi.wait_for_call("getUpdates", len(botapi.calls_to("getUpdates")) + 2)
        await settle()
    assert answer["text"].startswith("📍 Schuldhulp")  # the update after it was handled
    assert await skipped(db) == 1
    # Confirmed: the last getUpdates asked for updates after the unreadable one.
    offsets = [call.params.get("offset") for call in botapi.calls_to("getUpdates")]
    assert max(o for o in offsets if o is not None) > bad["update_id"]
    assert f"update skipped update_id={bad['update_id']} error=TypeError" in caplog.text
    assert SECRET_WORDS not in caplog.text and "Jansen" not in caplog.text


async def test_a_webhook_acknowledges_an_unreadable_update_and_the_next_start_is_clean(
    botapi: BotApiDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    botapi.add_private_chat(RESIDENT, "Geheimpje")
    caplog.set_level(logging.INFO)  # the level a bot runs at (telegram.ext never below INFO)
    db = tmp_path / "bot.db"
    webhook = WebhookConfig("https://bot.example.nl/telegram", listen="127.0.0.1", port=0)
    bad = {"update_id": 5001, **poison(botapi)}
    async with running_bot(botapi, db, webhook=webhook, webhook_secret="s3cret") as bot:
        url = f"http://127.0.0.1:{bot.webhook_port}/telegram"
        async with aiohttp.ClientSession() as http:
            refused = await http.post(url, json=bad, headers={SECRET_HEADER: "s\u00e9cret"})
            answered = await http.post(url, json=bad, headers={SECRET_HEADER: "s3cret"})
            good = botapi.user_sends_text(RESIDENT, "ik heb schulden")
            await http.post(url, json=good, headers={SECRET_HEADER: "s3cret"})
        answer = (await botapi.wait_for_messages(RESIDENT, 1))[0]
        await settle()
    assert refused.status == 403  # a secret with other bytes is wrong, not a server error
    assert answered.status == 200
    assert answer["text"].startswith("📍 Schuldhulp")
    async with Storage.open(db) as storage:
        assert await storage.pending_updates() == []  # nothing left to choke the next start
    assert await skipped(db) == 1
    async with running_bot(botapi, db, webhook=webhook, webhook_secret="s3cret"):
        await settle()  # starts and stops in time
    assert SECRET_WORDS not in caplog.text and "Jansen" not in caplog.text
