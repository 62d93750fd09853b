"""One resident turn: load the state, let the engine handle the event, and commit the state,
the replies, the counts and the update id in one transaction, then hand the replies to the
sender. Channel-neutral: the handler says where the turn came from."""

from __future__ import annotations

import logging

from bot.engine.callbacks import YES
from bot.engine.conversation import Choice, Event, Start, State
from bot.engine.effects import NotUnderstood
from bot.service.handoff import Origin, apply_handoff, needs_handoff
from bot.service.runtime import Runtime
from bot.stats.counting import count_turn, turn_counts
from bot.storage import Outgoing

log = logging.getLogger("wegwijzer.turn")


async def take_turn(runtime: Runtime, origin: Origin, event: Event, *, update_id: int,
                    first_state: State, lead: tuple[Outgoing, ...] = ()) -> None:
    """Handle one event for one resident, exactly once per update id.

    `first_state` is used for a resident the database does not know; `lead` are channel
    calls to send before the replies (the answer that stops a button's spinner).
    """
    chat_id = origin.chat_id
    saved = await runtime.storage.load_state(chat_id)
    state = State.from_json(saved) if saved else first_state
    ahead = 0
    if isinstance(event, Choice) and event.token == YES and state.handoff == "consent":
        ahead = await runtime.storage.waiting_ahead(urgent=state.urgent)
    turn = runtime.engine.handle(state, event, queue_ahead=ahead)
    new_conversation = saved is None or isinstance(event, Start)
    if needs_handoff(turn):
        async with runtime.storage.write() as writer:
            if not await writer.close_update(update_id):
                _log_duplicate(runtime, chat_id)
                return
            new_state, replies, staff_calls = await apply_handoff(
                writer, runtime, origin, state, turn)
            await count_turn(writer, new_conversation=new_conversation, turn=turn)
            await writer.save_state(chat_id, new_state.to_json())
            await writer.add_outgoing([*lead, *runtime.render(chat_id, replies), *staff_calls])
        items = writer.items
    else:  # most turns: written together with the turns of other residents
        written = await runtime.storage.commit_turn(
            update_id, chat_id=chat_id, state=turn.state.to_json(),
            outgoing=[*lead, *runtime.render(chat_id, turn.replies)],
            counts=turn_counts(new_conversation=new_conversation, turn=turn))
        if written is None:
            _log_duplicate(runtime, chat_id)
            return
        items = written
    runtime.send(items)
    for effect in turn.effects:
        if isinstance(effect, NotUnderstood):
            # Scrubbed first; linked only to a keyed pseudonym, so /vergeet can erase it.
            runtime.keep_unanswered(effect.text, runtime.pseudonym(chat_id))
    # BIO2-style line: action, object, result and actor; never what the resident wrote, nor
    # what the engine made of it (a "crisis" next to a pseudonym is health data).
    if log.isEnabledFor(logging.INFO):
        log.info("turn event=%s actor=%s result=ok", type(event).__name__.lower(),
                 runtime.pseudonym(chat_id))


def _log_duplicate(runtime: Runtime, chat_id: int) -> None:
    log.info("turn skipped actor=%s result=duplicate", runtime.pseudonym(chat_id))
