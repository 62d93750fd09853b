"""`wegwijzer doctor`: check the setup and say what to fix, one line per check.

Written for the person who installs the bot at the gemeente, not for a developer: every failing
line names the setting or the Telegram screen to change. The token is never printed: Telegram
libraries put it in URLs and error texts, so the report is scrubbed of it as a last guard.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from telegram import Bot, ChatMemberAdministrator
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, TelegramError

from bot.backup import connect_existing, database_path, integrity_problems
from bot.config import Settings, SettingsError, load_settings
from bot.kb.loader import check_knowledge_base
from bot.storage import MIGRATIONS, Storage

Status = Literal["pass", "fail", "skip"]
MARKS: dict[Status, str] = {"pass": "✓", "fail": "✗", "skip": "–"}
MAX_NOTES = 10  # a knowledge base with 80 warnings should not bury the other checks
RIGHTS_FIX = "'Manage topics' and 'Delete messages'"


@dataclass(frozen=True)
class Check:
    """One line of the report, with indented notes (warnings, or every error found)."""

    name: str
    status: Status
    summary: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """All checks; `text()` is what the operator reads."""

    checks: list[Check]
    secrets: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every check passed (warnings allowed)."""
        return all(check.status == "pass" for check in self.checks)

    def text(self) -> str:
        """One line per check, notes indented, and a verdict."""
        lines = []
        for check in self.checks:
            lines.append(f"{MARKS[check.status]} {check.name}: {check.summary}")
            lines += [f"    {note}" for note in check.notes]
        failed = sum(check.status == "fail" for check in self.checks)
        skipped = sum(check.status == "skip" for check in self.checks)
        if failed == skipped == 0:
            lines.append("All checks passed.")
        else:
            not_run = f", {skipped} not run" if skipped else ""
            lines.append(f"{failed} of {len(self.checks)} checks failed{not_run}: fix the ✗ "
                         "lines above and run 'wegwijzer doctor' again.")
        text = "\n".join(lines)
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return text


async def run_doctor(
    kb: Path, *, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"),
) -> Report:
    """Settings, token, staff group, database and knowledge base, in that order."""
    checks: list[Check] = []
    settings: Settings | None = None
    try:
        settings = load_settings(environ, env_file=env_file)
    except SettingsError as exc:
        first, *rest = str(exc).splitlines()
        checks.append(Check("settings", "fail", first,
                            (*rest, "Every setting is explained in .env.example.")))
    if settings is None:
        checks += [Check("token", "skip", "not checked: the settings must load first"),
                   Check("staff group", "skip", "not checked: the settings must load first")]
        db_path = database_path(environ, env_file=env_file)
    else:
        checks.append(Check("settings", "pass", _describe(settings)))
        checks += await check_telegram(settings)
        db_path = settings.db_path
    checks.append(await check_database(db_path))
    checks.append(check_kb(kb))
    checks.append(check_extras())
    return Report(checks, (settings.token,) if settings else ())


def check_extras() -> Check:
    """The optional extras: the bot runs without them, with less (a note says what)."""
    from bot.stats.optional import CHARTS_INSTALL, SCRUB_INSTALL, installed

    notes = []
    if not installed("deduce"):
        notes.append(f"! deduce is not installed: unanswered questions are counted, their text "
                     f"is not kept. Install: {SCRUB_INSTALL}")
    if not installed("matplotlib"):
        notes.append(f"! matplotlib is not installed: reports come without a chart. "
                     f"Install: {CHARTS_INSTALL}")
    return Check("extras", "pass", "all installed" if not notes else
                 f"{2 - len(notes)} of 2 installed", tuple(notes))


def _describe(settings: Settings) -> str:
    staff = settings.staff_chat_id if settings.staff_chat_id is not None else "none"
    return (f"Bot API {settings.api_url}, database {settings.db_path}, staff group {staff}, "
            f"log level {settings.log_level}")


# ---- Telegram ----------------------------------------------------------------------------


