"""The ``serve --workers`` pool driven directly: real worker processes on a real socket.

What ``serve`` relies on when something goes wrong: a worker that cannot start says
which worker and why (and none is left running), and a reload that fails in a worker
names the worker and the file.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from sandbox.workers import WorkerConfig, WorkerError, WorkerPool

ZONE = """$ORIGIN sender.test.
$TTL 300
@  TXT "v=spf1 -all"
"""


def worker_children() -> list[int]:
    """Processes of this test process running ``python -m sandbox.workers``."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"sandbox.workers" in command:
                found.append(int(pid))
    return found


def listener() -> socket.socket:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def test_a_worker_that_cannot_start_says_why_and_none_is_left(tmp_path: Path) -> None:
    config = WorkerConfig(data_dir=str(tmp_path / "data"), zone_files=(str(tmp_path / "missing.zone"),))

    async def scenario() -> tuple[str, list[int]]:
        with listener() as sock:
            pool = WorkerPool(config, sock, 2, report=print)
            with pytest.raises(WorkerError) as raised:
                await pool.start()
            return str(raised.value), pool.pids

    message, left = asyncio.run(scenario())
    assert message.startswith("worker ") and " could not start: " in message
    assert "missing.zone" in message
    assert left == [] and worker_children() == []


def test_a_reload_that_fails_in_the_workers_names_them_and_the_file(tmp_path: Path) -> None:
    zone = tmp_path / "sender.test.zone"
    zone.write_text(ZONE)
    config = WorkerConfig(data_dir=str(tmp_path / "data"), zone_files=(str(zone),))

    async def scenario() -> tuple[list[str], list[str], int]:
        with listener() as sock:
            pool = WorkerPool(config, sock, 2, report=print)
            await pool.start()
            try:
                fine = await pool.reload()
                zone.write_text(ZONE + "mail A not-an-address\n")
                broken = await pool.reload()
                return fine, broken, len(pool.pids)
            finally:
                await pool.stop()

    fine, broken, running = asyncio.run(scenario())
    assert fine == []
    assert running == 2  # a failed reload keeps the workers serving the old zones
    assert len(broken) == 2
    for problem in broken:
        assert problem.startswith("worker ") and f"error zone file {zone}:4: " in problem, problem
        assert problem.endswith("still serving the previous zones")
