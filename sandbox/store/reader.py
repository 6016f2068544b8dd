"""Reading stored deliveries, without an event loop (the CLI) or from one (via the Store).

Each read opens its own short-lived connection: WAL readers never wait for the writer,
see every committed delivery, and a reader can run in any thread.
"""

from __future__ import annotations

import builtins
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sandbox.store.delivery import Delivery
from sandbox.store.rows import SELECT, decode
from sandbox.store.schema import StoreError, database_path, open_reader


class StoreReader:
    """The deliveries stored in ``data_dir``.

    Every method raises :class:`StoreError` when there is no store there (the data
    directory or its database file is missing) or the file cannot be read.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = database_path(data_dir)

    # Annotations here say builtins.list: inside the class body, `list` is this method.
    def list(self, *, limit: int | None = None, action: str | None = None) -> builtins.list[Delivery]:
        """Deliveries oldest first; ``limit`` keeps the most recent N, ``action`` only those
        with that verdict (``accept``, ``spam``, ``defer``, ``reject``)."""
        params: builtins.list[str | int]
        where, params = ("WHERE action = ?", [action]) if action is not None else ("", [])
        query = f"{SELECT} {where} ORDER BY id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        rows = self._query(query, params)
        return [decode(row) for row in reversed(rows)]

    def get(self, delivery_id: int) -> Delivery | None:
        """One delivery by id, or None when there is none with that id."""
        rows = self._query(f"{SELECT} WHERE id = ?", [delivery_id])
        return decode(rows[0]) if rows else None

    def count(self) -> int:
        return self._query("SELECT count(*) FROM deliveries", [])[0][0]

    def _query(self, query: str, params: builtins.list[Any]) -> builtins.list[tuple[Any, ...]]:
        with closing(open_reader(self.path)) as connection:
            try:
                return connection.execute(query, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the store {self.path}: {exc}") from exc
