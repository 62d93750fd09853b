"""Follow-up questions about what was just shown: "wat kost dat?", "when are they open?".

The last shown entry is kept in the resident's state (`State.found`, stored in SQLite), so a
follow-up still works after a restart. Facts come from the entry's own fields; an entry
without the fact says so honestly and gives the way to ask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.engine.cards import hours_lines
from bot.engine.language import fold, load_yaml
from bot.engine.texts import Texts
from bot.kb.loader import KnowledgeBase
from bot.kb.models import Service

FACTS_FILE = "data/follow_ups.yaml"


@dataclass(frozen=True)
class FollowUps:
    """Which fact a short message asks about."""

    facts: dict[str, tuple[str, ...]]
    referents: frozenset[str]  # words that point back to what was shown
    people: frozenset[str]  # who may come along: not a new topic
    short: int

    def fact_of(self, text: str) -> tuple[str, str] | None:
        """The fact asked about ("cost", "hours", …) and the other words of the message, or
        None when it does not ask about a fact."""
        words = fold(text).split()
        if not words or (len(words) > self.short and not self.referents & set(words)):
            return None
        padded = f" {' '.join(words)} "
        for fact, phrases in self.facts.items():
            found = [phrase for phrase in phrases if f" {phrase} " in padded]
            if found:
                for phrase in found:
                    padded = padded.replace(f" {phrase} ", " ")
                ignored = self.referents | self.people
                return fact, " ".join(w for w in padded.split() if w not in ignored)
        return None


@lru_cache(maxsize=1)
def builtin_follow_ups() -> FollowUps:
    """The follow-up phrases shipped with the engine."""
    data = load_yaml(resources.files("bot.engine").joinpath(FACTS_FILE).read_text("utf-8"))
    facts = {fact: tuple(fold(p) for p in phrases) for fact, phrases in data["facts"].items()}
    return FollowUps(facts, frozenset(data["referents"]), frozenset(data["people"]),
                     int(data["short"]))


def answer(kb: KnowledgeBase, texts: Texts, shown: str, fact: str, lang: str,
           now: dt.datetime) -> str:
    """The fact from the shown entry ("service:id" / "faq:id"), or an honest "I don't know"."""
    kind, _, item_id = shown.partition(":")
    service = _service_of(kb, kind, item_id)
    name = (service.name.get(lang) if service else kb.faq[item_id].question.get(lang)
            if item_id in kb.faq else "")
    known = _fact(service, fact, texts, lang, now) if service else None
    if known:
        return texts.get("follow_up_fact", lang, name=name, fact=known)
    how = _how_to_ask(service, texts, lang)
    return texts.get("follow_up_unknown", lang, name=name, how=how)


def _service_of(kb: KnowledgeBase, kind: str, item_id: str) -> Service | None:
    """The service itself, or for an FAQ answer the first service it names."""
    if kind == "service":
        return kb.services.get(item_id)
    entry = kb.faq.get(item_id)
    if entry is None:
        return None
    return next((kb.services[sid] for sid in entry.services if sid in kb.services), None)


def _fact(service: Service, fact: str, texts: Texts, lang: str, now: dt.datetime) -> str | None:
    contact = service.contact
    if fact == "cost":
        return service.cost.get(lang) if service.cost else None
    if fact == "hours":
        return "\n".join(hours_lines(service, texts, lang, now)) if service.hours else None
    value = {"phone": contact.phone if contact else None,
             "address": contact.address if contact else None,
             "website": contact.website if contact else None}.get(fact)
    return str(value) if value else None


def _how_to_ask(service: Service | None, texts: Texts, lang: str) -> str:
    contact = service.contact if service else None
    if contact and contact.phone:
        return texts.get("follow_up_call", lang, name=service.name.get(lang) if service else "",
                         phone=contact.phone)
    if contact and contact.website:
        return texts.get("follow_up_look", lang, website=contact.website)
    return texts.get("follow_up_meedenker", lang)
