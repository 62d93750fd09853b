"""The prologue every writing handler shares: one transaction that also closes the update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.ext import ContextTypes

from bot.engine.conversation import State
from bot.storage import Writer
from bot.telegram.handlers.runtime import runtime_of


@asynccontextmanager
async def turn(update: Update, context: ContextTypes.DEFAULT_TYPE) -> AsyncIterator[Writer | None]:
    """A writer for this update, or None when the update was handled before (a replay).

    Everything queued on the writer commits with the update id and goes to the sender after
    the commit, so a crash never sends a reply twice nor loses one.
    """
    runtime = runtime_of(context)
    async with runtime.storage.write() as writer:
        yield writer if await writer.close_update(update.update_id) else None
    runtime.send(writer.items)


@asynccontextmanager
async def resident_turn(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        ) -> AsyncIterator[tuple[Writer, int, State] | None]:
    """Like `turn`, for a resident's private chat: the writer, the chat id and their state;
    None for a replay or an update without a chat."""
    chat = update.effective_chat
    async with turn(update, context) as writer:
        if writer is None or chat is None:
            yield None
        else:
            yield writer, chat.id, State.from_json(await writer.load_state(chat.id))
