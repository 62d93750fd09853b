"""The warm handoff's effects: what the channel stores and relays for a request.

A turn of the handoff dialog returns these beside the engine's own (bot/engine/effects.py);
bot/service/handoff.py carries them out inside the turn's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from bot.engine.effects import Effect


@dataclass(frozen=True)
class RequestDraft:
    """What the resident agreed to pass on; stored with the request."""

    topic: str | None
    answers: tuple[str, ...]
    found: tuple[str, ...]
    lang: str
    gemeente: str | None
    message: str | None
    share_name: bool
    urgent: bool = False
    story: tuple[str, ...] = ()  # only what the resident ticked

    def to_json(self) -> str:
        """For the open_request effect."""
        return json.dumps({
            "topic": self.topic, "answers": list(self.answers), "found": list(self.found),
            "lang": self.lang, "gemeente": self.gemeente, "message": self.message,
            "share_name": self.share_name, "urgent": self.urgent, "story": list(self.story),
        }, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> RequestDraft:
        """Back from the effect's detail."""
        raw = json.loads(data)
        return cls(raw["topic"], tuple(raw["answers"]), tuple(raw["found"]), raw["lang"],
                   raw["gemeente"], raw["message"], bool(raw["share_name"]),
                   bool(raw.get("urgent")), tuple(raw.get("story", ())))


@dataclass(frozen=True)
class OpenRequest(Effect):
    """Pass the resident's question to the staff group, as they agreed."""

    draft: RequestDraft
    kind: ClassVar[str] = "open_request"


@dataclass(frozen=True)
class Relay(Effect):
    """Copy the resident's message to the meedenker."""

    kind: ClassVar[str] = "relay"


@dataclass(frozen=True)
class CloseRequest(Effect):
    """The conversation ends; who ended it."""

    by: str
    kind: ClassVar[str] = "close_request"


@dataclass(frozen=True)
class Rating(Effect):
    """The resident's rating of the conversation, 1 to 5."""

    value: int
    kind: ClassVar[str] = "rating"


@dataclass(frozen=True)
class Remark(Effect):
    """The resident's remark after the rating."""

    text: str
    kind: ClassVar[str] = "remark"


@dataclass(frozen=True)
class Callback(Effect):
    """The number the resident wants to be called on."""

    phone: str
    kind: ClassVar[str] = "callback"


@dataclass(frozen=True)
class CallbackMoment(Effect):
    """When the resident wants to be called: ochtend, middag or avond."""

    moment: str
    kind: ClassVar[str] = "callback_moment"


HANDOFF_EFFECTS = (OpenRequest, Relay, CloseRequest, Rating, Remark, Callback, CallbackMoment)
