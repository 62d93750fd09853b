"""The one path from a resident's update to a service turn: say where it came from."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.engine.conversation import Event, State
from bot.service.handoff import Origin
from bot.service.turn import take_turn
from bot.storage import Outgoing
from bot.telegram.handlers.runtime import runtime_of


async def respond(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    """Hand one resident update to the service, with the answer that stops a spinner."""
    chat = update.effective_chat
    if chat is None:
        return
    user, message, query = update.effective_user, update.effective_message, update.callback_query
    origin = Origin(chat.id, user.first_name if user else None,
                    message.message_id if message else None)
    lead = (Outgoing(chat.id, "answerCallbackQuery", {"callback_query_id": query.id}),
            ) if query is not None else ()
    await take_turn(runtime_of(context), origin, event, update_id=update.update_id,
                    first_state=_first_state(update), lead=lead)


def _first_state(update: Update) -> State:
    """A new resident starts in English only when their Telegram app is set to English."""
    user = update.effective_user
    language = (user.language_code or "") if user else ""
    return State(lang="en" if language.startswith("en") else "nl")
