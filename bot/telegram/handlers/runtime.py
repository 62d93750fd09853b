"""The bot's Runtime, reachable from a handler's callback context."""

from __future__ import annotations

from telegram.ext import ContextTypes

from bot.service.runtime import Runtime

RUNTIME_KEY = "wegwijzer_runtime"


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    """The Runtime that `build_application` put in bot_data."""
    runtime = context.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    return runtime
