"""Which outbox rows Telegram accepted, written down the moment it says "ok".

Deleting a sent row from the outbox takes a database commit, and under load a commit waits
its turn for a while; a `kill -9` in that while made the next start send the message again.
This file closes the gap: one `write` system call per accepted message, with no await
before it, puts the row's id in the kernel's page cache, which outlives a killed process.
The next start deletes those rows before it sends anything; outbox ids are never reused
(AUTOINCREMENT), so an id here can only mean the message that went. The file holds
numbers only, never a message or a chat id. A power failure can still lose its last
lines, and then a message may come twice; never is one lost.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

COMPACT_BYTES = 64 * 1024  # rewrite the file with only the ids still pending beyond this


class SentJournal:
    """Append-only list of sent outbox ids whose deletion may not be committed yet."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pending: set[int] = set()
        self._fd = -1
        self._size = 0

    @property
    def path(self) -> Path:
        """The file, beside the database."""
        return self._path

    def read(self) -> list[int]:
        """The ids a previous run recorded.

        Each id is written with its newline in one call, so a line without one is torn (a
        power failure) and could be a shorter, wrong id: it is ignored.
        """
        try:
            text = self._path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return []
        complete = text.split("\n")[:-1]
        return [int(line) for line in complete if line.isdigit()]

    def open(self) -> None:
        """Start a fresh file (call after the previous run's ids are deleted)."""
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
                           0o600)
        self._size = 0

    def record(self, outbox_id: int) -> None:
        """Telegram accepted this row; one write, before anything else can run."""
        if self._fd < 0:
            return
        line = f"{outbox_id}\n".encode("ascii")
        os.write(self._fd, line)
        self._size += len(line)
        self._pending.add(outbox_id)

    def committed(self, ids: Iterable[int]) -> None:
        """These rows' deletion is on disk; the file may forget them."""
        self._pending.difference_update(ids)
        if self._fd >= 0 and self._size > COMPACT_BYTES:
            self._compact()

    def close(self) -> None:
        """Close the file; empty it when every recorded deletion is committed."""
        if self._fd < 0:
            return
        if not self._pending:
            os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = -1

    def _compact(self) -> None:
        # A new file with only the pending ids replaces the old one in one rename, so a kill
        # at any moment leaves one complete file or the other.
        spare = self._path.with_name(self._path.name + ".new")
        data = "".join(f"{i}\n" for i in sorted(self._pending)).encode("ascii")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                spare.unlink()
            raise
        os.replace(spare, self._path)
        os.close(self._fd)
        self._fd, self._size = fd, len(data)
