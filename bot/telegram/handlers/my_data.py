"""/mijngegevens shows what is stored about the resident; /vergeet erases it (AVG art. 15, 17)."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.clock import AMSTERDAM
from bot.engine.callbacks import FORGET_NO, FORGET_YES
from bot.engine.conversation import State
from bot.service.runtime import Runtime
from bot.storage import ERASE_TRACES, THEN, Outgoing, Request
from bot.telegram.handlers.runtime import runtime_of
from bot.telegram.handlers.turn import resident_turn

log = logging.getLogger("wegwijzer.privacy")


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List, in plain words, everything stored about this resident."""
    async with resident_turn(update, context) as here:
        if here is None:
            return
        writer, chat_id, state = here
        text = describe(runtime_of(context), state, await writer.requests_of(chat_id))
        await writer.add_outgoing([Outgoing(chat_id, "sendMessage",
                                            {"chat_id": chat_id, "text": text})])


def describe(runtime: Runtime, state: State, requests: list[Request]) -> str:
    """The /mijngegevens text in the resident's language."""
    texts, lang = runtime.engine.texts, state.lang
    items = [texts.get("my_data_language", lang,
                       value="Nederlands" if lang == "nl" else "English")]
    if state.trail:
        items.append(texts.get("my_data_choices", lang, value=" › ".join(state.trail)))
    if state.found:
        items.append(texts.get("my_data_found", lang, value=", ".join(state.found)))
    if state.pending:
        items.append(texts.get("my_data_pending", lang, value=state.pending))
    if state.story:
        items.append(texts.get("my_data_story", lang,
                               value=" / ".join(f"“{m}”" for m in state.story)))
    for request in requests:
        shared = request.shared_data
        parts = [p for p in (shared.get("topic"), *shared.get("answers", []),
                             shared.get("message"), *shared.get("story", [])) if p]
        if request.name:
            parts.append(request.name)
        date = dt.datetime.fromtimestamp(request.created_at, AMSTERDAM).strftime("%d-%m-%Y")
        items.append(texts.get(
            "my_data_request", lang, number=request.id, date=date,
            status=texts.get(f"request_status_{request.status}", lang),
            shared="; ".join(str(p) for p in parts) or "-"))
        if request.callback_phone:
            moment = f" ({request.callback_moment})" if request.callback_moment else ""
            items.append(texts.get("my_data_callback", lang, number=request.id,
                                   phone=f"{request.callback_phone}{moment}"))
        if shared.get("gemeente"):
            items.append(texts.get("my_data_gemeente", lang, number=request.id,
                                   value=shared["gemeente"]))
        if request.urgent:
            items.append(texts.get("my_data_urgent", lang, number=request.id))
        if request.rating is not None:
            remark = f" — “{request.remark}”" if request.remark else ""
            items.append(texts.get("my_data_rating", lang, number=request.id,
                                   value=f"{request.rating}{remark}"))
    if len(items) == 1:
        items.append(texts.get("my_data_nothing", lang))
    days = runtime.engine.kb.gemeente.privacy.retention_days
    return texts.get("my_data", lang, items="\n".join(items), days=days)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask once before erasing: a mistaken tap must not end an open conversation."""
    texts = runtime_of(context).engine.texts
    async with resident_turn(update, context) as here:
        if here is None:
            return
        writer, chat_id, state = here
        lang = state.lang
        markup = {"inline_keyboard": [
            [{"text": texts.get("button_forget_yes", lang), "callback_data": FORGET_YES}],
            [{"text": texts.get("button_forget_no", lang), "callback_data": FORGET_NO}]]}
        await writer.add_outgoing([Outgoing(chat_id, "sendMessage", {
            "chat_id": chat_id, "text": texts.get("forget_confirm", lang),
            "reply_markup": markup})])


async def forget_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase everything (requests, state, links, topic) or keep it, and say so."""
    runtime = runtime_of(context)
    chat, query = update.effective_chat, update.callback_query
    if chat is None or query is None or chat.type != "private":
        return
    texts = runtime.engine.texts
    async with resident_turn(update, context) as here:
        if here is None:
            return
        writer, _, state = here
        lang = state.lang
        answer = Outgoing(chat.id, "answerCallbackQuery", {"callback_query_id": query.id})
        if query.data != FORGET_YES:
            await writer.add_outgoing([answer, Outgoing(chat.id, "sendMessage", {
                "chat_id": chat.id, "text": texts.get("forget_kept", lang)})])
        else:
            copies = await writer.staff_messages_of(chat.id)
            requests = await writer.forget_resident(chat.id, owner=runtime.pseudonym(chat.id))
            staff_calls = [call for request in requests
                           for call in _erase_in_staff_group(runtime, request)]
            staff_calls += _delete_copies(runtime, requests, copies)
            # The sender folds the WAL once this last row that names the resident is gone.
            await writer.add_outgoing([answer, *staff_calls, Outgoing(chat.id, "sendMessage", {
                "chat_id": chat.id, "text": texts.get("forget_done", lang),
                THEN: ERASE_TRACES})])
    if query.data == FORGET_YES:
        log.info("resident erased actor=%s", runtime.pseudonym(chat.id))


def _delete_copies(runtime: Runtime, requests: list[Request], copies: list[int]) -> list[Outgoing]:
    """In a group without topics, the messages copied under the card go too."""
    staff = runtime.settings.staff_chat_id
    if staff is None or any(r.thread_id is not None for r in requests):
        return []  # deleting a topic already removed everything in it
    cards = {r.card_message_id for r in requests}
    return [Outgoing(staff, "deleteMessage", {"chat_id": staff, "message_id": message_id})
            for message_id in copies if message_id not in cards]


def _erase_in_staff_group(runtime: Runtime, request: Request) -> list[Outgoing]:
    """Remove the request's topic (or card), and tell the meedenkers why it is gone."""
    staff = runtime.settings.staff_chat_id
    if staff is None:
        return []
    calls = []
    if request.thread_id is not None:
        calls.append(Outgoing(staff, "deleteForumTopic",
                              {"chat_id": staff, "message_thread_id": request.thread_id}))
    elif request.card_message_id is not None:
        calls.append(Outgoing(staff, "deleteMessage",
                              {"chat_id": staff, "message_id": request.card_message_id}))
    if request.status != "closed":
        calls.append(Outgoing(staff, "sendMessage", {"chat_id": staff, "text": (
            runtime.staff_text("staff_resident_erased", number=request.id))}))
    return calls


handlers = [
    CommandHandler("mijngegevens", my_data, filters=filters.ChatType.PRIVATE),
    CommandHandler("vergeet", forget, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(forget_answer, pattern=r"^v:(yes|no)$"),
]
