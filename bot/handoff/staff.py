"""What meedenkers see in the staff group: request cards, topic titles, the queue. No Telegram.

Staff texts are Dutch: the meedenkers are Dutch-speaking volunteers and professionals. The
resident's language is on the card, so a meedenker knows to answer in English.
"""

from __future__ import annotations

import datetime as dt

from bot.clock import AMSTERDAM
from bot.storage import Request

CLAIM, RELEASE = "q:claim:", "q:release:"
MAX_TOPIC_TITLE = 128  # Telegram's limit for a forum topic name
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "Engels (antwoord in het Engels)"}
MOMENT_NAMES = {"ochtend": "in de ochtend", "middag": "in de middag", "avond": "in de avond"}


def topic_title(request: Request) -> str:
    """'#12 · Mantelzorg · Ans', or '#12 · Mantelzorg' for an anonymous resident."""
    shared = request.shared_data
    parts = [f"#{request.id}"]
    if request.urgent:
        parts[0] = f"🔴 #{request.id}"
    parts.append(str(shared.get("topic") or "Vraag").capitalize())
    if request.name:
        parts.append(request.name)
    return " · ".join(parts)[:MAX_TOPIC_TITLE]


def waited(request: Request, now: float) -> str:
    """'3 min' or '2 uur 5 min' since the request was made."""
    minutes = max(0, int((now - request.created_at) // 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} uur {minutes % 60} min"


def request_card(request: Request, now: float) -> str:
    """Everything a meedenker needs, so the resident never has to tell it twice."""
    shared = request.shared_data
    created = dt.datetime.fromtimestamp(request.created_at, AMSTERDAM)
    lines = [
        f"{'🔴 SPOED: crisissignaal' if request.urgent else '🆕'} Aanvraag #{request.id}",
        f"Onderwerp: {shared.get('topic') or '—'}",
        f"Gemeente: {shared.get('gemeente') or '—'} · Taal: "
        f"{LANGUAGE_NAMES.get(str(shared.get('lang')), shared.get('lang'))}",
        f"Naam: {request.name or 'anoniem'}",
    ]
    if shared.get("answers"):
        lines.append(f"Antwoorden: {' › '.join(shared['answers'])}")
    if shared.get("message"):
        lines.append(f"Bericht van de inwoner: “{shared['message']}”")
    if shared.get("found"):
        lines.append(f"Voorgesteld door de bot: {', '.join(shared['found'])}")
    lines.append(f"Sinds {created:%d-%m %H:%M} (wacht {waited(request, now)})")
    if request.callback_phone:
        moment = MOMENT_NAMES.get(request.callback_moment or "", "moment nog niet gekozen")
        lines.append(f"📞 Terugbellen: {request.callback_phone}, {moment}")
    else:
        lines.append("📞 Terugbellen: nee")
    lines.append(status_line(request))
    return "\n".join(lines)


def status_line(request: Request) -> str:
    """Who holds the request, in one line."""
    if request.status == "claimed":
        return f"Status: opgepakt door {request.claimed_name}"
    if request.status == "closed":
        return "Status: afgesloten"
    return "Status: wacht op een meedenker"


def card_buttons(request: Request) -> dict[str, object] | None:
    """'Ik pak dit op' while waiting, 'Teruggeven' once claimed, nothing when closed."""
    if request.status == "waiting":
        return {"inline_keyboard": [[{"text": "🙋 Ik pak dit op",
                                      "callback_data": f"{CLAIM}{request.id}"}]]}
    if request.status == "claimed":
        return {"inline_keyboard": [[{"text": "↩️ Teruggeven",
                                      "callback_data": f"{RELEASE}{request.id}"}]]}
    return None


def queue_overview(requests: list[Request], now: float) -> str:
    """/wachtrij: open requests and callback wishes, crises first, with age and status."""
    if not requests:
        return "De wachtrij is leeg. 🌿"
    lines = ["Open aanvragen:"]
    for request in requests:
        flag = "🔴 " if request.urgent else ""
        callback = " · 📞 terugbellen" if request.callback_phone else ""
        who = (f"opgepakt door {request.claimed_name}" if request.status == "claimed"
               else "wacht")
        lines.append(f"{flag}#{request.id} · {request.shared_data.get('topic') or 'vraag'} · "
                     f"{waited(request, now)} · {who}{callback}")
    return "\n".join(lines)
