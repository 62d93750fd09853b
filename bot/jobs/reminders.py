"""Announce requests nobody has claimed again, and tell the resident honestly.

Deadlines live in the database (requests.remind_at), so a restart loses none.
"""

from __future__ import annotations

import logging

from bot.engine.callbacks import CLAIM
from bot.engine.conversation import State
from bot.engine.hours import opening_status
from bot.handoff.staff import waited
from bot.jobs.periodic import Every
from bot.service.runtime import Runtime
from bot.service.staff_notes import staff_note
from bot.storage import Outgoing

log = logging.getLogger(__name__)


class Reminders(Every):
    """Checks every `interval` seconds for requests whose reminder is due."""

    def __init__(self, runtime: Runtime, *, interval: float = 15.0) -> None:
        super().__init__("reminders", interval, lambda: self.remind_due(runtime.clock.now()))
        self._runtime = runtime

    async def remind_due(self, now: float) -> int:
        """Send the reminders that are due; returns how many."""
        runtime = self._runtime
        team = runtime.engine.kb.gemeente.team
        interval = team.reminder_minutes * 60
        # Opening hours follow the engine's clock; deadlines are wall-clock seconds.
        status = opening_status(team.hours, runtime.engine.now()) if team.hours else None
        reminded = 0
        async with runtime.storage.write() as writer:
            due = await writer.due_reminders(now)
            for request in due:
                if status is not None and not status.open_now:
                    # Nobody can pick it up now; remind shortly after the team opens.
                    opens = status.next_open.timestamp() if status.next_open else now + 3600
                    await writer.update_request(request.id, remind_at=opens + interval)
                    continue
                await writer.update_request(request.id, remind_at=now + interval)
                staff = runtime.staff_chat_id()
                how_long = waited(request, now, runtime.engine.texts)
                note = staff_note(runtime, request, runtime.staff_text(
                    "staff_reminder", number=request.id, waited=how_long))
                note.params["reply_markup"] = {"inline_keyboard": [[{
                    "text": runtime.staff_text("staff_claim_button"),
                    "callback_data": f"{CLAIM}{request.id}"}]]}
                lang = State.from_json(await writer.load_state(request.chat_id)).lang
                text = runtime.engine.texts.get("handoff_reminder", lang, team_name=team.name,
                                                team_phone=team.phone or "-")
                await writer.add_outgoing([
                    Outgoing(staff, note.method, note.params, note.request_id),
                    Outgoing(request.chat_id, "sendMessage",
                             {"chat_id": request.chat_id, "text": text})])
                reminded += 1
        runtime.send(writer.items)
        return reminded
