"""The load client: several SMTP connections on one selector loop, in a process of its own.

It must not be the bottleneck, or the ratio between two servers says nothing; and on a
loopback benchmark it shares the machine's cores with the server, so whatever CPU it
uses is taken from the server under test. That bias is not even: the bare server (a)
is one process and leaves a core free for the client, while ``serve --workers auto``
(b) keeps both cores busy, so each microsecond the client spends per message is taken
from (b) alone. So it does the least work per message: messages are dot-stuffed once
before the clock starts, commands go out in one write when the server advertises
PIPELINING (RFC 2920: MAIL, RCPT and DATA as one group, then the content), replies are
parsed as raw lines as they are received, and the connections are driven by a plain
:mod:`selectors` loop over non-blocking sockets rather than asyncio, whose tasks,
futures, handles and transports cost about 40% more client CPU per message (measured
against ``serve --workers auto``: ~140 against ~80 microseconds). It runs in a separate
process (:class:`ClientProcess`) so it never shares a GIL with the server under test.
Each connection carries ``per_connection`` transactions and then reconnects, so
connection set-up (greeting, EHLO) is part of the load.

Latency is per message: from writing MAIL FROM to reading the reply to the end of data.
"""

from __future__ import annotations

import itertools
import multiprocessing
import resource
import selectors
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

CLIENT_NAME = "mail.example.org"
READ_SIZE = 65536


@dataclass
class LoadResult:
    """What one run measured (picklable: it travels back from the client process)."""

    messages: int
    connections: int
    seconds: float = 0.0  # wall time from the first connect to the last reply
    latencies: list[float] = field(default_factory=list)  # seconds, one per message
    replies: Counter[str] = field(default_factory=Counter)  # final reply code -> count
    pipelining: bool = False
    client_cpu_seconds: float = 0.0


class SmtpFailure(Exception):
    """The server answered something the client cannot continue from."""


def prepare(message: bytes) -> bytes:
    """The DATA content for ``message``: CRLF line ends, dot-stuffed, with the final dot."""
    lines = message.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
    return stuffed + b"\r\n.\r\n"


class _Connection:
    """One SMTP connection carrying ``batch`` over the non-blocking socket ``sock``,
    driven by the replies as they arrive: each expected reply has its handler
    (``_on_reply``), which sends what comes next. Once ``finished``, ``failure`` is
    None (the server answered QUIT) or the :class:`SmtpFailure` that ended it.
    """

    def __init__(self, sock: socket.socket, selector: selectors.BaseSelector, commands: tuple[bytes, bytes, bytes],
                 batch: list[bytes], result: LoadResult) -> None:
        self.sock = sock
        self.finished = False
        self.failure: SmtpFailure | None = None
        self._selector = selector
        self._commands = commands  # MAIL, RCPT, DATA
        self._envelope = b"".join(commands)
        self._batch = iter(batch)
        self._result = result
        self._unsent = b""  # what the socket would not take yet
        self._buffer = b""
        self._lines: list[bytes] = []  # the lines of a multi-line reply read so far
        self._on_reply: Callable[[bytes, list[bytes]], None] = self._greeting
        self._pipelining = False
        self._content = b""
        self._codes: list[bytes] = []
        self._started = 0.0
        selector.register(sock, selectors.EVENT_READ, self)

    def readable(self) -> None:
        """Read what the server sent and answer the replies it completes."""
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._finish(SmtpFailure(f"the server closed the connection ({exc})"))
            return
        if not data:
            self._finish(SmtpFailure("the server closed the connection (end of file)"))
            return
        buffer = self._buffer + data if self._buffer else data
        start = 0
        while (end := buffer.find(b"\r\n", start)) >= 0:
            line, start = buffer[start:end + 2], end + 2
            if line[3:4] == b"-":
                self._lines.append(line)
                continue
            lines, self._lines = self._lines + [line], []
            try:
                self._on_reply(line[:3], lines)
            except SmtpFailure as failure:
                self._finish(failure)
            if self.finished:
                return
        self._buffer = buffer[start:]

    def writable(self) -> None:
        """The socket takes data again: send what it would not take before."""
        self._send(self._unsent)

    def _finish(self, failure: SmtpFailure | None) -> None:
        if not self.finished:
            self.finished, self.failure = True, failure

    def _write(self, data: bytes) -> None:
        if self._unsent:  # keep the order: behind what is already waiting
            self._unsent += data
        else:
            self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._finish(SmtpFailure(f"the server closed the connection ({exc})"))
            return
        waiting = bool(self._unsent)
        self._unsent = data[sent:]
        if bool(self._unsent) != waiting:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self._unsent else 0)
            self._selector.modify(self.sock, events, self)

    # -- one handler per expected reply ---------------------------------------------------

    def _greeting(self, code: bytes, lines: list[bytes]) -> None:
        if code != b"220":
            raise SmtpFailure(f"expected 220, got {lines[-1]!r}")
        self._on_reply = self._ehlo
        self._write(f"EHLO {CLIENT_NAME}\r\n".encode())

    def _ehlo(self, code: bytes, lines: list[bytes]) -> None:
        if code != b"250":
            raise SmtpFailure(f"EHLO: {lines[-1]!r}")
        self._pipelining = self._result.pipelining = any(
            line[4:].strip().upper() == b"PIPELINING" for line in lines)
        self._next_transaction()

    def _next_transaction(self) -> None:
        content = next(self._batch, None)
        if content is None:
            self._on_reply = self._quit
            self._write(b"QUIT\r\n")
            return
        self._content, self._codes = content, []
        self._on_reply = self._envelope_reply
        self._started = time.perf_counter()
        self._write(self._envelope if self._pipelining else self._commands[0])

    def _envelope_reply(self, code: bytes, lines: list[bytes]) -> None:
        """MAIL, RCPT and DATA: all three sent at once (pipelining), else one after the other."""
        self._codes.append(code)
        answered = len(self._codes)
        if answered < 3 and (self._pipelining or code[:1] == b"2"):
            if not self._pipelining:
                self._write(self._commands[answered])
            return
        if code == b"354":
            self._on_reply = self._final
            self._write(self._content)
            return
        # Refused before the content: note the refusal, start over.
        self._note(next((c for c in self._codes if c[:1] != b"2"), code))
        self._on_reply = self._rset
        self._write(b"RSET\r\n")

    def _final(self, code: bytes, lines: list[bytes]) -> None:
        self._note(code)
        self._next_transaction()

    def _rset(self, code: bytes, lines: list[bytes]) -> None:
        self._next_transaction()

    def _quit(self, code: bytes, lines: list[bytes]) -> None:
        self._finish(None)

    def _note(self, code: bytes) -> None:
        self._result.latencies.append(time.perf_counter() - self._started)
        self._result.replies[code.decode("ascii", "replace")] += 1


