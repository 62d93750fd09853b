"""`wegwijzer doctor` against the Bot API double: a healthy setup, and what each fault prints."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest
from botapi_double import BotApiDouble
from test_backup import make_damaged_database

from bot.cli import main
from bot.storage import MIGRATIONS, Storage
from tests.kbtools import MINIMAL, RECENT, copy_kb, edit

STAFF = -1001234567890
WRONG_TOKEN = "123456789:WRONG-token-abcdefghijklmnopqrstuvw"


@pytest.fixture
def setup(botapi: BotApiDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of a deployed bot, pointed at the double; returns the database path."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("WEGWIJZER_LOG_LEVEL", "WEGWIJZER_KB", "WEGWIJZER_PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "wegwijzer.db"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", botapi.token)
    monkeypatch.setenv("TELEGRAM_API_URL", botapi.api_root)
    monkeypatch.setenv("WEGWIJZER_DB", str(db))
    monkeypatch.setenv("MEEDENKERS_CHAT_ID", str(STAFF))
    return db


async def doctor(capsys: pytest.CaptureFixture[str], kb: Path = MINIMAL) -> tuple[int, str]:
    """Run the real command; in a thread, because the double serves on this event loop."""
    code = await asyncio.to_thread(main, ["doctor", "--kb", str(kb)])
    return code, capsys.readouterr().out


def line(out: str, name: str) -> str:
    """The report line of one check."""
    (found,) = [text for text in out.splitlines() if text[2:].startswith(f"{name}:")]
    return found


async def test_a_healthy_setup_passes_every_check(
    botapi: BotApiDouble, setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers Roerdalen", forum=True)
    async with Storage.open(setup) as storage:
        await storage.commit_turn(1, chat_id=5, state="{}")
    code, out = await doctor(capsys)
    assert code == 0, out
    checks = out.splitlines()[:-1]
    assert [text[:1] for text in checks] == ["✓"] * 6, out
    assert line(out, "settings").startswith(f"✓ settings: Bot API {botapi.api_root}")
    assert line(out, "token") == f"✓ token: @WegwijzerTestBot (bot id {botapi.bot_user['id']}) answers getMe"
    assert line(out, "staff group") == (
        f"✓ staff group: “Meedenkers Roerdalen” ({STAFF}): forum with topics; the bot is an "
        "admin with the rights it needs")
    assert line(out, "database") == (
        f"✓ database: {setup}: schema {len(MIGRATIONS)} of {len(MIGRATIONS)}, integrity ok, "
        f"WAL, {setup.parent} writable")
    assert line(out, "knowledge base") == f"✓ knowledge base: {MINIMAL}: 0 error(s), 0 warning(s)"
    assert line(out, "extras") == "✓ extras: all installed"
    assert out.endswith("All checks passed.\n")
    assert botapi.token not in out
    # TELEGRAM_API_URL is honoured: the questions reached the double.
    assert [c.method for c in botapi.calls] == ["getMe", "getChat", "getChatMember"]
    assert botapi.calls[-1].params["user_id"] == botapi.bot_user["id"]


async def test_a_wrong_token_fails_and_is_never_printed(
    botapi: BotApiDouble, setup: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", WRONG_TOKEN)
    botapi.add_group(STAFF, "Meedenkers", forum=True)
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "token").startswith(
        f"✗ token: the Bot API at {botapi.api_root} refused the token. Fix: copy the current "
        "token from @BotFather")
    assert line(out, "staff group") == "– staff group: not checked: the token must work first"
    assert line(out, "database").startswith("✓ database:")  # the other checks still run
    assert line(out, "knowledge base").startswith("✓ knowledge base:")
    assert out.endswith("1 of 6 checks failed, 1 not run: fix the ✗ lines above and run "
                        "'wegwijzer doctor' again.\n")
    assert WRONG_TOKEN not in out and "WRONG-token" not in out


async def test_the_bot_must_be_an_admin_in_the_staff_group(
    botapi: BotApiDouble, setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True, bot_is_admin=False)
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "staff group") == (
        f"✗ staff group: “Meedenkers” ({STAFF}): the bot is a member there, not an admin. "
        "Fix: in the group, ⋯ → Manage group → Administrators → Add Admin → "
        "@WegwijzerTestBot, with the rights 'Manage topics' and 'Delete messages'.")
    assert line(out, "token").startswith("✓")


async def test_a_forum_needs_the_right_to_manage_topics(
    botapi: BotApiDouble, setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True, can_manage_topics=False)
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "staff group") == (
        f"✗ staff group: “Meedenkers” ({STAFF}): the bot is an admin without 'Manage topics' "
        "(a topic per request). Fix: in the group: ⋯ → Manage group → Administrators → "
        "@WegwijzerTestBot, turn it on.")


async def test_an_unknown_staff_group_says_how_to_find_the_id(
    botapi: BotApiDouble, setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "staff group") == (
        f"✗ staff group: Telegram knows no chat {STAFF} for this bot. Fix: add the bot to the "
        "meedenkers' group, then check MEEDENKERS_CHAT_ID (a supergroup id starts with -100).")


async def test_a_group_without_topics_passes_with_advice(
    botapi: BotApiDouble, setup: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEEDENKERS_CHAT_ID", "-4242")
    botapi.add_group(-4242, "Meedenkers (oud)", supergroup=False)
    code, out = await doctor(capsys)
    assert code == 0, out
    assert line(out, "staff group") == (
        "✓ staff group: “Meedenkers (oud)” (-4242): group; the bot is an admin with the rights "
        "it needs")
    assert "    ! this is a basic group, not a supergroup. Turn on Topics" in out


async def test_without_a_staff_group_the_handoff_is_the_phone(
    botapi: BotApiDouble, setup: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MEEDENKERS_CHAT_ID")
    code, out = await doctor(capsys)
    assert code == 0, out
    assert "✓ staff group: MEEDENKERS_CHAT_ID is not set" in out
    assert [c.method for c in botapi.calls] == ["getMe"]


async def test_a_broken_knowledge_base_fails_with_file_and_line(
    botapi: BotApiDouble, setup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True)
    kb = copy_kb(tmp_path)
    edit(kb, "tree.yaml", "start: begin", "start: begn")
    edit(kb, "services.yaml", f"checked: {RECENT}", "checked: 2020-01-01")
    code, out = await doctor(capsys, kb)
    assert code == 1
    assert line(out, "knowledge base") == (
        f"✗ knowledge base: {kb}: 1 error(s), 1 warning(s); the bot does not start with "
        "errors. Fix each one at its file and line.")
    assert (f"    ✗ {kb}/tree.yaml:1: error: start names node 'begn', which does not exist; "
            "did you mean 'begin'?") in out
    assert f"    ! {kb}/services.yaml:15: warning: 'schuldhulp' was last checked" in out


async def test_warnings_alone_pass(
    botapi: BotApiDouble, setup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True)
    kb = copy_kb(tmp_path)
    edit(kb, "services.yaml", f"checked: {RECENT}", "checked: 2020-01-01")
    code, out = await doctor(capsys, kb)
    assert code == 0, out
    assert line(out, "knowledge base") == f"✓ knowledge base: {kb}: 0 error(s), 1 warning(s)"


async def test_database_faults(
    botapi: BotApiDouble, setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True)
    code, out = await doctor(capsys)  # no file yet: the bot will make it
    assert code == 0 and line(out, "database") == (
        f"✓ database: {setup} does not exist yet; the bot creates it at its first start "
        f"({setup.parent} is writable)")
    assert not setup.exists()  # doctor does not create it

    make_damaged_database(setup)
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "database").startswith(
        f"✗ database: {setup} fails PRAGMA integrity_check. Fix: restore the last backup")
    lines = out.splitlines()
    findings = lines[lines.index(line(out, "database")) + 1:][:11]
    assert all(text.startswith("    ") for text in findings)  # at most ten, then a count
    assert findings[-1].startswith("    … and ") and findings[-1].endswith(" more")

    setup.unlink()
    with sqlite3.connect(setup) as newer:
        newer.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    code, out = await doctor(capsys)
    assert code == 1
    assert f"has schema {len(MIGRATIONS) + 1}, newer than this Wegwijzer knows" in out

    setup.unlink()
    setup.write_bytes(b"this is not a database, it is a shopping list" * 100)
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "database").startswith(f"✗ database: SQLite cannot read {setup}")


async def test_a_missing_folder_for_the_database(
    botapi: BotApiDouble, setup: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True)
    missing = setup.parent / "data" / "wegwijzer.db"
    monkeypatch.setenv("WEGWIJZER_DB", str(missing))
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "database") == (
        f"✗ database: the folder {missing.parent} of WEGWIJZER_DB={missing} does not exist. "
        "Fix: create it, owned by the bot's user, or change WEGWIJZER_DB.")


async def test_bad_settings_skip_telegram_but_check_the_rest(
    botapi: BotApiDouble, setup: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.setenv("MEEDENKERS_CHAT_ID", "meedenkers")
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "settings") == (
        "✗ settings: TELEGRAM_BOT_TOKEN is missing. Ask @BotFather for a token and set it.")
    assert "    MEEDENKERS_CHAT_ID must be a chat id such as -1001234567890" in out
    assert "– token: not checked: the settings must load first" in out
    assert line(out, "database").startswith(f"✓ database: {setup} does not exist yet")
    assert botapi.calls == []


async def test_an_unreachable_bot_api(
    setup: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9")  # discard port: nobody there
    code, out = await doctor(capsys)
    assert code == 1
    assert line(out, "token").startswith(
        "✗ token: cannot reach the Bot API at http://127.0.0.1:9 (NetworkError). Fix: check")


async def test_an_older_database_is_upgraded_as_a_start_would(
    botapi: BotApiDouble, setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    botapi.add_group(STAFF, "Meedenkers", forum=True)
    with sqlite3.connect(setup) as old:
        old.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version = 1;")
    old.close()
    code, out = await doctor(capsys)
    assert code == 0, out
    assert f"    upgraded from schema 1 to {len(MIGRATIONS)}, as the bot does at start" in out


def test_doctor_names_a_missing_extra_and_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.doctor import check_extras

    assert check_extras().summary == "all installed"  # the test install has both
    monkeypatch.setitem(sys.modules, "deduce", None)
    check = check_extras()
    assert check.status == "pass" and check.summary == "1 of 2 installed"
    assert check.notes == ("! deduce is not installed: unanswered questions are counted, their "
                           "text is not kept. Install: pip install 'wegwijzer[scrub]'",)
