"""The load client: several SMTP connections on raw asyncio streams, in a process of its own.

It must not be the bottleneck, or the ratio between two servers says nothing, so it
does the least work per message: messages are dot-stuffed once before the clock
starts, commands go out in one write when the server advertises PIPELINING (RFC 2920:
MAIL, RCPT and DATA as one group, then the content), and replies are read as raw lines.
It runs in a separate process (:class:`ClientProcess`) so it never shares a GIL with
the server under test. Each connection carries ``per_connection`` transactions and
then reconnects, so connection set-up (greeting, EHLO) is part of the load.

Latency is per message: from writing MAIL FROM to reading the reply to the end of data.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

CLIENT_NAME = "mail.example.org"


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


async def _reply(reader: asyncio.StreamReader) -> tuple[str, list[bytes]]:
    """One (possibly multi-line) reply: its code and lines."""
    lines = []
    while True:
        line = await reader.readuntil(b"\r\n")
        lines.append(line)
        if line[3:4] != b"-":
            return line[:3].decode("ascii", "replace"), lines


class _Client:
    def __init__(self, address: tuple[str, int], envelope: tuple[str, str], per_connection: int,
                 result: LoadResult) -> None:
        self.host, self.port = address
        self.per_connection = per_connection
        self.result = result
        sender, recipient = envelope
        self._mail = f"MAIL FROM:<{sender}>\r\n".encode()
        self._rcpt = f"RCPT TO:<{recipient}>\r\n".encode()
        self._envelope = self._mail + self._rcpt + b"DATA\r\n"

    async def worker(self, contents: Iterator[bytes]) -> None:
        """Connections one after another until ``contents`` (shared by all workers) runs out."""
        while True:
            batch = [content for _, content in zip(range(self.per_connection), contents)]
            if not batch:
                return
            await self._connection(batch)

    async def _connection(self, batch: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        try:
            await self._expect(reader, "220")
            writer.write(f"EHLO {CLIENT_NAME}\r\n".encode())
            code, lines = await _reply(reader)
            if code != "250":
                raise SmtpFailure(f"EHLO: {lines[-1]!r}")
            pipelining = any(line[4:].strip().upper() == b"PIPELINING" for line in lines)
            self.result.pipelining = pipelining
            for content in batch:
                await self._transaction(reader, writer, content, pipelining)
            writer.write(b"QUIT\r\n")
            await _reply(reader)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def _transaction(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, content: bytes,
                           pipelining: bool) -> None:
        start = time.perf_counter()
        if pipelining:
            writer.write(self._envelope)
            codes = [(await _reply(reader))[0] for _ in range(3)]
        else:
            codes = []
            for command in (self._mail, self._rcpt, b"DATA\r\n"):
                writer.write(command)
                codes.append((await _reply(reader))[0])
                if codes[-1][0] != "2" and codes[-1] != "354":
                    break
        if codes[-1] == "354":
            writer.write(content)
            final, _ = await _reply(reader)
        else:  # refused before the content: note the refusal, start over
            final = next(c for c in codes if c[0] != "2")
            writer.write(b"RSET\r\n")
            await _reply(reader)
        self.result.latencies.append(time.perf_counter() - start)
        self.result.replies[final] += 1

    @staticmethod
    async def _expect(reader: asyncio.StreamReader, code: str) -> None:
        got, lines = await _reply(reader)
        if got != code:
            raise SmtpFailure(f"expected {code}, got {lines[-1]!r}")


async def run(address: tuple[str, int], envelope: tuple[str, str], messages: list[bytes], *,
              connections: int, per_connection: int) -> LoadResult:
    """Send every message (from ``envelope`` = (sender, recipient)) over ``connections``
    concurrent connections; measure."""
    contents = [prepare(m) for m in messages]
    result = LoadResult(messages=len(contents), connections=connections)
    client = _Client(address, envelope, per_connection, result)
    shared = iter(contents)
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    await asyncio.gather(*(client.worker(shared) for _ in range(connections)))
    result.seconds = time.perf_counter() - start
    result.client_cpu_seconds = _cpu_seconds() - cpu_before
    return result


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_sync(address: tuple[str, int], envelope: tuple[str, str], messages: list[bytes], connections: int,
              per_connection: int) -> LoadResult:
    return asyncio.run(run(address, envelope, messages, connections=connections, per_connection=per_connection))


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
        return self._pool.submit(_run_sync, address, envelope, messages, connections, per_connection).result()

    def __enter__(self) -> "ClientProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown()
