"""The writer's side of the sync process (:mod:`sandbox.store.sync_process`).

One request at a time: :meth:`Syncer.request` asks for a sync and the answer arrives
through the event loop's reader callback as ``on_answer(None)`` (durable) or
``on_answer(reason)``. The process is started with the first request, so a store that
saves nothing starts none. If it dies, it is started again and asked again: an fsync
issued later covers the same commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sandbox.store import sync_process

SCRIPT = Path(sync_process.__file__)
RESTARTS = 3  # a process that dies this many times in a row without answering is a failure


class Syncer:
    """Owns one sync process for the database at ``path``."""

    def __init__(self, path: Path, on_answer: Callable[[str | None], None]) -> None:
        self.path = path
        self._on_answer = on_answer
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: bytes | None = None  # the request in flight
        self._received = b""
        self._deaths = 0

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The running sync process, if one was started (tests kill it)."""
        return self._process

    def request(self, loop: asyncio.AbstractEventLoop, *, checkpoint: bool = False) -> None:
        """Ask for a sync (and then a checkpoint); the answer comes to ``on_answer``."""
        if self._pending is not None:
            raise RuntimeError("a sync is already in flight")
        self._pending = b"c" if checkpoint else b"s"
        self._send(loop)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen for answers on ``loop`` (the writer moved to another event loop)."""
        if self._channel is not None and loop is not self._loop:
            self._detach()
            loop.add_reader(self._channel.fileno(), self._readable)
            self._loop = loop

    def close(self) -> None:
        """End the process (it exits on end of file) and reap it."""
        self._detach()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    # -- internals ------------------------------------------------------------------------------

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._pending is not None
        try:
            if self._channel is None:
                self._start(loop)
            assert self._channel is not None
            self._channel.send(self._pending)
        except OSError as exc:
            self._fail(f"cannot reach the store's sync process: {exc}")

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(SCRIPT), str(self.path), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._channel = ours
        self._received = b""
        loop.add_reader(ours.fileno(), self._readable)
        self._loop = loop

    def _readable(self) -> None:
        assert self._channel is not None
        try:
            data = self._channel.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._died()
            return
        self._received += data
        while b"\n" in self._received and self._pending is not None:
            line, self._received = self._received.split(b"\n", 1)
            self._pending = None
            self._deaths = 0
            text = line.decode("utf-8", "replace")
            self._on_answer(None if text == "ok" else text.removeprefix("error: "))

    def _died(self) -> None:
        """The process ended (killed, crashed): start another and repeat the request."""
        loop = self._loop
        self._detach()
        assert self._channel is not None
        self._channel.close()
        self._channel = None
        if self._process is not None:
            code = self._process.wait()
            self._process = None
        else:
            code = None
        if self._pending is None or loop is None:
            return
        self._deaths += 1
        if self._deaths > RESTARTS:
            self._fail(f"the store's sync process keeps dying (last exit code {code})")
            return
        self._send(loop)

    def _fail(self, reason: str) -> None:
        self._pending = None
        self._deaths = 0
        self._on_answer(reason)

    def _detach(self) -> None:
        if self._channel is not None and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._channel.fileno())
        self._loop = None
