"""The one error handler: log the failure without content, and tell the resident kindly."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.ext import ContextTypes

from bot.engine.conversation import Reply, State
from bot.telegram.handlers.runtime import runtime_of
from bot.telegram.render import messages_for

log = logging.getLogger("wegwijzer.errors")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log where it failed (type, file, line: never the message); apologise to the resident."""
    error = context.error
    where = "?"
    if error is not None and error.__traceback__ is not None:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update failed update_id=%s error=%s at=%s", update_id,
              type(error).__name__, where)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    if chat.type != "private":
        return
    runtime = runtime_of(context)
    state_json = await runtime.storage.load_state(chat.id)
    lang = State.from_json(state_json).lang
    team = runtime.engine.kb.gemeente.team
    text = runtime.engine.texts.get("error", lang, team_name=team.name,
                                    team_phone=team.phone or "-")
    apology = messages_for(chat.id, [Reply(text)])
    # Committed with the update id, so a failing update is closed and apologised for once.
    items = await runtime.storage.commit_turn(update.update_id, outgoing=apology)
    runtime.send(items or ())
