"""Messages to the staff group about a request: a note in its topic, a fresh card."""

from __future__ import annotations

from bot.service.runtime import Runtime
from bot.storage import Outgoing, Request


def staff_note(runtime: Runtime, request: Request, text: str) -> Outgoing:
    """A message for the request's topic (or under its card) in the staff group."""
    staff = runtime.staff_chat_id()
    return Outgoing(staff, "sendMessage", {"chat_id": staff, "text": text, "_kind": "note"},
                    request.id)


def card_refresh(runtime: Runtime, request: Request) -> Outgoing:
    """Redraw the request's card; the sender renders it fresh at the moment it is sent."""
    staff = runtime.staff_chat_id()
    return Outgoing(staff, "editMessageText", {"chat_id": staff, "_kind": "edit_card"},
                    request.id)


def note_and_card(runtime: Runtime, request: Request, key: str,
                  **values: object) -> list[Outgoing]:
    """A staff text as a note in the request's topic, and its card redrawn."""
    text = runtime.staff_text(key, number=request.id, **values)
    return [staff_note(runtime, request, text), card_refresh(runtime, request)]
