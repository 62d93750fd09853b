"""Settings, `wegwijzer run` start-up errors, and webhook mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from botapi_double import BotApiDouble
from telegram_harness import running_bot, settle

from bot.config import SettingsError, load_settings
from bot.storage import Storage
from bot.telegram.webhook import SECRET_HEADER, WebhookConfig

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_settings_from_environment_with_defaults() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.db_path == Path("wegwijzer.db")
    assert settings.api_url == "https://api.telegram.org"
    assert settings.staff_chat_id is None and settings.log_level == "INFO"
    assert TOKEN not in repr(settings)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nWEGWIJZER_DB=from-file.db\n"
                        "MEEDENKERS_CHAT_ID=-1001234567890\nTELEGRAM_API_URL=http://127.0.0.1:9/\n")
    settings = load_settings({"WEGWIJZER_DB": "from-env.db"}, env_file=env_file)
    assert settings.db_path == Path("from-env.db")
    assert settings.staff_chat_id == -1001234567890
    assert settings.bot_base_url == "http://127.0.0.1:9/bot"


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"TELEGRAM_BOT_TOKEN": "not-a-token", "MEEDENKERS_CHAT_ID": "staff",
                       "TELEGRAM_API_URL": "api.telegram.org", "WEGWIJZER_LOG_LEVEL": "loud"},
                      env_file=None)
    message = str(caught.value)
    for name in ("TELEGRAM_BOT_TOKEN", "MEEDENKERS_CHAT_ID", "TELEGRAM_API_URL",
                 "WEGWIJZER_LOG_LEVEL"):
        assert name in message
    assert "not-a-token" not in message  # even a wrong token is not echoed


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEGWIJZER_MAX_RATE", "nan"), ("WEGWIJZER_GROUP_RATE", "inf"),
     ("WEGWIJZER_CHAT_RATE", "-inf"), ("WEGWIJZER_CHAT_RATE", "0"),
     ("MEEDENKERS_CHAT_ID", "-1001234567890123456789012345678")],
)
def test_rates_that_are_not_finite_and_impossible_chat_ids_are_refused(
    name: str, value: str
) -> None:
    """nan or inf made the pacing loop spin at full CPU before the bot started (issue 15)."""
    token = "123456:" + "A" * 35
    with pytest.raises(SettingsError, match=name):
        load_settings({"TELEGRAM_BOT_TOKEN": token, name: value}, env_file=None)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is missing"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "MEEDENKERS_CHAT_ID": "abc"}, "MEEDENKERS_CHAT_ID"),
    ],
)
def test_run_with_bad_settings_exits_2_with_one_clear_message(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": os.environ.get("PATH", ""), **env}, timeout=60,
    )
    assert result.returncode == 2
    assert expected in result.stderr and ".env.example" in result.stderr
    assert "Traceback" not in result.stderr


async def test_webhook_checks_the_secret_and_acknowledges_after_storing(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(901, "Ans")
    db = tmp_path / "bot.db"
    webhook = WebhookConfig("https://bot.example.nl/telegram", listen="127.0.0.1", port=0)
    async with running_bot(botapi, db, webhook=webhook, webhook_secret="s3cret-token") as bot:
        assert botapi.webhook_url == "https://bot.example.nl/telegram"
        assert botapi.calls_to("setWebhook")[0].params["secret_token"] == "s3cret-token"
        update = botapi.user_sends_text(901, "/start")
        url = f"http://127.0.0.1:{bot.webhook_port}/telegram"
        async with aiohttp.ClientSession() as http:
            forged = await http.post(url, json=update, headers={SECRET_HEADER: "wrong"})
            missing = await http.post(url, json=update)
            assert (forged.status, missing.status) == (403, 403)
            assert bot.storage is not None
            assert await bot.storage.last_update_id() is None  # nothing forged was stored
            accepted = await http.post(url, json=update, headers={SECRET_HEADER: "s3cret-token"})
            assert accepted.status == 200
            # Acknowledged means stored: the update is in the database already.
            assert await bot.storage.last_update_id() == update["update_id"]
            again = await http.post(url, json=update, headers={SECRET_HEADER: "s3cret-token"})
            assert again.status == 200
        (reply,) = await botapi.wait_for_messages(901, 1)
        await settle()
    assert reply["text"].startswith("Hoi! Ik ben Wegwijzer")
    assert len(botapi.sent_messages(901)) == 1
    assert botapi.calls_to("getUpdates") == []
    async with Storage.open(db) as storage:
        assert await storage.pending_updates() == []
