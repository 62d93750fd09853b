"""Tests of the Bot API double, driven through a real python-telegram-bot client."""

import asyncio
import datetime as dtm

import aiohttp
import pytest
from botapi_double import DEFAULT_TOKEN, BotApiDouble
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters

USER = 4242
GROUP = -1001234567890


def retry_seconds(err: RetryAfter) -> float:
    """retry_after as seconds, whatever type this PTB version returns."""
    value = err.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me_shape_and_raw_http(botapi: BotApiDouble, tg_bot: Bot) -> None:
    me = await tg_bot.get_me()
    assert me.is_bot and me.id == 123456789 and me.username == "WegwijzerTestBot"
    assert botapi.calls_to("getMe")[0].status == 200

    async with aiohttp.ClientSession() as http:
        url = f"{botapi.api_root}/bot{DEFAULT_TOKEN}/getMe"
        async with http.post(url, json={}) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["ok"] is True and body["result"]["is_bot"] is True
        async with http.post(f"{botapi.api_root}/bot{DEFAULT_TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"

    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:wrong", base_url=botapi.base_url):
            pass  # initialize() calls getMe
    assert botapi.calls[-1].status == 401


async def test_get_updates_offset_confirms_and_redelivers(
    botapi: BotApiDouble, tg_bot: Bot
) -> None:
    first = botapi.user_sends_text(USER, "hallo")
    second = botapi.user_sends_text(USER, "/start")
    assert second["update_id"] > first["update_id"]

    updates = await tg_bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[1].message.text == "/start"
    assert updates[1].message.entities[0].type == "bot_command"
    # Not confirmed yet: Telegram delivers the same updates again.
    again = await tg_bot.get_updates(timeout=0, limit=1)
    assert [u.update_id for u in again] == [first["update_id"]]

    await tg_bot.get_updates(offset=first["update_id"] + 1, timeout=0)
    await botapi.wait_until_confirmed(first["update_id"], timeout=0.1)
    assert [u["update_id"] for u in botapi.pending_updates] == [second["update_id"]]

    # repeat_updates re-delivers even after confirmation, with the same update_id.
    await tg_bot.get_updates(offset=second["update_id"] + 1, timeout=0)
    botapi.deliver_duplicate(second["update_id"])
    dup = await tg_bot.get_updates(offset=second["update_id"] + 1, timeout=0)
    assert [u.update_id for u in dup] == [second["update_id"]]


async def test_long_poll_times_out_empty_and_wakes_on_update(
    botapi: BotApiDouble, tg_bot: Bot
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await tg_bot.get_updates(timeout=1) == ()
    assert loop.time() - started >= 0.9

    poll = asyncio.create_task(tg_bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)  # let the long poll reach the server
    injected = botapi.user_sends_text(USER, "wakker?")
    updates = await asyncio.wait_for(poll, timeout=2)
    assert [u.update_id for u in updates] == [injected["update_id"]]


async def test_second_instance_polling_causes_conflict(botapi: BotApiDouble, tg_bot: Bot) -> None:
    first = asyncio.create_task(tg_bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)  # let the first long poll reach the server
    async with Bot(botapi.token, base_url=botapi.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await first


async def test_send_message_shape_and_transcript(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="yes")]])
    msg = await tg_bot.send_message(
        USER, " <b>Hoi</b> &amp; welkom ", parse_mode="HTML", reply_markup=keyboard
    )
    assert msg.message_id == 1 and msg.chat.type == "private" and msg.chat.first_name == "Anna"
    assert msg.from_user.id == 123456789 and msg.from_user.is_bot
    assert msg.text == "Hoi & welkom"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bold", 0, 3)]
    assert msg.reply_markup == keyboard
    assert isinstance(msg.date, dtm.datetime)
    second = await tg_bot.send_message(USER, "Tweede", reply_to_message_id=msg.message_id)
    assert second.message_id == 2 and second.reply_to_message.message_id == 1

    call = botapi.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == USER and call.ok
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Ja", "callback_data": "yes"}]]
    }
    sent = await botapi.wait_for_messages(USER, 2, timeout=0.1)
    assert [m["text"] for m in sent] == ["Hoi & welkom", "Tweede"]
    assert isinstance(sent[0]["date"], int)


