"""Photos, stickers, voice, video, locations, documents: a kind word about what the bot can do."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.engine.conversation import NotText, SharedContact
from bot.telegram.handlers.respond import respond

KINDS = ("voice", "video_note", "audio", "photo", "sticker", "video", "animation", "document",
         "location", "venue", "contact", "poll", "dice")


def kind_of(message: Message) -> str:
    """The first kind of content the message carries, e.g. "voice"."""
    return next((kind for kind in KINDS if getattr(message, kind, None)), "other")


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain that the bot reads text and buttons; voice gets its own answer."""
    message = update.effective_message
    if message is None:
        return
    user = update.effective_user
    contact = message.contact
    if contact is not None and user is not None and contact.user_id == user.id:
        # Their own number, shared with the button: only the handoff's callback asks for it.
        await respond(update, context, SharedContact(contact.phone_number))
        return
    await respond(update, context, NotText(kind_of(message)))


handlers = [
    MessageHandler(
        filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT
        & ~filters.StatusUpdate.ALL,
        not_text,
    )
]