def run(address: tuple[str, int], envelope: tuple[str, str], messages: list[bytes], *,
        connections: int, per_connection: int) -> LoadResult:
    """Send every message (from ``envelope`` = (sender, recipient)) over ``connections``
    concurrent connections, each reconnecting after ``per_connection`` messages; measure.
    Blocks until every message is answered; raises the first :class:`SmtpFailure`."""
    contents = [prepare(m) for m in messages]
    result = LoadResult(messages=len(contents), connections=connections)
    sender, recipient = envelope
    commands = (f"MAIL FROM:<{sender}>\r\n".encode(), f"RCPT TO:<{recipient}>\r\n".encode(), b"DATA\r\n")
    batches = _batches(contents, per_connection)
    live: set[_Connection] = set()
    with selectors.DefaultSelector() as selector:

        def connect() -> None:
            batch = next(batches, None)
            if batch is not None:
                sock = socket.create_connection(address)  # on loopback, established at once
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's connections have it
                sock.setblocking(False)
                live.add(_Connection(sock, selector, commands, batch, result))

        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        try:
            for _ in range(connections):
                connect()
            while live:
                for key, events in selector.select():
                    connection: _Connection = key.data
                    if events & selectors.EVENT_WRITE:
                        connection.writable()
                    if events & selectors.EVENT_READ and not connection.finished:
                        connection.readable()
                    if connection.finished:
                        live.discard(connection)
                        selector.unregister(connection.sock)
                        connection.sock.close()
                        if connection.failure is not None:
                            raise connection.failure
                        connect()
        finally:
            for connection in live:
                connection.sock.close()
        result.seconds = time.perf_counter() - start
        result.client_cpu_seconds = _cpu_seconds() - cpu_before
    return result


def _batches(contents: list[bytes], size: int) -> Iterator[list[bytes]]:
    shared = iter(contents)
    while batch := list(itertools.islice(shared, size)):
        yield batch


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ClientProcess:
    """The load client in a process of its own (spawned: it inherits nothing but its
    arguments), reused for every run of one benchmark.

        with ClientProcess() as client:
            result = client.run(address, envelope, messages, connections=8, per_connection=25)
    """

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def run(self, address: tuple[str, int], envelope: tuple[str, str], messages: list[bytes], *,
            connections: int, per_connection: int) -> LoadResult:
        return self._pool.submit(run, address, envelope, messages, connections=connections,
                                 per_connection=per_connection).result()

    def __enter__(self) -> "ClientProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown()
