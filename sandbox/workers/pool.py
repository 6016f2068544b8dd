"""The ``serve`` side of ``--workers``: start the workers, pass reloads on, stop them.

Every worker gets the same listening socket and its own control channel (a socket
pair, one JSON object per line each way; see :mod:`.child`). :meth:`WorkerPool.start`
returns once every worker accepts connections, or raises :class:`WorkerError` with the
first worker's reason. A reload is answered only when every worker has reloaded, so a
client that reloads and then connects is judged against the new zones by whichever
worker takes the connection. A worker that exits while the pool runs is reported and
replaced; :meth:`WorkerPool.stop` lets each worker finish and store what is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import Callable
from typing import Any

from sandbox.workers.config import WorkerConfig

# Seconds a worker gets to finish its connections on stop before it is killed; more
# than the SMTP server's own grace for a busy connection (sandbox.smtp.server).
STOP_TIMEOUT = 30.0
START_TIMEOUT = 60.0  # a worker imports the sandbox and loads zones and profile
RESTART_DELAY = 1.0  # between attempts to replace a worker that keeps failing to start


class WorkerError(Exception):
    """A worker could not start, or stopped answering; the message says which and why."""


class _Worker:
    """One worker process and its control channel."""

    def __init__(self, number: int, process: asyncio.subprocess.Process, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.number = number
        self.process = process
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()  # one request at a time; answers come in order

    @property
    def label(self) -> str:
        return f"worker {self.number} (pid {self.process.pid})"

    async def request(self, message: dict[str, Any] | bytes, timeout: float | None = None) -> dict[str, Any]:
        """Send ``message`` and return the worker's answer (WorkerError if it has none)."""
        line = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
        async with self._lock:
            try:
                self._writer.write(line)
                await self._writer.drain()
                answer = await asyncio.wait_for(self._reader.readline(), timeout)
            except (OSError, asyncio.TimeoutError) as exc:
                raise WorkerError(f"{self.label} did not answer ({exc or type(exc).__name__})") from None
        if not answer:
            raise WorkerError(f"{self.label} exited (code {await self.process.wait()})")
        return json.loads(answer)

    async def stop(self) -> None:
        """Ask the worker to finish; kill it if it does not within STOP_TIMEOUT."""
        if self.process.returncode is None:
            with contextlib.suppress(WorkerError):
                await self.request({"command": "stop"}, timeout=STOP_TIMEOUT)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._writer.close()


class WorkerPool:
    """``count`` workers accepting on ``listener``, configured by ``config``.

    ``report`` gets one line for each event an operator should see (a worker that died).
    """

    def __init__(self, config: WorkerConfig, listener: socket.socket, count: int,
                 report: Callable[[str], None]) -> None:
        if count < 1:
            raise ValueError("a worker pool needs at least one worker")
        self._config_line = config.to_json()
        self._listener = listener
        self._count = count
        self._report = report
        self._workers: dict[int, _Worker] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for _, worker in sorted(self._workers.items())]

    async def start(self) -> None:
        """Start every worker; raises WorkerError (after stopping the others) if one fails."""
        started = await asyncio.gather(*(self._spawn(n) for n in range(1, self._count + 1)), return_exceptions=True)
        for result in started:
            if isinstance(result, _Worker):
                self._adopt(result)
        failures = [result for result in started if isinstance(result, BaseException)]
        if failures:
            await self.stop()
            raise failures[0] if isinstance(failures[0], WorkerError) else WorkerError(str(failures[0]))

    async def reload(self) -> list[str]:
        """Reload the zones in every worker; the problems (empty when all reloaded)."""
        workers = list(self._workers.values())
        answers = await asyncio.gather(*(w.request({"command": "reload"}) for w in workers), return_exceptions=True)
        problems = []
        for worker, answer in zip(workers, answers):
            if isinstance(answer, BaseException):
                problems.append(str(answer))
            elif not str(answer.get("reload", "")).startswith("ok"):
                problems.append(f"{worker.label}: {answer.get('reload') or answer.get('error')}")
        return problems

    async def stop(self) -> None:
        """Stop replacing workers, then let each finish what it has in flight; idempotent."""
        self._stopping = True
        for watcher in list(self._watchers):
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        await asyncio.gather(*(worker.stop() for worker in self._workers.values()))
        self._workers.clear()

    # -- one worker -----------------------------------------------------------------------------

    async def _spawn(self, number: int) -> _Worker:
        ours, theirs = socket.socketpair()
        listen_fd, control_fd = self._listener.fileno(), theirs.fileno()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sandbox.workers", str(listen_fd), str(control_fd),
                pass_fds=(listen_fd, control_fd))
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        worker = _Worker(number, process, reader, writer)
        try:
            answer = await worker.request(self._config_line, timeout=START_TIMEOUT)
        except WorkerError:
            await worker.stop()
            raise
        if "ready" not in answer:
            await worker.stop()
            raise WorkerError(f"{worker.label} could not start: {answer.get('error')}")
        return worker

    def _adopt(self, worker: _Worker) -> None:
        self._workers[worker.number] = worker
        watcher = asyncio.ensure_future(self._watch(worker))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    async def _watch(self, worker: _Worker) -> None:
        """Replace ``worker`` if it exits while the pool is running."""
        code = await worker.process.wait()
        if self._stopping:
            return
        await worker.stop()  # closes its control channel
        self._report(f"smtp-sandbox: {worker.label} exited with code {code}; starting another")
        while not self._stopping:
            try:
                replacement = await self._spawn(worker.number)
            except WorkerError as exc:
                self._report(f"smtp-sandbox: {exc}; trying again in {RESTART_DELAY:.0f}s")
                await asyncio.sleep(RESTART_DELAY)
                continue
            self._adopt(replacement)
            self._report(f"smtp-sandbox: {replacement.label} took over")
            return
