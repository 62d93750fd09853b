"""What meedenkers see in the staff group: request cards, topic titles, the queue. No Telegram.

Staff texts come from texts.yaml in STAFF_LANGUAGE: the meedenkers are Dutch-speaking
volunteers and professionals. The resident's language is on the card, so a meedenker knows
to answer in English.
"""

from __future__ import annotations

import datetime as dt

from bot.clock import AMSTERDAM
from bot.engine.callbacks import CLAIM, RELEASE
from bot.engine.conversation import Option
from bot.engine.texts import Texts, fitting_prefix_length, utf16_units
from bot.storage import Request

MAX_TOPIC_TITLE = 128  # Telegram's limit for a forum topic name
MAX_CARD = 4096  # Telegram's limit for a message text, in UTF-16 code units
# The meedenkers' group reads Dutch; every staff text also has English in texts.yaml.
STAFF_LANGUAGE = "nl"
MOMENTS = ("ochtend", "middag", "avond")  # the callback moments a resident can choose


def staff_text(texts: Texts, key: str, **values: object) -> str:
    """A text for the staff group."""
    return texts.get(key, STAFF_LANGUAGE, **values)


def topic_title(request: Request, texts: Texts) -> str:
    """'#12 · Mantelzorg · Ans', or '#12 · Mantelzorg' for an anonymous resident."""
    shared = request.shared_data
    parts = [f"#{request.id}"]
    if request.urgent:
        parts[0] = f"🔴 #{request.id}"
    parts.append(str(shared.get("topic") or staff_text(texts, "staff_topic_default")).capitalize())
    if request.name:
        parts.append(request.name)
    return " · ".join(parts)[:MAX_TOPIC_TITLE]


def waited(request: Request, now: float, texts: Texts) -> str:
    """'3 min' or '2 uur 5 min' since the request was made."""
    minutes = max(0, int((now - request.created_at) // 60))
    if minutes < 60:
        return staff_text(texts, "staff_waited_minutes", minutes=minutes)
    return staff_text(texts, "staff_waited_hours", hours=minutes // 60, minutes=minutes % 60)


def request_card(request: Request, now: float, texts: Texts) -> str:
    """Everything a meedenker needs, so the resident never has to tell it twice."""
    shared = request.shared_data
    created = dt.datetime.fromtimestamp(request.created_at, AMSTERDAM)
    lang = str(shared.get("lang"))
    language = (staff_text(texts, f"staff_language_{lang}") if lang in ("nl", "en")
                else lang)
    lines = [
        staff_text(texts, "staff_card_urgent" if request.urgent else "staff_card_new",
                   number=request.id),
        staff_text(texts, "staff_card_topic", topic=shared.get("topic") or "—"),
        staff_text(texts, "staff_card_place", gemeente=shared.get("gemeente") or "—",
                   language=language),
        staff_text(texts, "staff_card_name",
                   name=request.name or staff_text(texts, "staff_anonymous")),
    ]
    if shared.get("answers"):
        lines.append(staff_text(texts, "staff_card_answers", answers=" › ".join(shared["answers"])))
    if shared.get("message"):
        lines.append(staff_text(texts, "staff_card_message", message=shared["message"]))
    if shared.get("story"):
        lines.append(staff_text(texts, "staff_card_story", story="\n".join(
            f"“{message}”" for message in shared["story"])))
        story_line = len(lines) - 1
    if shared.get("found"):
        lines.append(staff_text(texts, "staff_card_found", found=", ".join(shared["found"])))
    lines.append(staff_text(texts, "staff_card_since", created=f"{created:%d-%m %H:%M}",
                            waited=waited(request, now, texts)))
    if request.callback_phone:
        moment = request.callback_moment or ""
        said = staff_text(texts, f"staff_moment_{moment if moment in MOMENTS else 'unknown'}")
        lines.append(staff_text(texts, "staff_card_callback", phone=request.callback_phone,
                                moment=said))
    else:
        lines.append(staff_text(texts, "staff_card_no_callback"))
    lines.append(status_line(request, texts))
    card = "\n".join(lines)
    over = utf16_units(card) - MAX_CARD
    if over > 0 and shared.get("story"):  # the resident's own words give way first
        story = lines[story_line]
        lines[story_line] = _cut(story, max(0, utf16_units(story) - over - 1))
        card = "\n".join(lines)
    return card if utf16_units(card) <= MAX_CARD else _cut(card, MAX_CARD - 1)


def _cut(text: str, units: int) -> str:
    """The start of `text` that fits in `units` UTF-16 code units, and an ellipsis."""
    return text[:fitting_prefix_length(text, units)] + "…"


def status_line(request: Request, texts: Texts) -> str:
    """Who holds the request, in one line."""
    if request.status == "claimed":
        return staff_text(texts, "staff_status_claimed", name=request.claimed_name)
    if request.status == "closed":
        return staff_text(texts, "staff_status_closed")
    return staff_text(texts, "staff_status_waiting")


def card_buttons(request: Request, texts: Texts) -> tuple[Option, ...]:
    """'Ik pak dit op' while waiting, 'Teruggeven' once claimed, nothing when closed."""
    if request.status == "waiting":
        return (Option(staff_text(texts, "staff_claim_button"), f"{CLAIM}{request.id}"),)
    if request.status == "claimed":
        return (Option(staff_text(texts, "staff_release_button"), f"{RELEASE}{request.id}"),)
    return ()


def queue_overview(requests: list[Request], now: float, texts: Texts) -> str:
    """/wachtrij: open requests and callback wishes, crises first, with age and status."""
    if not requests:
        return staff_text(texts, "staff_queue_empty")
    lines = [staff_text(texts, "staff_queue_title")]
    for request in requests:
        flag = "🔴 " if request.urgent else ""
        callback = staff_text(texts, "staff_queue_callback") if request.callback_phone else ""
        who = (staff_text(texts, "staff_queue_claimed", name=request.claimed_name)
               if request.status == "claimed" else staff_text(texts, "staff_queue_waiting"))
        topic = request.shared_data.get("topic") or staff_text(texts, "staff_queue_topic_default")
        lines.append(f"{flag}#{request.id} · {topic} · {waited(request, now, texts)} · "
                     f"{who}{callback}")
    return "\n".join(lines)