async def test_bad_requests_surface_as_bad_request(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    await tg_bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 code units: still fits
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await tg_bot.send_message(USER, "😀" * 2048 + "x")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await tg_bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await tg_bot.send_message(777, "hallo")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        button = InlineKeyboardButton("x", callback_data="x" * 65)
        await tg_bot.send_message(USER, "hallo", reply_markup=InlineKeyboardMarkup([[button]]))
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await tg_bot.send_message(USER, "a <br> b", parse_mode="HTML")
    assert len(botapi.sent_messages(USER)) == 1
    assert [c.status for c in botapi.calls_to("sendMessage")] == [200, 400, 400, 400, 400, 400]


async def test_forum_topics_and_deleted_thread(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_group(GROUP, "Buurthuis", forum=True, members=[USER])
    topic = await tg_bot.create_forum_topic(GROUP, "Vragen")
    assert topic.name == "Vragen" and topic.message_thread_id > 0

    msg = await tg_bot.send_message(GROUP, "In topic", message_thread_id=topic.message_thread_id)
    assert msg.message_thread_id == topic.message_thread_id and msg.is_topic_message
    assert msg.chat.type == "supergroup" and msg.chat.is_forum
    general = await tg_bot.send_message(GROUP, "In General")
    assert general.message_thread_id is None

    update = botapi.user_sends_text(USER, "vraag", GROUP, topic.message_thread_id)
    assert Update.de_json(update, tg_bot).message.message_thread_id == topic.message_thread_id

    botapi.delete_topic(GROUP, topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await tg_bot.send_message(GROUP, "Weg", message_thread_id=topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await tg_bot.send_message(GROUP, "Nooit", message_thread_id=9999)

    botapi.add_group(-1009, "Zonder rechten", forum=True, can_manage_topics=False)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await tg_bot.create_forum_topic(-1009, "Nope")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_and_server_errors(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    botapi.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await tg_bot.send_message(USER, "eerste poging")
    assert retry_seconds(caught.value) == 3
    assert botapi.calls_to("sendMessage")[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    botapi.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await tg_bot.send_message(USER, "tweede poging")
    await tg_bot.send_message(USER, "derde poging")
    assert [m["text"] for m in botapi.sent_messages(USER)] == ["derde poging"]


async def test_slow_response_times_out_but_is_delivered(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    botapi.slow("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await tg_bot.send_message(USER, "traag", read_timeout=0.1)
    sent = await botapi.wait_for_messages(USER, 1, timeout=2)
    assert sent[0]["text"] == "traag"


async def test_forbidden_after_user_blocks_bot(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    await tg_bot.send_message(USER, "hallo")
    update = botapi.user_blocks_bot(USER)
    member = Update.de_json(update, tg_bot).my_chat_member
    assert member.new_chat_member.status == "kicked" and member.from_user.id == USER
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await tg_bot.send_message(USER, "ben je er nog?")
    assert botapi.calls_to("sendMessage")[-1].status == 403


async def test_callback_button_edit_and_delete(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="yes")]])
    msg = await tg_bot.send_message(USER, "Klopt dit?", reply_markup=keyboard)
    sent = botapi.sent_messages(USER)[0]
    with pytest.raises(ValueError, match="no button"):
        botapi.user_presses_button(USER, sent, "no")
    botapi.user_presses_button(USER, sent, "yes")
    (update,) = await tg_bot.get_updates(timeout=0)
    query = update.callback_query
    assert query.data == "yes" and query.from_user.id == USER
    assert query.message.message_id == msg.message_id
    assert await query.answer("Dank!")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()

    edited = await tg_bot.edit_message_text("Bedankt", chat_id=USER, message_id=msg.message_id)
    assert edited.text == "Bedankt" and edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await tg_bot.edit_message_text("Bedankt", chat_id=USER, message_id=msg.message_id)
    assert await tg_bot.delete_message(USER, msg.message_id)
    assert botapi.is_deleted(USER, msg.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await tg_bot.delete_message(USER, msg.message_id)


async def test_media_copy_forward_files_and_chat_info(botapi: BotApiDouble, tg_bot: Bot) -> None:
    botapi.add_private_chat(USER, "Anna")
    botapi.add_group(GROUP, "Buurthuis", members=[USER], admins=[7], owner=8)
    by_id = await tg_bot.send_photo(USER, "PHOTO-known", caption="<i>foto</i>", parse_mode="HTML")
    assert by_id.photo[-1].file_id == "PHOTO-known" and by_id.caption == "foto"
    upload = await tg_bot.send_document(USER, b"%PDF-1.4", filename="folder.pdf")
    assert upload.document.file_name == "folder.pdf"
    file = await tg_bot.get_file(upload.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4"
    loc = await tg_bot.send_location(USER, latitude=52.1, longitude=5.1)
    assert loc.location.latitude == pytest.approx(52.1)

    incoming = botapi.user_sends(USER, "voice")["message"]
    copied = await tg_bot.copy_message(GROUP, USER, incoming["message_id"])
    assert botapi.message(GROUP, copied.message_id)["voice"] == incoming["voice"]
    forwarded = await tg_bot.forward_message(GROUP, USER, by_id.message_id)
    assert forwarded.forward_origin.sender_user.id == 123456789

    chat = await tg_bot.get_chat(GROUP)
    assert chat.title == "Buurthuis" and chat.type == "supergroup"
    assert (await tg_bot.get_chat_member(GROUP, USER)).status == "member"
    admins = await tg_bot.get_chat_administrators(GROUP)
    assert [a.status for a in admins] == ["creator", "administrator", "administrator"]
    assert await tg_bot.get_chat_member_count(GROUP) == 4


async def test_real_application_echoes_injected_message(botapi: BotApiDouble) -> None:
    botapi.add_private_chat(USER, "Anna")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = Application.builder().token(botapi.token).base_url(botapi.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        update = botapi.user_sends_text(USER, "waar moet ik zijn?")
        (reply,) = await botapi.wait_for_messages(USER, 1)
        assert reply["text"] == "echo: waar moet ik zijn?"
        await botapi.wait_until_confirmed(update["update_id"])
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert botapi.calls_to("deleteWebhook") and botapi.calls_to("getMe")
    assert botapi.pending_updates == []
