"""`wegwijzer run`: start the bot, wait for SIGINT/SIGTERM, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError

from bot.config import Settings
from bot.engine.conversation import Engine
from bot.telegram.app import StartupError, WegwijzerBot
from bot.telegram.webhook import WebhookConfig

log = logging.getLogger("wegwijzer")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


async def run_until_stopped(
    settings: Settings, engine: Engine, *, webhook: WebhookConfig | None = None,
    kb_path: Path | None = None,
) -> int:
    """Run until a stop signal; returns the process exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bot = WegwijzerBot(settings, engine, webhook=webhook, kb_path=kb_path)
    reloads: set[asyncio.Task[object]] = set()

    def reload_on_hangup() -> None:
        # SIGHUP (systemctl reload): load the knowledge base again; errors keep the old one.
        task: asyncio.Task[object] = asyncio.ensure_future(bot.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_on_hangup)
    try:
        await bot.start()
    except InvalidToken:
        log.error("Telegram refused the token; check TELEGRAM_BOT_TOKEN")
        await bot.stop()
        return EXIT_USAGE
    except (BadRequest, Forbidden) as exc:
        # BadRequest is a NetworkError to python-telegram-bot, but Telegram did answer: say
        # what it refused (a webhook URL, say), and exit 2 so systemd does not loop.
        log.error("Wegwijzer cannot start: Telegram refused: %s", exc.message)
        await bot.stop()
        return EXIT_USAGE
    except NetworkError as exc:
        log.error("cannot reach Telegram at the configured TELEGRAM_API_URL: %s",
                  type(exc).__name__)
        await bot.stop()
        return EXIT_FAILED
    except StartupError as exc:
        log.error("Wegwijzer cannot start: %s", exc)
        await bot.stop()
        return EXIT_USAGE
    except Exception as exc:
        # Anything else: one line, then stop what did start; systemd restarts us.
        log.error("Wegwijzer could not start error=%s: %s", type(exc).__name__, exc)
        await bot.stop()
        return EXIT_FAILED
    try:
        await stop.wait()
    finally:
        await bot.stop()
    return EXIT_OK
