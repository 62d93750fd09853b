"""The three outcomes of the crisis check, end to end: the crisis screen, the check-in and
none; the question typed before them is never lost; topic-less words decide no card."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from botapi_double import BotApiDouble
from telegram_harness import buttons, running_bot, settle
from test_cli import run

from bot.engine.callbacks import CHECK_NO, CHECK_YES, CONTINUE
from bot.engine.conversation import Choice, Engine, State, Text
from bot.storage import Storage
from tests.kbtools import MINIMAL


@pytest.fixture
def engine() -> Engine:
    from test_conversation import make_engine
    return make_engine()


AT_TOPIC = State(node="onderwerp", history=("begin",))


def test_the_crisis_screen_keeps_the_question_for_later(engine: Engine) -> None:
    screen = engine.handle(AT_TOPIC, Text("ik wil dood, de schulden zijn me te veel"))
    text = screen.replies[0].text
    assert text.index("113") < text.index("112") < text.index("0800-2000")  # intent: 113 first
    assert "Bel 113 of 0800-0113 (gratis, dag en nacht)" in text
    assert [o.token for o in screen.replies[0].options] == ["h", CONTINUE]
    held = screen.state.pending or ""
    assert "schulden" in held and "dood" not in held  # the question, not the worrying words
    later = engine.handle(screen.state, Choice(CONTINUE))
    assert later.replies[0].text.startswith("📍 Schuldhulp")  # the debts, not "dood"
    assert later.state.pending is None
    assert [e.kind for e in later.effects] == ["shown"]


def test_danger_to_a_child_puts_veilig_thuis_first(engine: Engine) -> None:
    text = engine.handle(AT_TOPIC, Text("de buurman slaat zijn kinderen")).replies[0].text
    assert text.index("0800-2000") < text.index("112") and "0800-0113" in text


def test_the_check_in_no_goes_on_with_the_question(engine: Engine) -> None:
    check_in = engine.handle(AT_TOPIC, Text("ik zit er helemaal doorheen, ik heb schulden"))
    reply = check_in.replies[0]
    assert "Denk je erover om jezelf iets aan te doen?" in reply.text
    assert "113" in reply.text and "088-0767 000" in reply.text  # 113 and De Luisterlijn
    assert [o.token for o in reply.options] == [CHECK_YES, CHECK_NO, "h"]
    assert [e.kind for e in check_in.effects] == ["check_in"]
    answer = engine.handle(check_in.state, Choice(CHECK_NO))
    assert answer.replies[0].text.startswith("Fijn dat je het zegt.")
    # Shorter and warmer (issue 17): a person first, then only the best answer, short.
    assert answer.replies[1].text == engine.texts.get("gentle_person", "nl")
    assert [o.token for o in answer.replies[1].options] == ["h"]
    assert answer.replies[2].text.startswith("📍 Schuldhulp")
    assert len(answer.replies) == 4 and answer.replies[3].text == engine.texts.get(
        "what_next", "nl")
    assert answer.state.pending is None


def test_the_check_in_yes_gives_the_crisis_screen(engine: Engine) -> None:
    check_in = engine.handle(AT_TOPIC, Text("I can't go on like this"))
    screen = engine.handle(check_in.state, Choice(CHECK_YES))
    assert "112" in screen.replies[0].text and "0800-2000" in screen.replies[0].text
    assert [e.kind for e in screen.effects] == ["crisis"]


def test_topic_less_words_decide_no_card(engine: Engine) -> None:
    check_in = engine.handle(AT_TOPIC, Text("ik ben er klaar mee, met alles"))
    after = engine.handle(check_in.state, Choice(CHECK_NO))
    assert all(not r.text.startswith("📍") for r in after.replies)
    assert "not_understood" not in [e.kind for e in after.effects]  # nothing kept
    assert engine.understand(State(), "like").offered == ()


@pytest.mark.parametrize("question", ["wat kan ik er aan doen",
                                      "iemand heeft misbruik gemaakt van mijn pgb"])
def test_an_ordinary_question_typed_twice_never_gets_the_screen(
    engine: Engine, question: str
) -> None:
    first = engine.handle(AT_TOPIC, Text(question))
    again = engine.handle(first.state, Text(question))
    for turn in (first, again):
        assert "crisis" not in [e.kind for e in turn.effects]
        assert "check_in" not in [e.kind for e in turn.effects]


def test_in_the_terminal_the_check_in_and_continue_work() -> None:
    script = "\n".join(["1", "ik zit er helemaal doorheen, ik heb schulden", "2",
                        "ik wil dood, de schulden zijn me te veel", "2", "/stop"]) + "\n"
    result = run("chat", "--kb", str(MINIMAL), stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Denk je erover om jezelf iets aan te doen?" in out
    assert "  1) Ja\n  2) Nee\n  3) 💬 Ik wil met iemand praten" in out
    assert out.count("📍 Schuldhulp") == 2  # after "Nee" and after "Verder met mijn vraag"


async def test_over_telegram_the_check_in_keeps_the_question(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(611, "Ria")
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db):
        botapi.user_sends_text(611, "ik zit er helemaal doorheen, ik heb schulden")
        check_in = (await botapi.wait_for_messages(611, 1))[0]
        await settle()
        async with Storage.open(db) as storage:
            held = json.loads(await storage.load_state(611) or "{}")["pending"]
        botapi.user_sends_text(611, "/mijngegevens")
        shown = (await botapi.wait_for_messages(611, 2))[1]
        botapi.user_presses_button(611, check_in, CHECK_NO)
        answer = (await botapi.wait_for_messages(611, 3))[2]  # one message: notice and card
        botapi.user_sends_text(611, "ik wil dood")
        screen = (await botapi.wait_for_messages(611, 4))[3]
        botapi.user_presses_button(611, screen, CONTINUE)
        after = (await botapi.wait_for_messages(611, 5))[4]
        await settle()
    async with Storage.open(db) as storage:
        counted = {metric: count for _, metric, _, count in await storage.weekly_counts()}
    assert counted["check_ins"] == 1 and counted["crises"] == 1  # numbers, never the words
    assert "schulden" in held and "doorheen" not in held  # kept durably, without the worry
    assert buttons(check_in) == [CHECK_YES, CHECK_NO, "h"]
    assert "Je vraag die nog op antwoord wacht" in shown["text"] and "schulden" in shown["text"]
    assert answer["text"].startswith("Fijn dat je het zegt.")
    assert "\n\n📍 Schuldhulp" in answer["text"]
    assert buttons(answer)[0] == "h"  # a person first
    assert "0800-0113" in screen["text"] and buttons(screen) == ["h", CONTINUE]
    assert after["text"].startswith("Vertel gerust wat er speelt")  # nothing left to answer


SUNDAY_NIGHT = dt.datetime(2026, 11, 29, 22, 30, tzinfo=dt.UTC)  # 23:30 in Amsterdam


def test_out_of_hours_the_meedenker_button_keeps_the_emergency_numbers() -> None:
    from test_conversation import make_engine
    closed = make_engine(now=SUNDAY_NIGHT)
    screen = closed.handle(AT_TOPIC, Text("ik wil niet meer leven"))
    assert "h" in [o.token for o in screen.replies[0].options]
    text = closed.handle(screen.state, Choice("h")).replies[0].text
    assert "Bel 112" in text and "0800-0113" in text and "0800-2000" in text
    # Without worrying words the same button, out of hours, also names them.
    plain = closed.handle(AT_TOPIC, Choice("h")).replies[0].text
    assert "0800-0113" in plain and "0800-2000" in plain


def test_in_office_hours_a_plain_handoff_is_not_crowded_with_numbers(engine: Engine) -> None:
    text = engine.handle(AT_TOPIC, Choice("h")).replies[0].text
    assert "Ze zijn nu bereikbaar." in text
    assert "0800-2000" not in text
    worried = engine.handle(AT_TOPIC, Text("ik wil niet meer leven"))
    assert "0800-2000" in engine.handle(worried.state, Choice("h")).replies[0].text


def test_after_a_crisis_screen_the_numbers_stay_in_view_until_starting_over(
    engine: Engine,
) -> None:
    screen = engine.handle(AT_TOPIC, Text("ik wil dood, de schulden zijn me te veel"))
    later = engine.handle(screen.state, Choice(CONTINUE))
    assert later.replies[0].text.startswith("📍 Schuldhulp")
    assert later.replies[-1].text.endswith("Veilig Thuis: 0800-2000.")  # still in view
    browsing = engine.handle(later.state, Choice("b"))
    assert "0800-0113" in browsing.replies[-1].text and "Bel 112" in browsing.replies[-1].text
    fresh = engine.handle(browsing.state, Choice("r"))  # opnieuw: a new story
    assert not any("0800-0113" in reply.text for reply in fresh.replies)
    calm = engine.handle(AT_TOPIC, Text("ik heb schulden"))
    assert "0800-0113" not in calm.replies[-1].text  # no crisis, no numbers
