"""Service cards and FAQ answers as plain text, the same for every channel."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote_plus

from bot.clock import AMSTERDAM
from bot.engine.hours import always_open, opening_status
from bot.engine.texts import Texts
from bot.kb.models import DAYS, Contact, FaqEntry, Hours, Service


def service_card(service: Service, texts: Texts, lang: str, now: dt.datetime) -> str:
    """Name, what they do, for whom, cost, contact and opening hours, one fact per line."""
    lines = [f"📍 {service.name.get(lang)}", service.summary.get(lang)]
    if service.details:
        lines.append(service.details.get(lang))
    facts = []
    if service.for_whom:
        facts.append(f"{texts.get('card_for_whom', lang)}: {service.for_whom.get(lang)}")
    if service.cost:
        facts.append(f"{texts.get('card_cost', lang)}: {service.cost.get(lang)}")
    facts += _contact_lines(service.contact, CARD_CONTACTS, texts, lang)
    facts += hours_lines(service, texts, lang, now)
    lines.append("\n".join(facts))
    if service.next_steps:
        steps = service.next_steps.get(lang)
        lines.append("\n".join([texts.get("card_next_steps", lang),
                                 *(f"{number}. {step}" for number, step in enumerate(steps, 1))]))
    if service.bring:
        lines.append(f"🎒 {texts.get('card_bring', lang)}: {service.bring.get(lang)}")
    if service.example_data:
        lines.append(f"⚠️ {texts.get('card_example_data', lang)}")
    elif service.checked:
        lines.append(texts.get("card_checked", lang, date=service.checked.strftime("%d-%m-%Y")))
    return "\n\n".join(lines)


SHORT_WORDS = 45  # the first part of an answer: what it is and the first step (issue 17)
CARD_CONTACTS = ("phone", "whatsapp", "email", "website", "address")  # the whole card
FIRST_CONTACTS = ("phone", "whatsapp", "website", "email", "address")  # the first look: one
# An address gets a map link: OpenStreetMap, which does not follow the resident around.
MAP_SEARCH = "https://www.openstreetmap.org/search?query="


def service_short(service: Service, texts: Texts, lang: str, now: dt.datetime) -> str:
    """The first look at a service: what it is, how to reach it, and whether it is open."""
    lines = [f"📍 {service.name.get(lang)}", service.summary.get(lang)]
    facts = _contact_lines(service.contact, FIRST_CONTACTS, texts, lang)[:1]
    facts.append(hours_line(service.hours, texts, lang, now, service.contact))
    lines.append("\n".join(facts))
    return "\n\n".join(lines)


def hours_lines(service: Service, texts: Texts, lang: str, now: dt.datetime) -> list[str]:
    """Open now or when it opens, and the week's hours (not for day-and-night lines)."""
    lines = [hours_line(service.hours, texts, lang, now, service.contact)]
    if service.hours and not always_open(service.hours):  # "dag en nacht" says it all
        lines.append(f"{texts.get('card_hours', lang)}: {week_summary(service.hours, texts, lang)}")
    return lines


def _contact_lines(contact: Contact | None, fields: tuple[str, ...], texts: Texts,
                   lang: str) -> list[str]:
    """'Telefoon: …' and the like, in the order given, for the ways the service has."""
    if contact is None:
        return []
    return [f"{texts.get(f'card_{name}', lang)}: {value}"
            + (f"\n🗺 {MAP_SEARCH}{quote_plus(value)}" if name == "address" else "")
            for name in fields if (value := getattr(contact, name))]


def faq_short(entry: FaqEntry, texts: Texts, lang: str) -> tuple[str, bool]:
    """The first part of an explanation, in whole sentences; and whether there is more."""
    answer = entry.answer.get(lang)
    sentences = re.split(r"(?<=[.!?])\s+", answer.strip())
    taken: list[str] = []
    for sentence in sentences:
        if taken and sum(len(s.split()) for s in (*taken, sentence)) > SHORT_WORDS:
            break
        taken.append(sentence)
    more = len(taken) < len(sentences) or bool(entry.sources) or bool(entry.checked)
    return "\n\n".join([f"❓ {entry.question.get(lang)}", " ".join(taken)]), more


def faq_answer(entry: FaqEntry, texts: Texts, lang: str) -> str:
    """The question in bold-free plain text, the answer, and when it was checked."""
    lines = [f"❓ {entry.question.get(lang)}", entry.answer.get(lang)]
    footer = []
    if entry.sources:
        footer.append(f"{texts.get('card_sources', lang)}: {entry.sources[0]}")
    if entry.checked:
        footer.append(texts.get("card_checked", lang, date=entry.checked.strftime("%d-%m-%Y")))
    if footer:
        lines.append("\n".join(footer))
    return "\n\n".join(lines)


def hours_line(hours: Hours | None, texts: Texts, lang: str, now: dt.datetime,
               contact: Contact | None = None) -> str:
    """'Nu open, tot 17:00', 'Gesloten, opent ma 09:00', or where to ask for the times:
    only the ways the card really shows (no "bel" without a number)."""
    if hours is None:
        return f"🕘 {texts.get(_ask_times(contact), lang)}"
    status = opening_status(hours, now)
    if status.open_now and status.until is None:
        return f"🕘 {texts.get('card_open_always', lang)}"
    if status.open_now and status.until:
        return f"🕘 {texts.get('card_open_now', lang, until=status.until.strftime('%H:%M'))}"
    if status.next_open:
        when = moment(status.next_open, texts, lang, now)
        return f"🕘 {texts.get('card_closed_opens', lang, when=when)}"
    return f"🕘 {texts.get(_ask_times(contact), lang)}"


def _ask_times(contact: Contact | None) -> str:
    phone = bool(contact and (contact.phone or contact.whatsapp))
    website = bool(contact and contact.website)
    if phone and website:
        return "card_no_hours"
    if phone:
        return "card_no_hours_call"
    return "card_no_hours_website" if website else "card_no_hours_ask"


def moment(when: dt.datetime, texts: Texts, lang: str, now: dt.datetime) -> str:
    """'vandaag 13:00', 'morgen 09:00' or 'maandag 09:00' in Dutch time, to fit a sentence
    ('tomorrow at 09:00', 'on Monday at 09:00' in English)."""
    local_now = now.astimezone(AMSTERDAM)
    days_ahead = (when.date() - local_now.date()).days
    time = when.strftime("%H:%M")
    if days_ahead in (0, 1):
        day = texts.get("today" if days_ahead == 0 else "tomorrow", lang)
        return texts.get("moment_near", lang, day=day, time=time)
    day = texts.get("day_names_full", lang).split()[when.weekday()]
    return texts.get("moment_weekday", lang, day=day, time=time)


def week_summary(hours: Hours, texts: Texts, lang: str) -> str:
    """Compact week: 'ma-vr 09:00-17:00' with equal neighbouring days grouped."""
    names = texts.day_names(lang)
    groups: list[tuple[int, int, str]] = []
    for index, key in enumerate(DAYS):
        value = getattr(hours, key)
        if not value or value.strip().lower() == "gesloten":
            continue
        value = ", ".join(part.strip() for part in value.split(","))
        if groups and groups[-1][1] == index - 1 and groups[-1][2] == value:
            groups[-1] = (groups[-1][0], index, value)
        else:
            groups.append((index, index, value))
    parts = [
        f"{names[start]}{'-' + names[end] if end > start else ''} {value}"
        for start, end, value in groups
    ]
    return "; ".join(parts) or "-"
