"""Writing deliveries: group commit on the event loop, group sync in a helper process.

A commit in WAL mode with ``synchronous=FULL`` costs an fsync. Paying it once per
message on the event loop would cap the server at a few thousand messages a second
and stall every other connection meanwhile; paying it in a writer thread costs the
interpreter lock going back and forth a dozen times per message. So the work is split:

1. ``save()`` queues the row; everything queued in one turn of the event loop is
   inserted in one transaction and committed with ``synchronous=NORMAL`` (the WAL
   frames reach the page cache; tens of microseconds, on the loop).
2. The :class:`~sandbox.store.syncer.Syncer`'s process fdatasyncs the WAL. Commits
   made while one sync runs wait for the next one, so under load many deliveries
   share one fsync.
3. Only when the sync that began after a row's commit has answered is that row's
   caller told its id: nothing is acknowledged before it is on disk.

Several writers on one file (``serve --workers``) never wait on the event loop for
SQLite's lock: the connection does not wait at all, and a batch that finds the
database locked is tried again a moment later (0.2 ms, doubling up to 2 ms, for up
to ``BUSY_TIMEOUT`` seconds), keeping its order. Rows committed by other writers are
covered by their own syncs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.store.rows import INSERT, Row
from sandbox.store.schema import BUSY_TIMEOUT, StoreError, is_lock, open_writer
from sandbox.store.syncer import Syncer

FIRST_RETRY = 0.0002  # seconds before a locked batch is tried again; doubles each time
LAST_RETRY = 0.002  # the longest pause between two tries
CHECKPOINT_EVERY = 200  # rows committed between two checkpoints of the WAL (a few MB of log)


@dataclass
class _Pending:
    row: Row
    future: "asyncio.Future[int]"
    id: int = 0


@dataclass
class WriterStats:
    """What the writer has done: transactions committed, rows written, largest batch."""

    commits: int = 0
    rows: int = 0
    largest_batch: int = 0


class GroupCommitWriter:
    """The store's write connection, used from the event loop of the first save.

    ``max_batch`` bounds how many saves share one transaction and one sync (1 gives one
    commit and one fsync per save: the benchmark's baseline). The constructor opens the
    file and puts its schema in place, raising :class:`StoreError` when that fails.
    One event loop at a time: once that loop has stopped, another may take the writer
    over (:meth:`adopt`); the :class:`~sandbox.store.Store` gives each running loop a
    writer of its own (two loops are two writers on one file, as two workers are).
    """

    def __init__(self, path: Path, *, max_batch: int = 1000) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.path = path
        self.stats = WriterStats()
        self._max_batch = max_batch
        self._connection: sqlite3.Connection | None = open_writer(path)
        self._syncer = Syncer(path, self._synced)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[_Pending] = []  # waiting for a transaction
        self._committed: list[_Pending] = []  # committed, waiting for a sync to start
        self._syncing: list[_Pending] = []  # covered by the sync in flight
        self._flush_scheduled = False
        self._locked_since: float | None = None
        self._retry = FIRST_RETRY
        self._since_checkpoint = 0
        self._idle: list[asyncio.Future[None]] = []
        self._closed = False

    @property
    def sync_process(self) -> "subprocess.Popen[bytes] | None":
        """The sync process, once the first save started it."""
        return self._syncer.process

    async def save(self, row: Row) -> int:
        """Store ``row``; its id once the commit holding it is on disk."""
        if self._closed:
            raise StoreError(f"the store {self.path} is closed")
        loop = asyncio.get_running_loop()
        if not self.adopt(loop):
            raise StoreError(f"the writer of {self.path} is in use by another running event loop")
        future: asyncio.Future[int] = loop.create_future()
        self._queued.append(_Pending(row, future))
        if not self._flush_scheduled and self._locked_since is None:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future  # cancelling the caller withdraws the answer, not the row

    async def close(self) -> None:
        """Write and sync everything saved so far, then close; idempotent. From another
        thread while the writer's loop runs, the closing is done on that loop."""
        loop = asyncio.get_running_loop()
        if not self.adopt(loop):
            assert self._loop is not None
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.close(), self._loop))
            return
        self._closed = True
        if self._queued or self._committed or self._syncing:
            idle: asyncio.Future[None] = loop.create_future()
            self._idle.append(idle)
            await idle
        self._syncer.close()  # before the connection: the last connection to close checkpoints the WAL away
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- on the writer's loop ---------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def adopt(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Make ``loop`` the writer's loop unless another one is still running it (call
        from ``loop``'s own thread)."""
        if self._loop is loop:
            return True
        if self._loop is not None and self._loop.is_running():
            return False
        self._loop = loop
        self._syncer.attach(loop)
        self._flush_scheduled = False
        if self._queued:  # left behind by a loop that stopped
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return True

    def _flush(self) -> None:
        """Commit what is queued (up to the bound) in one transaction, then ask for a sync."""
        self._flush_scheduled = False
        if not self._queued:
            return
        batch = self._queued[: self._max_batch]
        try:
            ids = self._commit([p.row for p in batch])
        except sqlite3.Error as exc:
            if is_lock(exc):
                self._wait_for_lock(exc)
                return
            handled, lock = self._commit_one_by_one(batch, exc)
            if lock is not None:  # the rest of the batch waits for the lock, in order
                del self._queued[:handled]
                self._sync()
                self._wait_for_lock(lock)
                return
        else:
            for pending, row_id in zip(batch, ids):
                pending.id = row_id
            self._committed += batch
        del self._queued[: len(batch)]
        self._locked_since, self._retry = None, FIRST_RETRY
        if self._queued:
            self._flush_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)
        self._sync()
        self._check_idle()

    def _commit(self, rows: list[Row]) -> list[int]:
        if self._connection is None:
            raise sqlite3.OperationalError("the store's connection is closed")
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            ids = [connection.execute(INSERT, row).lastrowid for row in rows]
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self.stats.commits += 1
        self.stats.rows += len(rows)
        self.stats.largest_batch = max(self.stats.largest_batch, len(rows))
        self._since_checkpoint += len(rows)
        return ids  # type: ignore[return-value]

    def _commit_one_by_one(self, batch: list[_Pending], error: sqlite3.Error) -> tuple[int, sqlite3.Error | None]:
        """A batch failed for a reason other than a lock: commit its rows one by one so
        that one bad row cannot cost its neighbours their delivery. Another writer may
        take the lock meanwhile: then this stops, and returns how many rows it settled
        and the lock error (the rest are tried again once the lock is free)."""
        if len(batch) == 1:
            _settle(batch[0].future, StoreError(f"storing the delivery in {self.path} failed: {error}"))
            return 1, None
        for handled, pending in enumerate(batch):
            try:
                pending.id = self._commit([pending.row])[0]
            except sqlite3.Error as exc:
                if is_lock(exc):
                    return handled, exc
                _settle(pending.future, StoreError(f"storing the delivery in {self.path} failed: {exc}"))
            else:
                self._committed.append(pending)
        return len(batch), None

    def _wait_for_lock(self, exc: sqlite3.Error) -> None:
        """Another writer holds the database: try again shortly, or give up after BUSY_TIMEOUT."""
        now = time.monotonic()
        if self._locked_since is None:
            self._locked_since = now
        elif now - self._locked_since > BUSY_TIMEOUT:
            failure = StoreError(f"the store {self.path} stayed locked by another program for "
                                 f"{BUSY_TIMEOUT:.0f} s ({exc}); the delivery was not stored")
            for pending in self._queued:
                _settle(pending.future, failure)
            self._queued.clear()
            self._locked_since, self._retry = None, FIRST_RETRY
            self._check_idle()
            return
        self._flush_scheduled = True
        assert self._loop is not None
        self._loop.call_later(self._retry, self._flush)
        self._retry = min(self._retry * 2, LAST_RETRY)

    def _sync(self) -> None:
        """Start a sync for what is committed, unless one is in flight (its answer starts the next)."""
        if self._syncing or not self._committed:
            return
        self._syncing = self._committed[: self._max_batch]
        del self._committed[: len(self._syncing)]
        checkpoint = self._since_checkpoint >= CHECKPOINT_EVERY
        if checkpoint:
            self._since_checkpoint = 0
        assert self._loop is not None
        self._syncer.request(self._loop, checkpoint=checkpoint)

    def _synced(self, failure: str | None) -> None:
        """The sync process answered for the rows in ``_syncing``."""
        done, self._syncing = self._syncing, []
        for pending in done:
            _settle(pending.future, pending.id if failure is None else StoreError(
                f"the delivery was written to {self.path} but could not be made durable: {failure}"))
        self._sync()
        self._check_idle()

    def _check_idle(self) -> None:
        if self._idle and not (self._queued or self._committed or self._syncing):
            for waiter in self._idle:
                if not waiter.done():
                    waiter.set_result(None)
            self._idle.clear()


def _settle(future: "asyncio.Future[int]", outcome: int | BaseException) -> None:
    """Hand the caller its id or error (a cancelled caller's row is stored all the same)."""
    if future.done():
        return
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except RuntimeError:  # its event loop is closed: nobody is waiting any more
        pass
