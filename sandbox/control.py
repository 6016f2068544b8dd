"""The control socket of a running ``smtp-sandbox serve``: ``DATA_DIR/control.sock``.

A Unix-domain stream socket in the data directory, so whoever can name the data
directory (``--data-dir``, as for ``log`` and ``show``) can reach the ``serve`` that
writes there, and nobody needs a pid file or a port. The protocol is one line each
way: the client sends a command (``reload``), the server answers ``ok <detail>`` or
``error <why>`` and closes. The socket file is made owner-only (0600): a reload is
the owner's business, also when the data directory sits in a shared /tmp. ``serve``
removes it when it stops.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

SOCKET_NAME = "control.sock"
# Longest command or answer line we read; a reload error names one file and line.
MAX_LINE = 64 * 1024
# sun_path holds 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107

Command = Callable[[], Awaitable[str]]  # answers with "ok ..." or "error ..."


class ControlError(Exception):
    """The control socket cannot be served or reached; the message says why."""


def socket_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / SOCKET_NAME


class ControlServer:
    """Serves ``commands`` (name -> coroutine giving the answer line) on the socket."""

    def __init__(self, data_dir: str | Path, commands: dict[str, Command]) -> None:
        self.path = socket_path(data_dir)
        self._commands = commands
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen; a socket left by a ``serve`` that died is replaced, a live one is not."""
        if self.path.exists() or self.path.is_symlink():
            if answers(self.path.parent):
                raise ControlError(f"another smtp-sandbox serve is running on {self.path.parent} "
                                   f"({self.path} answers)")
            self.path.unlink()
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            raise ControlError(f"{self.path} is longer than a Unix socket path may be "
                               f"({MAX_SOCKET_PATH} bytes); choose a shorter --data-dir")
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_LINE)
        except OSError as exc:
            raise ControlError(f"cannot listen on {self.path}: {exc.strerror or exc}") from None
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("utf-8", "replace").strip()
            command = self._commands.get(line)
            if command is None:
                answer = f"error unknown command {line!r}; known: {', '.join(sorted(self._commands))}"
            else:
                answer = await command()
            writer.write(answer.encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # the client left or sent nonsense: nothing to answer
        finally:
            writer.close()


def answers(data_dir: str | Path) -> bool:
    """Whether a ``serve`` is listening on ``data_dir``'s control socket (checked before
    a second ``serve`` opens the same store)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(socket_path(data_dir)))
        except OSError:
            return False
    return True


def request(data_dir: str | Path, command: str, timeout: float = 30.0) -> str:
    """Send ``command`` to the ``serve`` using ``data_dir``; its one-line answer."""
    path = socket_path(data_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        try:
            client.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError(f"no smtp-sandbox serve is running with --data-dir {data_dir} "
                               f"(nothing answers on {path})") from None
        except OSError as exc:
            raise ControlError(f"cannot reach {path}: {exc.strerror or exc}") from None
        answer = b""
        try:
            client.sendall(command.encode() + b"\n")
            while not answer.endswith(b"\n") and len(answer) < MAX_LINE:
                chunk = client.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            raise ControlError(f"the serve on {path} did not answer within {timeout:.0f}s") from None
        except OSError as exc:
            raise ControlError(f"lost the connection to {path}: {exc.strerror or exc}") from None
    if not answer:
        raise ControlError(f"the serve on {path} closed without answering")
    return answer.decode("utf-8", "replace").strip()
