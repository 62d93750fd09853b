"""/start: who the bot is, that it is a bot, that a human is reachable, privacy; then a question."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes, filters

from bot.engine.conversation import Start
from bot.telegram.handlers.respond import respond


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Introduce the bot and ask the first question."""
    await respond(update, context, Start())


handlers = [CommandHandler("start", start, filters=filters.ChatType.PRIVATE)]
