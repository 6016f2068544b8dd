"""Buffered input for one SMTP connection: command lines, BDAT chunks and DATA bodies.

asyncio's ``StreamReader`` reads lines one call at a time and cannot hand bytes back.
SMTP needs more: a DATA body is best scanned in large blocks for the ``CRLF.CRLF``
terminator (a 150 MB message is two million lines), a pipelining client may have sent
the next commands right behind the terminator, and after STARTTLS the server must
know whether the client pipelined anything it should not have. This class keeps its
own buffer on top of the reader, so all three are exact and cheap.

It also satisfies aiosmtpd's ``AsyncReader`` protocol (``read``, ``readexactly``,
``readuntil``), so aiosmtpd's PROXY protocol parser reads through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

READ_SIZE = 1 << 16
# The body terminator as seen from the start of a line: CRLF "." CRLF. A body is read
# as if a CRLF preceded it (the one that ended the DATA command line).
_DOT_LINE = b"\r\n."


class ConnectionClosed(Exception):
    """The client closed the connection (or it broke) before the expected input arrived."""


class BodySink(Protocol):
    """Where a DATA body or BDAT chunk goes (see :class:`sandbox.smtp.body.MessageBuffer`)."""

    def write(self, data: bytes) -> None: ...


@dataclass(frozen=True)
class Line:
    """One command line without its terminator. ``too_long`` lines were discarded: ``data``
    then holds only their first bytes (enough for the transcript)."""

    data: bytes
    too_long: bool = False


class InputStream:
    """Reads from a ``StreamReader`` through a private buffer that can hold read-ahead."""

    def __init__(self, reader: asyncio.StreamReader, on_input: Callable[[], object] | None = None,
                 before_wait: Callable[[], object] | None = None) -> None:
        self._reader = reader
        self._buf = bytearray()
        self._on_input = on_input
        self._before_wait = before_wait  # e.g. send the replies held back for a pipelined group

    def buffered(self) -> int:
        """Bytes received but not consumed yet (pipelined input)."""
        return len(self._buf) + len(getattr(self._reader, "_buffer", b""))

    def discard_buffered(self) -> None:
        """Drop read-ahead. RFC 3207 4.2: plaintext sent before the TLS handshake is void.

        The reader's own buffer is private in asyncio; the TLS switch is the one place
        where what it holds must be thrown away, as aiosmtpd does for the same reason.
        """
        self._buf.clear()
        pending = getattr(self._reader, "_buffer", None)
        if pending is not None:
            pending.clear()

    async def _fill(self) -> None:
        if self._before_wait is not None:
            self._before_wait()
        chunk = await self._reader.read(READ_SIZE)
        if not chunk:
            raise ConnectionClosed()
        if self._on_input is not None:
            self._on_input()
        self._buf += chunk

    async def readline(self, limit: int) -> Line:
        """The next line ending in LF (CRLF or a bare LF), without the line ending.

        A line longer than ``limit`` bytes is consumed up to its end and returned with
        ``too_long`` set, so one over-long line costs one error reply and no memory.
        """
        start = 0
        too_long = False
        head = b""
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                if too_long:
                    del self._buf[: end + 1]
                    return Line(head, too_long=True)
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > limit:
                    return Line(line[:limit], too_long=True)
                return Line(line)
            if len(self._buf) > limit:
                if not too_long:
                    head = bytes(self._buf[:limit])
                    too_long = True
                del self._buf[:]
                start = 0
            else:
                start = len(self._buf)
            await self._fill()

    async def readexactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            await self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def read(self, n: int = -1) -> bytes:
        if not self._buf:
            try:
                await self._fill()
            except ConnectionClosed:
                return b""
        size = len(self._buf) if n < 0 else min(n, len(self._buf))
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    async def readuntil(self, separator: bytes = b"\n", limit: int = 4096) -> bytes:
        """Up to and including ``separator``; for the PROXY v1 header (at most 107 bytes)."""
        while True:
            end = self._buf.find(separator)
            if end >= 0:
                data = bytes(self._buf[: end + len(separator)])
                del self._buf[: end + len(separator)]
                return data
            if len(self._buf) > limit:
                raise ValueError(f"no {separator!r} within {limit} bytes")
            await self._fill()

    async def copy_exactly(self, n: int, sink: BodySink) -> None:
        """Move the next ``n`` bytes into ``sink`` without holding them all (BDAT chunks)."""
        while n > 0:
            if not self._buf:
                await self._fill()
            take = min(n, len(self._buf))
            sink.write(bytes(self._buf[:take]))
            del self._buf[:take]
            n -= take

    async def copy_dot_body(self, sink: BodySink) -> None:
        """Move a DATA body into ``sink``, undoing dot-stuffing, up to ``CRLF.CRLF``.

        The body is scanned block by block for ``CRLF.``: only there can the
        terminator or a stuffed dot be. Everything between goes to the sink as it is,
        so the cost per byte stays at one ``find`` and one copy, whatever the line
        lengths. Only the exact ``CRLF.CRLF`` sequence ends the body; a bare LF before
        the dot does not (the SMTP-smuggling ambiguity stays closed). The bytes after
        the terminator stay buffered for the next command.
        """
        buf = self._buf
        buf[0:0] = b"\r\n"  # the CRLF that ended the DATA line starts the first line
        skip = 2  # ...and is not part of the message
        pos = 0
        while True:
            hit = buf.find(_DOT_LINE, pos)
            if hit < 0:
                # Keep the last two bytes: they may be the CRLF of a "CRLF." still to come.
                keep_from = max(pos, len(buf) - 2)
                skip = self._emit(sink, buf, pos, keep_from, skip)
                del buf[:keep_from]
                pos = 0
                await self._fill()
                continue
            if len(buf) < hit + 5:
                # Not yet known whether this is "CRLF.CRLF" or a stuffed dot: need more.
                skip = self._emit(sink, buf, pos, hit, skip)
                del buf[:hit]
                pos = 0
                await self._fill()
                continue
            # Emit through the CRLF; the dot starts a new line.
            skip = self._emit(sink, buf, pos, hit + 2, skip)
            if buf[hit + 3 : hit + 5] == b"\r\n":
                del buf[: hit + 5]
                return
            pos = hit + 3  # a stuffed dot: drop it, the line goes on

    @staticmethod
    def _emit(sink: BodySink, buf: bytearray, start: int, end: int, skip: int) -> int:
        """Write ``buf[start:end]`` minus the first ``skip`` bytes; return the skip left."""
        if skip:
            dropped = min(skip, end - start)
            start += dropped
            skip -= dropped
        if end > start:
            sink.write(bytes(buf[start:end]))
        return skip
