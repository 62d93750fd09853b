"""Nothing lost, nothing twice: repeats, restarts, kill -9, API faults, failing handlers."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

from botapi_double import BotApiDouble
from telegram_harness import (
    MONDAY_10,
    buttons,
    db_rows,
    make_engine,
    running_bot,
    settle,
    start_bot_process,
)

from bot.clock import Clock
from bot.engine.conversation import Engine, Event, State, Text, Turn
from bot.storage import Storage


async def test_repeated_and_duplicate_updates_are_handled_once(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(701, "Ans")
    async with running_bot(botapi, tmp_path / "bot.db"):
        update = botapi.user_sends_text(701, "/start")
        await botapi.wait_for_messages(701, 1)
        await botapi.wait_until_confirmed(update["update_id"])
        botapi.repeat_updates([update["update_id"]])
        botapi.deliver_duplicate(update["update_id"])
        await botapi.wait_for_call("getUpdates", len(botapi.calls_to("getUpdates")) + 2)
        await settle()
    assert len(botapi.sent_messages(701)) == 1


async def test_restart_mid_conversation_keeps_state_and_handles_nothing_twice(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(702, "Kees")
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db):
        botapi.user_sends_text(702, "/start")
        (first,) = await botapi.wait_for_messages(702, 1)
        botapi.user_presses_button(702, first, "o:begin:1")
        second = (await botapi.wait_for_messages(702, 2))[1]
    # Sent while the bot is down: must be handled after the restart, once.
    botapi.user_presses_button(702, second, "o:onderwerp:0")
    async with running_bot(botapi, db):
        card = (await botapi.wait_for_messages(702, 3))[2]
        botapi.user_presses_button(702, card, "b")
        back = (await botapi.wait_for_messages(702, 4))[3]
        await settle()
    assert card["text"].startswith("📍 Schuldhulp")
    assert back["text"].startswith("Waar gaat het over?")  # history survived the restart
    assert len(botapi.sent_messages(702)) == 4
    assert (await db_rows(db))["outbox"] == 0


async def test_429_waits_retry_after_then_delivers(botapi: BotApiDouble, tmp_path: Path) -> None:
    botapi.add_private_chat(703, "Mo")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.fail_next("sendMessage", 429, retry_after=1)
        started = time.monotonic()
        botapi.user_sends_text(703, "/start")
        await botapi.wait_for_messages(703, 1)
        elapsed = time.monotonic() - started
    statuses = [c.status for c in botapi.calls_to("sendMessage")]
    assert statuses == [429, 200]
    assert elapsed >= 1.0


async def test_server_errors_are_retried_with_backoff(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(704, "Lies")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.fail_next("sendMessage", 502, times=2)
        botapi.fail_next("getUpdates", 500, times=1)
        botapi.user_sends_text(704, "/start")
        await botapi.wait_for_messages(704, 1)
        await settle()
    assert [c.status for c in botapi.calls_to("sendMessage")] == [502, 502, 200]
    assert len(botapi.sent_messages(704)) == 1


async def test_blocked_resident_is_marked_and_not_retried(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(705, "Piet")
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db) as bot:
        botapi.user_sends_text(705, "/start")
        botapi.user_blocks_bot(705)  # before the bot could answer
        await botapi.wait_for_call("sendMessage", 1)
        await settle(0.5)
        assert bot.storage is not None
        assert await bot.storage.is_blocked(705)
        # Unblocking (Telegram sends my_chat_member) lets the bot talk again.
        botapi.user_unblocks_bot(705)
        botapi.user_sends_text(705, "/opnieuw")
        await botapi.wait_for_messages(705, 1)
        assert not await bot.storage.is_blocked(705)
    assert [c.status for c in botapi.calls_to("sendMessage")] == [403, 200]
    assert (await db_rows(db))["outbox"] == 0


async def test_slow_api_keeps_each_chat_in_order(botapi: BotApiDouble, tmp_path: Path) -> None:
    botapi.add_private_chat(706, "Ria")
    async with running_bot(botapi, tmp_path / "bot.db"):
        botapi.slow("sendMessage", 0.5)
        botapi.user_sends_text(706, "/start")
        botapi.user_sends_text(706, "ik wil er niet meer zijn")
        messages = await botapi.wait_for_messages(706, 2)
    assert messages[0]["text"].startswith("Hoi!") and "113" in messages[1]["text"]


class _FailsOnOneWord(Engine):
    """An engine with a bug that shows only for one input."""

    def handle(self, state: State, event: Event, *, queue_ahead: int = 0) -> Turn:
        if isinstance(event, Text) and event.text == "boem":
            raise RuntimeError("a bug in the engine")
        return super().handle(state, event, queue_ahead=queue_ahead)


async def test_a_failing_update_gets_an_apology_and_the_bot_goes_on(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(707, "Bram")
    kb = make_engine().kb
    engine = _FailsOnOneWord(kb, clock=Clock(start=MONDAY_10))
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db, engine):
        botapi.user_sends_text(707, "boem")
        botapi.user_sends_text(707, "schulden")
        apology, answer = (await botapi.wait_for_messages(707, 2))[:2]
        await settle()
    assert apology["text"].startswith("Sorry, er ging bij mij iets mis.")
    assert "0475 538 888" in apology["text"]
    assert answer["text"].startswith("📍 Schuldhulp")
    async with Storage.open(db) as storage:
        assert await storage.pending_updates() == []


async def test_a_failed_delete_of_a_sent_message_does_not_send_it_again(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(709, "Fien")
    async with running_bot(botapi, tmp_path / "bot.db") as bot:
        storage = bot.storage
        assert storage is not None
        deleted = storage.mark_sent
        failures = [OSError("disk I/O error")]

        async def mark_sent_failing_once(outbox_id: int) -> None:
            if failures:
                raise failures.pop()
            await deleted(outbox_id)

        storage.mark_sent = mark_sent_failing_once  # type: ignore[method-assign]
        botapi.user_sends_text(709, "/start")
        await botapi.wait_for_messages(709, 1)
        await settle()
        botapi.user_sends_text(709, "schulden")
        await botapi.wait_for_messages(709, 2)
        await settle()
        assert not failures
    sent = botapi.sent_messages(709)
    assert len(sent) == 2 and sent[1]["text"].startswith("📍 Schuldhulp")


async def test_a_flooding_resident_waits_and_a_bystander_does_not(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    """Issue #15, fault 8: replies to a flood are paced per chat; another chat is not."""
    botapi.add_private_chat(711, "Veel")
    botapi.add_private_chat(712, "Rustig")
    story = ("Mijn moeder woont alleen en ik regel alles voor haar, de boodschappen, "
             "de post en de rekeningen. ") * 40  # about 4,000 characters
    flood = 12
    async with running_bot(botapi, tmp_path / "bot.db", chat_messages_per_second=4.0,
                           chat_burst=2):
        for n in range(flood):
            botapi.user_sends_text(711, f"{story[:4090]} {n}")
        botapi.user_sends_text(712, "schulden")
        (answer,) = await botapi.wait_for_messages(712, 1)
        answered_flood = len(botapi.sent_messages(711))
        await botapi.wait_for_messages(711, flood, timeout=15)  # the flood waits; nothing lost
        await settle()
    assert answer["text"].startswith("📍 Schuldhulp")
    assert answered_flood < flood / 2  # the bystander did not queue behind the flood
    assert len(botapi.sent_messages(711)) == flood


