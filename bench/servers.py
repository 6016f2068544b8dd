"""The two servers under test, each on its own event loop in a thread of this process.

(a) :class:`BareServer`: aiosmtpd with a handler that answers 250 to everything and
    keeps nothing; it advertises PIPELINING like the sandbox does (aiosmtpd reads
    pipelined commands correctly but does not say so), so both sides get the same
    client behaviour and the ratio measures the sandbox's work, not round trips.
(b) :class:`SandboxServer`: ``smtp-sandbox serve`` in processes of its own, with a
    provider profile, every check and the durable store.

Both have ``name``, ``start() -> (host, port)``, ``cpu_seconds()`` and ``stop()``; the
benchmark can put either on the (b) side (``--b bare`` tests the harness itself).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

from bench.corpus import SENDER_IP, Corpus

Address = tuple[str, int]
PROJECT = Path(__file__).resolve().parents[1]


class ServerUnderTest(Protocol):
    name: str

    def start(self) -> Address: ...

    def stop(self) -> None: ...

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far."""

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

    def cpu_seconds(self) -> float:
        # It runs in the benchmark's own process, where nothing else works meanwhile (the
        # client is a process of its own): this process's CPU time is the server's.
        return time.process_time()

    def stored(self) -> None:
        return None


class SandboxServer:
    """``smtp-sandbox serve`` as a user runs it, in processes of its own: ``profile``,
    every check, the durable store in ``data_dir``, ``workers`` SMTP processes.

    The corpus's zones are written to files for ``--zone``; every client is judged as
    the corpus's sending address (``--client-ip``), whose SPF, DKIM key, DMARC record
    and reverse DNS those zones publish.
    """

    def __init__(self, corpus: Corpus, data_dir: Path, profile: str = "gmail", workers: str = "1") -> None:
        self.name = f"smtp-sandbox serve --workers {workers}"
        self._corpus = corpus
        self._data_dir = data_dir
        self._profile = profile
        self._workers = workers
        self._process: subprocess.Popen[str] | None = None
        self._banner: list[str] = []

    def start(self) -> Address:
        self._data_dir.mkdir(parents=True)
        zone_flags = []
        for number, (origin, text) in enumerate(self._corpus.zones_text):
            path = self._data_dir.parent / f"{self._data_dir.name}-{number}.zone"
            path.write_text(f"$ORIGIN {origin}\n{text}")
            zone_flags += ["--zone", str(path)]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.cli", "serve", *zone_flags, "--profile", self._profile,
             "--client-ip", SENDER_IP, "--smtp", "127.0.0.1:0", "--dns", "127.0.0.1:0",
             "--data-dir", str(self._data_dir), "--workers", self._workers],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT)
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._banner.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops"):
                break
        else:
            raise RuntimeError("smtp-sandbox serve did not start:\n" + "\n".join(self._banner))
        # Its per-delivery lines are drained (and dropped) so that a full pipe never stalls it.
        threading.Thread(target=self._process.stdout.read, daemon=True).start()
        found = re.search(r"SMTP\s+127\.0\.0\.1:(\d+)", "\n".join(self._banner))
        if found is None:
            raise RuntimeError("no SMTP address in the banner:\n" + "\n".join(self._banner))
        processes = len(self.pids()) - 1 or 1  # one process receives itself; else its workers do
        self.name += f" ({processes} SMTP process{'es' if processes > 1 else ''})"
        return "127.0.0.1", int(found.group(1))

    def pids(self) -> list[int]:
        """``serve`` and its worker processes."""
        assert self._process is not None
        children = Path(f"/proc/{self._process.pid}/task/{self._process.pid}/children").read_text().split()
        return [self._process.pid, *map(int, children)]

    def cpu_seconds(self) -> float:
        """CPU time used so far by ``serve`` and its workers (user + system, from /proc)."""
        ticks = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime and stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stored(self) -> dict[str, Any] | None:
        """The verdicts the store holds: every delivery should be in the inbox with SPF,
        DKIM and DMARC passing, or the sandbox did not run every check to the end."""
        from sandbox.store import StoreReader

        verdicts: Counter[str] = Counter()
        for delivery in StoreReader(self._data_dir).list():
            summary = delivery.to_log_dict()
            dkim = ",".join(sig["result"] for sig in summary["dkim"]) or "none"
            verdicts[f"{delivery.folder or delivery.action} spf={summary['spf']['result']} dkim={dkim} "
                     f"dmarc={summary['dmarc']['result']}"] += 1
        return {"rows": sum(verdicts.values()), "verdicts": dict(verdicts.most_common())}

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            if self._process.wait(timeout=60) != 0:
                raise RuntimeError(f"smtp-sandbox serve exited with code {self._process.returncode}")
            self._process = None
