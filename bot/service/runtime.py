"""What one running bot holds: settings, engine, storage, and how to send."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Settings
from bot.engine.conversation import Engine, Reply
from bot.handoff.staff import staff_text
from bot.kb.loader import Problem
from bot.storage import OutboxItem, Outgoing, Storage


@dataclass
class Runtime:
    """The engine, the database and the settings of one running bot."""

    settings: Settings
    engine: Engine
    storage: Storage
    send: Callable[[Iterable[OutboxItem]], None]  # hands committed rows to the sender
    # The channel's way to turn the engine's replies into outbox messages for one chat.
    render: Callable[[int, Iterable[Reply]], list[Outgoing]]
    # Scrub, then store, under the asker's keyed pseudonym (so /vergeet can erase it).
    keep_unanswered: Callable[[str, str], None] = lambda text, owner: None
    # Loads the knowledge base again; returns the problems (the old one stays on errors).
    reload: Callable[[], Awaitable[list[Problem]]] | None = None
    # Staff-group membership per user: (still a member, until when that answer holds).
    members: dict[int, tuple[bool, float]] = field(default_factory=dict)

    def staff_text(self, key: str, **values: object) -> str:
        """A text for the staff group, from texts.yaml."""
        return staff_text(self.engine.texts, key, **values)

    @property
    def clock(self) -> Clock:
        """The bot's one clock, which the engine carries."""
        return self.engine.clock

    def staff_chat_id(self) -> int:
        """The meedenkers' group; only called when the handoff is enabled."""
        assert self.settings.staff_chat_id is not None, "no MEEDENKERS_CHAT_ID"
        return self.settings.staff_chat_id

    def pseudonym(self, chat_id: int) -> str:
        """A keyed pseudonym for logs: stable per resident, useless without the key."""
        digest = hmac.new(self.settings.pseudonym_key, str(chat_id).encode(), hashlib.sha256)
        return digest.hexdigest()[:12]
