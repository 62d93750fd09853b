"""The warm handoff end to end: two residents, two meedenkers, with and without forum topics."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botapi_double import BotApiDouble
from telegram_harness import MONDAY_10, STAFF_CHAT, buttons, running_bot, settle, start_bot_process

from bot.clock import Clock
from bot.handoff.dialog import HandoffEngine
from bot.kb.loader import load_knowledge_base
from bot.storage import Storage
from tests.kbtools import MINIMAL

ANS, KEES = 1001, 1002  # residents
PIET, MARIE = 2001, 2002  # meedenkers
SUNDAY_20 = dt.datetime(2026, 11, 22, 19, 0, tzinfo=dt.UTC)  # the team is closed


def handoff_engine(now: dt.datetime = MONDAY_10) -> HandoffEngine:
    """The engine with the handoff, on the minimal knowledge base, at a fixed time."""
    return HandoffEngine(load_knowledge_base(MINIMAL), clock=Clock(start=now))


@pytest.fixture(params=[True, False], ids=["topics", "replies"])
def forum(request: pytest.FixtureRequest) -> bool:
    """Both staff-group modes."""
    return bool(request.param)


@pytest.fixture
def world(botapi: BotApiDouble, forum: bool) -> BotApiDouble:
    """Two residents and a staff group with two meedenkers."""
    botapi.add_private_chat(ANS, "Ans")
    botapi.add_private_chat(KEES, "Kees")
    botapi.add_group(STAFF_CHAT, "Meedenkers", forum=forum, supergroup=True,
                     members=[PIET, MARIE], admins=[PIET])
    botapi.users[PIET]["first_name"] = "Piet"
    botapi.users[MARIE]["first_name"] = "Marie"
    return botapi


def last(api: BotApiDouble, chat_id: int) -> dict[str, Any]:
    """The newest message the bot sent to a chat."""
    return api.sent_messages(chat_id)[-1]


async def next_message(api: BotApiDouble, chat_id: int, seen: int) -> dict[str, Any]:
    """Wait for message number seen+1 to a chat and return it."""
    return (await api.wait_for_messages(chat_id, seen + 1))[seen]


def staff_card(api: BotApiDouble, number: int) -> dict[str, Any]:
    """The current state of a request's card in the staff group."""
    cards = [m for m in api.sent_messages(STAFF_CHAT) if f"Aanvraag #{number}" in m.get("text", "")]
    assert cards, f"no card for #{number}: {[m.get('text') for m in api.sent_messages(STAFF_CHAT)]}"
    return cards[0]


async def ask_for_meedenker(api: BotApiDouble, resident: int, *, message: str | None = None,
                            share_name: bool = False) -> dict[str, Any]:
    """/start, the tree's first answer, then the meedenker button, consent and yes."""
    seen = len(api.sent_messages(resident))
    api.user_sends_text(resident, "/start")
    start = await next_message(api, resident, seen)
    api.user_presses_button(resident, start, "o:begin:1")
    topic_question = await next_message(api, resident, seen + 1)
    api.user_presses_button(resident, topic_question, "h")
    consent = await next_message(api, resident, seen + 2)
    seen += 3
    if share_name:
        api.user_presses_button(resident, consent, "k:name")
        consent = await next_message(api, resident, seen)
        seen += 1
    if message:
        api.user_presses_button(resident, consent, "k:msg")
        await next_message(api, resident, seen)
        api.user_sends_text(resident, message)
        consent = await next_message(api, resident, seen + 1)
        seen += 2
    api.user_presses_button(resident, consent, "k:yes")
    return await next_message(api, resident, seen)


def staff_reply(api: BotApiDouble, forum: bool, user: int, number: int, text: str) -> None:
    """A meedenker writes in the request's topic, or replies to its card."""
    card = staff_card(api, number)
    if forum:
        api.user_sends_text(user, text, chat_id=STAFF_CHAT,
                            message_thread_id=card["message_thread_id"])
    else:
        api.user_sends_text(user, text, chat_id=STAFF_CHAT, reply_to_message_id=card["message_id"])


