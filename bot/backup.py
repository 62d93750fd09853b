"""`wegwijzer backup FILE`: a consistent copy of the live database, safe while the bot runs.

SQLite's online backup API reads one snapshot under a read transaction; in WAL mode that never
blocks the bot's writer, and it includes what is still in the -wal file (a plain `cp` of the
database file would miss it, or copy a half-written page).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_DB = Path("wegwijzer.db")


class BackupUsageError(Exception):
    """The command cannot run as asked (missing database, existing target); exit 2."""


class BackupFailed(Exception):
    """The copy was made but is not sound, or SQLite failed while copying; exit 1."""


@dataclass(frozen=True)
class BackupResult:
    """What was written: the file, its size and the rows per table (counts, no content)."""

    target: Path
    size: int
    rows: dict[str, int]


def database_path(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
) -> Path:
    """WEGWIJZER_DB from the environment or .env, as `load_settings` reads it.

    A backup must not need the bot's token: an operator's cron job may run without it.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return Path(values.get("WEGWIJZER_DB", "").strip() or DEFAULT_DB)


def connect_existing(path: Path) -> sqlite3.Connection:
    """Open a database file that must already exist: plain connect() would create it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=5.0)


def integrity_problems(connection: sqlite3.Connection) -> list[str]:
    """PRAGMA integrity_check, one finding per line; an empty list means "ok"."""
    rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    if rows == ["ok"]:
        return []
    lines = (line.strip() for row in rows for line in row.splitlines())
    return [line for line in lines if line and not line.startswith("***")]


def backup_database(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    """Copy `source` to `target` through a temporary file next to it, then rename it."""
    _check_paths(source, target, force=force)
    try:
        handle, temp_name = tempfile.mkstemp(  # mode 0600: the copy holds personal data
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise BackupFailed(f"Cannot write in {target.parent}: {exc.strerror}.") from None
    os.close(handle)
    temp = Path(temp_name)
    try:
        rows = _copy(source, temp)
        _fsync(temp)
        _move_into_place(temp, target, force=force)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync(target.parent)  # the rename itself survives a power cut
    return BackupResult(target, target.stat().st_size, rows)


def _check_paths(source: Path, target: Path, *, force: bool) -> None:
    if not source.is_file():
        raise BackupUsageError(
            f"There is no database at {source}. Set WEGWIJZER_DB (or pass --db) to the file "
            "the bot uses.")
    if target.is_dir():
        raise BackupUsageError(f"{target} is a folder; give a file name, such as "
                               f"{target / 'wegwijzer-backup.db'}.")
    if not target.parent.is_dir():
        raise BackupUsageError(f"The folder {target.parent} does not exist; create it first.")
    if target.exists() and not force:
        raise BackupUsageError(f"{target} already exists; pass --force to overwrite it, or "
                               "choose another name.")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupUsageError("The backup file cannot be the live database itself.")


def _copy(source: Path, temp: Path) -> dict[str, int]:
    """Back up, make the copy a self-contained file, and check it; returns row counts."""
    try:
        live = connect_existing(source)
    except sqlite3.Error as exc:
        raise BackupUsageError(f"Cannot open {source}: {exc}.") from None
    try:
        with contextlib.closing(sqlite3.connect(temp)) as copy:
            try:
                if int(live.execute("PRAGMA user_version").fetchone()[0]) == 0:
                    raise BackupUsageError(
                        f"{source} is not a Wegwijzer database (it has no schema version).")
                live.backup(copy)  # one step: one consistent snapshot
            except sqlite3.DatabaseError as exc:
                raise BackupFailed(f"SQLite could not read {source}: {exc}.") from None
            # The copy inherits the WAL flag; a backup file should be one file, no -wal/-shm.
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = integrity_problems(copy)
            if problems:
                more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
                raise BackupFailed(
                    f"The copy fails PRAGMA integrity_check: {'; '.join(problems[:3])}{more}. "
                    "No backup was written. The live database itself may be damaged: run "
                    "'wegwijzer doctor', and keep your last good backup.")
            tables = [str(row[0]) for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name")]
            return {table: int(copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
                    for table in tables}
    finally:
        live.close()


def _move_into_place(temp: Path, target: Path, *, force: bool) -> None:
    """Atomic: readers see the old file or the whole new one, never a partial copy."""
    if force:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # fails if the target appeared meanwhile: never clobber
    except FileExistsError:
        raise BackupUsageError(f"{target} already exists; pass --force to overwrite it.") from None
    except OSError:  # a file system without hard links: checked above, rename instead
        os.replace(temp, target)
        return
    temp.unlink()


def _fsync(path: Path) -> None:
    flags = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if path.is_dir() else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return  # some platforms cannot open a folder; the rename is still atomic
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
