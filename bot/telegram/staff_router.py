"""Puts each staff-group message in its place: the request's forum topic, or under its card.

Routing happens when a message is sent, not when it is queued, so a topic made (or made
again after staff deleted it) in the meantime is always the one used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from telegram import Bot, InlineKeyboardMarkup

from bot.engine.texts import Texts
from bot.handoff.staff import card_buttons, request_card, staff_text, topic_title
from bot.storage import OutboxItem, Outgoing, Request, Storage
from bot.telegram.render import keyboard

log = logging.getLogger(__name__)


class StaffRouter:
    """Topics, cards and message links for requests in the staff group."""

    def __init__(
        self, bot: Bot, storage: Storage, staff_chat_id: int, *, forum: bool, texts: Texts,
    ) -> None:
        self._bot = bot
        self._storage = storage
        self._texts = texts
        self.staff_chat_id = staff_chat_id
        self.forum = forum
        self.submit: Callable[[Iterable[OutboxItem]], None] = lambda items: None

    async def prepare(self, item: OutboxItem) -> dict[str, Any] | None:
        """The call's parameters with its destination filled in; None to drop it."""
        assert item.request_id is not None
        request = await self._storage.get_request(item.request_id)
        if request is None:
            return None  # the resident erased their data
        kind = item.params.get("_kind")
        params = {k: v for k, v in item.params.items() if not k.startswith("_")}
        if kind == "edit_card":
            if request.card_message_id is None:
                return None
            card = request_card(request, self._storage.clock.now(), self._texts)
            params.update(message_id=request.card_message_id, text=card)
            buttons = keyboard(card_buttons(request, self._texts))
            if buttons:
                params["reply_markup"] = buttons
            return params
        if kind == "card":
            params["text"] = request_card(request, self._storage.clock.now(), self._texts)
            buttons = keyboard(card_buttons(request, self._texts))
            if buttons:
                params["reply_markup"] = buttons
        if self.forum:
            params["message_thread_id"] = request.thread_id or await self._new_topic(
                request, with_card=kind != "card")
        elif kind != "card" and request.card_message_id is not None:
            params["reply_parameters"] = {"message_id": request.card_message_id,
                                          "allow_sending_without_reply": True}
        return params

    async def after_sent(self, item: OutboxItem, result: object) -> None:
        """Remember which staff messages belong to the request, so replies find it."""
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if item.request_id is None or not isinstance(message_id, int):
            return
        async with self._storage.write() as writer:
            if item.params.get("_kind") == "card":
                await writer.update_request(item.request_id, card_message_id=message_id)
            await writer.link_staff_message(message_id, item.request_id)

    async def topic_lost(self, request_id: int) -> None:
        """Staff deleted the topic; the next message makes a new one."""
        log.info("topic lost request=%d; making a new one", request_id)
        async with self._storage.write() as writer:
            await writer.update_request(request_id, thread_id=None, card_message_id=None)

    async def resident_unreachable(self, chat_id: int) -> None:
        """The resident blocked the bot or left Telegram: tell the meedenker, close it."""
        if chat_id == self.staff_chat_id:
            return
        async with self._storage.write() as writer:
            request = await writer.open_request_for(chat_id)
            if request is None or not await writer.close_request(request.id):
                return
            text = staff_text(self._texts, "staff_resident_unreachable", number=request.id)
            await writer.add_outgoing([
                Outgoing(self.staff_chat_id, "sendMessage",
                         {"chat_id": self.staff_chat_id, "text": text, "_kind": "note"},
                         request.id),
                Outgoing(self.staff_chat_id, "editMessageText",
                         {"chat_id": self.staff_chat_id, "_kind": "edit_card"}, request.id),
            ])
        self.submit(writer.items)

    async def _new_topic(self, request: Request, *, with_card: bool) -> int:
        title = topic_title(request, self._texts)
        topic = await self._bot.create_forum_topic(self.staff_chat_id, title)
        thread_id = topic.message_thread_id
        async with self._storage.write() as writer:
            await writer.update_request(request.id, thread_id=thread_id)
        if with_card:  # a replacement topic starts with the card, so the story is there again
            fresh = await self._storage.get_request(request.id) or request
            buttons = keyboard(card_buttons(fresh, self._texts))
            card = await self._bot.send_message(
                self.staff_chat_id, request_card(fresh, self._storage.clock.now(), self._texts),
                message_thread_id=thread_id,
                reply_markup=InlineKeyboardMarkup.de_json(buttons, self._bot) if buttons else None)
            async with self._storage.write() as writer:
                await writer.update_request(request.id, card_message_id=card.message_id)
                await writer.link_staff_message(card.message_id, request.id)
        return thread_id
