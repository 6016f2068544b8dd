"""The message being received, held up to the size limit and no further.

A client may announce nothing and send 200 MB. SMTP wants the server to read all of it
before answering (RFC 5321 4.2.5: the reply comes after the terminator), but there is
no reason to keep bytes that will be refused: past the limit the buffer drops what it
holds and only counts.
"""

from __future__ import annotations


class MessageBuffer:
    """Accumulates message bytes (DATA body or BDAT chunks) up to ``limit`` bytes."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.size = 0  # every byte received, including the ones dropped
        self._parts: list[bytes] = []

    @property
    def overflow(self) -> bool:
        """True once more than ``limit`` bytes arrived; the content is then gone."""
        return self.limit is not None and self.size > self.limit

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.overflow:
            self._parts.clear()
        else:
            self._parts.append(data)

    def getvalue(self) -> bytes:
        """The message so far (empty after an overflow)."""
        if len(self._parts) > 1:
            self._parts = [b"".join(self._parts)]
        return self._parts[0] if self._parts else b""
