"""One frozen Settings object, read from the environment and an optional .env file."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

# A BotFather token is "<bot id>:<35 characters>"; we accept 30+ to stay future-proof.
_TOKEN_RE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{20,}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # Telegram's rule for secret_token
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """Settings are missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Everything the running bot needs to know about its deployment."""

    token: str = field(repr=False)  # never printed, never logged
    db_path: Path = Path("wegwijzer.db")
    staff_chat_id: int | None = None
    api_url: str = "https://api.telegram.org"
    log_level: str = "INFO"
    pseudonym_key: bytes = field(default=b"", repr=False)
    webhook_secret: str = field(default="", repr=False)
    # Telegram's limits; raised only against a local test double or a self-hosted server.
    max_messages_per_second: float = 30.0
    chat_messages_per_second: float = 1.0
    chat_burst: int = 4
    group_messages_per_minute: float = 20.0

    @property
    def bot_base_url(self) -> str:
        """What python-telegram-bot prefixes to "{token}/{method}"."""
        return f"{self.api_url}/bot"

    @property
    def file_base_url(self) -> str:
        """Where files are downloaded from."""
        return f"{self.api_url}/file/bot"


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
) -> Settings:
    """Read settings; the real environment wins over the .env file."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    problems: list[str] = []

    token = values.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        problems.append("TELEGRAM_BOT_TOKEN is missing. Ask @BotFather for a token and set it.")
    elif not _TOKEN_RE.match(token):
        problems.append("TELEGRAM_BOT_TOKEN does not look like a BotFather token "
                        "(digits, a colon, then letters).")

    staff_chat_id = None
    raw_staff = values.get("MEEDENKERS_CHAT_ID", "").strip()
    if raw_staff:
        # Telegram chat ids fit in 52 bits (a supergroup: -100 and 10 more digits).
        if re.fullmatch(r"-?\d{1,16}", raw_staff):
            staff_chat_id = int(raw_staff)
        else:
            problems.append(f"MEEDENKERS_CHAT_ID must be a chat id such as -1001234567890, "
                            f"not {raw_staff!r}.")

    api_url = values.get("TELEGRAM_API_URL", "").strip().rstrip("/") or "https://api.telegram.org"
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"TELEGRAM_API_URL must start with http:// or https://, not {api_url!r}.")

    log_level = values.get("WEGWIJZER_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        problems.append(f"WEGWIJZER_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}.")

    webhook_secret = values.get("WEGWIJZER_WEBHOOK_SECRET", "").strip()
    if webhook_secret and not _SECRET_RE.match(webhook_secret):
        problems.append("WEGWIJZER_WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and -.")

    rates = {}
    for name, default in (("WEGWIJZER_MAX_RATE", 30.0), ("WEGWIJZER_CHAT_RATE", 1.0),
                          ("WEGWIJZER_GROUP_RATE", 20.0)):
        raw = values.get(name, "").strip()
        try:
            rates[name] = float(raw) if raw else default
            # nan and inf parse as floats, and would make the pacing loop spin.
            if not math.isfinite(rates[name]) or rates[name] <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"{name} must be a positive number (messages per second; "
                            "per minute for WEGWIJZER_GROUP_RATE).")
            rates[name] = default

    if problems:
        raise SettingsError("\n".join(problems))

    raw_key = values.get("WEGWIJZER_PSEUDONYM_KEY", "").strip()
    # Without a configured key the pseudonyms still stay secret: the token is secret too.
    pseudonym_key = raw_key.encode() if raw_key else hashlib.sha256(
        b"wegwijzer-pseudonym:" + token.encode()).digest()
    return Settings(
        token=token,
        db_path=Path(values.get("WEGWIJZER_DB", "").strip() or "wegwijzer.db"),
        staff_chat_id=staff_chat_id,
        api_url=api_url,
        log_level=log_level,
        pseudonym_key=pseudonym_key,
        webhook_secret=webhook_secret,
        max_messages_per_second=rates["WEGWIJZER_MAX_RATE"],
        chat_messages_per_second=rates["WEGWIJZER_CHAT_RATE"],
        group_messages_per_minute=rates["WEGWIJZER_GROUP_RATE"],
    )


def configure_logging(level: str) -> None:
    """Plain log lines; HTTP libraries stay quiet because request URLs carry the token."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # aiosqlite logs every statement with its parameters at DEBUG: that is message content.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # telegram.ext logs whole updates (message text) at DEBUG; never let it.
    logging.getLogger("telegram").setLevel(max(logging.INFO, getattr(logging, level)))
