"""Bad and unusual input over Telegram: a kind answer every time, and groups stay quiet."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from botapi_double import BotApiDouble
from telegram_harness import STAFF_CHAT, buttons, running_bot, settle

from bot.config import configure_logging
from bot.engine.texts import utf16_units
from bot.telegram.render import split_text

BACK_TO_MENU = "Voor wie zoek je hulp?"


@pytest.mark.parametrize(
    ("text", "reply_start"),
    [
        ("   ", "Ik zie geen woorden."),
        ("🙂🙂🙂", "Ik zie geen woorden."),
        ("أريد مساعدة في الإيجار", "Ik kan alleen Nederlands en Engels lezen."),  # right-to-left
        ("schulden " * 600, "📍 Schuldhulp"),  # over 4096 characters
    ],
)
async def test_odd_texts_get_a_kind_answer(
    botapi: BotApiDouble, tmp_path: Path, text: str, reply_start: str
) -> None:
    botapi.add_private_chat(801, "Ans")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(801, text)
        (reply, *_) = await botapi.wait_for_messages(801, 1)
    assert reply["text"].startswith(reply_start)
    assert "h" in [b for m in botapi.sent_messages(801) for b in buttons(m)]


@pytest.mark.parametrize(
    ("kind", "reply_start"),
    [
        ("voice", "Ik kan nog niet luisteren naar spraakberichten."),
        ("sticker", "Ik kan alleen tekst lezen."),
        ("photo", "Ik kan alleen tekst lezen."),
        ("video", "Ik kan alleen tekst lezen."),
        ("location", "Ik kan alleen tekst lezen."),
        ("document", "Ik kan alleen tekst lezen."),
    ],
)
async def test_anything_but_text_gets_an_explanation_and_buttons(
    botapi: BotApiDouble, tmp_path: Path, kind: str, reply_start: str
) -> None:
    botapi.add_private_chat(802, "Kees")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends(802, kind)
        (reply,) = await botapi.wait_for_messages(802, 1)
    assert reply["text"].startswith(reply_start)
    assert "h" in buttons(reply)  # the meedenker is one tap away


@pytest.mark.parametrize("forged", ["o:begin:99", "o:removed-node:0", "s:no-such-service", "zz",
                                    "f:../../etc", "l:xx"])
async def test_old_or_forged_buttons_show_the_current_menu(
    botapi: BotApiDouble, tmp_path: Path, forged: str
) -> None:
    botapi.add_private_chat(803, "Mo")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(803, "/start")
        (first,) = await botapi.wait_for_messages(803, 1)
        botapi.user_presses_button(803, first, forged, strict=False)
        reply = (await botapi.wait_for_messages(803, 2))[1]
        await botapi.wait_for_call("answerCallbackQuery", 1)
    assert reply["text"].startswith("Die knop werkt niet meer.")
    assert BACK_TO_MENU in reply["text"]
    assert buttons(reply)[:2] == ["o:begin:0", "o:begin:1"]


async def test_unknown_command_shows_the_current_question(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(804, "Lies")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(804, "/bestaatniet")
        (reply,) = await botapi.wait_for_messages(804, 1)
    assert reply["text"].startswith(BACK_TO_MENU)


async def test_meedenker_command_offers_the_phone_number(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(805, "Ria")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(805, "/meedenker")
        (reply,) = await botapi.wait_for_messages(805, 1)
    assert "0475 538 888" in reply["text"]


async def test_groups_hear_once_that_the_bot_works_privately(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_user(806, "Piet")
    botapi.add_group(-100806, "Buurtgroep")
    botapi.add_group(STAFF_CHAT, "Meedenkers")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(806, "Hallo bot", chat_id=-100806)
        await botapi.wait_for_messages(-100806, 1)
        botapi.user_sends_text(806, "/start", chat_id=-100806)
        botapi.user_sends_text(806, "nog een keer", chat_id=-100806)
        botapi.user_sends_text(806, "collega's, wie pakt dit op?", chat_id=STAFF_CHAT)
        await settle(0.5)
    (notice,) = botapi.sent_messages(-100806)
    assert notice["text"].startswith("Ik werk alleen in een privégesprek.")
    assert "I only work in a private chat." in notice["text"]
    assert botapi.sent_messages(STAFF_CHAT) == []


def test_long_texts_split_at_4096_utf16_units_never_inside_a_character() -> None:
    text = ("Hulp bij geld 💶. " * 400).strip()  # emoji take two UTF-16 units each
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(utf16_units(piece) <= 4096 for piece in pieces)
    assert " ".join(pieces) == text
    no_spaces = "😀" * 3000  # 6000 units, no boundary to prefer
    hard = split_text(no_spaces)
    assert [utf16_units(p) for p in hard] == [4096, 1904]
    assert "".join(hard) == no_spaces


async def test_logs_hold_no_message_text_names_numbers_or_token(
    botapi: BotApiDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    botapi.add_private_chat(807, "Wilhelmina", username="wilhelmina_v")
    secret_story = "Ik ben Wilhelmina Jansen, 0612345678, en ik heb schulden"
    async with running_bot(botapi, tmp_path / "bot.db", log_level="DEBUG"):
        botapi.user_sends_text(807, secret_story)
        botapi.user_sends_text(807, "boem 💥")
        await botapi.wait_for_messages(807, 2)
        await settle()
        botapi.fail_next("sendMessage", 403)
        botapi.user_sends_text(807, "/start")
        await botapi.wait_for_call("sendMessage", len(botapi.calls_to("sendMessage")) + 1)
        await settle()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "turn event=text actor=" in logged  # the bot does log what it did …
    for secret in ("Wilhelmina", "Jansen", "0612345678", "schulden", "boem", "807",
                   botapi.token, botapi.token.split(":")[1]):
        assert secret not in logged, secret  # … but never who or what
