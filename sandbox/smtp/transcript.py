"""The conversation as it happened on the wire, line by line with timestamps.

Stored with every delivery so a trainee can read exactly what their MTA sent and what
came back. Message bodies are not copied line by line (the message itself is stored);
a note records their size. The transcript of one connection is bounded so that a
client sending garbage forever cannot grow it without limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Literal

Direction = Literal["C", "S", "*"]  # client line, server line, note by the sandbox
MAX_ENTRIES = 5000
MAX_LINE = 2000


def show_bytes(data: bytes) -> str:
    """Client bytes as text: UTF-8 where valid, ``\\xNN`` escapes for the rest."""
    return data.decode("utf-8", "backslashreplace")


class Transcript:
    """Entries ``{"t": unix time, "dir": "C"|"S"|"*", "line": text}`` in wire order."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.entries: list[dict[str, object]] = []
        self._dropped = 0
        self._setup_end: int | None = None

    def _add(self, direction: Direction, line: str) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            self._dropped += 1
            return
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE] + f"... [{len(line)} characters]"
        self.entries.append({"t": round(self._clock(), 6), "dir": direction, "line": line})

    def client(self, line: bytes | str) -> None:
        self._add("C", show_bytes(line) if isinstance(line, bytes) else line)

    def server(self, line: str) -> None:
        self._add("S", line)

    def note(self, text: str) -> None:
        self._add("*", text)

    def begin_transaction(self) -> int:
        """Mark that a mail transaction starts with the last entry; returns its index."""
        start = max(len(self.entries) - 1, 0)
        if self._setup_end is None:
            self._setup_end = start
        return start

    def for_delivery(self, start: int, reply: Iterable[str] = ()) -> list[dict[str, object]]:
        """What one stored attempt shows: the connection set-up (greeting, EHLO, TLS, up
        to the first transaction), then its own transaction from ``start``, then ``reply``
        (the lines about to be sent: a delivery is stored before its reply goes out)."""
        setup_end = start if self._setup_end is None else min(self._setup_end, start)
        entries = self.entries[:setup_end] + self.entries[start:]
        now = round(self._clock(), 6)
        if self._dropped:
            entries.append({"t": now, "dir": "*", "line": f"[{self._dropped} further lines not recorded]"})
        entries.extend({"t": now, "dir": "S", "line": line} for line in reply)
        return entries

    def __len__(self) -> int:
        return len(self.entries)
