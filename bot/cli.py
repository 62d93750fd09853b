"""The `wegwijzer` command: chat, ask, check, eval (and run, for Telegram)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.kb.loader import (
    KnowledgeBase,
    KnowledgeBaseError,
    check_knowledge_base,
    load_knowledge_base,
    stale_worklist,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def default_kb() -> Path:
    """$WEGWIJZER_KB, else ./knowledge, else the knowledge base shipped beside the code."""
    if os.environ.get("WEGWIJZER_KB"):
        return Path(os.environ["WEGWIJZER_KB"])
    here = Path.cwd() / "knowledge"
    if (here / "services.yaml").exists():
        return here
    return Path(__file__).resolve().parent.parent / "knowledge"


def _load(path: Path) -> KnowledgeBase:
    try:
        return load_knowledge_base(path)
    except KnowledgeBaseError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"The knowledge base in {path} has errors; run 'wegwijzer check --kb {path}'.",
              file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat in the terminal."""
    from bot.console import run_chat
    from bot.engine.conversation import Engine

    engine = Engine(_load(args.kb))
    interactive = sys.stdin.isatty()

    def read_line() -> str:
        if interactive:
            return input("> ")
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return run_chat(engine, read_line, lambda text: print(text, flush=True))


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer questions from the command line or standard input."""
    from bot.engine.conversation import Engine, State

    engine = Engine(_load(args.kb))
    # Bytes that are not UTF-8 become U+FFFD, so --json always prints valid JSON.
    questions = [_valid_text(q) for q in args.question] if args.question else (
        line.rstrip("\r\n") for line in (
            raw.decode("utf-8", "replace") for raw in sys.stdin.buffer) if line.strip()
    )
    for question in questions:
        understanding = engine.understand(State(), question)
        matches = understanding.offered
        if args.json:
            print(json.dumps({
                "question": question,
                "crisis": understanding.crisis.is_crisis,
                "crisis_level": understanding.crisis.level,
                "crisis_signals": list(understanding.crisis.signals),
                "matches": [{"kind": m.kind, "id": m.id, "score": m.score} for m in matches],
            }, ensure_ascii=False), flush=True)
            continue
        print(f"? {question}")
        if understanding.crisis.is_crisis:
            print(f"  CRISIS ({', '.join(understanding.crisis.kinds)})")
        elif understanding.crisis.level == "possible":
            print(f"  CHECK-IN first ({', '.join(understanding.crisis.signals)})")
        elif understanding.intent:
            print(f"  (steering word: {understanding.intent})")
        elif not matches:
            print("  (no answer: the bot says it does not know)")
        for match in matches:
            print(f"  {match.score:.2f}  {match.kind:7} {match.id}  [{match.explain()}]")
        if understanding.result and understanding.result.ambiguous:
            print("  → the bot asks: Bedoel je…?")
    return EXIT_OK


def _valid_text(argument: str) -> str:
    """A command-line argument with undecodable bytes (kept by Python as surrogates) replaced."""
    return argument.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a knowledge base."""
    if args.stale:
        worklist = stale_worklist(args.kb)
        for problem in worklist:
            print(problem)
        print(f"{args.kb}: {len(worklist)} to check again this month")
        return EXIT_OK
    problems = check_knowledge_base(args.kb)
    for problem in problems:
        print(problem)
    errors = sum(problem.severity == "error" for problem in problems)
    warnings = len(problems) - errors
    print(f"{args.kb}: {errors} error(s), {warnings} warning(s)")
    if args.needs and not errors:
        _print_needs(args.kb)
    return EXIT_FAILED if errors else EXIT_OK


def _print_needs(folder: Path) -> None:
    """Per entry the needs it meets, so an editor can confirm them in `needs:`."""
    from bot.engine.needs import builtin_needs, needs_of
    from bot.kb.models import FaqEntry, Service

    kb = load_knowledge_base(folder)
    need_map = builtin_needs()
    entries: list[Service | FaqEntry] = [*kb.services.values(), *kb.faq.values()]
    for entry in entries:
        met = needs_of(need_map, entry)
        how = "named" if entry.needs else "inferred"
        print(f"{entry.id}: {', '.join(met) or '-'} ({how})")


