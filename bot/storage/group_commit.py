"""Group commit: writers that queue up share one COMMIT; items that arrive together share one
statement. Nothing here knows what is stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

import aiosqlite

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batches(Generic[Item, Result]):
    """Items that arrive while a batch is being written go together in the next one.

    Each statement costs a trip to aiosqlite's thread and back, about as much CPU as the
    statement itself; a batch takes one statement per table, whatever its size. `write`
    returns each item's result once its batch is committed. A caller that is cancelled while
    waiting leaves its item in the batch: it is committed anyway (a turn's replies are then
    sent from the outbox at the next start).
    """

    def __init__(
        self, write: Callable[[Sequence[Item]], Awaitable[list[Result]]], *, limit: int,
    ) -> None:
        self._write = write
        self._limit = limit
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, item: Item) -> Result:
        """Queue an item and return its result once its batch is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()
        self._queued.append((item, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="write-batches")
        return await asyncio.shield(done)

    async def wait_idle(self) -> None:
        """Let the batches in hand finish (before the connection closes)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                # Shielded: a caller that stops waiting must not cancel the writes in hand.
                await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[:self._limit], self._queued[self._limit:]
            try:
                results = await self._write([item for item, _ in batch])
            except BaseException as exc:
                stopped = not isinstance(exc, Exception)  # cancelled: nothing more is written
                if stopped:
                    batch, self._queued = batch + self._queued, []
                for _, done in batch:
                    _fail(done, exc)
                if stopped:
                    raise
            else:
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)


class GroupCommit:
    """Group commit: writers that queue up while a COMMIT waits for the disk share the next.

    With synchronous=FULL each COMMIT waits for the disk (about 2 ms here), and only one
    writer runs at a time, so one COMMIT per turn made the disk, not the bot, the limit.
    Writers still take turns, each in its own SAVEPOINT, so a failing writer undoes only its
    own statements. A committer task queues behind the writers already waiting for the lock
    and commits for all of them. Each writer returns only after the COMMIT that holds its
    work: nothing is sent, or confirmed to Telegram, before it is on disk.
    """

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._committed: asyncio.Future[None] | None = None  # the open transaction's COMMIT
        self._committer: asyncio.Task[None] | None = None

    def member(self, *, savepoint: bool = True) -> Member:
        """`async with group.member():` write inside the shared transaction.

        `savepoint=False` is for a single statement, which SQLite already undoes as a whole.
        """
        return Member(self, savepoint)

    async def enter(self, savepoint: bool) -> asyncio.Future[None]:
        """Take the lock and the open transaction (or begin one); returns its COMMIT."""
        await self._lock.acquire()
        begin = asyncio.ensure_future(self._begin(savepoint))
        try:
            return await asyncio.shield(begin)
        except BaseException:
            # Cancelled or failed: whatever `begin` still queued in aiosqlite's thread has to
            # run before the lock is free again (the thread runs operations in order).
            await asyncio.shield(self._abandon(begin, savepoint))
            raise

    async def leave(self, *, failed: bool, savepoint: bool) -> None:
        """Keep (or on failure undo) this writer's work and let the next writer in."""
        try:
            if savepoint and failed:
                await self._db.execute("ROLLBACK TO writer")
            # A savepoint that is kept needs no RELEASE (one trip less): COMMIT ends them all,
            # and ROLLBACK TO finds the innermost one of that name, the failing writer's own.
            if self._committed is not None and not self._db.in_transaction:
                # SQLite rolled the whole transaction back (e.g. disk full): tell its writers.
                await self._end(RuntimeError("the transaction was rolled back"))
        except BaseException as exc:
            await self._end(exc)
        finally:
            self._schedule_commit()
            self._lock.release()

    async def commit_now(self) -> None:
        """Commit the open transaction, if any; call with the lock held."""
        committed, self._committed = self._committed, None
        if committed is None:
            return
        try:
            await self._db.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self._db.execute("ROLLBACK")
            _fail(committed, exc)
            raise
        committed.set_result(None)

    async def exclusive(self) -> Exclusive:
        """The lock with no transaction open: for statements SQLite refuses inside one."""
        await self._lock.acquire()
        try:
            await asyncio.shield(self.commit_now())
        except BaseException:
            self._lock.release()
            raise
        return Exclusive(self._lock)

    async def wait_idle(self) -> None:
        """Let a pending COMMIT finish (before the connection closes)."""
        if self._committer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._committer)  # a cancelled caller leaves it running

    async def _begin(self, savepoint: bool) -> asyncio.Future[None]:
        if self._committed is None:
            await self._db.execute("BEGIN IMMEDIATE")
            self._committed = asyncio.get_running_loop().create_future()
        committed = self._committed
        if savepoint:
            await self._db.execute("SAVEPOINT writer")
        return committed

    async def _abandon(self, begin: asyncio.Future[asyncio.Future[None]], savepoint: bool) -> None:
        try:
            await begin
        except BaseException:
            # No savepoint was made; the transaction, if any, belongs to the others.
            self._schedule_commit()
            self._lock.release()
            return
        await self.leave(failed=True, savepoint=savepoint)

    async def _end(self, error: BaseException) -> None:
        committed, self._committed = self._committed, None
        if self._db.in_transaction:
            with contextlib.suppress(Exception):
                await self._db.execute("ROLLBACK")
        if committed is not None:
            _fail(committed, error)

    def _schedule_commit(self) -> None:
        # One committer at a time; it queues behind the writers waiting now, so they join.
        if self._committed is not None and (self._committer is None or self._committer.done()):
            self._committer = asyncio.get_running_loop().create_task(
                self._commit_queued(), name="group-commit")

    async def _commit_queued(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):  # the writers get the error, not this task
                await asyncio.shield(self.commit_now())


def _fail(committed: asyncio.Future[Any], error: BaseException) -> None:
    if not committed.done():
        committed.set_exception(RuntimeError(f"the write failed: {type(error).__name__}"))
        committed.add_done_callback(lambda future: future.exception())  # retrieved if nobody waits


class Member:
    """One writer's turn in the shared transaction."""

    def __init__(self, group: GroupCommit, savepoint: bool) -> None:
        self._group = group
        self._savepoint = savepoint
        self._committed: asyncio.Future[None] | None = None

    async def __aenter__(self) -> None:
        self._committed = await self._group.enter(self._savepoint)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Shielded: the lock must not be free before this writer's work is kept or undone.
        await asyncio.shield(self._group.leave(failed=kind is not None,
                                               savepoint=self._savepoint))
        if kind is None and self._committed is not None:
            await asyncio.shield(self._committed)


class Exclusive:
    """Holds the writer lock with no transaction open; releases it on exit."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()
