"""The listening SMTP server: accepts connections, tracks them, stops without losing mail.

Stopping is where mail could be lost: a message whose checks are running or whose
delivery is being written must still be stored, and its client should still get the
reply. So :meth:`SmtpServer.stop` closes the listener, ends idle connections at once,
lets busy ones finish the command in progress, and waits for every protected task
(check runs and store writes) before it returns; only then may the store be closed.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sandbox.smtp.identity import ClientIdentity, ClientIpMap
from sandbox.smtp.protocol import SmtpConnection
from sandbox.smtp.transcript import Transcript

if TYPE_CHECKING:
    from sandbox.smtp.handler import ConnectionHandler

T = TypeVar("T")
STOP_GRACE = 10.0  # seconds a busy connection gets to finish its command on stop


@dataclass(frozen=True)
class ServerConfig:
    """What the wire layer needs to know; everything about verdicts lives in the handler."""

    hostname: str
    max_size: int | None
    tls_context: ssl.SSLContext | None = None
    client_ips: ClientIpMap = field(default_factory=lambda: ClientIpMap({}))
    proxy_protocol: bool = False
    xclient: bool = False
    idle_timeout: float = 300.0


HandlerFactory = Callable[[ClientIdentity, Transcript, "SmtpServer"], "ConnectionHandler"]


class SmtpServer:
    """An SMTP listener on the running event loop."""

    def __init__(self, config: ServerConfig, handler_factory: HandlerFactory) -> None:
        self.config = config
        self._handler_factory = handler_factory
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[SmtpConnection] = set()
        self._protected: set[asyncio.Task[object]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.address: tuple[str, int] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0, *,
                    sock: socket.socket | None = None) -> tuple[str, int]:
        """Listen on ``host``:``port`` (0 picks a free port), or accept on ``sock``, a
        socket already listening (shared by the worker processes of ``serve --workers``);
        returns the bound address.

        Raises OSError when the address cannot be bound (e.g. the port is in use).
        """
        if self._server is not None:
            raise RuntimeError(f"the SMTP server already listens on {self.address}")
        self.loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await self.loop.create_server(lambda: SmtpConnection(self), sock=sock)
        else:
            self._server = await self.loop.create_server(lambda: SmtpConnection(self), host, port)
        bound = self._server.sockets[0].getsockname()
        self.address = (bound[0], bound[1])
        return self.address

    async def stop(self) -> None:
        """Stop listening, end every connection, wait for all protected work; idempotent."""
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.shutdown()
        tasks = [c.task for c in self._connections if c.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        while self._protected:
            await asyncio.wait(list(self._protected))
        await self._server.wait_closed()
        self._server = None
        self.address = None

    # -- used by connections --------------------------------------------------------------

    def new_handler(self, identity: ClientIdentity, transcript: Transcript) -> "ConnectionHandler":
        return self._handler_factory(identity, transcript, self)

    def connection_opened(self, connection: SmtpConnection) -> None:
        self._connections.add(connection)

    def connection_closed(self, connection: SmtpConnection) -> None:
        self._connections.discard(connection)

    def protect(self, work: Awaitable[T]) -> Awaitable[T]:
        """Run ``work`` so that neither a lost connection nor a server stop interrupts it.

        The caller awaits the result as usual; if the caller is cancelled, the work goes
        on, and :meth:`stop` waits for it.
        """
        task = asyncio.ensure_future(work)
        self._protected.add(task)
        task.add_done_callback(self._protected.discard)
        return asyncio.shield(task)