def cmd_eval(args: argparse.Namespace) -> int:
    """Measure answers against an evaluation file."""
    from bot.engine.conversation import Engine
    from bot.evaluation import EvalFileError, evaluate, format_report, load_cases

    engine = Engine(_load(args.kb))
    try:
        cases, thresholds = load_cases(args.file)
    except EvalFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    report = evaluate(engine, cases, thresholds)
    print(format_report(report, worst=args.worst))
    return EXIT_FAILED if report.failures() else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot until SIGINT or SIGTERM."""
    import asyncio

    from bot.config import SettingsError, configure_logging, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Wegwijzer cannot start:\n{exc}\nSee .env.example for every setting.",
              file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level)
    from bot.engine.conversation import Engine
    from bot.handoff.dialog import HandoffEngine
    from bot.runner import run_until_stopped
    from bot.telegram.webhook import WebhookConfig

    webhook = None
    if args.webhook:
        if not args.webhook.startswith("https://"):
            print("--webhook needs an https:// URL: Telegram only posts to HTTPS.",
                  file=sys.stderr)
            return EXIT_USAGE
        if not 0 <= args.port <= 65535:
            print(f"--port must be between 0 and 65535, not {args.port}.", file=sys.stderr)
            return EXIT_USAGE
        webhook = WebhookConfig(args.webhook, listen=args.listen, port=args.port)
    # With a staff group the bot hands residents to meedenkers; without, it gives the phone.
    kind = HandoffEngine if settings.staff_chat_id is not None else Engine
    engine = kind(_load(args.kb))
    return asyncio.run(run_until_stopped(settings, engine, webhook=webhook, kb_path=args.kb))


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the live database with SQLite's backup API; safe while the bot runs."""
    from bot.backup import BackupFailed, BackupUsageError, backup_database, database_path

    source = args.db or database_path()
    try:
        result = backup_database(source, args.file, force=args.force)
    except BackupUsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except BackupFailed as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    rows = ", ".join(f"{table} {count}" for table, count in result.rows.items())
    print(f"Backed up {source} to {result.target}: {result.size} bytes, integrity ok "
          f"(rows: {rows}).")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check settings, token, staff group, database and knowledge base; say what to fix."""
    import asyncio

    from bot.doctor import run_doctor

    report = asyncio.run(run_doctor(args.kb))
    print(report.text())
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_stats(args: argparse.Namespace) -> int:
    """Write the weekly report: text, CSV or a PNG chart."""
    import asyncio
    import datetime as dt
    import sqlite3

    from bot.backup import database_path
    from bot.stats.command import build_report
    from bot.stats.optional import ChartsMissing
    from bot.storage import SchemaTooNew

    since = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            print(f"--since needs a date like 2026-11-01, not {args.since!r}.", file=sys.stderr)
            return EXIT_USAGE
    db = args.db or database_path()
    if not db.exists():
        print(f"No database at {db}. Set WEGWIJZER_DB or use --db.", file=sys.stderr)
        return EXIT_USAGE
    kb = None
    with contextlib.suppress(KnowledgeBaseError):  # without it: ids instead of names
        kb = load_knowledge_base(args.kb)
    try:
        report = asyncio.run(build_report(db, since=since, output_format=args.format, kb=kb))
    except ChartsMissing as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except (sqlite3.Error, OSError, SchemaTooNew) as exc:
        print(f"Cannot read the database {db}: {exc}. Is it a Wegwijzer database?",
              file=sys.stderr)
        return EXIT_USAGE
    if args.format == "png":
        output = args.output or Path("wegwijzer-stats.png")
        output.write_bytes(report)
        print(f"Chart written to {output}.")
    elif args.output:
        args.output.write_bytes(report)
    else:
        sys.stdout.write(report.decode())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="wegwijzer", description="Wegwijzer: waar moet ik zijn?")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_kb(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--kb", type=Path, default=None, help="knowledge-base folder")
        return p

    with_kb(sub.add_parser("chat", help="chat in the terminal")).set_defaults(func=cmd_chat)
    ask = with_kb(sub.add_parser("ask", help="answer questions (arguments or stdin)"))
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("question", nargs="*")
    ask.set_defaults(func=cmd_ask)
    check = with_kb(sub.add_parser("check", help="validate a knowledge base"))
    check.add_argument("--needs", action="store_true",
                       help="also list the needs every entry meets (named or inferred)")
    check.add_argument("--stale", action="store_true",
                       help="only list what to check again this month (a worklist)")
    check.set_defaults(func=cmd_check)
    evaluation = with_kb(sub.add_parser("eval", help="measure against an evaluation file"))
    evaluation.add_argument("file", type=Path)
    evaluation.add_argument("--worst", type=int, default=15, help="how many misses to list")
    evaluation.set_defaults(func=cmd_eval)
    stats = with_kb(sub.add_parser("stats", help="the weekly report (anonymous counts)"))
    stats.add_argument("--since", metavar="DATE", help="from this date on (YYYY-MM-DD)")
    stats.add_argument("--format", choices=("text", "csv", "png"), default="text")
    stats.add_argument("--db", type=Path, default=None, help="the database (default WEGWIJZER_DB)")
    stats.add_argument("--output", type=Path, default=None, help="file to write")
    stats.set_defaults(func=cmd_stats)
    run = with_kb(sub.add_parser("run", help="run the Telegram bot"))
    run.add_argument("--webhook", metavar="URL", help="receive updates on this https URL")
    run.add_argument("--listen", default="127.0.0.1", help="webhook server address")
    run.add_argument("--port", type=int, default=8080, help="webhook server port")
    run.set_defaults(func=cmd_run)
    backup = sub.add_parser("backup", help="copy the live database safely (SQLite backup API)")
    backup.add_argument("file", type=Path, help="where to write the copy")
    backup.add_argument("--db", type=Path, default=None,
                        help="the live database (default: $WEGWIJZER_DB, else wegwijzer.db)")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    backup.set_defaults(func=cmd_backup)
    with_kb(sub.add_parser("doctor", help="check the setup and say what to fix")).set_defaults(
        func=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wegwijzer` console script."""
    args = build_parser().parse_args(argv)
    if getattr(args, "kb", "unset") is None:
        args.kb = default_kb()
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
