"""Engine replies as Bot API calls: merged, split at Telegram's limit, with inline keyboards."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.engine.conversation import Option, Reply
from bot.engine.texts import fitting_prefix_length, utf16_units
from bot.storage import Outgoing

MAX_MESSAGE_UNITS = 4096  # Telegram's limit, counted in UTF-16 code units
MAX_CALLBACK_BYTES = 64


def split_text(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Pieces of at most `limit` UTF-16 units, cut at a paragraph, line or space if possible."""
    pieces: list[str] = []
    rest = text
    while utf16_units(rest) > limit:
        # The longest prefix that fits; slicing a str never cuts a code point in half.
        end = fitting_prefix_length(rest, limit)
        window = rest[:end]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < end // 2:  # no sensible boundary: cut hard rather than send tiny pieces
            cut = end
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def keyboard(options: Iterable[Option]) -> dict[str, Any] | None:
    """One button per row: labels are long, and thumbs are big."""
    rows = []
    for option in options:
        if len(option.token.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {option.token!r}")
        rows.append([{"text": option.label, "callback_data": option.token}])
    return {"inline_keyboard": rows} if rows else None


def messages_for(chat_id: int, replies: Iterable[Reply]) -> list[Outgoing]:
    """One turn as one message: the texts in order, and all their buttons below.

    On a phone, one answer with its buttons under it is easier to follow than a burst of
    messages; it also keeps a resident far from Telegram's one-message-per-second pace.
    A reply that shows or removes the "share my number" keyboard is a message of its own,
    because a Telegram message has one keyboard.
    """
    outgoing: list[Outgoing] = []
    texts: list[str] = []
    options: dict[str, Option] = {}  # by token: the same button twice is shown once

    def flush() -> None:
        if texts:
            outgoing.extend(_send(chat_id, "\n\n".join(texts), keyboard(options.values())))
        texts.clear()
        options.clear()

    for reply in replies:
        if reply.contact_button or reply.remove_keyboard:
            flush()
            outgoing.extend(_send(chat_id, reply.text, _reply_keyboard(reply)))
            continue
        texts.append(reply.text)
        for option in reply.options:
            options.setdefault(option.token, option)
    flush()
    return outgoing


def _reply_keyboard(reply: Reply) -> dict[str, Any]:
    if reply.contact_button:
        return {"keyboard": [[{"text": reply.contact_button, "request_contact": True}]],
                "resize_keyboard": True, "one_time_keyboard": True}
    return {"remove_keyboard": True}


def _send(chat_id: int, text: str, markup: dict[str, Any] | None) -> list[Outgoing]:
    pieces = split_text(text.strip() or "…")
    calls = []
    for number, piece in enumerate(pieces, start=1):
        params: dict[str, Any] = {"chat_id": chat_id, "text": piece,
                                  "link_preview_options": {"is_disabled": True}}
        if markup is not None and number == len(pieces):  # buttons under the last piece
            params["reply_markup"] = markup
        calls.append(Outgoing(chat_id, "sendMessage", params))
    return calls
