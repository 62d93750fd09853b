"""The staff group: claim and release, relay replies to the resident, /klaar, /terug,
/notitie, /wachtrij. Only the meedenker who holds a request can reach its resident."""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import ChatMember, Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.engine.conversation import Command, State
from bot.handoff.dialog import HandoffEngine
from bot.handoff.staff import CLAIM, RELEASE, queue_overview
from bot.service.runtime import Runtime
from bot.service.staff_notes import card_refresh, staff_note
from bot.stats.counting import count_claim
from bot.storage import Outgoing, Request, Writer
from bot.telegram.handlers.runtime import runtime_of
from bot.telegram.render import messages_for

log = logging.getLogger("wegwijzer.staff")
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
    async with runtime.storage.write() as writer:
        if not await writer.close_update(update.update_id):
            return
        request = await writer.request(int(number))
        if not member:
            answer = runtime.staff_text("staff_not_member")
        elif request is None or request.status == "closed":
            answer = runtime.staff_text("staff_request_closed")
        elif f"{action}:" == CLAIM:
            answer = await _claim(writer, runtime, request, user.id, user.first_name)
        elif f"{action}:" == RELEASE:
            answer = await _release(writer, runtime, request, user.id)
        else:
            return
        await writer.add_outgoing([Outgoing(staff, "answerCallbackQuery", {
            "callback_query_id": query.id, "text": answer, "show_alert": True})])
    runtime.send(writer.items)


async def _claim(writer: Writer, runtime: Runtime, request: Request, user_id: int,
                 name: str) -> str:
    if not await writer.claim(request.id, user_id, name):
        return runtime.staff_text("staff_already_claimed", number=request.id,
                                  name=request.claimed_name)
    claimed = await writer.request(request.id) or request
    await count_claim(writer, (claimed.claimed_at or runtime.clock.now()) - claimed.created_at)
    await _tell_resident(writer, runtime, claimed, "handoff_claimed", name=name)
    note = runtime.staff_text("staff_claim_note", name=name, number=request.id)
    await writer.add_outgoing([staff_note(runtime, claimed, note), card_refresh(runtime, claimed)])
    log.info("request claimed request=%d", request.id)
    return runtime.staff_text("staff_claimed", number=request.id)


async def _release(writer: Writer, runtime: Runtime, request: Request, user_id: int) -> str:
    reminder = runtime.engine.kb.gemeente.team.reminder_minutes * 60
    if not await writer.release(request.id, user_id, runtime.clock.now() + reminder):
        holder = request.claimed_name or runtime.staff_text("staff_whoever_claimed")
        return runtime.staff_text("staff_release_not_yours", name=holder, number=request.id)
    await _tell_resident(writer, runtime, request, "handoff_released")
    await writer.add_outgoing([
        staff_note(runtime, request, runtime.staff_text("staff_released_note", number=request.id)),
        card_refresh(runtime, request)])
    log.info("request released request=%d", request.id)
    return runtime.staff_text("staff_released", number=request.id)


async def _tell_resident(writer: Writer, runtime: Runtime, request: Request, key: str,
                         **values: object) -> None:
    state = State.from_json(await writer.load_state(request.chat_id))
    text = runtime.engine.texts.get(key, state.lang, **values)
    await writer.add_outgoing([Outgoing(request.chat_id, "sendMessage",
                                        {"chat_id": request.chat_id, "text": text})])


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
    async with runtime.storage.write() as writer:
        if not await writer.close_update(update.update_id) or not member:
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
    runtime.send(writer.items)


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
    if request.status != "claimed" or request.claimed_by != user_id:
        holder = (runtime.staff_text("staff_held_by", number=request.id,
                                     name=request.claimed_name)
                  if request.status == "claimed" else
                  runtime.staff_text("staff_claim_first", number=request.id))
        await writer.add_outgoing([_answer_here(
            runtime, message, runtime.staff_text("staff_not_relayed", holder=holder))])
        return
    if command == "klaar":
        await _finish(writer, runtime, request, message, back_to_bot=False)
    elif command == "terug":
        await _finish(writer, runtime, request, message, back_to_bot=True)
    elif command:
        await writer.add_outgoing([_answer_here(
            runtime, message, runtime.staff_text("staff_unknown_command"))])
    else:
        await writer.add_outgoing([_relay_to_resident(request, message)])


def _relay_to_resident(request: Request, message: Message) -> Outgoing:
    if message.text:  # the resident sees who writes
        return Outgoing(request.chat_id, "sendMessage", {
            "chat_id": request.chat_id, "text": f"💬 {request.claimed_name}: {message.text}"})
    return Outgoing(request.chat_id, "copyMessage", {
        "chat_id": request.chat_id, "from_chat_id": message.chat_id,
        "message_id": message.message_id})


async def _finish(writer: Writer, runtime: Runtime, request: Request, message: Message, *,
                  back_to_bot: bool) -> None:
    """/klaar asks the resident for a rating; /terug hands them back to the bot with a note."""
    if not await writer.close_request(request.id):
        return
    engine = runtime.engine
    state = State.from_json(await writer.load_state(request.chat_id))
    if back_to_bot:
        note = (message.text or "").partition(" ")[2].strip()
        back = engine.texts.get("handoff_back_to_bot", state.lang,
                                name=request.claimed_name or "", note=note).strip()
        state = replace(state, handoff=None, request_id=None, share_name=False)
        turn = engine.handle(state, Command("opnieuw"))
        replies = [*messages_for(request.chat_id, turn.replies)]
        replies[0] = replace(replies[0], params={
            **replies[0].params, "text": f"{back}\n\n{replies[0].params['text']}"})
        state = turn.state
        done = runtime.staff_text("staff_back_to_bot", number=request.id)
    else:
        assert isinstance(engine, HandoffEngine)
        turn = engine.ended(replace(state, request_id=request.id))
        replies, state = messages_for(request.chat_id, turn.replies), turn.state
        done = runtime.staff_text("staff_finished", number=request.id)
    await writer.save_state(request.chat_id, state.to_json())
    await writer.add_outgoing([*replies, staff_note(runtime, request, done),
                               card_refresh(runtime, request)])
    log.info("request closed request=%d by=staff", request.id)


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
    CallbackQueryHandler(staff_button, pattern=r"^q:(claim|release):\d+$"),
    MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
                   & ~filters.StatusUpdate.ALL, staff_message),
]
