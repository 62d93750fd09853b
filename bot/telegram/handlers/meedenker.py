"""/meedenker: until the warm handoff exists, the team's phone number and hours."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes, filters

from bot.engine.conversation import Command
from bot.telegram.handlers.respond import respond


async def meedenker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer a human: the engine answers with the team's phone number and opening hours."""
    await respond(update, context, Command("meedenker"))


handlers = [CommandHandler("meedenker", meedenker, filters=filters.ChatType.PRIVATE)]
