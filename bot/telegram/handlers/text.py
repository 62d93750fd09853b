"""Free text at any moment: the engine runs the crisis check first, then the matcher."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.engine.conversation import Text
from bot.telegram.handlers.respond import respond


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let the engine read what the resident typed."""
    message = update.effective_message
    await respond(update, context, Text((message.text or "") if message else ""))


handlers = [
    MessageHandler(
        filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND,
        free_text,
    )
]
