"""The one thread that writes deliveries: group commit, durable before anyone is told.

A commit in WAL mode with ``synchronous=FULL`` costs an fsync, a millisecond or more on
real disks. Paying it once per message on the event loop would cap the server at a few
hundred messages a second and stall every other connection meanwhile. Instead every
save is queued to this thread, which takes *everything* queued when it gets to it,
writes it in one transaction and commits once; only then does it tell each waiting
caller (on that caller's own event loop) its row id. Under load the batches grow by
themselves; at rest a lone message is committed at once. Nothing is acknowledged before
its commit has returned, so an acknowledged delivery survives the process being killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.store.rows import INSERT, Row
from sandbox.store.schema import StoreError, open_writer


@dataclass(frozen=True)
class _Pending:
    row: Row
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[int]"


_STOP = object()


@dataclass
class WriterStats:
    """What the writer has done: transactions committed, rows written, largest batch."""

    commits: int = 0
    rows: int = 0
    largest_batch: int = 0


class GroupCommitWriter:
    """Owns the store's only write connection, on its own daemon thread.

    ``max_batch`` bounds one transaction (1 gives one commit per save: the baseline the
    benchmark compares against). The constructor returns once the file is open and its
    schema in place, raising :class:`StoreError` when that fails.
    """

    def __init__(self, path: Path, *, max_batch: int = 1000) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.path = path
        self.stats = WriterStats()
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders submit() against stop(): nothing queued after _STOP
        self._stopping = False
        self._opened: StoreError | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=f"store-writer {path}", daemon=True)
        self._thread.start()
        ready.wait()
        if self._opened is not None:
            self._thread.join()
            raise self._opened

    def submit(self, row: Row, loop: asyncio.AbstractEventLoop) -> "asyncio.Future[int]":
        """Queue ``row``; the future (of ``loop``) gets its id once the row is committed."""
        future: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self._stopping:
                raise StoreError(f"the store {self.path} is closed")
            self._queue.put(_Pending(row, loop, future))
        return future

    def stop(self) -> None:
        """Write everything queued so far, then end the thread (blocking; idempotent)."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._queue.put(_STOP)
        self._thread.join()

    # -- the writer thread --------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        try:
            connection = open_writer(self.path)
        except StoreError as exc:
            self._opened = exc
            ready.set()
            return
        try:
            self._turn_fd = os.open(turn_path(self.path), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            connection.close()
            self._opened = StoreError(f"cannot open the store's lock file {turn_path(self.path)}: {exc.strerror}")
            ready.set()
            return
        ready.set()
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is _STOP:
                    break
                with writers_turn(self._turn_fd):
                    batch, stopping = self._next_batch(first)
                    self._write(connection, batch)
        finally:
            connection.close()
            os.close(self._turn_fd)

    def _next_batch(self, first: _Pending) -> tuple[list[_Pending], bool]:
        """``first`` and whatever else is queued by now (up to the bound). Taken once this
        writer has its turn: saves queued while another process committed join the batch.
        The second value says the stop marker was reached."""
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False  # type: ignore[return-value]

    def _write(self, connection: sqlite3.Connection, batch: list[_Pending]) -> None:
        """Commit ``batch`` in one transaction. If that fails, commit its rows one by one so
        one bad row cannot cost its neighbours their delivery; a row that still fails has
        its caller's future fail with StoreError."""
        try:
            ids = self._commit(connection, [p.row for p in batch])
        except Exception as exc:  # noqa: BLE001 - any failure must reach the callers, not hang them
            if len(batch) == 1:
                self._settle(batch, [StoreError(f"storing the delivery in {self.path} failed: {exc}")])
                return
            for pending in batch:
                self._write(connection, [pending])
            return
        self._settle(batch, ids)

    def _commit(self, connection: sqlite3.Connection, rows: list[Row]) -> list[int]:
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
        return ids  # type: ignore[return-value]

    @staticmethod
    def _settle(batch: list[_Pending], outcomes: list[int] | list[StoreError]) -> None:
        """Resolve the futures, with one wake-up per event loop rather than one per row."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], object]]] = defaultdict(list)
        for pending, outcome in zip(batch, outcomes):
            by_loop[pending.loop].append((pending.future, outcome))
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, results)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass


def turn_path(path: Path) -> Path:
    """The lock file that orders the writers of one store (see :func:`writers_turn`)."""
    return path.with_name(path.name + "-writer.lock")


@contextlib.contextmanager
def writers_turn(fd: int) -> Iterator[None]:
    """Hold the store's write turn, across processes (``serve --workers``).

    SQLite lets one writer in at a time and makes the others poll: a writer that finds
    the database locked sleeps a millisecond or more before it tries again, and every
    delivery it holds waits that long for its reply. A blocking ``flock`` instead wakes
    the next writer the moment the turn is free, and the saves that queued meanwhile
    join its batch. With one process the lock is never contended.
    """
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _resolve(results: list[tuple["asyncio.Future[int]", object]]) -> None:
    """On the caller's loop: hand each future its row id (or its error)."""
    for future, outcome in results:
        if future.done():  # the caller was cancelled; the row is stored all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]
