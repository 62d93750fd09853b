"""A resident who blocks the bot is marked, so nothing more is sent; unblocking clears it."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import ChatMemberHandler, ContextTypes

from bot.telegram.handlers.runtime import runtime_of

log = logging.getLogger("wegwijzer.membership")


async def membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record blocked or unblocked in a private chat."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    runtime = runtime_of(context)
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    await runtime.storage.mark_blocked(change.chat.id, blocked=blocked)
    log.info("membership actor=%s result=%s", runtime.pseudonym(change.chat.id),
             "blocked" if blocked else "unblocked")


handlers = [ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER)]
