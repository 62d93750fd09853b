"""The staff group: claim and release, relay replies to the resident, /klaar, /terug,
/notitie, /wachtrij. Only the meedenker who holds a request can reach its resident."""

from __future__ import annotations

from telegram import ChatMember, Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.engine.callbacks import CLAIM, RELEASE, STAFF_BUTTON_PATTERN
from bot.handoff.staff import queue_overview
from bot.service import requests
from bot.service.runtime import Runtime
from bot.storage import Outgoing, Request, Writer
from bot.telegram.handlers.runtime import runtime_of
from bot.telegram.handlers.turn import turn

MEMBERSHIP_SECONDS = 60.0  # how long a membership answer is trusted


def _in_staff_chat(update: Update, runtime: Runtime) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id == runtime.settings.staff_chat_id


async def staff_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """'Ik pak dit op' and 'Teruggeven' on a request card."""
    runtime = runtime_of(context)
    query = update.callback_query
    if query is None or query.data is None or not _in_staff_chat(update, runtime):
        return  # staff buttons do nothing anywhere else
    action, _, number = query.data.rpartition(":")
    if not number.isdigit():
        return
    user = query.from_user
    staff = runtime.staff_chat_id()
    member = await _still_member(context, runtime, user.id)  # asked before the write lock
    async with turn(update, context) as writer:
        if writer is None:
            return
        request = await writer.request(int(number))
        if not member:
            answer = runtime.staff_text("staff_not_member")
        elif request is None or request.status == "closed":
            answer = runtime.staff_text("staff_request_closed")
        elif f"{action}:" == CLAIM:
            answer = await requests.claim(writer, runtime, request, user.id, user.first_name)
        elif f"{action}:" == RELEASE:
            answer = await requests.release(writer, runtime, request, user.id)
        else:
            return
        await writer.add_outgoing([Outgoing(staff, "answerCallbackQuery", {
            "callback_query_id": query.id, "text": answer, "show_alert": True})])


async def staff_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in the staff group: a command, an internal note, or a reply to relay."""
    runtime = runtime_of(context)
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or user.is_bot or not _in_staff_chat(update, runtime):
        return
    text = message.text or ""
    command = text.split()[0].lstrip("/").split("@")[0].lower() if text.startswith("/") else ""
    member = await _still_member(context, runtime, user.id)  # asked before the write lock
    async with turn(update, context) as writer:
        if writer is None or not member:
            return  # someone who left the group reaches no resident
        if command == "wachtrij":
            overview = queue_overview(await writer.open_requests(), runtime.clock.now(),
                                      runtime.engine.texts)
            await writer.add_outgoing([_answer_here(runtime, message, overview)])
        else:
            request = await _request_of(writer, message)
            if request is not None and request.status != "closed":
                await _act(writer, runtime, message, request, command, user.id)
            elif request is None and not command and not text.startswith("#"):
                await _point_the_way(writer, runtime, message, user.id)


async def _point_the_way(writer: Writer, runtime: Runtime, message: Message,
                         user_id: int) -> None:
    """A meedenker who holds a request wrote a message that reaches nobody: say how."""
    held = [r for r in await writer.open_requests()
            if r.status == "claimed" and r.claimed_by == user_id]
    if not held:
        return  # colleagues talking among themselves
    numbers = ", ".join(f"#{r.id}" for r in held)
    await writer.add_outgoing([_answer_here(
        runtime, message, runtime.staff_text("staff_nobody_reached", numbers=numbers))])


async def _still_member(context: ContextTypes.DEFAULT_TYPE, runtime: Runtime,
                        user_id: int) -> bool:
    """Whether the user is still in the staff group; asked at most once a minute per user."""
    now = runtime.clock.now()
    known = runtime.members.get(user_id)
    if known is not None and known[1] > now:
        return known[0]
    try:
        status = (await context.bot.get_chat_member(runtime.staff_chat_id(), user_id)).status
    except TelegramError:
        return True  # Telegram cannot say now: do not lock a meedenker out on a hiccup
    member = status not in (ChatMember.LEFT, ChatMember.BANNED)
    runtime.members[user_id] = (member, now + MEMBERSHIP_SECONDS)
    return member


async def _request_of(writer: Writer, message: Message) -> Request | None:
    """The request a staff message is about: its forum topic, or the message it replies to."""
    if message.is_topic_message and message.message_thread_id:
        request = await writer.request_by_thread(message.message_thread_id)
        if request is not None:
            return request
    if message.reply_to_message is not None:
        return await writer.request_by_staff_message(message.reply_to_message.message_id)
    return None


async def _act(writer: Writer, runtime: Runtime, message: Message, request: Request,
               command: str, user_id: int) -> None:
    text = message.text or message.caption or ""
    if command == "notitie" or (not command and text.startswith("#")):
        return  # internal: stays in the staff group
    problem = requests.holder_problem(runtime, request, user_id)
    if problem is not None:
        await writer.add_outgoing([_answer_here(runtime, message, problem)])
    elif command in ("klaar", "terug"):
        await requests.finish(writer, runtime, request, back_to_bot=command == "terug",
                              note=(message.text or "").partition(" ")[2].strip())
    elif command:
        await writer.add_outgoing([_answer_here(
            runtime, message, runtime.staff_text("staff_unknown_command"))])
    else:
        await requests.relay(writer, request, text=message.text, from_chat_id=message.chat_id,
                             message_id=message.message_id)


def _answer_here(runtime: Runtime, message: Message, text: str) -> Outgoing:
    """A bot message in the same place as the staff message: its topic, or as a reply."""
    staff = runtime.staff_chat_id()
    params: dict[str, object] = {"chat_id": staff, "text": text}
    if message.is_topic_message and message.message_thread_id:
        params["message_thread_id"] = message.message_thread_id
    else:
        params["reply_parameters"] = {"message_id": message.message_id,
                                      "allow_sending_without_reply": True}
    return Outgoing(staff, "sendMessage", params)


# Registered in their own handler group (see handlers/__init__.py), so that in other groups
# the ordinary handlers still run when these decide the update is not theirs.
handlers: list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]] = [
    CallbackQueryHandler(staff_button, pattern=STAFF_BUTTON_PATTERN),
    MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
                   & ~filters.StatusUpdate.ALL, staff_message),
]
