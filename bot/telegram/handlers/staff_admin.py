"""/stats and /herlaad in the staff group, for its admins only."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.service.reports import report_for, report_messages
from bot.storage import Outgoing, iso_week
from bot.telegram.handlers.runtime import runtime_of
from bot.telegram.handlers.turn import turn

log = logging.getLogger("wegwijzer.admin")
MAX_PROBLEMS_SHOWN = 15


async def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    runtime = runtime_of(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.id != runtime.settings.staff_chat_id:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


async def _reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str,
    chart: tuple[bytes, str] | None = None,
) -> None:
    """Answer in the staff group, in the topic the command came from; with a chart
    (png, caption) when given. Through the outbox, like every message."""
    runtime = runtime_of(context)
    message = update.effective_message
    staff = runtime.staff_chat_id()
    where: dict[str, object] = {}
    if message is not None and message.is_topic_message and message.message_thread_id:
        where["message_thread_id"] = message.message_thread_id
    if chart is None:
        outgoing = [Outgoing(staff, "sendMessage", {"chat_id": staff, "text": text[:4000],
                                                    **where})]
    else:
        outgoing = report_messages(staff, text, chart[0], chart[1], **where)
    async with turn(update, context) as writer:
        if writer is None:
            return
        await writer.add_outgoing(outgoing)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """This week's counts so far, with the chart."""
    if not await _is_admin(update, context):
        return  # reveals nothing to others
    runtime = runtime_of(context)
    week = iso_week(runtime.engine.now().timestamp())
    text, chart = await report_for(runtime, week)
    await _reply(update, context, text,
                 (chart, runtime.staff_text("staff_stats_caption", week=week)) if chart else None)


async def reload_kb(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Load the knowledge base again; on errors the old one stays and the errors are shown."""
    if not await _is_admin(update, context):
        return
    runtime = runtime_of(context)
    if runtime.reload is None:
        return
    problems = await runtime.reload()
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        lines = [runtime.staff_text("staff_reload_refused", count=len(errors))]
        lines += [str(p) for p in errors[:MAX_PROBLEMS_SHOWN]]
        if len(errors) > MAX_PROBLEMS_SHOWN:
            lines.append(runtime.staff_text("staff_reload_more",
                                            count=len(errors) - MAX_PROBLEMS_SHOWN))
        text = "\n".join(lines)
    else:
        kb = runtime.engine.kb
        text = runtime.staff_text("staff_reload_done", services=len(kb.services),
                                  faq=len(kb.faq))
    log.info("reload by admin result=%s", "refused" if errors else "ok")
    await _reply(update, context, text)


handlers: list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]] = [
    CommandHandler("stats", stats, filters=filters.ChatType.GROUPS),
    CommandHandler("herlaad", reload_kb, filters=filters.ChatType.GROUPS),
]
