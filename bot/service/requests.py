"""A meedenker's requests: claim, release, relay a reply, and finish (/klaar, /terug).

The staff handlers only translate Telegram updates into these calls; the rules live here.
Each call runs inside the handler's write transaction and queues its messages there.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.engine.conversation import State
from bot.handoff.dialog import HandoffEngine
from bot.service.runtime import Runtime
from bot.service.staff_notes import note_and_card
from bot.stats.counting import count_claim
from bot.storage import Outgoing, Request, Writer

log = logging.getLogger("wegwijzer.staff")


async def claim(writer: Writer, runtime: Runtime, request: Request, user_id: int,
                name: str) -> str:
    """'Ik pak dit op': the answer for the meedenker who tapped it."""
    if not await writer.claim(request.id, user_id, name):
        return runtime.staff_text("staff_already_claimed", number=request.id,
                                  name=request.claimed_name)
    claimed = await writer.request(request.id) or request
    await count_claim(writer, (claimed.claimed_at or runtime.clock.now()) - claimed.created_at)
    await _tell_resident(writer, runtime, claimed, "handoff_claimed", name=name)
    await writer.add_outgoing(note_and_card(runtime, claimed, "staff_claim_note", name=name))
    log.info("request claimed request=%d", request.id)
    return runtime.staff_text("staff_claimed", number=request.id)


async def release(writer: Writer, runtime: Runtime, request: Request, user_id: int) -> str:
    """'Teruggeven': back in the queue, with a new reminder; the answer for the meedenker."""
    reminder = runtime.engine.kb.gemeente.team.reminder_minutes * 60
    if not await writer.release(request.id, user_id, runtime.clock.now() + reminder):
        holder = request.claimed_name or runtime.staff_text("staff_whoever_claimed")
        return runtime.staff_text("staff_release_not_yours", name=holder, number=request.id)
    await _tell_resident(writer, runtime, request, "handoff_released")
    await writer.add_outgoing(note_and_card(runtime, request, "staff_released_note"))
    log.info("request released request=%d", request.id)
    return runtime.staff_text("staff_released", number=request.id)


def holder_problem(runtime: Runtime, request: Request, user_id: int) -> str | None:
    """Why this meedenker may not reach the request's resident, or None when they may."""
    if request.status == "claimed" and request.claimed_by == user_id:
        return None
    holder = (runtime.staff_text("staff_held_by", number=request.id, name=request.claimed_name)
              if request.status == "claimed" else
              runtime.staff_text("staff_claim_first", number=request.id))
    return runtime.staff_text("staff_not_relayed", holder=holder)


async def relay(writer: Writer, request: Request, *, text: str | None, from_chat_id: int,
                message_id: int) -> None:
    """The meedenker's reply to the resident: text with their name, anything else copied."""
    if text:  # the resident sees who writes
        await writer.add_outgoing([Outgoing(request.chat_id, "sendMessage", {
            "chat_id": request.chat_id, "text": f"💬 {request.claimed_name}: {text}"})])
        return
    await writer.add_outgoing([Outgoing(request.chat_id, "copyMessage", {
        "chat_id": request.chat_id, "from_chat_id": from_chat_id, "message_id": message_id})])


async def finish(writer: Writer, runtime: Runtime, request: Request, *, back_to_bot: bool,
                 note: str = "") -> None:
    """/klaar asks the resident for a rating; /terug hands them back to the bot with a note."""
    if not await writer.close_request(request.id):
        return
    engine = runtime.engine
    assert isinstance(engine, HandoffEngine)
    state = State.from_json(await writer.load_state(request.chat_id))
    if back_to_bot:
        turn = engine.back_to_bot(state, request.claimed_name or "", note)
    else:
        turn = engine.ended(replace(state, request_id=request.id))
    done = "staff_back_to_bot" if back_to_bot else "staff_finished"
    await writer.save_state(request.chat_id, turn.state.to_json())
    await writer.add_outgoing([*runtime.render(request.chat_id, turn.replies),
                               *note_and_card(runtime, request, done)])
    log.info("request closed request=%d by=staff", request.id)


async def _tell_resident(writer: Writer, runtime: Runtime, request: Request, key: str,
                         **values: object) -> None:
    state = State.from_json(await writer.load_state(request.chat_id))
    text = runtime.engine.texts.get(key, state.lang, **values)
    await writer.add_outgoing([Outgoing(request.chat_id, "sendMessage",
                                        {"chat_id": request.chat_id, "text": text})])