async def check_telegram(settings: Settings) -> list[Check]:
    """getMe with the token, then the staff group; the Bot API URL is the configured one."""
    bot = Bot(settings.token, base_url=settings.bot_base_url,
              base_file_url=settings.file_base_url)
    skipped = Check("staff group", "skip", "not checked: the token must work first")
    try:
        await bot.initialize()  # getMe
    except InvalidToken:  # its message holds the token: never show it
        return [Check("token", "fail",
                      f"the Bot API at {settings.api_url} refused the token. Fix: copy the "
                      "current token from @BotFather (/mybots → your bot → API Token) into "
                      "TELEGRAM_BOT_TOKEN; if you set TELEGRAM_API_URL, check that it points "
                      "at a Bot API server."), skipped]
    except TelegramError as exc:  # NetworkError, TimedOut, a 5xx
        return [Check("token", "fail",
                      f"cannot reach the Bot API at {settings.api_url} "
                      f"({type(exc).__name__}). Fix: check the server's internet connection, "
                      "proxy and firewall (outgoing HTTPS), and TELEGRAM_API_URL."), skipped]
    try:
        token = Check("token", "pass", f"@{bot.username} (bot id {bot.id}) answers getMe")
        return [token, await check_staff_group(bot, settings.staff_chat_id)]
    finally:
        await bot.shutdown()


async def check_staff_group(bot: Bot, chat_id: int | None) -> Check:
    """The bot must be an admin in the meedenkers' group, able to manage and delete topics."""
    name = "staff group"
    if chat_id is None:
        return Check(name, "pass", "MEEDENKERS_CHAT_ID is not set: residents get the team's "
                     "phone number instead of a meedenker in Telegram")
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, bot.id)
    except ChatMigrated as exc:
        return Check(name, "fail", f"group {chat_id} became a supergroup. Fix: set "
                     f"MEEDENKERS_CHAT_ID={exc.new_chat_id}.")
    except Forbidden:
        return Check(name, "fail", f"the bot is not in group {chat_id} (removed, or never "
                     "added). Fix: add the bot to the meedenkers' group and make it an admin "
                     f"with the rights {RIGHTS_FIX}.")
    except BadRequest:
        return Check(name, "fail", f"Telegram knows no chat {chat_id} for this bot. Fix: add "
                     "the bot to the meedenkers' group, then check MEEDENKERS_CHAT_ID (a "
                     "supergroup id starts with -100).")
    except TelegramError as exc:
        return Check(name, "fail", f"could not read group {chat_id} ({type(exc).__name__}); "
                     "run doctor again in a minute.")
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return Check(name, "fail", f"chat {chat_id} is a {chat.type} chat, not a group. Fix: "
                     "set MEEDENKERS_CHAT_ID to the meedenkers' supergroup.")
    title = f"“{chat.title}” ({chat_id})"
    problem = _missing_rights(bot, member, forum=bool(chat.is_forum))
    if problem:
        return Check(name, "fail", f"{title}: {problem}")
    notes = []
    if chat.type == ChatType.GROUP:
        notes.append("! this is a basic group, not a supergroup. Turn on Topics in the group "
                     "settings (Telegram then makes it a supergroup with a new -100… id) and "
                     "set MEEDENKERS_CHAT_ID to the new id.")
    elif not chat.is_forum:
        notes.append("! Topics are off: requests are threaded as replies to their card. Turn "
                     "on Topics in the group settings for one topic per request.")
    kind = "forum with topics" if chat.is_forum else str(chat.type)
    return Check(name, "pass", f"{title}: {kind}; the bot is an admin with the rights it needs",
                 tuple(notes))


