"""The resident's side of the warm handoff, in Telegram terms: store the request, post the
card, relay messages, pass on ratings and callback wishes. The dialog itself is the engine's."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update

from bot.engine.conversation import State, Turn
from bot.handoff.dialog import RequestDraft
from bot.service.runtime import Runtime
from bot.service.staff_notes import card_refresh, staff_note
from bot.storage import Outgoing, Request, Writer

NUMBER_PLACEHOLDER = "{number}"


async def apply_handoff(
    writer: Writer, runtime: Runtime, update: Update, before: State, turn: Turn,
    outgoing: list[Outgoing],
) -> State:
    """Carry out the handoff effects of one turn inside its transaction; returns the state."""
    state = turn.state
    chat_id = update.effective_chat.id if update.effective_chat else 0
    # A closing turn (a remark, say) may already have let go of the request number.
    request_id = state.request_id or before.request_id
    request = await writer.request(request_id) if request_id else None
    for effect in turn.effects:
        if effect.kind == "open_request":
            request = await _open(writer, runtime, update, effect.detail, outgoing)
            state = replace(state, request_id=request.id)
        elif request is None or (request.status == "closed" and effect.kind not in (
                "rating", "remark")):
            continue
        elif effect.kind == "relay" and update.effective_message is not None:
            outgoing.append(Outgoing(runtime.staff_chat_id(), "copyMessage", {
                "chat_id": runtime.staff_chat_id(), "from_chat_id": chat_id,
                "message_id": update.effective_message.message_id, "_kind": "relay",
            }, request.id))
        elif effect.kind == "crisis" and state.handoff == "connected" and not request.urgent:
            await writer.update_request(request.id, urgent=1)
            outgoing += [staff_note(runtime, request, runtime.staff_text(
                "staff_crisis_note", number=request.id)), card_refresh(runtime, request)]
        elif effect.kind == "close_request" and await writer.close_request(request.id):
            outgoing += [staff_note(runtime, request, runtime.staff_text(
                "staff_resident_stopped", number=request.id)), card_refresh(runtime, request)]
        elif effect.kind == "rating" and effect.detail.isdigit():
            await writer.update_request(request.id, rating=int(effect.detail))
        elif effect.kind == "remark":
            await writer.update_request(request.id, remark=effect.detail)
        elif effect.kind == "callback":
            await writer.update_request(request.id, callback_phone=effect.detail)
        elif effect.kind == "callback_moment":
            await writer.update_request(request.id, callback_moment=effect.detail)
            outgoing += [staff_note(runtime, request, runtime.staff_text(
                "staff_callback_note", number=request.id, moment=effect.detail)),
                card_refresh(runtime, request)]
    return state


async def _open(
    writer: Writer, runtime: Runtime, update: Update, detail: str, outgoing: list[Outgoing]
) -> Request:
    draft = RequestDraft.from_json(detail)
    user = update.effective_user
    name = user.first_name if draft.share_name and user is not None else None
    reminder = runtime.engine.kb.gemeente.team.reminder_minutes * 60
    request = await writer.insert_request(
        update.effective_chat.id if update.effective_chat else 0, detail, name=name,
        urgent=draft.urgent, remind_at=runtime.clock.now() + reminder)
    for index, call in enumerate(outgoing):  # the reply mentions the request's number
        text = call.params.get("text")
        if isinstance(text, str) and NUMBER_PLACEHOLDER in text:
            params = {**call.params, "text": text.replace(NUMBER_PLACEHOLDER, str(request.id))}
            outgoing[index] = replace(call, params=params)
    staff = runtime.staff_chat_id()
    outgoing.append(Outgoing(staff, "sendMessage", {"chat_id": staff, "_kind": "card"},
                             request.id))
    return request
