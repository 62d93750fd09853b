"""Inline buttons; old or forged ones get the current menu from the engine, never a crash."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.engine.conversation import Choice
from bot.telegram.handlers.respond import respond


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pass the button's token to the engine."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return  # staff buttons are the handoff feature's; nothing else belongs in groups
    await respond(update, context, Choice(query.data or ""))


handlers = [CallbackQueryHandler(button)]
