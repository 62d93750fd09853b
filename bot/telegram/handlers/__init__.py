"""Telegram handlers, one module per feature; each only translates to and from the engine."""

from __future__ import annotations

from telegram.ext import Application

from bot.telegram.handlers import (
    buttons,
    commands,
    errors,
    groups,
    media,
    meedenker,
    membership,
    my_data,
    staff,
    staff_admin,
    start,
    text,
)

# Order matters: the first matching handler wins, so specific commands come before the
# catch-all for unknown commands.
FEATURES = (start, meedenker, my_data, commands, buttons, text, media, groups, membership)
STAFF_GROUP = -1  # runs before the others; staff handlers ignore everything but the staff group


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add every feature's handlers and the one error handler."""
    application.add_handlers([*staff_admin.handlers, *staff.handlers], group=STAFF_GROUP)
    for feature in FEATURES:
        application.add_handlers(feature.handlers)
    application.add_error_handler(errors.on_error)
