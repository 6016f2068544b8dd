"""InputStream: DATA bodies (dot-stuffing, the terminator across block boundaries),
BDAT chunks and command lines, read through a real asyncio StreamReader."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.smtp.body import MessageBuffer
from sandbox.smtp.stream import ConnectionClosed, InputStream


def _feed(pieces: list[bytes], eof: bool = True) -> InputStream:
    reader = asyncio.StreamReader()
    for piece in pieces:
        reader.feed_data(piece)
    if eof:
        reader.feed_eof()
    return InputStream(reader)


def _body(pieces: list[bytes], limit: int | None = None) -> tuple[bytes, int, bytes]:
    """(message, size counted, what is left after the terminator)."""

    async def run() -> tuple[bytes, int, bytes]:
        stream = _feed(pieces)
        sink = MessageBuffer(limit)
        await stream.copy_dot_body(sink)
        return sink.getvalue(), sink.size, await stream.read()

    return asyncio.run(run())


def test_body_undoes_dot_stuffing_and_keeps_what_follows():
    message, size, rest = _body([b"Subject: x\r\n\r\n..leading dot\r\n..\r\nlast\r\n.\r\nQUIT\r\n"])
    assert message == b"Subject: x\r\n\r\n.leading dot\r\n.\r\nlast\r\n"
    assert size == len(message)
    assert rest == b"QUIT\r\n"


def test_empty_body_and_a_first_line_that_starts_with_a_dot():
    assert _body([b".\r\n"])[0] == b""
    assert _body([b"..x\r\n.\r\n"])[0] == b".x\r\n"


@pytest.mark.parametrize("split", range(1, 12))
def test_terminator_and_stuffed_dot_split_across_reads(split):
    wire = b"a\r\n..b\r\n.\r\nNOOP\r\n"
    pieces = [wire[:split], wire[split:]]
    message, _, rest = _body(pieces)
    assert message == b"a\r\n.b\r\n"
    assert rest == b"NOOP\r\n"


def test_one_byte_at_a_time():
    wire = b"x\r\n..\r\n\r\n.y\r\n.\r\n"
    message, _, rest = _body([bytes([b]) for b in wire])
    assert message == b"x\r\n.\r\n\r\ny\r\n"
    assert rest == b""


def test_bare_lf_dot_does_not_end_the_body():
    """Only CRLF.CRLF ends DATA; LF.LF and LF.CRLF are data (no SMTP smuggling)."""
    message, _, rest = _body([b"a\n.\nb\n.\r\nc\r\n.\r\n"])
    assert message == b"a\n.\nb\n.\r\nc\r\n"
    assert rest == b""


def test_oversized_body_is_read_to_the_end_but_not_kept():
    block = b"y" * 998 + b"\r\n"
    message, size, rest = _body([block] * 100 + [b".\r\nRSET\r\n"], limit=10_000)
    assert message == b""
    assert size == 100 * 1000
    assert rest == b"RSET\r\n"


def test_connection_lost_in_the_body():
    async def run() -> int:
        stream = _feed([b"Subject: cut\r\n"])
        sink = MessageBuffer(None)
        with pytest.raises(ConnectionClosed):
            await stream.copy_dot_body(sink)
        return sink.size

    assert asyncio.run(run()) == len(b"Subject: cut")  # the last CRLF may start a terminator


def test_exact_chunks_and_lines():
    async def run() -> tuple[bytes, list[bytes], list[bool]]:
        stream = _feed([b"EHLO x\r\nBDAT 5\r\nhello", b"NOOP\n" + b"A" * 50 + b"\r\nQUIT\r\n"])
        first = await stream.readline(40)
        second = await stream.readline(40)
        sink = MessageBuffer(None)
        await stream.copy_exactly(5, sink)
        lines = [await stream.readline(40) for _ in range(3)]
        return sink.getvalue(), [first.data, second.data] + [l.data for l in lines], [l.too_long for l in lines]

    chunk, lines, too_long = asyncio.run(run())
    assert chunk == b"hello"
    assert lines == [b"EHLO x", b"BDAT 5", b"NOOP", b"A" * 40, b"QUIT"]
    assert too_long == [False, True, False]


def test_an_endless_line_is_discarded_as_it_arrives():
    async def run() -> tuple[bool, int]:
        reader = asyncio.StreamReader()
        stream = InputStream(reader)
        for _ in range(100):
            reader.feed_data(b"Z" * 10_000)
        reader.feed_data(b"\r\nNOOP\r\n")
        line = await stream.readline(512)
        return line.too_long, len(line.data)

    assert asyncio.run(run()) == (True, 512)
