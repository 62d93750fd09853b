"""The running Telegram bot: Application, durable poller or webhook, outbox sender, retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from types import TracebackType

from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.engine.conversation import Engine
from bot.handoff.dialog import HandoffEngine
from bot.jobs.periodic import Every
from bot.jobs.reminders import Reminders
from bot.jobs.weekly_report import WeeklyReport, note_running_since
from bot.kb.loader import KnowledgeBaseError, Problem, load_knowledge_base
from bot.service.runtime import Runtime
from bot.stats.counting import UnansweredKeeper
from bot.storage import SchemaTooNew, Storage
from bot.telegram import handlers
from bot.telegram.handlers.runtime import RUNTIME_KEY
from bot.telegram.inbox import DurablePoller, UpdateProcessor
from bot.telegram.inflight import MOST_CALLS
from bot.telegram.render import messages_for
from bot.telegram.sender import ChatPacer, OutboxSender
from bot.telegram.staff_router import StaffRouter
from bot.telegram.webhook import WebhookConfig, WebhookReceiver

log = logging.getLogger("wegwijzer")

PURGE_INTERVAL_SECONDS = 3600.0

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "nl": [
        ("start", "Uitleg en de eerste vraag"),
        ("opnieuw", "Opnieuw beginnen"),
        ("terug", "Een stap terug"),
        ("meedenker", "Praat met een mens"),
        ("taal", "Nederlands / English"),
        ("privacy", "Wat ik bewaar en hoe je het wist"),
        ("mijngegevens", "Wat ik over jou bewaar"),
        ("vergeet", "Wis alles over mij"),
        ("help", "Wat kan ik hier?"),
    ],
    "en": [
        ("start", "Introduction and the first question"),
        ("opnieuw", "Start over"),
        ("terug", "One step back"),
        ("meedenker", "Talk to a person"),
        ("taal", "Nederlands / English"),
        ("privacy", "What I keep and how to erase it"),
        ("mijngegevens", "What I keep about you"),
        ("vergeet", "Delete everything about me"),
        ("help", "What can I do here?"),
    ],
}


class StartupError(Exception):
    """The bot cannot start with these settings; the message says what to fix."""


class WegwijzerBot:
    """Start and stop everything in the right order: `async with WegwijzerBot(...) as bot:`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        webhook: WebhookConfig | None = None,
        poll_timeout: int = 30,
        retry_base_seconds: float = 0.5,
        reminder_interval: float = 15.0,
        kb_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.webhook = webhook
        self._poll_timeout = poll_timeout
        self._retry_base = retry_base_seconds
        self.storage: Storage | None = None
        self.application: Application | None = None  # type: ignore[type-arg]
        self.sender: OutboxSender | None = None
        self._processor: UpdateProcessor | None = None
        self._receiver: DurablePoller | WebhookReceiver | None = None
        self._purger: Every | None = None
        self._reminders: Reminders | None = None
        self._keeper: UnansweredKeeper | None = None
        self._reminder_interval = reminder_interval
        self.kb_path = kb_path
        self._runtime: Runtime | None = None
        self._weekly: WeeklyReport | None = None

    @property
    def webhook_port(self) -> int:
        """The port the webhook server listens on (when configured as 0, the one it got)."""
        assert isinstance(self._receiver, WebhookReceiver), "not in webhook mode"
        return self._receiver.port

    async def __aenter__(self) -> WegwijzerBot:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the database, connect to Telegram, then start receiving and sending."""
        settings = self.settings
        try:
            self.storage = await Storage.open(
                settings.db_path, clock=self.engine.clock, sent_journal=True)
            await note_running_since(self.storage)
        except (sqlite3.Error, OSError, SchemaTooNew) as exc:
            raise StartupError(f"cannot use the database {settings.db_path}: {exc}. Check "
                               "WEGWIJZER_DB: its folder must exist and be writable, and the "
                               "file must be a Wegwijzer database.") from exc
        application = build_application(settings)
        self.application = application
        await application.initialize()  # getMe: fails early on a wrong token
        router = await self._staff_router(application)
        sender = OutboxSender(
            self.storage, application.bot,
            pacer=ChatPacer(settings.chat_messages_per_second, settings.chat_burst),
            pseudonym=lambda chat_id: runtime.pseudonym(chat_id),
            retry_base_seconds=self._retry_base,
            router=router,
        )
        self.sender = sender
        if router is not None:
            router.submit = sender.submit
        self._keeper = UnansweredKeeper(self.storage)
        runtime = Runtime(settings, self.engine, self.storage, sender.submit, messages_for,
                          keep_unanswered=self._keeper.keep, reload=self.reload)
        self._runtime = runtime
        application.bot_data[RUNTIME_KEY] = runtime
        handlers.register(application)
        await application.start()
        await self._register_commands()
        processor = UpdateProcessor(application, self.storage)
        self._processor = processor
        await sender.start()
        await processor.start()  # first what a previous run left, then new updates
        if self.webhook is None:
            # A webhook left by an earlier run would make getUpdates fail with a conflict.
            await application.bot.delete_webhook(drop_pending_updates=False)
            self._receiver = DurablePoller(
                application.bot, processor.handle_batch, skip=self.storage.skip_unreadable,
                poll_timeout=self._poll_timeout, retry_base_seconds=self._retry_base)
        else:
            self._receiver = WebhookReceiver(
                application.bot, self.storage, processor.submit, self.webhook,
                secret=settings.webhook_secret)
        try:
            await self._receiver.start()
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise StartupError(f"cannot listen for the webhook: {exc}") from exc
        self._purger = Every("retention", PURGE_INTERVAL_SECONDS, self._purge)
        await self._purger.start()
        if isinstance(self.engine, HandoffEngine) and settings.staff_chat_id is not None:
            self._reminders = Reminders(runtime, interval=self._reminder_interval)
            await self._reminders.start()
            self._weekly = WeeklyReport(runtime)
            await self._weekly.start()
        log.info("bot started mode=%s", "webhook" if self.webhook else "polling")

    async def stop(self) -> None:
        """Stop receiving first, then handling, then sending; close the database last."""
        if self._purger is not None:
            await self._purger.stop()
        if self._reminders is not None:
            await self._reminders.stop()
        if self._weekly is not None:
            await self._weekly.stop()
        for part in (self._receiver, self._processor, self.sender):
            if part is not None:
                await part.stop()
        if self._keeper is not None:
            await self._keeper.close()
        if self.application is not None:
            if self.application.running:
                await self.application.stop()
            await self.application.shutdown()
        if self.storage is not None:
            await self.storage.close()
        log.info("bot stopped")

    async def reload(self) -> list[Problem]:
        """Load the knowledge base again; a broken one is refused and the old one stays."""
        if self.kb_path is None:
            return [Problem("-", 0, "this bot was started without a knowledge-base folder")]
        try:
            kb = await asyncio.to_thread(load_knowledge_base, self.kb_path)
            engine = await asyncio.to_thread(self.engine.with_knowledge, kb)
        except KnowledgeBaseError as exc:
            log.warning("reload refused errors=%d", sum(p.severity == "error"
                                                        for p in exc.problems))
            return list(exc.problems)
        # One assignment: every handler reads runtime.engine afresh for each update.
        self.engine = engine
        if self._runtime is not None:
            self._runtime.engine = engine
        log.info("reload done services=%d faq=%d", len(kb.services), len(kb.faq))
        return []

    async def _staff_router(self, application: Application) -> StaffRouter | None:  # type: ignore[type-arg]
        """The staff group's router, in topic mode when the group has forum topics."""
        staff = self.settings.staff_chat_id
        if staff is None or not isinstance(self.engine, HandoffEngine):
            return None
        try:
            chat = await application.bot.get_chat(staff)
            forum = bool(chat.is_forum)
        except TelegramError as exc:
            log.warning("staff group not reachable error=%s; using replies", type(exc).__name__)
            forum = False
        log.info("staff group mode=%s", "topics" if forum else "replies")
        assert self.storage is not None
        return StaffRouter(application.bot, self.storage, staff, forum=forum,
                           texts=self.engine.texts)

    async def _register_commands(self) -> None:
        bot = self._app().bot
        try:
            for language, commands in COMMANDS.items():
                await bot.set_my_commands(
                    [BotCommand(name, description) for name, description in commands],
                    scope=BotCommandScopeAllPrivateChats(),
                    language_code=None if language == "nl" else language,
                )
        except TelegramError as exc:  # the menu is a convenience; the bot works without it
            log.warning("setMyCommands failed error=%s", type(exc).__name__)

    async def _purge(self) -> None:
        days = self.engine.kb.gemeente.privacy.retention_days
        await self._clear_staff_group(days)
        counts = await self._store().purge(retention_days=days)
        log.info("retention purge residents=%d updates=%d requests=%d",
                 counts["residents"], counts["updates"], counts["requests"])

    async def _clear_staff_group(self, retention_days: int) -> None:
        """Topics and cards of requests about to be purged leave the staff group too."""
        staff = self.settings.staff_chat_id
        if staff is None:
            return
        topics, messages = await self._store().stale_staff_places(retention_days=retention_days)
        bot = self._app().bot
        for thread_id in topics:
            with contextlib.suppress(TelegramError):  # already gone, or no right: best effort
                await bot.delete_forum_topic(staff, thread_id)
        for message_id in messages:
            with contextlib.suppress(TelegramError):
                await bot.delete_message(staff, message_id)

    def _app(self) -> Application:  # type: ignore[type-arg]
        assert self.application is not None, "start() first"
        return self.application

    def _store(self) -> Storage:
        assert self.storage is not None, "start() first"
        return self.storage


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """A python-telegram-bot Application without its Updater: our poller receives updates."""
    builder: ApplicationBuilder = (  # type: ignore[type-arg]
        Application.builder()
        .token(settings.token)
        .base_url(settings.bot_base_url)
        .base_file_url(settings.file_base_url)
        .updater(None)
        .rate_limiter(AIORateLimiter(
            overall_max_rate=settings.max_messages_per_second, overall_time_period=1,
            group_max_rate=settings.group_messages_per_minute, group_time_period=60,
            max_retries=0,  # the outbox sender retries, with backoff, and keeps the message
        ))
        .request(HTTPXRequest(connection_pool_size=MOST_CALLS, read_timeout=15.0,
                              pool_timeout=30.0))
        .get_updates_request(HTTPXRequest(connection_pool_size=2, read_timeout=60.0))
    )
    return builder.build()

