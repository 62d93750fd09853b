"""The prologue every writing handler shares: one transaction that also closes the update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.ext import ContextTypes

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