def _missing_rights(bot: Bot, member: object, *, forum: bool) -> str | None:
    """What the bot lacks in the staff group, with the fix; None when nothing."""
    status = getattr(member, "status", "?")
    if status == ChatMemberStatus.OWNER:
        return None
    where = f"in the group: ⋯ → Manage group → Administrators → @{bot.username}"
    if not isinstance(member, ChatMemberAdministrator):
        word = {"member": "a member", "left": "not a member", "kicked": "banned",
                "restricted": "a restricted member"}.get(str(status), str(status))
        return (f"the bot is {word} there, not an admin. Fix: in the group, ⋯ → Manage group "
                f"→ Administrators → Add Admin → @{bot.username}, with the rights {RIGHTS_FIX}.")
    missing = []
    if forum and not member.can_manage_topics:
        missing.append("'Manage topics' (a topic per request)")
    if not member.can_delete_messages:
        missing.append("'Delete messages' (/vergeet deletes the resident's topic or card)")
    if not missing:
        return None
    them = "them" if len(missing) > 1 else "it"
    return f"the bot is an admin without {' and '.join(missing)}. Fix: {where}, turn {them} on."


# ---- database ----------------------------------------------------------------------------


async def check_database(path: Path) -> Check:
    """The file opens as the bot opens it, at the current schema, sound, in WAL mode."""
    name = "database"
    folder = path.parent
    if not folder.is_dir():
        return Check(name, "fail", f"the folder {folder} of WEGWIJZER_DB={path} does not "
                     "exist. Fix: create it, owned by the bot's user, or change WEGWIJZER_DB.")
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check(name, "fail", f"the folder {folder} is not writable; SQLite keeps its "
                     "-wal and -shm files there. Fix: make it writable for the bot's user.")
    if not path.exists():
        return Check(name, "pass", f"{path} does not exist yet; the bot creates it at its "
                     f"first start ({folder} is writable)")
    if not os.access(path, os.R_OK | os.W_OK):
        return Check(name, "fail", f"{path} is not readable and writable for this user. Fix: "
                     "make the bot's user its owner.")
    restore = "Fix: restore the last backup (docs/operations.md, 'Restore')."
    try:
        with contextlib.closing(connect_existing(path)) as raw:  # read-only questions first
            before = int(raw.execute("PRAGMA user_version").fetchone()[0])
            problems = integrity_problems(raw)
        if problems:
            return Check(name, "fail", f"{path} fails PRAGMA integrity_check. {restore}",
                         tuple(_capped(problems)))
        if before > len(MIGRATIONS):
            return Check(name, "fail", f"{path} has schema {before}, newer than this "
                         f"Wegwijzer knows ({len(MIGRATIONS)}). Fix: upgrade Wegwijzer, or "
                         "restore a backup made with this version.")
        async with Storage.open(path) as storage:  # migrates an older file, as a start would
            version = await storage.schema_version()
        with contextlib.closing(connect_existing(path)) as raw:
            journal = str(raw.execute("PRAGMA journal_mode").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return Check(name, "fail", f"SQLite cannot read {path} ({exc}). {restore}")
    if journal != "wal":
        return Check(name, "fail", f"{path} is in {journal} mode, not WAL: the file system "
                     "does not support SQLite's shared memory (a network share?). Fix: keep "
                     "the database on a local disk.")
    notes = (f"upgraded from schema {before} to {version}, as the bot does at start",
             ) if before not in (0, version) else ()
    return Check(name, "pass", f"{path}: schema {version} of {len(MIGRATIONS)}, integrity ok, "
                 f"WAL, {folder} writable", notes)


# ---- knowledge base ----------------------------------------------------------------------


def check_kb(folder: Path) -> Check:
    """Errors fail (the bot refuses to start on them); warnings are shown but pass."""
    problems = check_knowledge_base(folder)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    notes = _capped([f"✗ {p}" for p in errors] + [f"! {p}" for p in warnings])
    counts = f"{len(errors)} error(s), {len(warnings)} warning(s)"
    if errors:
        return Check("knowledge base", "fail", f"{folder}: {counts}; the bot does not start "
                     "with errors. Fix each one at its file and line.", tuple(notes))
    return Check("knowledge base", "pass", f"{folder}: {counts}", tuple(notes))


def _capped(notes: list[str]) -> list[str]:
    """At most MAX_NOTES lines, and how many more there are."""
    if len(notes) <= MAX_NOTES:
        return notes
    return [*notes[:MAX_NOTES], f"… and {len(notes) - MAX_NOTES} more"]
