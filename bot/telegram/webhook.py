"""Webhook mode: Telegram posts updates to us; we answer 200 only after the update is stored."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Update

from bot.storage import Storage
from bot.telegram.inbox import ALLOWED_UPDATES, parse_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookConfig:
    """Receive updates on an HTTP server behind a reverse proxy instead of polling."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8080


class WebhookReceiver:
    """A small aiohttp server; Telegram retries any update we did not acknowledge."""

    def __init__(
        self, bot: Bot, storage: Storage, on_stored: Callable[[Sequence[Update]], None],
        config: WebhookConfig, *, secret: str = "",
    ) -> None:
        self._bot = bot
        self._storage = storage
        self._on_stored = on_stored
        self._config = config
        # Without a configured secret, a fresh random one per start is just as safe.
        self._secret = secret or secrets.token_urlsafe(32)
        self._path = urlsplit(config.url).path or "/"
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (useful when configured as 0)."""
        assert self._runner is not None
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        """Listen, then tell Telegram where to post."""
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self._path, self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._config.listen, self._config.port).start()
        await self._bot.set_webhook(
            self._config.url, secret_token=self._secret, allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )

    async def stop(self) -> None:
        """Stop listening; Telegram keeps undelivered updates and retries."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        # A header with bytes that are not UTF-8 is simply a wrong secret, not a server error.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret.encode()):
            log.warning("webhook refused result=wrong-secret")
            return web.Response(status=403)
        try:
            payload = await request.json()
            update_id = int(payload["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        await self._storage.store_updates([(update_id, payload)])
        update = parse_update(payload, self._bot)
        if update is None:
            await self._storage.skip_unreadable(update_id)  # acknowledged, counted, skipped
        else:
            self._on_stored([update])
        return web.Response(status=200)
