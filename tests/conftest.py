"""Shared pytest fixtures."""

from collections.abc import AsyncIterator

import pytest
from botapi_double import BotApiDouble
from telegram import Bot


@pytest.fixture
async def botapi() -> AsyncIterator[BotApiDouble]:
    """A running Telegram Bot API double on a random 127.0.0.1 port."""
    async with BotApiDouble() as api:
        yield api


@pytest.fixture
async def tg_bot(botapi: BotApiDouble) -> AsyncIterator[Bot]:
    """A real, initialized ``telegram.Bot`` talking to the ``botapi`` double."""
    bot = Bot(botapi.token, base_url=botapi.base_url, base_file_url=botapi.base_file_url)
    async with bot:
        yield bot
