"""The one path from a resident's update to the engine and back: load, handle, commit, send."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.engine.conversation import Choice, Event, Start, State
from bot.handoff.dialog import YES
from bot.service.runtime import Runtime
from bot.stats.counting import count_turn, turn_counts
from bot.storage import Outgoing
from bot.telegram.handlers.handoff import apply_handoff
from bot.telegram.handlers.runtime import runtime_of
from bot.telegram.render import messages_for

log = logging.getLogger("wegwijzer.turn")


HANDOFF_EFFECTS = frozenset({"open_request", "relay", "close_request", "rating", "remark",
                             "callback", "callback_moment", "crisis"})


async def respond(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    """Run one engine step and commit state, replies and the update id in one transaction."""
    chat = update.effective_chat
    if chat is None:
        return
    runtime = runtime_of(context)
    saved = await runtime.storage.load_state(chat.id)
    state = State.from_json(saved) if saved else _first_state(update)
    ahead = 0
    if isinstance(event, Choice) and event.token == YES and state.handoff == "consent":
        ahead = await runtime.storage.waiting_ahead(urgent=state.urgent)
    turn = runtime.engine.handle(state, event, queue_ahead=ahead)
    outgoing = messages_for(chat.id, turn.replies)
    if update.callback_query is not None:
        # Stops the spinner on the button; sent first, through the same ordered outbox.
        answer = Outgoing(chat.id, "answerCallbackQuery",
                          {"callback_query_id": update.callback_query.id})
        outgoing.insert(0, answer)
    new_state = turn.state
    new_conversation = saved is None or isinstance(event, Start)
    if any(effect.kind in HANDOFF_EFFECTS for effect in turn.effects):
        async with runtime.storage.write() as writer:
            if not await writer.close_update(update.update_id):
                _log_duplicate(runtime, chat.id)
                return
            new_state = await apply_handoff(writer, runtime, update, state, turn, outgoing)
            await count_turn(writer, new_conversation=new_conversation, turn=turn)
            await writer.save_state(chat.id, new_state.to_json())
            await writer.add_outgoing(outgoing)
        items = writer.items
    else:  # most turns: written together with the turns of other residents
        written = await runtime.storage.commit_turn(
            update.update_id, chat_id=chat.id, state=new_state.to_json(), outgoing=outgoing,
            counts=turn_counts(new_conversation=new_conversation, turn=turn))
        if written is None:
            _log_duplicate(runtime, chat.id)
            return
        items = written
    runtime.send(items)
    for effect in turn.effects:
        if effect.kind == "not_understood":
            # Scrubbed first; linked only to a keyed pseudonym, so /vergeet can erase it.
            runtime.keep_unanswered(effect.detail, runtime.pseudonym(chat.id))
    # BIO2-style line: action, object, result and actor; never what the resident wrote, nor
    # what the engine made of it (a "crisis" next to a pseudonym is health data).
    if log.isEnabledFor(logging.INFO):
        log.info("turn event=%s actor=%s result=ok", type(event).__name__.lower(),
                 runtime.pseudonym(chat.id))


def _log_duplicate(runtime: Runtime, chat_id: int) -> None:
    log.info("turn skipped actor=%s result=duplicate", runtime.pseudonym(chat_id))


def _first_state(update: Update) -> State:
    """A new resident starts in English only when their Telegram app is set to English."""
    user = update.effective_user
    language = (user.language_code or "") if user else ""
    return State(lang="en" if language.startswith("en") else "nl")
