"""Shared by the SMTP tests: the demo zones, a sandbox in a thread, a raw SMTP client,
and messages a careful sender would send."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from fake_dns import Zones
from sandbox import demo
from sandbox.app import Sandbox, SandboxThread

DEMO_IP = demo.CLIENT_IP  # the address example.com's SPF allows; the demo maps clients to it
TIMEOUT = 30


def demo_zones() -> Zones:
    """A fresh copy of the demo zones (example.com good, example.net broken SPF, PTR)."""
    return Zones.from_files(demo.zone_files())


@contextmanager
def running(zones: Zones | None = None, **options: Any) -> Iterator[SandboxThread]:
    """A sandbox on its own loop in a thread, for tests that talk to it synchronously."""
    options.setdefault("dns", None)
    thread = Sandbox(zones if zones is not None else demo_zones(), **options).run_in_thread()
    try:
        yield thread
    finally:
        thread.stop()


def wait_for_deliveries(sandbox: SandboxThread, count: int, timeout: float = 10.0) -> list[Any]:
    """The stored deliveries once there are ``count`` of them (work after a client hangs
    up, such as storing an interrupted message, finishes a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        stored = sandbox.deliveries()
        if len(stored) >= count or time.monotonic() > deadline:
            return stored
        time.sleep(0.02)


def message(sender: str = "alice@example.com", recipient: str = "user@gmail.com", *,
            subject: str = "hello", body: str = "Hello from the test suite.\r\n") -> bytes:
    """A well-formed RFC 5322 message (From, To, Subject, Date, Message-ID)."""
    domain = sender.rpartition("@")[2]
    return (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\nDate: {formatdate()}\r\n"
        f"Message-ID: {make_msgid(domain=domain)}\r\n\r\n{body}"
    ).encode()


def client_tls_context() -> ssl.SSLContext:
    """A client context that accepts the sandbox's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class RawClient:
    """A plain socket SMTP client that sends exactly the bytes a test gives it."""

    def __init__(self, address: tuple[str, int], *, source: str | None = None, timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(address, timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> list[str]:
        """One reply: every line up to the one whose fourth character is a space."""
        lines = []
        while True:
            raw = self.file.readline()
            if not raw:
                raise ConnectionError(f"connection closed; reply so far: {lines}")
            line = raw.decode("utf-8").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def command(self, line: str | bytes) -> list[str]:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def starttls(self) -> None:
        self.sock = client_tls_context().wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")

    def closed_by_server(self) -> bool:
        """True when the server has closed the connection (EOF with nothing more to read)."""
        return self.file.read() == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def read_reply(reader: asyncio.StreamReader) -> list[str]:
    """One reply, read with asyncio streams (for tests that run clients on the sandbox's loop)."""
    lines = []
    while True:
        raw = await reader.readline()
        if not raw:
            raise ConnectionError(f"connection closed; reply so far: {lines}")
        line = raw.decode("utf-8").rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            return lines


def session_id(greeting: list[str]) -> str:
    """The per-connection token in a Gmail greeting ``220 mx.google.com ESMTP <id> - gsmtp``."""
    words = greeting[-1].split(" ")
    assert words[-2:] == ["-", "gsmtp"], greeting
    return words[-3]


def zone_dir(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
