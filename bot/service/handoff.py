"""The channel side of the warm handoff: store the request, queue its card, relay messages,
and keep ratings and callback wishes. The dialog itself is the engine's (bot/handoff)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.engine.conversation import Reply, State, Turn
from bot.engine.effects import CrisisScreen
from bot.handoff.effects import (
    HANDOFF_EFFECTS,
    Callback,
    CallbackMoment,
    CloseRequest,
    OpenRequest,
    Rating,
    Relay,
    Remark,
    RequestDraft,
)
from bot.service.runtime import Runtime
from bot.service.staff_notes import note_and_card
from bot.storage import Outgoing, Request, Writer

# A crisis while connected marks the request urgent, so it is the channel's business too.
CHANNEL_EFFECTS = (*HANDOFF_EFFECTS, CrisisScreen)
NUMBER_PLACEHOLDER = "{number}"


@dataclass(frozen=True)
class Origin:
    """Where a resident's turn came from, in channel-neutral terms."""

    chat_id: int
    first_name: str | None = None  # only stored when the resident agreed to share it
    message_id: int | None = None  # the message to relay to the staff group


def needs_handoff(turn: Turn) -> bool:
    """Whether the turn has effects that the handoff must carry out."""
    return any(isinstance(effect, CHANNEL_EFFECTS) for effect in turn.effects)


async def apply_handoff(
    writer: Writer, runtime: Runtime, origin: Origin, before: State, turn: Turn,
) -> tuple[State, tuple[Reply, ...], list[Outgoing]]:
    """Carry out the handoff effects of one turn inside its transaction.

    Returns the new state, the replies with the request number filled in, and the messages
    for the staff group (to queue after the replies).
    """
    state, replies, staff_calls = turn.state, turn.replies, []
    # A closing turn (a remark, say) may already have let go of the request number.
    request_id = state.request_id or before.request_id
    request = await writer.request(request_id) if request_id else None
    for effect in turn.effects:
        if isinstance(effect, OpenRequest):
            request = await _open(writer, runtime, origin, effect.draft)
            state = replace(state, request_id=request.id)
            replies = _with_number(replies, request.id)
            staff = runtime.staff_chat_id()
            staff_calls.append(Outgoing(staff, "sendMessage", {"chat_id": staff, "_kind": "card"},
                                        request.id))
            continue
        # A rating or remark may come after the request closed; nothing else may.
        if request is None or (request.status == "closed"
                               and not isinstance(effect, (Rating, Remark))):
            continue
        match effect:
            case Relay() if origin.message_id is not None:
                staff_calls.append(Outgoing(runtime.staff_chat_id(), "copyMessage", {
                    "chat_id": runtime.staff_chat_id(), "from_chat_id": origin.chat_id,
                    "message_id": origin.message_id, "_kind": "relay"}, request.id))
            case CrisisScreen() if state.handoff == "connected" and not request.urgent:
                await writer.update_request(request.id, urgent=1)
                staff_calls += note_and_card(runtime, request, "staff_crisis_note")
            case CloseRequest():
                if await writer.close_request(request.id):
                    staff_calls += note_and_card(runtime, request, "staff_resident_stopped")
            case Rating(value=value):
                await writer.update_request(request.id, rating=value)
            case Remark(text=text):
                await writer.update_request(request.id, remark=text)
            case Callback(phone=phone):
                await writer.update_request(request.id, callback_phone=phone)
            case CallbackMoment(moment=moment):
                await writer.update_request(request.id, callback_moment=moment)
                staff_calls += note_and_card(runtime, request, "staff_callback_note",
                                             moment=moment)
    return state, replies, staff_calls


async def _open(
    writer: Writer, runtime: Runtime, origin: Origin, draft: RequestDraft,
) -> Request:
    name = origin.first_name if draft.share_name else None
    reminder = runtime.engine.kb.gemeente.team.reminder_minutes * 60
    return await writer.insert_request(origin.chat_id, draft.to_json(), name=name,
                                       urgent=draft.urgent,
                                       remind_at=runtime.clock.now() + reminder)


def _with_number(replies: tuple[Reply, ...], number: int) -> tuple[Reply, ...]:
    """The engine wrote "{number}" where the request's number goes; it is known now."""
    return tuple(replace(reply, text=reply.text.replace(NUMBER_PLACEHOLDER, str(number)))
                 for reply in replies)
