"""Anonymous weekly statistics: filled by scripted conversations, scrubbed, reported."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from botapi_double import BotApiDouble
from telegram_harness import MONDAY_10, STAFF_CHAT, running_bot, settle
from test_handoff import ANS, KEES, PIET, ask_for_meedenker, handoff_engine, staff_card

from bot.clock import system_clock
from bot.engine.texts import Texts
from bot.stats.command import build_report
from bot.stats.counting import UnansweredKeeper
from bot.stats.report import as_text, weeks_from
from bot.stats.scrub import Scrubber, ScrubberProcess
from bot.storage import Storage, iso_week

PLANTED = (
    "Ik ben Johannes van der Berg, BSN 123456782, bel me op 06-12345678 of "
    "+31 475 538 888, mail j.vanderberg@ziggo.nl, ik woon op de Kerkstraat 12, "
    "6074 AB Melick. Mijn dochter Annemarie Jansen weet ervan. Rekening NL91ABNA0417164300."
)
SECRETS = ("Johannes", "van der Berg", "123456782", "06-12345678", "538 888", "ziggo",
           "Kerkstraat", "6074", "Annemarie", "Jansen", "NL91ABNA0417164300", "0417164300")


def test_scrubbing_leaves_no_names_numbers_bsn_or_addresses() -> None:
    scrubbed = Scrubber().scrub(PLANTED)
    for secret in SECRETS:
        assert secret not in scrubbed, (secret, scrubbed)
    assert "[PERSOON-1]" in scrubbed and "[TELEFOON]" in scrubbed and "[EMAIL]" in scrubbed


async def test_scripted_conversations_are_counted_per_week_without_people(
    botapi: BotApiDouble, tmp_path: Path
) -> None:
    botapi.add_private_chat(ANS, "Ans")
    botapi.add_private_chat(KEES, "Kees")
    botapi.add_group(STAFF_CHAT, "Meedenkers", forum=True, members=[PIET])
    botapi.users[PIET]["first_name"] = "Piet"
    db = tmp_path / "bot.db"
    async with running_bot(botapi, db, handoff_engine()) as bot:
        botapi.user_sends_text(KEES, "ik heb schulden")
        botapi.user_sends_text(KEES, f"hoe laat vertrekt de trein? {PLANTED}")
        botapi.user_sends_text(KEES, "ik wil er niet meer zijn")
        await botapi.wait_for_messages(KEES, 3)
        await ask_for_meedenker(botapi, ANS)
        await botapi.wait_for_messages(STAFF_CHAT, 1)
        botapi.user_presses_button(PIET, staff_card(botapi, 1), "q:claim:1")
        await botapi.wait_for_messages(ANS, 5)
        botapi.user_sends_text(PIET, "/klaar", chat_id=STAFF_CHAT,
                               message_thread_id=staff_card(botapi, 1)["message_thread_id"])
        rating = (await botapi.wait_for_messages(ANS, 6))[5]
        botapi.user_presses_button(ANS, rating, "k:r:5")
        await botapi.wait_for_messages(ANS, 7)
        await settle()
        assert bot._keeper is not None
        await bot._keeper.wait()
    week = iso_week(MONDAY_10.timestamp())  # the bot's clock started then
    async with Storage.open(db) as storage:
        rows = {(m, k): c for w, m, k, c in await storage.weekly_counts() if w == week}
        unanswered = await storage.unanswered_texts()
    assert rows[("conversations", "")] == 2  # Kees's first message and Ans's /start
    assert rows[("shown", "service:schuldhulp")] == 1
    assert rows[("not_understood", "")] == 1 and rows[("crises", "")] == 1
    assert rows[("handoffs", "")] == 1 and rows[("claims", "")] == 1
    assert rows[("claim_time", "0-5 min")] == 1 and rows[("ratings", "5")] == 1
    # No chat ids, names or texts in the counters; the one kept question is scrubbed.
    assert all(str(ANS) not in k and str(KEES) not in k for _, k in rows)
    ((kept_week, text),) = unanswered
    assert kept_week == week and text.startswith("hoe laat vertrekt de trein?")
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
async def filled_db(tmp_path: Path) -> Path:
    """A database with two weeks of counts."""
    db = tmp_path / "stats.db"
    async with Storage.open(db) as storage, storage.write() as writer:
        for metric, key, amount in (("conversations", "", 12), ("handoffs", "", 3),
                                    ("not_understood", "", 2), ("crises", "", 1),
                                    ("shown", "service:schuldhulp", 4), ("topics", "geld", 5),
                                    ("claims", "", 3), ("claim_minutes_total", "", 24),
                                    ("ratings", "4", 2), ("ratings", "5", 1)):
            await writer.count(metric, key, amount)
        await writer.add_unanswered("hoe laat vertrekt de trein naar [LOCATIE-1]")
    return db


async def test_report_as_text_csv_and_png(filled_db: Path) -> None:
    text = (await build_report(filled_db, since=None, output_format="text", kb=None)).decode()
    assert "Gesprekken: 12" in text and "Doorgezet naar een meedenker: 3" in text
    assert "Gemiddelde wachttijd tot een meedenker: 8 min (3 keer)" in text
    assert "Gemiddeld cijfer: 4.3 van 5 (3 beoordelingen)" in text
    assert "Meest getoonde hulp: service:schuldhulp (4)" in text
    assert "hoe laat vertrekt de trein naar [LOCATIE-1]" in text
    csv_text = (await build_report(filled_db, since=None, output_format="csv", kb=None)).decode()
    assert csv_text.splitlines()[0] == "week,metric,key,count"
    assert any(line.endswith(",conversations,,12") for line in csv_text.splitlines())
    png = await build_report(filled_db, since=None, output_format="png", kb=None)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    later = system_clock().today() + dt.timedelta(days=14)
    empty = await build_report(filled_db, since=later, output_format="text", kb=None)
    assert empty.decode().startswith("Nog geen gegevens")


def test_the_report_names_unreadable_updates_only_when_there_were_some() -> None:
    weeks = weeks_from([("2026-W48", "conversations", "", 4),
                        ("2026-W49", "conversations", "", 2),
                        ("2026-W49", "skipped_updates", "", 3)])
    text = as_text(weeks, [], {})
    first, second = text.split("Week 2026-W49")
    assert "niet kon lezen" not in first
    assert "Berichten die de bot niet kon lezen (overgeslagen): 3" in second


def test_stats_command_writes_the_report(filled_db: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "stats", "--db", str(filled_db),
                               *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)

    text = run()
    assert text.returncode == 0 and "Gesprekken: 12" in text.stdout
    chart = run("--format", "png", "--output", str(tmp_path / "week.png"))
    assert chart.returncode == 0
    assert (tmp_path / "week.png").read_bytes()[:4] == b"\x89PNG"
    bad = run("--since", "gisteren")
    assert bad.returncode == 2 and "--since needs a date" in bad.stderr


class _UpperScrubber:
    """Stands in for the deduce worker: marks what it scrubbed."""

    async def scrub(self, text: str) -> str:
        return text.upper()

    async def close(self) -> None:
        return None


async def test_unanswered_questions_are_sampled_per_minute(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "s.db") as storage:
        keeper = UnansweredKeeper(storage, _UpperScrubber(), per_minute=2)  # type: ignore[arg-type]
        for number in range(5):
            keeper.keep(f"vraag {number}")
        await keeper.close()
        kept = [text for _, text in await storage.unanswered_texts()]
    assert kept == ["VRAAG 0", "VRAAG 1"]


async def test_the_scrubber_process_answers_each_question_with_its_own_text() -> None:
    # The real worker: deduce logs on standard output while it loads, and such a line must
    # never be taken for an answer (that once shifted every answer by one question).
    scrubber = ScrubberProcess()
    try:
        first = await scrubber.scrub("Ik ben Johannes van der Berg en zoek huishoudelijke hulp")
        second = await scrubber.scrub("Bel Annemarie Jansen op 06-12345678 over de rolstoel")
    finally:
        await scrubber.close()
    assert "huishoudelijke hulp" in first and "Johannes" not in first, first
    assert "rolstoel" in second and "Annemarie" not in second, second
    assert "[TELEFOON]" in second and "12345678" not in second


def test_the_worker_keeps_its_answer_channel_free_of_library_output() -> None:
    # What deduce does on import and while building its tables: log to standard output.
    script = (
        "import logging, sys\n"
        "from bot.stats.scrub_worker import _claim_stdout\n"
        "answers = _claim_stdout()\n"
        "logging.basicConfig(stream=sys.stdout, level=logging.DEBUG)\n"
        "logging.getLogger().warning('building lookup structures')\n"
        "print('progress')\n"
        "answers.write('\"the answer\"\\n'); answers.flush()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '"the answer"\n'
    assert "building lookup structures" in done.stderr and "progress" in done.stderr


class _StuckScrubber:
    """A scrubber that never answers, like deduce building its tables on a new install."""

    def __init__(self) -> None:
        self.closed = False

    async def scrub(self, text: str) -> str:
        await asyncio.Event().wait()
        return text

    async def close(self) -> None:
        self.closed = True


async def test_stopping_does_not_wait_for_a_stuck_scrubber(tmp_path: Path) -> None:
    async with Storage.open(tmp_path / "s.db") as storage:
        scrubber = _StuckScrubber()
        keeper = UnansweredKeeper(storage, scrubber)  # type: ignore[arg-type]
        keeper.keep("vraag die blijft hangen")
        await asyncio.wait_for(keeper.close(grace_seconds=0.1), 5)
        assert scrubber.closed
        assert await storage.unanswered_texts() == []


async def test_without_deduce_unanswered_questions_are_counted_but_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: deduce is the optional extra [scrub]."""
    monkeypatch.setitem(sys.modules, "deduce", None)  # as if not installed
    async with Storage.open(tmp_path / "s.db") as storage:
        keeper = UnansweredKeeper(storage)
        keeper.keep("mijn naam is Jan Jansen en ik zoek hulp")
        await keeper.wait()
        await keeper.close()
        assert await storage.unanswered_texts() == []


def test_without_matplotlib_the_chart_says_how_to_install_it(
    filled_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: matplotlib is the optional extra [charts]; the text report still works."""
    from bot.cli import main
    from bot.service.reports import report_messages

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["stats", "--db", str(filled_db), "--format", "png"]) == 2
    assert "pip install 'wegwijzer[charts]'" in capsys.readouterr().err
    assert main(["stats", "--db", str(filled_db)]) == 0
    assert "Gesprekken: 12" in capsys.readouterr().out
    assert [m.method for m in report_messages(1, "tekst", None, "x")] == ["sendMessage"]


def test_the_report_speaks_the_texts_of_the_knowledge_base_and_either_language() -> None:
    weeks = weeks_from([("2026-W49", "conversations", "", 2), ("2026-W49", "handoffs", "", 1),
                        ("2026-W49", "ratings", "4", 1)])
    english = as_text(weeks, [], {}, lang="en")
    assert "Conversations: 2" in english and "Passed to a helper (meedenker): 1" in english
    assert "Average rating: 4.0 of 5 (ratings: 1)" in english
    own = Texts({"report_conversations": {"nl": "Gesprekken met inwoners"}})
    assert "Gesprekken met inwoners: 2" in as_text(weeks, [], {}, texts=own)
