"""Group chats other than the staff group: say once that the bot works privately, then silence."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, ContextTypes, MessageHandler, filters

from bot.storage import Outgoing
from bot.telegram.handlers.runtime import runtime_of

log = logging.getLogger("wegwijzer.groups")


async def group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell this group once, in both languages, that residents should write privately."""
    chat = update.effective_chat
    runtime = runtime_of(context)
    if chat is None or chat.id == runtime.settings.staff_chat_id:
        return
    if await runtime.storage.group_was_told(chat.id):
        return
    texts = runtime.engine.texts
    text = f"{texts.get('private_only', 'nl')}\n\n{texts.get('private_only', 'en')}"
    notice = Outgoing(chat.id, "sendMessage", {"chat_id": chat.id, "text": text})
    if items := await runtime.storage.commit_group_notice(update.update_id, notice):
        runtime.send(items)
        log.info("group notice actor=%s", runtime.pseudonym(chat.id))


handlers: list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]] = [
    MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
                   & ~filters.StatusUpdate.ALL, group_message),
]