async def test_consent_shows_what_is_shared_and_no_means_nothing_leaves(
    world: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        world.user_sends_text(ANS, "/meedenker")
        consent = await next_message(world, ANS, 0)
        world.user_presses_button(ANS, consent, "k:no")
        refusal = await next_message(world, ANS, 1)
        await settle()
    text = consent["text"]
    assert "Dit geef ik door:" in text and "• Taal: Nederlands" in text
    assert "• Gemeente: Testdorp" in text and "• Naam: geen (je blijft anoniem)" in text
    assert "112" in text and "0800-0113" in text and "0800-2000" in text
    assert buttons(consent) == ["k:yes", "k:msg", "k:name", "k:no"]
    assert "0475 538 888" in refusal["text"]  # phone numbers instead
    assert world.sent_messages(STAFF_CHAT) == []  # nothing left the conversation
    async with Storage.open(tmp_path / "bot.db") as storage:
        assert (await storage.counts())["requests"] == 0


async def test_request_claim_relay_release_and_ending_with_a_rating(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(world, db, handoff_engine()):
        sent = await ask_for_meedenker(world, ANS, message="Mijn moeder valt vaak.",
                                       share_name=True)
        assert "Je vraag is doorgegeven (nummer 1)" in sent["text"]
        assert "Er is niemand voor je." in sent["text"]
        await world.wait_for_messages(STAFF_CHAT, 1)
        card = staff_card(world, 1)
        assert "Naam: Ans" in card["text"] and "Mijn moeder valt vaak." in card["text"]
        assert "Antwoorden: Voor iemand anders" in card["text"]
        assert "Taal: Nederlands" in card["text"] and "Gemeente: Testdorp" in card["text"]
        assert buttons(card) == ["q:claim:1"]
        if forum:
            topic = world.topic(STAFF_CHAT, card["message_thread_id"])
            assert topic.name == "#1 · Vraag · Ans"

        # Kees asks too: he hears one person is ahead of him.
        kees_sent = await ask_for_meedenker(world, KEES)
        assert "Er is 1 persoon voor je." in kees_sent["text"]

        # Piet claims #1; Marie's second claim is refused politely.
        world.user_presses_button(PIET, staff_card(world, 1), "q:claim:1")
        claimed = await next_message(world, ANS, len(world.sent_messages(ANS)))
        assert claimed["text"] == "Piet (meedenker) helpt je nu. Je kunt gewoon typen."
        world.user_presses_button(MARIE, staff_card(world, 1), "q:claim:1", strict=False)
        await settle()
        staff_answers = [c.params.get("text") for c in world.calls_to("answerCallbackQuery")
                         if c.params.get("text")]
        assert staff_answers == ["Je hebt #1 opgepakt. Schrijf hier; de inwoner leest mee.",
                                 "#1 is al opgepakt door Piet."]
        assert "opgepakt door Piet" in staff_card(world, 1)["text"]
        assert buttons(staff_card(world, 1)) == ["q:release:1"]

        # Two-way relay: text, a photo and a location from Ans; text and a photo from Piet.
        staff_seen = len(world.sent_messages(STAFF_CHAT))
        world.user_sends_text(ANS, "Ze is 84 en woont alleen.")
        world.user_sends(ANS, "photo", caption="haar trap")
        world.user_sends(ANS, "location")
        relayed = (await world.wait_for_messages(STAFF_CHAT, staff_seen + 3))[staff_seen:]
        assert relayed[0]["text"] == "Ze is 84 en woont alleen."
        assert "photo" in relayed[1] and relayed[1]["caption"] == "haar trap"
        assert "location" in relayed[2]
        if forum:
            assert {m["message_thread_id"] for m in relayed} == {card["message_thread_id"]}
        else:
            assert {m["reply_to_message"]["message_id"] for m in relayed} == {card["message_id"]}
        ans_seen = len(world.sent_messages(ANS))
        staff_reply(world, forum, PIET, 1, "Dag Ans, ik bel je morgen.")
        reply = await next_message(world, ANS, ans_seen)
        assert reply["text"] == "💬 Piet: Dag Ans, ik bel je morgen."

        # Internal notes stay in the staff group; Marie cannot reach Ans.
        staff_reply(world, forum, PIET, 1, "# dochter is mantelzorger")
        staff_reply(world, forum, PIET, 1, "/notitie bellen voor 12 uur")
        staff_reply(world, forum, MARIE, 1, "Hoi Ans, Marie hier")
        await settle(0.5)
        assert len(world.sent_messages(ANS)) == ans_seen + 1
        assert any("is opgepakt door Piet. Je bericht is niet doorgestuurd." in m.get("text", "")
                   for m in world.sent_messages(STAFF_CHAT))

        # Release and claim again by Marie, then /klaar and a rating.
        world.user_presses_button(PIET, staff_card(world, 1), "q:release:1")
        released = await next_message(world, ANS, ans_seen + 1)
        assert released["text"].startswith("Je vraag staat weer in de wachtrij.")
        await settle()
        world.user_presses_button(MARIE, staff_card(world, 1), "q:claim:1")
        await next_message(world, ANS, ans_seen + 2)
        staff_reply(world, forum, MARIE, 1, "/klaar")
        rating = await next_message(world, ANS, ans_seen + 3)
        assert rating["text"].startswith("Het gesprek is afgesloten.")
        assert buttons(rating) == ["k:r:1", "k:r:2", "k:r:3", "k:r:4", "k:r:5", "k:skip"]
        world.user_presses_button(ANS, rating, "k:r:4")
        remark = await next_message(world, ANS, ans_seen + 4)
        world.user_sends_text(ANS, "Fijn geholpen")
        back = await next_message(world, ANS, ans_seen + 5)
        assert remark["text"].startswith("Dank je. Wil je nog iets zeggen?")
        assert back["text"].startswith("Dank je wel. Je praat nu weer met Wegwijzer")
        # Back with the bot: free text is answered by the bot again, not relayed.
        world.user_sends_text(ANS, "schulden")
        answer = await next_message(world, ANS, ans_seen + 6)
        assert answer["text"].startswith("📍 Schuldhulp")
        await settle()
        assert not any(m.get("text") == "schulden" for m in world.sent_messages(STAFF_CHAT))
    async with Storage.open(db) as storage:
        request = await storage.get_request(1)
    assert request is not None and request.status == "closed"
    assert (request.rating, request.remark, request.claimed_name) == (4, "Fijn geholpen", "Marie")


async def test_terug_hands_the_resident_back_to_the_bot_with_a_note(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, KEES)
        await world.wait_for_messages(STAFF_CHAT, 1)
        world.user_presses_button(PIET, staff_card(world, 1), "q:claim:1")
        seen = len(await world.wait_for_messages(KEES, 5))
        staff_reply(world, forum, PIET, 1, "/terug Kijk bij Schuldhulp, die kunnen helpen.")
        back = await next_message(world, KEES, seen)
    assert back["text"].startswith("Piet heeft het gesprek teruggegeven aan Wegwijzer")
    assert "Kijk bij Schuldhulp, die kunnen helpen." in back["text"]
    assert "o:begin:0" in buttons(back)


async def test_out_of_hours_offers_a_callback_with_the_contact_button(
    world: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine(SUNDAY_20)):
        sent = await ask_for_meedenker(world, ANS)
        assert "Het team is nu gesloten. Ze zijn er weer vanaf morgen 09:00." in sent["text"]
        assert "112" in sent["text"]
        world.user_presses_button(ANS, sent, "k:cb")
        ask = await next_message(world, ANS, 4)
        keyboard = ask["reply_markup"]["keyboard"]
        assert keyboard[0][0]["request_contact"] is True
        world.user_sends(ANS, "contact", phone_number="+31612345678")
        moment = await next_message(world, ANS, 5)
        assert buttons(moment) == ["k:m:ochtend", "k:m:middag", "k:m:avond"]
        world.user_presses_button(ANS, moment, "k:m:middag")
        done = await next_message(world, ANS, 6)
        await world.wait_for_messages(ANS, 8)
        await settle()
        card = staff_card(world, 1)
    assert done["reply_markup"] == {"remove_keyboard": True}
    assert "📞 Terugbellen: +31612345678, in de middag" in card["text"]
    assert any("wil teruggebeld worden (middag)" in m.get("text", "")
               for m in world.sent_messages(STAFF_CHAT))


async def test_unclaimed_request_is_announced_again_and_the_resident_hears_it(
    world: BotApiDouble, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(world, db, handoff_engine()) as bot:
        await ask_for_meedenker(world, ANS)
        await world.wait_for_messages(STAFF_CHAT, 1)
        assert bot.storage is not None
        async with bot.storage.write() as writer:  # the deadline passes
            await writer.update_request(1, remind_at=0.0)
        update = await world.wait_for_messages(ANS, 5, timeout=10)
        await settle()
    assert update[4]["text"].startswith("Er is nog niemand vrij, sorry dat je moet wachten.")
    reminders = [m for m in world.sent_messages(STAFF_CHAT) if m.get("text", "").startswith("⏰ #1")]
    assert len(reminders) == 1 and buttons(reminders[0]) == ["q:claim:1"]
    async with Storage.open(db) as storage:
        request = await storage.get_request(1)
    assert request is not None and request.remind_at is not None and request.remind_at > 0


async def test_wachtrij_lists_open_requests_and_staff_commands_do_nothing_elsewhere(
    world: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await ask_for_meedenker(world, KEES)
        await world.wait_for_messages(STAFF_CHAT, 2)
        world.user_sends_text(MARIE, "/wachtrij", chat_id=STAFF_CHAT)
        overview = (await world.wait_for_messages(STAFF_CHAT, 3))[2]
        world.user_sends_text(ANS, "/wachtrij")  # a resident trying a staff command
        reply = await next_message(world, ANS, 4)
        await settle()
    assert overview["text"].startswith("Open aanvragen:")
    assert "#1 · vraag · 0 min · wacht" in overview["text"]
    assert "#2 · vraag · 0 min · wacht" in overview["text"]
    assert reply["text"].startswith("Je vraag is al doorgegeven.")  # nothing revealed


async def test_crisis_while_waiting_marks_the_request_urgent(
    world: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await world.wait_for_messages(STAFF_CHAT, 1)
        world.user_sends_text(ANS, "ik wil er niet meer zijn")
        crisis = await next_message(world, ANS, 4)
        await settle(0.5)
        card = staff_card(world, 1)
    assert "113" in crisis["text"] and buttons(crisis) == ["k:stop"]
    assert card["text"].startswith("🔴 SPOED")
    staff_texts = [m.get("text", "") for m in world.sent_messages(STAFF_CHAT)]
    assert "ik wil er niet meer zijn" in staff_texts  # relayed, so the meedenker reads it
    assert any(t.startswith("🔴 Crisissignaal bij #1") for t in staff_texts)


async def test_vergeet_erases_everything_and_mijngegevens_shows_it(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(world, db, handoff_engine()):
        await ask_for_meedenker(world, ANS, message="Mijn huur is te hoog.")
        await world.wait_for_messages(STAFF_CHAT, 1)
        card = staff_card(world, 1)
        world.user_sends_text(ANS, "Het gaat om 3 maanden.")
        copy = (await world.wait_for_messages(STAFF_CHAT, 2))[1]
        world.user_sends_text(ANS, "/mijngegevens")
        shown = await next_message(world, ANS, 6)
        world.user_sends_text(ANS, "/vergeet")
        confirm = await next_message(world, ANS, 7)
        world.user_presses_button(ANS, confirm, "v:yes")
        done = await next_message(world, ANS, 8)
        await settle(0.5)
    assert world.is_deleted(STAFF_CHAT, copy["message_id"])  # the copy under the card too
    assert "Aanvraag 1 (wacht" in shown["text"] and "Mijn huur is te hoog." in shown["text"]
    assert "Gemeente bij aanvraag 1: Testdorp" in shown["text"]
    assert "Voor iemand anders" in shown["text"]
    assert done["text"].startswith("Klaar. Ik heb alles over je gewist.")
    if forum:
        assert world.topic(STAFF_CHAT, card["message_thread_id"]).deleted
    else:
        assert world.is_deleted(STAFF_CHAT, card["message_id"])
    assert any("heeft al zijn gegevens gewist" in m.get("text", "")
               for m in world.sent_messages(STAFF_CHAT))
    async with Storage.open(db) as storage:
        counts = await storage.counts()
        assert await storage.load_state(ANS) is None
    assert counts["requests"] == 0 and counts["staff_messages"] == 0 and counts["residents"] == 0


async def test_blocked_resident_is_reported_to_the_meedenker(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await world.wait_for_messages(STAFF_CHAT, 1)
        world.user_presses_button(PIET, staff_card(world, 1), "q:claim:1")
        await world.wait_for_messages(ANS, 5)
        world.chats[ANS].blocked = True  # blocked without Telegram telling us yet
        staff_reply(world, forum, PIET, 1, "Ans, ben je er nog?")
        await world.wait_for_call("sendMessage", len(world.calls_to("sendMessage")) + 1)
        await settle(0.5)
    notes = [m.get("text", "") for m in world.sent_messages(STAFF_CHAT)]
    assert any("heeft de bot geblokkeerd of het account verwijderd" in n for n in notes)
    assert "Status: afgesloten" in staff_card(world, 1)["text"]


async def test_a_deleted_topic_is_made_again_with_the_card(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(ANS, "Ans")
    botapi.add_group(STAFF_CHAT, "Meedenkers", forum=True, members=[PIET])
    async with running_bot(botapi, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(botapi, ANS)
        first_card = (await botapi.wait_for_messages(STAFF_CHAT, 1))[0]
        old_thread = first_card["message_thread_id"]
        botapi.delete_topic(STAFF_CHAT, old_thread)
        botapi.user_sends_text(ANS, "Is er al iemand?")
        await botapi.wait_for_messages(STAFF_CHAT, 3)
        await settle()
    new_card, relayed = botapi.sent_messages(STAFF_CHAT)[1:3]
    assert new_card["message_thread_id"] != old_thread
    assert "Aanvraag #1" in new_card["text"]
    assert relayed["text"] == "Is er al iemand?"
    assert relayed["message_thread_id"] == new_card["message_thread_id"]


async def test_two_residents_never_cross_wires(world: BotApiDouble, forum: bool,
                                               tmp_path: Path) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await ask_for_meedenker(world, KEES)
        await world.wait_for_messages(STAFF_CHAT, 2)
        world.user_presses_button(PIET, staff_card(world, 1), "q:claim:1")
        world.user_presses_button(MARIE, staff_card(world, 2), "q:claim:2")
        await asyncio.gather(world.wait_for_messages(ANS, 5), world.wait_for_messages(KEES, 5))
        staff_reply(world, forum, PIET, 1, "voor Ans")
        staff_reply(world, forum, MARIE, 2, "voor Kees")
        staff_reply(world, forum, PIET, 2, "Piet probeert Kees")  # not his request
        await asyncio.gather(world.wait_for_messages(ANS, 6), world.wait_for_messages(KEES, 6))
        await settle(0.5)
    ans = [m.get("text", "") for m in world.sent_messages(ANS)]
    kees = [m.get("text", "") for m in world.sent_messages(KEES)]
    assert ans[-1] == "💬 Piet: voor Ans" and kees[-1] == "💬 Marie: voor Kees"
    assert not any("Piet probeert" in t for t in ans + kees)


async def test_kill_9_during_relay_loses_and_repeats_nothing(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(ANS, "Ans")
    botapi.add_group(STAFF_CHAT, "Meedenkers", forum=True, members=[PIET])
    botapi.users[PIET]["first_name"] = "Piet"
    db = tmp_path / "bot.db"
    bot = start_process(botapi, db)
    try:
        botapi.user_sends_text(ANS, "/meedenker")
        consent = (await botapi.wait_for_messages(ANS, 1, timeout=20))[0]
        botapi.user_presses_button(ANS, consent, "k:yes")
        await botapi.wait_for_messages(STAFF_CHAT, 1, timeout=10)
        botapi.user_presses_button(PIET, staff_card(botapi, 1), "q:claim:1")
        await botapi.wait_for_messages(ANS, 3, timeout=10)
        # Telegram fails from now on: both directions are committed but cannot be sent.
        for method in ("copyMessage", "sendMessage"):
            botapi.fail_next(method, 500, times=1000)
        calls = len(botapi.calls)
        botapi.user_sends_text(ANS, "bericht 1")
        staff_reply(botapi, True, PIET, 1, "antwoord 1")
        await wait_until(lambda: sum(c.status == 500 for c in botapi.calls[calls:]) >= 2)
    finally:
        bot.send_signal(signal.SIGKILL)
        await asyncio.to_thread(bot.wait, 10)
    botapi.user_sends_text(ANS, "bericht 2")  # while the bot is dead
    staff_reply(botapi, True, PIET, 1, "antwoord 2")
    botapi.clear_faults()
    bot = start_process(botapi, db)
    try:
        await botapi.wait_for_messages(ANS, 5, timeout=20)
        await wait_until(lambda: len(relayed_texts(botapi)) >= 2)
        await settle(1.0)
    finally:
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(bot.wait, 15) == 0
    to_ans = [m.get("text") for m in botapi.sent_messages(ANS)][3:]
    assert to_ans == ["💬 Piet: antwoord 1", "💬 Piet: antwoord 2"]
    assert relayed_texts(botapi) == ["bericht 1", "bericht 2"]


def relayed_texts(api: BotApiDouble) -> list[str]:
    """Resident messages that arrived in the staff group."""
    return [m["text"] for m in api.sent_messages(STAFF_CHAT)
            if m.get("text", "").startswith("bericht")]


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a condition about the double's transcript."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def start_process(api: BotApiDouble, db: Path) -> subprocess.Popen[bytes]:
    """`wegwijzer run` with a staff group, as a real process."""
    return start_bot_process(api, db, MEEDENKERS_CHAT_ID=str(STAFF_CHAT))


async def test_graceful_restart_during_relay_keeps_the_conversation(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(world, db, handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await world.wait_for_messages(STAFF_CHAT, 1)
        world.user_presses_button(PIET, staff_card(world, 1), "q:claim:1")
        await world.wait_for_messages(ANS, 5)
    world.user_sends_text(ANS, "bericht tijdens herstart")
    staff_reply(world, forum, PIET, 1, "antwoord tijdens herstart")
    async with running_bot(world, db, handoff_engine()):
        await world.wait_for_messages(ANS, 6)
        await wait_until(lambda: len(relayed_texts(world)) >= 1)
        await settle(0.5)
    assert [m.get("text") for m in world.sent_messages(ANS)][5:] == [
        "💬 Piet: antwoord tijdens herstart"]
    assert relayed_texts(world) == ["bericht tijdens herstart"]


async def test_purged_requests_leave_the_staff_group_too(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()) as bot:
        await ask_for_meedenker(world, ANS)
        card = (await world.wait_for_messages(STAFF_CHAT, 1))[0]
        assert bot.storage is not None
        async with bot.storage.write() as writer:  # closed long ago
            await writer.close_request(1)
            await writer.update_request(1, closed_at=1.0)
        await bot._clear_staff_group(30)
        counts = await bot.storage.purge(retention_days=30)
    assert counts["requests"] == 1
    if forum:
        assert world.topic(STAFF_CHAT, card["message_thread_id"]).deleted
    else:
        assert world.is_deleted(STAFF_CHAT, card["message_id"])


async def test_someone_who_left_the_group_cannot_claim(world: BotApiDouble, tmp_path: Path) -> None:
    """Issue 15: a press from a user getChatMember reports as 'left' held the request."""
    world.add_user(4040, "Oud-lid")
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await world.wait_for_messages(STAFF_CHAT, 1)
        world.user_presses_button(4040, staff_card(world, 1), "q:claim:1")
        await settle()
    answers = [c.params.get("text", "") for c in world.calls_to("answerCallbackQuery")]
    assert any(a.startswith("Je bent geen lid meer van de meedenkersgroep.") for a in answers)
    assert "🙋" not in staff_card(world, 1)["text"]  # the card still waits for someone
    async with Storage.open(tmp_path / "bot.db") as storage:
        request = await storage.get_request(1)
    assert request is not None and request.status == "waiting"


async def test_a_message_that_reaches_nobody_is_pointed_the_way(
    world: BotApiDouble, forum: bool, tmp_path: Path
) -> None:
    """Issue 15: in reply mode a message that answered neither card nor copy went nowhere."""
    if forum:
        pytest.skip("in topic mode every message in a topic reaches its resident")
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        await ask_for_meedenker(world, ANS)
        await world.wait_for_messages(STAFF_CHAT, 1)
        world.user_presses_button(PIET, staff_card(world, 1), "q:claim:1")
        await world.wait_for_messages(ANS, 5)
        world.user_sends_text(PIET, "Hoi Ans, ik ben Piet", chat_id=STAFF_CHAT)
        world.user_sends_text(MARIE, "Koffie iemand?", chat_id=STAFF_CHAT)  # no request held
        await settle()
    told = [m for m in world.sent_messages(STAFF_CHAT) if "ging naar geen" in m.get("text", "")]
    assert [m["text"] for m in told] == [
        "Dit bericht ging naar geen inwoner. Antwoord op de kaart van #1 of op een doorgestuurd "
        "bericht om de inwoner te bereiken. Een bericht met # blijft intern."]
    assert all("Hoi Ans" not in m.get("text", "") for m in world.sent_messages(ANS))


STORY = "mijn moeder heeft dementie en ik weet niet waar ik moet beginnen"


async def test_the_residents_own_words_reach_the_card_only_when_ticked(
    world: BotApiDouble, tmp_path: Path
) -> None:
    """Issue 17 over Telegram: the story travels with consent, exactly as shown."""
    async with running_bot(world, tmp_path / "bot.db", handoff_engine()):
        world.user_sends_text(ANS, STORY)
        await next_message(world, ANS, 0)
        world.user_sends_text(ANS, "/meedenker")
        consent = await next_message(world, ANS, 1)
        assert "k:story" in buttons(consent)
        world.user_presses_button(ANS, consent, "k:story")
        ticked = await next_message(world, ANS, 2)
        assert f"“{STORY}”" in ticked["text"]
        world.user_presses_button(ANS, ticked, "k:yes")
        await next_message(world, ANS, 3)
        await settle()
    card = staff_card(world, 1)["text"]
    assert f"Eigen woorden van de inwoner:\n“{STORY}”" in card
