"""Residents talking to the real Application over HTTP, against the Bot API double."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from botapi_double import BotApiDouble
from telegram_harness import buttons, make_engine, running_bot, settle

from bot.engine.conversation import Choice, Event, Start, State, Text
from bot.storage import Storage
from bot.telegram.render import messages_for


async def test_start_introduces_itself_then_asks_with_buttons(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(501, "Ans")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(501, "/start")
        (message,) = await botapi.wait_for_messages(501, 1)
    text = message["text"]
    # Who it is, that it is a bot, that a human is reachable; privacy; only then a question.
    bot_at = text.index("computerprogramma, geen mens")
    human_at = text.index("met een mens praten")
    privacy_at = text.index("niet end-to-end versleuteld")
    question_at = text.index("Voor wie zoek je hulp?")
    assert bot_at < human_at < privacy_at < question_at
    assert buttons(message) == ["o:begin:0", "o:begin:1", "l:en", "x", "h"]
    assert all(len(data.encode()) <= 64 for data in buttons(message))
    commands = {c["command"] for c in botapi.bot_commands({"type": "all_private_chats"})}
    assert {"start", "help", "opnieuw", "taal", "privacy", "meedenker"} <= commands


async def test_tree_to_service_card_then_back_and_state_is_stored(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(502, "Kees")
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db):
        botapi.user_sends_text(502, "/start")
        (first,) = await botapi.wait_for_messages(502, 1)
        botapi.user_presses_button(502, first, "o:begin:1")
        second = (await botapi.wait_for_messages(502, 2))[-1]
        assert second["text"].startswith("Waar gaat het over?")
        botapi.user_presses_button(502, second, "o:onderwerp:0")
        card = (await botapi.wait_for_messages(502, 3))[-1]
        await botapi.wait_for_call("answerCallbackQuery", 2)
    assert "Schuldhulp" in card["text"] and "0475" in card["text"]
    assert "b" in buttons(card) and "h" in buttons(card)
    answered = [c.params["callback_query_id"] for c in botapi.calls_to("answerCallbackQuery")]
    assert len(answered) == len(set(answered)) == 2
    async with Storage.open(db) as storage:
        state = json.loads(await storage.load_state(502) or "{}")
    assert state["node"] == "onderwerp" and state["history"] == ["begin"]
    assert state["role"] == "carer" and state["at_result"] is True


async def test_free_text_crisis_and_unknown(botapi: BotApiDouble, tmp_path: Path) -> None:
    botapi.add_private_chat(503, "Mo")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(503, "ik heb schulden en kan de huur niet betalen")
        answer = (await botapi.wait_for_messages(503, 1))[0]
        await settle()
        sent = len(botapi.sent_messages(503))
        botapi.user_sends_text(503, "ik wil er niet meer zijn")
        crisis = (await botapi.wait_for_messages(503, sent + 1))[sent]
        botapi.user_sends_text(503, "hoe laat vertrekt de trein naar Venlo")
        unknown = (await botapi.wait_for_messages(503, sent + 2))[sent + 1]
        await settle()
    assert answer["text"].startswith("📍 Schuldhulp")
    assert "112" in crisis["text"] and "0800-0113" in crisis["text"]
    assert "0800-2000" in crisis["text"]
    assert "h" in buttons(crisis)  # a human is offered on a crisis, at once
    assert unknown["text"].startswith("Sorry, dat weet ik niet.")
    assert buttons(unknown)[0] == "o:onderwerp:0" and "h" in buttons(unknown)  # topics, a person
    assert len(botapi.sent_messages(503)) == sent + 2


async def test_many_residents_at_once_each_get_their_own_answers(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    residents = range(600, 620)
    for chat_id in residents:
        botapi.add_private_chat(chat_id, f"Bewoner{chat_id}")
    script = {c: [Start(), Choice(f"o:begin:{c % 2}"), Text("schulden" if c % 2 else "mantelzorg")]
              for c in residents}
    expected = {c: expected_texts(c, script[c]) for c in residents}
    async with running_bot(botapi, tmp_path / "bot.db"):
        for chat_id in residents:
            botapi.user_sends_text(chat_id, "/start")
        firsts = await asyncio.gather(*(botapi.wait_for_messages(c, 1) for c in residents))
        for chat_id, (first,) in zip(residents, firsts, strict=True):
            botapi.user_presses_button(chat_id, first, f"o:begin:{chat_id % 2}")
        for chat_id in residents:
            botapi.user_sends_text(chat_id, "schulden" if chat_id % 2 else "mantelzorg")
        await asyncio.gather(*(botapi.wait_for_messages(c, len(expected[c])) for c in residents))
        await settle()
    for chat_id in residents:
        messages = botapi.sent_messages(chat_id)
        assert [m["text"] for m in messages] == expected[chat_id]
        assert all(m["chat"]["id"] == chat_id for m in messages)
    assert "Schuldhulp" in expected[601][2] and "Mantelzorg" in expected[600][2]


def expected_texts(chat_id: int, events: list[Event]) -> list[str]:
    """What the same engine says to one resident, as Telegram messages."""
    engine, state, result = make_engine(), State(), []
    for event in events:
        turn = engine.handle(state, event)
        state = turn.state
        result += [o.params["text"] for o in messages_for(chat_id, turn.replies)]
    return result


async def test_language_switch_is_remembered(botapi: BotApiDouble, tmp_path: Path) -> None:
    botapi.add_private_chat(504, "Sam", language_code="nl")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(504, "/start")
        (first,) = await botapi.wait_for_messages(504, 1)
        botapi.user_presses_button(504, first, "l:en")
        await botapi.wait_for_messages(504, 2)
        botapi.user_sends_text(504, "/opnieuw")
        messages = await botapi.wait_for_messages(504, 3)
    # The minimal tree has Dutch-only questions; the bot's own sentences switch language.
    assert "You can tap a button." in messages[2]["text"]
    assert "🌐 Nederlands" in [b["text"] for row in messages[2]["reply_markup"]["inline_keyboard"]
                              for b in row]


async def test_english_telegram_users_start_in_english(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(505, "Alex", language_code="en")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.user_sends_text(505, "/start")
        (first,) = await botapi.wait_for_messages(505, 1)
    assert first["text"].startswith("Hi! I am Wegwijzer") and "l:nl" in buttons(first)


async def test_understanding_over_telegram_follow_up_after_restart_english_and_desk(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    """Issue 16 over the real Application: a follow-up still knows the card after a restart;
    an English message is answered in English with a button back; a passport goes to the
    gemeente's own desk; a thumbs-up is thanked."""
    botapi.add_private_chat(520, "Fatma")
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db):
        botapi.user_sends_text(520, "ik heb schulden")
        card = (await botapi.wait_for_messages(520, 1))[-1]
    assert "Schuldhulp" in card["text"] and "Website:" not in card["text"]  # short first
    async with running_bot(botapi, db):  # a restart in between
        botapi.user_presses_button(520, card, "m:service:schuldhulp")  # "Vertel me meer"
        full = (await botapi.wait_for_messages(520, 2))[-1]
        assert "Website: https://www.example.nl/schulden" in full["text"]
        botapi.user_sends_text(520, "wat is het telefoonnummer?")
        follow = (await botapi.wait_for_messages(520, 3))[-1]
        botapi.user_sends_text(520, "where can I get help with my debts")
        english = (await botapi.wait_for_messages(520, 4))[-1]
        botapi.user_sends_text(520, "ik moet mijn paspoort verlengen, waar kan dat")
        desk = (await botapi.wait_for_messages(520, 5))[-1]
        botapi.user_sends_text(520, "👍")
        thanks = (await botapi.wait_for_messages(520, 6))[-1]
    assert follow["text"].startswith("Schuldhulp:") and "0475 538 888" in follow["text"]
    assert "Free help if you have debts." in english["text"] and "l:nl" in buttons(english)
    assert desk["text"].startswith("Daarvoor kun je terecht bij de gemeente")  # Dutch again
    assert thanks["text"].startswith("Graag gedaan")
