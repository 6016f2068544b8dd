"""The two servers under test, each on its own event loop in a thread of this process.

(a) :class:`BareServer`: aiosmtpd with a handler that answers 250 to everything and
    keeps nothing; it advertises PIPELINING like the sandbox does (aiosmtpd reads
    pipelined commands correctly but does not say so), so both sides get the same
    client behaviour and the ratio measures the sandbox's work, not round trips.
(b) :class:`SandboxServer`: the whole sandbox (:class:`sandbox.app.Sandbox`) with a
    provider profile, every check and the durable store.

Both have ``name``, ``start() -> (host, port)`` and ``stop()``; the benchmark can put
either on the (b) side (``--b bare`` tests the harness itself).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from bench.corpus import SENDER_IP, Corpus

Address = tuple[str, int]


class ServerUnderTest(Protocol):
    name: str

    def start(self) -> Address: ...

    def stop(self) -> None: ...

    def stored(self) -> dict[str, Any] | None:
        """What the server stored so far (None: it stores nothing)."""


class _AnswerEverything:
    """aiosmtpd handler: 250 for the message, PIPELINING in the EHLO reply, nothing kept."""

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK"


class _LoopThread:
    """An event loop running in a daemon thread, for servers driven from sync code."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class BareServer:
    """aiosmtpd answering 250: the floor any SMTP server on this machine stands on."""

    name = "bare aiosmtpd (250 only)"

    def __init__(self) -> None:
        self._thread: _LoopThread | None = None
        self._server: asyncio.base_events.Server | None = None

    def start(self) -> Address:
        from aiosmtpd.smtp import SMTP

        self._thread = _LoopThread("bench-bare-smtp")
        handler = _AnswerEverything()

        async def listen() -> asyncio.base_events.Server:
            return await asyncio.get_running_loop().create_server(
                lambda: SMTP(handler, hostname="bare.bench.invalid"), "127.0.0.1", 0)

        self._server = self._thread.call(listen())
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    def stop(self) -> None:
        if self._thread is None:
            return
        server = self._server

        async def close() -> None:
            if server is not None:
                server.close()
                await server.wait_closed()

        self._thread.call(close())
        self._thread.close()
        self._thread = None

    def stored(self) -> None:
        return None


class SandboxServer:
    """The full sandbox: ``profile``, every check, the durable store in ``data_dir``.

    Every client is judged as the corpus's sending address, whose SPF, DKIM key, DMARC
    record and reverse DNS the corpus's zones publish.
    """

    def __init__(self, corpus: Corpus, data_dir: Path, profile: str = "gmail") -> None:
        self.name = f"sandbox ({profile}, every check, store)"
        self._corpus = corpus
        self._data_dir = data_dir
        self._profile = profile
        self._running: Any = None

    def start(self) -> Address:
        from sandbox.app import Sandbox

        sandbox = Sandbox(self._corpus.zones(), profile=self._profile, data_dir=self._data_dir,
                          smtp=("127.0.0.1", 0), dns=None, client_ips={None: SENDER_IP})
        self._running = sandbox.run_in_thread()
        return self._running.smtp_address

    def stored(self) -> dict[str, Any] | None:
        """How the store batched its commits, and the verdicts it holds: every delivery
        should be in the inbox with SPF, DKIM and DMARC passing, or the sandbox did not
        run every check to the end."""
        if self._running is None:
            return None
        verdicts: Counter[str] = Counter()
        for delivery in self._running.deliveries():
            summary = delivery.to_log_dict()
            dkim = ",".join(sig["result"] for sig in summary["dkim"]) or "none"
            verdicts[f"{delivery.folder or delivery.action} spf={summary['spf']['result']} dkim={dkim} "
                     f"dmarc={summary['dmarc']['result']}"] += 1
        stats = self._running.sandbox.store.stats
        return {**asdict(stats), "verdicts": dict(verdicts.most_common())}

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None