async def test_kill_9_mid_conversation_loses_nothing_and_repeats_nothing(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(708, "Ans")
    db = tmp_path / "bot.db"
    bot = _start_process(botapi, db)
    try:
        botapi.user_sends_text(708, "/start")
        (first,) = await botapi.wait_for_messages(708, 1, timeout=20)
        botapi.user_presses_button(708, first, "o:begin:0")
        second = (await botapi.wait_for_messages(708, 2, timeout=10))[1]
        # Telegram fails from now on: the next reply is committed but cannot be sent yet.
        botapi.fail_next("sendMessage", 500, times=1000)
        failed_before = len(botapi.calls_to("sendMessage"))
        botapi.user_presses_button(708, second, "o:onderwerp:0")
        await botapi.wait_for_call("sendMessage", failed_before + 1, timeout=10)
    finally:
        bot.send_signal(signal.SIGKILL)
        await asyncio.to_thread(bot.wait, 10)
    # While the bot is dead, the resident goes one step back.
    botapi.user_sends_text(708, "terug")
    botapi.clear_faults()
    bot = _start_process(botapi, db)
    try:
        messages = await botapi.wait_for_messages(708, 4, timeout=20)
        await settle(0.5)
    finally:
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(bot.wait, 15) == 0
    texts = [m["text"] for m in botapi.sent_messages(708)]
    assert len(texts) == 4, texts
    assert texts[2].startswith("📍 Schuldhulp")  # the reply committed before the kill
    assert texts[3].startswith("Waar gaat het over?")  # "terug" used the saved history
    assert "h" in buttons(messages[3])
    assert (await db_rows(db))["outbox"] == 0


def _start_process(api: BotApiDouble, db: Path) -> subprocess.Popen[bytes]:
    """The bot as a real process; stderr is read for tracebacks and the token."""
    return start_bot_process(api, db, stderr=subprocess.PIPE)


async def test_process_exits_cleanly_on_sigterm(botapi: BotApiDouble, tmp_path: Path) -> None:
    bot = _start_process(botapi, tmp_path / "bot.db")
    botapi.add_private_chat(709, "Jan")
    botapi.user_sends_text(709, "/start")
    await botapi.wait_for_messages(709, 1, timeout=20)
    bot.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(bot.wait, 15)
    stderr = bot.stderr.read().decode() if bot.stderr else ""
    assert code == 0, stderr
    assert "Traceback" not in stderr and botapi.token not in stderr
