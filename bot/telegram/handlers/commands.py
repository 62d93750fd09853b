"""/help, /opnieuw, /terug, /taal and /privacy, plus any unknown command."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from bot.engine.conversation import Command
from bot.telegram.handlers.respond import respond

MENU_COMMANDS = ("help", "opnieuw", "terug", "taal", "privacy")


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Hand the command's name to the engine; unknown ones show the current question."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    name = text.split()[0].lstrip("/").split("@")[0].lower() if text.strip() else ""
    await respond(update, context, Command(name))


handlers = [
    CommandHandler(list(MENU_COMMANDS), command, filters=filters.ChatType.PRIVATE),
    MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & filters.COMMAND,
                   command),
]
