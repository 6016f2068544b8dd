"""The delivery store an SMTP server writes to from its event loop.

``await store.save(delivery)`` returns the delivery's id once it is committed to disk
(see :mod:`sandbox.store.writer` for how many saves share one commit and one fsync),
so the server may send its 250 right after. Reads go through their own connections in
a worker thread and never hold up the writer. All state belongs to the instance: any number of
stores (on the same or different data directories) can live in one process.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sandbox.store.delivery import Delivery
from sandbox.store.reader import StoreReader
from sandbox.store.rows import encode
from sandbox.store.schema import database_path
from sandbox.store.writer import GroupCommitWriter, WriterStats


class Store:
    """SQLite in ``data_dir`` (created when missing; an existing store is continued).

    Raises :class:`~sandbox.store.schema.StoreError` when the file cannot be opened or
    was written by a newer version. ``max_batch`` bounds how many saves share a commit;
    1 commits each save on its own (the benchmark's baseline).
    """

    def __init__(self, data_dir: str | Path, *, max_batch: int = 1000) -> None:
        self.data_dir = Path(data_dir)
        self.path = database_path(self.data_dir)
        self._max_batch = max_batch
        self._writers = [GroupCommitWriter(self.path, max_batch=max_batch)]  # opens the file now
        self._choosing = threading.Lock()
        self._reader = StoreReader(self.data_dir)

    async def save(self, delivery: Delivery) -> int:
        """Store ``delivery``; returns its id once the commit holding it is durable.

        Raises StoreError when the store is closed or the write failed. Cancelling the
        caller does not withdraw the delivery: it is stored all the same.
        """
        return await self._writer().save(encode(delivery))

    def _writer(self) -> GroupCommitWriter:
        """The writer of the running event loop: its own, one whose loop has stopped, or a
        new one (several loops in several threads are several writers on one file)."""
        loop = asyncio.get_running_loop()
        for writer in self._writers:  # the usual case, on every save: no lock needed to find it
            if writer.loop is loop:
                return writer
        with self._choosing:
            for writer in self._writers:
                if writer.adopt(loop):
                    return writer
            writer = GroupCommitWriter(self.path, max_batch=self._max_batch)
            writer.adopt(loop)
            self._writers.append(writer)
            return writer

    async def list(self, *, limit: int | None = None, action: str | None = None) -> list[Delivery]:
        """Stored deliveries, oldest first (see :meth:`StoreReader.list`)."""
        return await asyncio.to_thread(self._reader.list, limit=limit, action=action)

    async def get(self, delivery_id: int) -> Delivery | None:
        return await asyncio.to_thread(self._reader.get, delivery_id)

    @property
    def stats(self) -> WriterStats:
        """Commits, rows and largest batch so far, over every writer (how well group commit is batching)."""
        every = [writer.stats for writer in self._writers]
        return WriterStats(commits=sum(s.commits for s in every), rows=sum(s.rows for s in every),
                           largest_batch=max(s.largest_batch for s in every))

    async def close(self) -> None:
        """Write and sync every delivery saved so far, then close the file; idempotent."""
        for writer in self._writers:
            await writer.close()
