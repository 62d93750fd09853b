"""A Telegram Bot API test double served over real HTTP on 127.0.0.1.

The double keeps a small world model (users, chats, forum topics, messages), speaks the
Bot API wire format (``POST {root}/bot{token}/{method}`` with JSON, urlencoded or multipart
parameters), records every call, and lets tests inject user updates and faults.
Error descriptions follow the real Bot API where known; a few are close approximations.
HTML parse_mode is parsed into entities (unsupported tags are rejected like Telegram does);
Markdown modes are not parsed. In forums, the General topic is addressed without
message_thread_id; thread ids of unknown or deleted topics give "message thread not found".

Typical use::

    async with BotApiDouble() as api:
        api.add_private_chat(42, "Anna")
        app = Application.builder().token(api.token).base_url(api.base_url).build()
        ...  # initialize, start, app.updater.start_polling(poll_interval=0.0, timeout=1)
        api.user_sends_text(42, "/start")
        (reply,) = await api.wait_for_messages(42, 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import html
import inspect
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import BodyPartReader, web

JSON = dict[str, Any]

DEFAULT_TOKEN = "123456789:TEST-wegwijzer-token"
MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
THREAD_NOT_FOUND = "Bad Request: message thread not found"
CONTENT_KEYS = (
    "text", "entities", "caption", "caption_entities", "photo", "document", "voice", "video",
    "audio", "animation", "sticker", "video_note", "location", "contact",
)  # fmt: skip
MEDIA_KINDS = ("photo", "document", "voice", "video", "audio", "animation", "sticker", "video_note")
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})  # fmt: skip
BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
    "copy_text",
})  # fmt: skip
JSON_FIELDS = frozenset({
    "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
    "reply_parameters", "link_preview_options", "media", "message_ids", "permissions",
})  # fmt: skip
STRING_FIELDS = frozenset({
    "text", "caption", "name", "title", "description", "short_description", "callback_query_id",
    "parse_mode", "url", "secret_token", "ip_address", "first_name", "last_name", "vcard",
    "phone_number", "icon_custom_emoji_id", "thumbnail", "language_code", "action", "emoji",
    "file_id", "business_connection_id", "message_effect_id", "inline_message_id", *MEDIA_KINDS,
})  # fmt: skip
HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre", "a": "text_link",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^<>]*)>")
_ATTR_RE = re.compile(r"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_CHAR_REF_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_COMMAND_RE = re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,})?")
_BOT_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """A Bot API error that becomes an ``{"ok": false}`` response."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def body(self) -> JSON:
        """Return the JSON body Telegram would send for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """Build a 400 error with the usual ``Bad Request:`` prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Convert Telegram-flavoured HTML into plain text plus message entities."""
    parts: list[str] = []
    length = 0
    stack: list[tuple[str, int, JSON]] = []
    entities: list[JSON] = []
    pos = 0
    while pos < len(source):
        lt = source.find("<", pos)
        chunk = source[pos : len(source) if lt < 0 else lt]
        chunk = _CHAR_REF_RE.sub(lambda m: html.unescape(m[0]), chunk)
        parts.append(chunk)
        length += utf16_len(chunk)
        if lt < 0:
            break
        at = len(source[:lt].encode())
        match = _TAG_RE.match(source, lt)
        if match is None:
            raise _entity_error(f"Unexpected character '<' at byte offset {at}")
        closing, name, rest = match[1] == "/", match[2].lower(), match[3]
        attrs = {
            m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "") for m in _ATTR_RE.finditer(rest)
        }
        spoiler_span = name != "span" or closing or attrs.get("class") == "tg-spoiler"
        if name not in HTML_TAGS or not spoiler_span:
            raise _entity_error(f'Unsupported start tag "{name}" at byte offset {at}')
        if not closing:
            stack.append((name, length, attrs))
        elif not stack or stack[-1][0] != name:
            expected = f'expected "</{stack[-1][0]}>", ' if stack else ""
            raise _entity_error(
                f'Unmatched end tag at byte offset {at}, {expected}found "</{name}>"'
            )
        else:
            open_name, start, open_attrs = stack.pop()
            entity = _html_entity(open_name, open_attrs, stack)
            if entity is not None and length > start:
                entities.append({"offset": start, "length": length - start, **entity})
        pos = match.end()
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parts), entities


def _entity_error(reason: str) -> ApiError:
    """A 400 error for malformed formatting."""
    return bad_request(f"can't parse entities: {reason}")


def _html_entity(name: str, attrs: JSON, stack: list[tuple[str, int, JSON]]) -> JSON | None:
    """Entity type and extras for a closed HTML tag (None if it only decorates its parent)."""
    kind = HTML_TAGS[name]
    if kind == "code" and stack and stack[-1][0] == "pre":
        if attrs.get("class", "").startswith("language-"):
            stack[-1][2]["language"] = attrs["class"].removeprefix("language-")
        return None
    if kind == "text_link":
        return {"type": "text_link", "url": attrs["href"]} if attrs.get("href") else None
    if kind == "pre" and attrs.get("language"):
        return {"type": "pre", "language": attrs["language"]}
    if kind == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    if kind == "custom_emoji":
        return {"type": "custom_emoji", "custom_emoji_id": attrs.get("emoji-id", "")}
    return {"type": kind}


def decode_param(key: str, value: Any) -> Any:
    """Decode one parameter the way Telegram does (nested values arrive as JSON strings)."""
    if not isinstance(value, str) or key in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        if key in JSON_FIELDS:
            raise bad_request(f"can't parse {key} JSON object") from None
        return value


@dataclass
class Upload:
    """A file uploaded as a multipart part."""

    filename: str
    content: bytes
    content_type: str | None = None


@dataclass
class Call:
    """One recorded HTTP call to the double."""

    method: str
    params: JSON
    time: float
    status: int | None = None
    response: JSON | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.status == 200


@dataclass
class Topic:
    """A forum topic in a supergroup."""

    thread_id: int
    name: str
    icon_color: int = 0x6FB9F0
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def as_forum_topic(self) -> JSON:
        """Return the ForumTopic object."""
        topic: JSON = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            topic["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return topic


@dataclass
class ChatState:
    """A chat in the world model, with its messages and topics."""

    id: int
    type: str
    title: str | None = None
    user: JSON | None = None
    is_forum: bool = False
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    owner: int | None = None
    bot_is_admin: bool = False
    can_manage_topics: bool = False
    bot_present: bool = True
    blocked: bool = False
    topics: dict[int, Topic] = field(default_factory=dict)
    messages: dict[int, JSON] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    last_message_id: int = 0

    def as_chat(self) -> JSON:
        """Return the Chat object as embedded in messages."""
        if self.user is not None:
            keys = ("first_name", "last_name", "username")
            return {
                "id": self.id,
                "type": "private",
                **{k: self.user[k] for k in keys if k in self.user},
            }
        chat: JSON = {"id": self.id, "type": self.type, "title": self.title}
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def next_message_id(self) -> int:
        """Allocate the next message id in this chat."""
        self.last_message_id += 1
        return self.last_message_id

    def live_message(self, message_id: Any) -> JSON | None:
        """Return a stored, not deleted message."""
        if message_id in self.deleted:
            return None
        return self.messages.get(message_id)


@dataclass
class _Fault:
    """A queued fault or delay for one method."""

    times: int
    error: ApiError | None = None
    delay: float = 0.0


class BotApiDouble:
    """A Telegram Bot API server double on a random loopback port."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_first_name: str = "Wegwijzer",
        bot_username: str = "WegwijzerTestBot",
    ) -> None:
        self.token = token
        bot_id = int(token.split(":")[0]) if token.split(":")[0].isdigit() else 123456789
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.calls: list[Call] = []
        # Called with (chat_id, message) for every message the bot sends; cheap enough for
        # load benchmarks, where wait_for_messages would scan the whole transcript.
        self.sent_listeners: list[Callable[[int, JSON], None]] = []
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, ChatState] = {}
        self.webhook_url = ""
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self._open_queries: set[str] = set()
        self._pending: list[JSON] = []
        self._history: dict[int, JSON] = {}
        self._forced: list[JSON] = []
        self._last_delivered: list[JSON] = []
        self._update_ids = itertools.count(100_000)
        self._ids = itertools.count(1)
        self._confirmed_offset = 0
        self._poll_generation = 0
        self._sent: list[tuple[int, int]] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, Callable[[JSON], Any]] = {
            name.lower(): getattr(self, f"_m_{name}")
            for name in (
                "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
                "setMyCommands", "getMyCommands", "deleteMyCommands", "sendMessage",
                "editMessageText", "editMessageReplyMarkup", "deleteMessage", "deleteMessages",
                "answerCallbackQuery", "sendChatAction", "copyMessage", "forwardMessage",
                "sendLocation", "sendContact", "getFile",
                "createForumTopic", "editForumTopic", "closeForumTopic", "reopenForumTopic",
                "deleteForumTopic", "getChat", "getChatMember", "getChatAdministrators",
                "getChatMemberCount", "close", "logOut",
            )
        }  # fmt: skip
        for kind in MEDIA_KINDS:  # sendPhoto, sendDocument, sendVoice, sendVideoNote, ...
            self._methods[f"send{kind.replace('_', '')}"] = functools.partial(
                self._send_media, kind
            )

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> BotApiDouble:
        """Start serving on 127.0.0.1 with a random free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Release pending long polls and stop the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiDouble:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_root(self) -> str:
        """Root URL, e.g. for a TELEGRAM_API_URL setting: ``{root}/bot{token}/{method}``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """Value for ``Application.builder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``base_file_url(...)`` so that file downloads hit the double."""
        return f"{self.api_root}/file/bot"

    # ----------------------------------------------------------------- world model

    def add_user(
        self, user_id: int, first_name: str, language_code: str = "nl", **extra: Any
    ) -> JSON:
        """Register a user (extra: last_name, username, is_premium ...)."""
        self.users[user_id] = {"id": user_id, "is_bot": False, "first_name": first_name, **extra}
        if language_code:
            self.users[user_id]["language_code"] = language_code
        return self.users[user_id]

    def add_private_chat(
        self, user_id: int, first_name: str, language_code: str = "nl", **extra: Any
    ) -> JSON:
        """Register a user and their private chat with the bot; returns the User object."""
        user = self.add_user(user_id, first_name, language_code, **extra)
        self.chats[user_id] = ChatState(id=user_id, type="private", user=user)
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        forum: bool = False,
        supergroup: bool | None = None,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        owner: int | None = None,
        bot_is_admin: bool = True,
        can_manage_topics: bool = True,
    ) -> JSON:
        """Register a group (supergroup if forum or -100… id); unknown users are auto-created."""
        if supergroup is None:
            supergroup = forum or chat_id < -1_000_000_000_000
        chat = ChatState(
            id=chat_id, type="supergroup" if supergroup else "group", title=title, is_forum=forum,
            members=set(members), admins=set(admins), owner=owner, bot_is_admin=bot_is_admin,
            can_manage_topics=bot_is_admin and can_manage_topics,
        )  # fmt: skip
        for uid in chat.members | chat.admins | ({owner} if owner else set()):
            self._ensure_user(uid)
        if forum:
            chat.last_message_id = 1  # message 1 opened the General topic
        self.chats[chat_id] = chat
        return chat.as_chat()

    def add_file(self, file_id: str, content: bytes) -> str:
        """Register downloadable file content under ``file_id``; returns the file_path."""
        self.files[file_id] = (f"files/{file_id}", content)
        return f"files/{file_id}"

    def topic(self, chat_id: int, thread_id: int) -> Topic:
        """Return a forum topic (raises KeyError if unknown)."""
        return self.chats[chat_id].topics[thread_id]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """Current stored state of a message (including reply keyboards)."""
        return copy.deepcopy(self.chats[chat_id].messages[message_id])

    def is_deleted(self, chat_id: int, message_id: int) -> bool:
        """True if the message was deleted (by the bot or with its topic)."""
        return message_id in self.chats[chat_id].deleted

    def bot_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands stored by setMyCommands for a scope and language."""
        return self.commands.get(_commands_key(scope, language_code), [])

    # ----------------------------------------------------------------- user actions

    def inject_update(self, payload: JSON) -> JSON:
        """Queue a raw update (``{"message": {...}}``); update_id is assigned."""
        update = {"update_id": next(self._update_ids), **payload}
        self._pending.append(update)
        self._history[update["update_id"]] = update
        self._notify()
        return copy.deepcopy(update)

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """Queue a text message from a user; ``/commands`` get bot_command entities."""
        if entities is None:
            entities = [
                {
                    "type": "bot_command",
                    "offset": utf16_len(text[: m.start()]),
                    "length": utf16_len(m[0]),
                }
                for m in _COMMAND_RE.finditer(text)
            ]
        content: JSON = {"text": text, **({"entities": entities} if entities else {})}
        msg = self._user_message(user_id, chat_id, message_thread_id, reply_to_message_id, content)
        return self.inject_update({"message": msg})

    def user_sends(
        self,
        user_id: int,
        kind: str,
        *,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        caption: str | None = None,
        **fields: Any,
    ) -> JSON:
        """Queue a photo/sticker/voice/video/audio/document/location/contact message."""
        user = self._ensure_user(user_id)
        if kind == "location":
            payload: Any = {"latitude": 52.0907, "longitude": 5.1214, **fields}
        elif kind == "contact":
            payload = {
                "phone_number": "+31612345678",
                "first_name": user["first_name"],
                "user_id": user_id,
                **fields,
            }
        elif kind in MEDIA_KINDS:
            payload = self._media_object(kind, fields.pop("file_id", None), **fields)
        else:
            raise ValueError(f"unsupported kind {kind!r}")
        content: JSON = {kind: payload, **({"caption": caption} if caption is not None else {})}
        msg = self._user_message(user_id, chat_id, message_thread_id, None, content)
        return self.inject_update({"message": msg})

    def user_presses_button(
        self,
        user_id: int,
        message: JSON | int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> JSON:
        """Queue a callback_query for a button on a bot message (dict or message_id + chat_id)."""
        user = self._ensure_user(user_id)
        if isinstance(message, dict):
            chat_id, message_id = message["chat"]["id"], message["message_id"]
        else:
            chat_id, message_id = chat_id if chat_id is not None else user_id, message
        current = self.chats[chat_id].live_message(message_id)
        if current is None:
            raise ValueError(f"message {message_id} in chat {chat_id} does not exist")
        rows = (current.get("reply_markup") or {}).get("inline_keyboard", [])
        available = [b.get("callback_data") for row in rows for b in row]
        if strict and callback_data not in available:
            raise ValueError(
                f"no button with callback_data {callback_data!r}; available: {available}"
            )
        query_id = f"cbq{next(self._ids)}"
        query = {
            "id": query_id, "from": user, "message": self._public(current),
            "chat_instance": f"ci{chat_id}", "data": callback_data,
        }  # fmt: skip
        self._open_queries.add(query_id)
        return self.inject_update({"callback_query": query})

    def user_edits_message(
        self, user_id: int, message_id: int, text: str, chat_id: int | None = None
    ) -> JSON:
        """Queue an edited_message update for a text message the user sent earlier."""
        chat = self.chats[chat_id if chat_id is not None else user_id]
        msg = chat.live_message(message_id)
        if msg is None or msg.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat.id}")
        msg["text"], msg["edit_date"] = text, int(time.time())
        return self.inject_update({"edited_message": copy.deepcopy(msg)})

    def user_creates_topic(self, user_id: int, chat_id: int, name: str) -> JSON:
        """Queue the forum_topic_created service message of a topic a user created."""
        chat = self.chats[chat_id]
        thread_id = chat.last_message_id + 1
        chat.topics[thread_id] = Topic(thread_id, name)
        content = {"forum_topic_created": {"name": name, "icon_color": 0x6FB9F0}}
        msg = self._user_message(user_id, chat_id, thread_id, None, content, check_thread=False)
        return self.inject_update({"message": msg})

    def user_blocks_bot(self, user_id: int) -> JSON:
        """Block the bot: sends to the chat now get 403; queues a my_chat_member update."""
        self.chats[user_id].blocked = True
        return self._my_chat_member(user_id, self.users[user_id], "member", "kicked")

    def user_unblocks_bot(self, user_id: int) -> JSON:
        """Unblock the bot and queue the my_chat_member update."""
        self.chats[user_id].blocked = False
        return self._my_chat_member(user_id, self.users[user_id], "kicked", "member")

    def remove_bot(self, chat_id: int, by_user_id: int) -> JSON:
        """Remove the bot from a group: sends now get 403; queues a my_chat_member update."""
        chat = self.chats[chat_id]
        chat.bot_present = chat.bot_is_admin = chat.can_manage_topics = False
        return self._my_chat_member(chat_id, self._ensure_user(by_user_id), "member", "left")

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a forum topic as a human admin would (no update is sent)."""
        chat = self.chats[chat_id]
        chat.topics[thread_id].deleted = True
        chat.deleted.update(
            m for m, msg in chat.messages.items() if msg.get("message_thread_id") == thread_id
        )

    def repeat_updates(self, update_ids: Iterable[int] | None = None) -> list[int]:
        """Deliver updates again on the next getUpdates, ignoring offset (default: last batch)."""
        updates = (
            self._last_delivered if update_ids is None else [self._history[u] for u in update_ids]
        )
        self._forced.extend(copy.deepcopy(updates))
        self._notify()
        return [u["update_id"] for u in updates]

    def deliver_duplicate(self, update_id: int) -> None:
        """Deliver one more copy of an update with the same update_id."""
        self.repeat_updates([update_id])

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by an offset."""
        return copy.deepcopy(self._pending)

    # ----------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (or ``"*"``) fail with ``status``."""
        parameters = {"retry_after": retry_after} if status == 429 else None
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request",
                409: "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            }.get(status) or HTTPStatus(status).phrase
        self._faults.setdefault(method.lower(), []).append(
            _Fault(times, ApiError(status, description, parameters))
        )

    def clear_faults(self) -> None:
        """Forget every queued fault: the API is healthy again."""
        self._faults.clear()

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` responses of ``method`` (or ``"*"``) by ``seconds``."""
        self._faults.setdefault(method.lower(), []).append(_Fault(times, delay=seconds))

    # ----------------------------------------------------------------- transcript

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent (current state, reply keyboards included), oldest first."""
        return [
            copy.deepcopy(self.chats[cid].messages[mid])
            for cid, mid in self._sent
            if chat_id is None or cid == chat_id
        ]

    async def wait_for_messages(
        self, chat_id: int | None, count: int, timeout: float = 5.0
    ) -> list[JSON]:
        """Wait until the bot has sent ``count`` messages to the chat; returns all of them."""
        await self._wait(
            lambda: len(self.sent_messages(chat_id)) >= count,
            timeout,
            lambda: f"{count} messages to chat {chat_id}; got {self._texts(chat_id)}",
        )
        return self.sent_messages(chat_id)

    def _texts(self, chat_id: int | None) -> list[Any]:
        """Texts (or captions / kinds) of sent messages, for failure messages."""
        kinds = ("text", "caption", *CONTENT_KEYS)
        return [next((m[k] for k in kinds if k in m), "?") for m in self.sent_messages(chat_id)]

    async def wait_until_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Wait until getUpdates has been called with an offset above ``update_id``."""
        await self._wait(
            lambda: self._confirmed_offset > update_id,
            timeout,
            lambda: f"confirmation of update {update_id}; offset is {self._confirmed_offset}",
        )

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``count`` calls of ``method`` have been answered."""

        def answered() -> list[Call]:
            return [c for c in self.calls_to(method) if c.status is not None]

        await self._wait(
            lambda: len(answered()) >= count, timeout, lambda: f"{count} answered {method} calls"
        )
        return answered()

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        """Serve one Bot API call."""
        call = Call(request.match_info["method"], {}, time.time())
        self.calls.append(call)
        try:
            call.params = await self._read_params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(call.method.lower())
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            await self._apply_faults(call.method.lower())
            result = handler(call.params)
            if inspect.isawaitable(result):
                result = await result
            call.status, call.response = 200, {"ok": True, "result": result}
        except ApiError as err:
            call.status, call.response = err.status, err.body()
        except Exception as exc:  # a bug in the double: report it loudly but as JSON
            crash = ApiError(500, f"Internal Server Error: test double crashed: {exc!r}")
            call.status, call.response = 500, crash.body()
        self._notify()
        return web.json_response(call.response, status=call.status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        """Serve file downloads for paths returned by getFile."""
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        for path, content in self.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=content)
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _read_params(self, request: web.Request) -> JSON:
        """Merge query string and JSON / urlencoded / multipart body into decoded params."""
        raw: JSON = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json() if await request.read() else {}
            if not isinstance(body, dict):
                raise bad_request("parameters must be a JSON object")
            raw.update(body)
        elif request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                if isinstance(part, BodyPartReader) and part.name:
                    if part.filename:
                        content_type = part.headers.get("Content-Type")
                        raw[part.name] = Upload(part.filename, await part.read(), content_type)
                    else:
                        raw[part.name] = await part.text()
        elif request.can_read_body:
            raw.update(await request.post())
        return {key: decode_param(key, value) for key, value in raw.items()}

    async def _apply_faults(self, method: str) -> None:
        """Sleep or raise according to queued faults."""
        for key in (method, "*"):
            queue = self._faults.get(key)
            if not queue:
                continue
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.error is not None:
                raise fault.error
            return

    def _notify(self) -> None:
        """Wake every waiter (long polls and wait_* helpers)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> None:
        """Wait for the next state change or the timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def _wait(
        self, ready: Callable[[], bool], timeout: float, what: Callable[[], str]
    ) -> None:
        """Wait until ``ready()``; raise AssertionError describing ``what`` on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not ready():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what()}")
            await self._wait_change(remaining)

    # ----------------------------------------------------------------- model helpers

    def _ensure_user(self, user_id: int) -> JSON:
        """Return a known user, creating a default one if needed."""
        if user_id not in self.users:
            self.add_user(user_id, f"User {user_id}")
        return self.users[user_id]

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        thread_id: int | None,
        reply_to: int | None,
        content: JSON,
        *,
        check_thread: bool = True,
    ) -> JSON:
        """Store and return a message sent by a user."""
        user = self._ensure_user(user_id)
        if chat_id is None:
            chat_id = user_id
            if chat_id not in self.chats:
                self.add_private_chat(user_id, user["first_name"])
        chat = self.chats[chat_id]
        if chat.blocked:
            raise ValueError(f"user {user_id} blocked the bot; call user_unblocks_bot first")
        if chat.user is None:
            chat.members.add(user_id)
        msg = self._new_message(chat, user)
        if thread_id is not None:
            if check_thread and (thread_id not in chat.topics or chat.topics[thread_id].deleted):
                raise ValueError(f"topic {thread_id} does not exist in chat {chat_id}")
            msg.update(message_thread_id=thread_id, is_topic_message=True)
        if reply_to is not None:
            msg["reply_to_message"] = self._public(chat.messages[reply_to], nested=True)
        msg.update(content)
        chat.messages[msg["message_id"]] = msg
        return copy.deepcopy(msg)

    @staticmethod
    def _new_message(chat: ChatState, sender: JSON) -> JSON:
        """Skeleton of a new message in ``chat`` with the next message_id."""
        return {
            "message_id": chat.next_message_id(),
            "from": sender,
            "chat": chat.as_chat(),
            "date": int(time.time()),
        }

    def _my_chat_member(self, chat_id: int, actor: JSON, old: str, new: str) -> JSON:
        """Queue a my_chat_member update about the bot's status."""

        def member(status: str) -> JSON:
            return {
                "status": status,
                "user": self.bot_user,
                **({"until_date": 0} if status == "kicked" else {}),
            }

        payload = {
            "chat": self.chats[chat_id].as_chat(), "from": actor, "date": int(time.time()),
            "old_chat_member": member(old), "new_chat_member": member(new),
        }  # fmt: skip
        return self.inject_update({"my_chat_member": payload})

    def _media_object(self, kind: str, file_id: str | None, **fields: Any) -> Any:
        """Build a PhotoSize list / Document / Voice ... object and register its file."""
        file_id = file_id or f"{kind.upper()}-{next(self._ids)}"
        if file_id not in self.files:
            self.add_file(file_id, fields.pop("content", f"content of {file_id}".encode()))
        fields.pop("content", None)
        base = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id][1]),
        }
        if kind == "photo":
            return [
                {**base, "width": 90, "height": 90},
                {**base, "width": 1280, "height": 960, **fields},
            ]
        defaults: dict[str, JSON] = {
            "document": {"file_name": "document.pdf", "mime_type": "application/pdf"},
            "voice": {"duration": 3, "mime_type": "audio/ogg"},
            "audio": {"duration": 30, "mime_type": "audio/mpeg"},
            "video": {"width": 640, "height": 360, "duration": 5},
            "animation": {"width": 320, "height": 240, "duration": 2},
            "video_note": {"length": 240, "duration": 4},
            "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                        "is_video": False, "emoji": "🙂"},
        }  # fmt: skip
        return {**base, **defaults[kind], **fields}

    def _public(self, msg: JSON, *, nested: bool = False) -> JSON:
        """Message as the API returns it: only inline keyboards are echoed."""
        out = copy.deepcopy(msg)
        if "inline_keyboard" not in (out.get("reply_markup") or {}):
            out.pop("reply_markup", None)
        if nested:
            out.pop("reply_to_message", None)
        return out

    def _chat(self, chat_id: Any, *, for_sending: bool = False) -> ChatState:
        """Resolve a chat_id parameter, enforcing blocks and removals when sending."""
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str):
            found = [
                c for c in self.chats.values() if f"@{(c.user or {}).get('username')}" == chat_id
            ]
            chat_id = found[0].id if found else chat_id
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        if for_sending and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if for_sending and not chat.bot_present:
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        return chat

    def _thread(self, chat: ChatState, thread_id: Any) -> int | None:
        """Validate message_thread_id for a send; returns the id to stamp on the message."""
        if thread_id is None or not chat.is_forum:
            return None
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if topic.closed and not chat.can_manage_topics:
            raise bad_request("TOPIC_CLOSED")
        return int(thread_id)

    def _format(self, params: JSON, key: str) -> tuple[str, list[JSON]]:
        """Parse text/caption with parse_mode; returns stripped text and entities."""
        text = str(params.get(key) or "")
        explicit = params.get("entities" if key == "text" else "caption_entities")
        mode = str(params.get("parse_mode") or "").lower()
        entities: list[JSON] = []
        if explicit is not None:
            entities = list(explicit)
        elif mode == "html":
            text, entities = parse_html(text)
        elif mode in ("markdown", "markdownv2"):
            text = re.sub(r"\\(.)", r"\1", text)  # Markdown is not parsed; only escapes are removed
        shift = utf16_len(text) - utf16_len(text.lstrip())
        text = text.strip()
        total, fixed = utf16_len(text), []
        for entity in entities:
            start = max(entity["offset"] - shift, 0)
            end = min(entity["offset"] + entity["length"] - shift, total)
            if end > start:
                fixed.append({**entity, "offset": start, "length": end - start})
        return text, fixed

    def _caption(self, params: JSON) -> JSON:
        """Caption fields for a media message."""
        if params.get("caption") is None:
            return {}
        caption, entities = self._format(params, "caption")
        if utf16_len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        fields: JSON = {"caption": caption} if caption else {}
        if caption and entities:
            fields["caption_entities"] = entities
        return fields

    @staticmethod
    def _markup(markup: Any) -> JSON | None:
        """Validate reply_markup (callback_data ≤ 64 bytes, buttons need an action)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
                if not BUTTON_ACTIONS & button.keys():
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                if "url" in button and not re.match(r"^(https?|tg)://", str(button["url"])):
                    raise bad_request("BUTTON_URL_INVALID")
        return markup

    def _reply(self, chat: ChatState, params: JSON) -> JSON | None:
        """Resolve reply_parameters / reply_to_message_id into reply_to_message."""
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        target = chat.live_message(message_id)
        lenient = reply.get(
            "allow_sending_without_reply", params.get("allow_sending_without_reply")
        )
        if target is None and not lenient:
            raise bad_request("message to be replied not found")
        return None if target is None else self._public(target, nested=True)

    def _store_bot_message(self, chat: ChatState, params: JSON, content: JSON) -> JSON:
        """Create, store and return (public form) a message sent by the bot."""
        thread_id = self._thread(chat, params.get("message_thread_id"))
        reply = self._reply(chat, params)
        markup = self._markup(params.get("reply_markup"))
        msg = self._new_message(chat, self.bot_user)
        if thread_id is not None:
            msg.update(message_thread_id=thread_id, is_topic_message=True)
        if reply is not None:
            msg["reply_to_message"] = reply
        msg.update(content)
        if markup is not None:
            msg["reply_markup"] = markup
        chat.messages[msg["message_id"]] = msg
        self._sent.append((chat.id, msg["message_id"]))
        for listener in self.sent_listeners:
            listener(chat.id, msg)
        return self._public(msg)

    def _bot_editable(self, params: JSON) -> tuple[ChatState, JSON]:
        """Find a bot message to edit."""
        chat = self._chat(params.get("chat_id"), for_sending=True)
        msg = chat.live_message(params.get("message_id"))
        if msg is None:
            raise bad_request("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, msg

    def _require_topic(self, params: JSON, action: str) -> tuple[ChatState, Topic]:
        """Resolve a forum topic and check the bot may manage it."""
        chat = self._chat(params.get("chat_id"))
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        topic = chat.topics.get(params.get("message_thread_id"))  # type: ignore[arg-type]
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if not chat.can_manage_topics:
            raise bad_request(f"not enough rights to {action} a topic")
        return chat, topic

    def _member(self, chat: ChatState, user_id: int) -> JSON:
        """ChatMember object for a user (or the bot) in a chat."""
        if user_id == self.bot_user["id"]:
            if not chat.bot_present:
                return {"status": "left", "user": self.bot_user}
            if chat.bot_is_admin:
                return _administrator(self.bot_user, chat.can_manage_topics)
            return {"status": "member", "user": self.bot_user}
        if user_id not in self.users:
            raise bad_request("user not found")
        user = self.users[user_id]
        if chat.user is not None:
            return {"status": "member" if user_id == chat.id else "left", "user": user}
        if user_id == chat.owner:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in chat.admins:
            return _administrator(user, True)
        return {"status": "member" if user_id in chat.members else "left", "user": user}

    # ----------------------------------------------------------------- Bot API methods

    def _m_getMe(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                           "use deleteWebhook to delete the webhook first")  # fmt: skip
        self._poll_generation += 1
        generation = self._poll_generation
        offset, limit = params.get("offset"), min(max(int(params.get("limit") or 100), 1), 100)
        if isinstance(offset, int) and offset < 0:
            self._pending = self._pending[offset:]
        elif isinstance(offset, int) and offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._confirmed_offset = max(self._confirmed_offset, offset)
        allowed = params.get("allowed_updates")
        if allowed:
            self._pending = [
                u for u in self._pending if next(k for k in u if k != "update_id") in allowed
            ]
        deadline = asyncio.get_running_loop().time() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                               "make sure that only one bot instance is running")  # fmt: skip
            batch, self._forced = (self._forced + self._pending)[:limit], []
            if batch:
                self._last_delivered = batch
                return copy.deepcopy(batch)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._closing:
                return []
            await self._wait_change(remaining)

    def _m_setWebhook(self, params: JSON) -> bool:
        self.webhook_url = str(params.get("url") or "")
        return True

    def _m_deleteWebhook(self, params: JSON) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_getWebhookInfo(self, params: JSON) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _m_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not _BOT_COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("command description is empty")
        self.commands[_commands_key(params.get("scope"), params.get("language_code") or "")] = (
            commands
        )
        return True

    def _m_getMyCommands(self, params: JSON) -> list[JSON]:
        return self.bot_commands(params.get("scope"), params.get("language_code") or "")

    def _m_deleteMyCommands(self, params: JSON) -> bool:
        self.commands.pop(
            _commands_key(params.get("scope"), params.get("language_code") or ""), None
        )
        return True

    def _m_sendMessage(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        text, entities = self._format(params, "text")
        if not text:
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return self._store_bot_message(
            chat, params, {"text": text, **({"entities": entities} if entities else {})}
        )

    def _m_editMessageText(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        _chat, msg = self._bot_editable(params)
        if "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._format(params, "text")
        if not text:
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._markup(params.get("reply_markup"))
        if (text, entities, markup) == (
            msg["text"],
            msg.get("entities", []),
            msg.get("reply_markup"),
        ):
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        for key in ("entities", "reply_markup"):
            msg.pop(key, None)
        msg.update(text=text, edit_date=int(time.time()))
        if entities:
            msg["entities"] = entities
        if markup:
            msg["reply_markup"] = markup
        return self._public(msg)

    def _m_editMessageReplyMarkup(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        _chat, msg = self._bot_editable(params)
        markup = self._markup(params.get("reply_markup"))
        if (markup or None) == msg.get("reply_markup"):
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        msg["edit_date"] = int(time.time())
        return self._public(msg)

    def _m_deleteMessage(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        msg = chat.live_message(params.get("message_id"))
        if msg is None:
            raise bad_request("message to delete not found")
        own = msg.get("from", {}).get("id") == self.bot_user["id"]
        if not (own or chat.user is not None or chat.bot_is_admin):
            raise bad_request("message can't be deleted")
        chat.deleted.add(msg["message_id"])
        return True

    def _m_deleteMessages(self, params: JSON) -> bool:
        for message_id in params.get("message_ids") or []:
            with contextlib.suppress(ApiError):
                self._m_deleteMessage({**params, "message_id": message_id})
        return True

    def _m_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    def _m_sendChatAction(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._thread(chat, params.get("message_thread_id"))
        return True

    def _source(self, params: JSON, verb: str) -> JSON:
        """Resolve from_chat_id/message_id for copy/forward."""
        source = self._chat(params.get("from_chat_id")).live_message(params.get("message_id"))
        if source is None:
            raise bad_request(f"message to {verb} not found")
        if not any(k in source for k in CONTENT_KEYS):
            raise bad_request(f"message can't be {verb}ed".replace("copyed", "copied"))
        return source

    def _m_copyMessage(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        content = {
            k: copy.deepcopy(v)
            for k, v in self._source(params, "copy").items()
            if k in CONTENT_KEYS
        }
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption(params))
        return {"message_id": self._store_bot_message(chat, params, content)["message_id"]}

    def _m_forwardMessage(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        source = self._source(params, "forward")
        content = {k: copy.deepcopy(v) for k, v in source.items() if k in CONTENT_KEYS}
        origin = {
            "type": "user",
            "sender_user": source.get("from", self.bot_user),
            "date": source["date"],
        }
        return self._store_bot_message(
            chat, {**params, "reply_markup": None}, {**content, "forward_origin": origin}
        )

    def _send_media(self, kind: str, params: JSON) -> JSON:
        """Shared implementation of sendPhoto/sendDocument/sendVoice/..."""
        chat = self._chat(params.get("chat_id"), for_sending=True)
        value = params.get(kind)
        if value is None or value == "":
            raise bad_request(f"there is no {kind} in the request")
        extra: JSON = {}
        if isinstance(value, Upload):
            file_id = f"{kind.upper()}-{next(self._ids)}"
            self.add_file(file_id, value.content)
            if kind == "document":
                extra = {
                    "file_name": value.filename,
                    "mime_type": value.content_type or "application/octet-stream",
                }
        elif str(value).startswith(("http://", "https://")):
            file_id = f"{kind.upper()}-{next(self._ids)}"
        else:
            file_id = str(value)
        content = {kind: self._media_object(kind, file_id, **extra), **self._caption(params)}
        return self._store_bot_message(chat, params, content)

    def _m_sendLocation(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        try:
            location = {
                "latitude": float(params["latitude"]),
                "longitude": float(params["longitude"]),
            }
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude") from None
        return self._store_bot_message(chat, params, {"location": location})

    def _m_sendContact(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        if not params.get("phone_number") or not params.get("first_name"):
            raise bad_request("phone number and first name must be non-empty")
        keys = ("phone_number", "first_name", "last_name", "vcard")
        return self._store_bot_message(
            chat, params, {"contact": {k: params[k] for k in keys if params.get(k)}}
        )

    def _m_getFile(self, params: JSON) -> JSON:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise bad_request("invalid file_id")
        path, content = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    def _m_createForumTopic(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), for_sending=True)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if not chat.can_manage_topics:
            raise bad_request("not enough rights to create a topic")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        topic = Topic(chat.last_message_id + 1, name, int(params.get("icon_color") or 0x6FB9F0))
        topic.icon_custom_emoji_id = params.get("icon_custom_emoji_id")
        chat.topics[topic.thread_id] = topic
        service = {"forum_topic_created": {"name": name, "icon_color": topic.icon_color}}
        msg = {**self._new_message(chat, self.bot_user), **service}
        msg.update(message_thread_id=topic.thread_id, is_topic_message=True)
        chat.messages[msg["message_id"]] = msg
        return topic.as_forum_topic()

    def _m_editForumTopic(self, params: JSON) -> bool:
        _chat, topic = self._require_topic(params, "edit")
        name = params.get("name") or topic.name
        emoji = params.get("icon_custom_emoji_id", topic.icon_custom_emoji_id)
        if (name, emoji) == (topic.name, topic.icon_custom_emoji_id):
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name, topic.icon_custom_emoji_id = name, emoji
        return True

    def _m_closeForumTopic(self, params: JSON) -> bool:
        _chat, topic = self._require_topic(params, "close")
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        return True

    def _m_reopenForumTopic(self, params: JSON) -> bool:
        _chat, topic = self._require_topic(params, "reopen")
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        return True

    def _m_deleteForumTopic(self, params: JSON) -> bool:
        chat, topic = self._require_topic(params, "delete")
        self.delete_topic(chat.id, topic.thread_id)
        return True

    def _m_getChat(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        gifts = {
            k: False
            for k in (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            )
        }
        return {
            **chat.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _m_getChatMember(self, params: JSON) -> JSON:
        return self._member(self._chat(params.get("chat_id")), params.get("user_id"))  # type: ignore[arg-type]

    def _m_getChatAdministrators(self, params: JSON) -> list[JSON]:
        chat = self._chat(params.get("chat_id"))
        if chat.user is not None:
            raise bad_request("there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner else []) + sorted(chat.admins - {chat.owner})
        admins = [self._member(chat, uid) for uid in ids]
        return admins + ([self._member(chat, self.bot_user["id"])] if chat.bot_is_admin else [])

    def _m_getChatMemberCount(self, params: JSON) -> int:
        chat = self._chat(params.get("chat_id"))
        if chat.user is not None:
            return 2
        humans = chat.members | chat.admins | ({chat.owner} if chat.owner else set())
        return len(humans) + int(chat.bot_present)

    def _m_close(self, params: JSON) -> bool:
        return True

    def _m_logOut(self, params: JSON) -> bool:
        return True


def _commands_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
    """Storage key for setMyCommands."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


def _administrator(user: JSON, can_manage_topics: bool) -> JSON:
    """A ChatMemberAdministrator object with typical rights."""
    rights = (
        "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
        "can_change_info", "can_invite_users", "can_pin_messages",
    )  # fmt: skip
    denied = (
        "can_be_edited",
        "is_anonymous",
        "can_promote_members",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
    )
    return {
        "status": "administrator", "user": user, **dict.fromkeys(rights, True),
        **dict.fromkeys(denied, False), "can_manage_topics": can_manage_topics,
    }  # fmt: skip
