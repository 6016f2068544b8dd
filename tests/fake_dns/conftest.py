"""Fixtures for the fake_dns tests: a real server on a free port, and the real `dig`."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from fake_dns import Faults, Zones
from fake_dns.server import DnsServer


@pytest.fixture
def serve() -> Callable[..., Any]:
    """``serve(zones, client, faults=None)``: start a DnsServer on 127.0.0.1 and a free
    port, run the blocking ``client(host, port)`` in a thread (dnspython queries, dig,
    raw sockets) while the server answers on the event loop, stop the server and return
    what the client returned."""

    def run(zones: Zones, client: Callable[[str, int], Any], faults: Faults | None = None) -> Any:
        async def main() -> Any:
            server = DnsServer(zones, faults)
            host, port = await server.start("127.0.0.1", 0)
            try:
                return await asyncio.to_thread(client, host, port)
            finally:
                await server.stop()

        return asyncio.run(main())

    return run


@pytest.fixture(scope="session")
def dig() -> Callable[..., str]:
    """``dig(host, port, *args)``: run the real `dig` against host:port and return what it
    printed. A missing `dig` fails the test that needs it (it is a declared system dependency,
    never a reason to skip)."""

    def run(host: str, port: int, *args: str) -> str:
        path = shutil.which("dig")
        if path is None:
            pytest.fail("`dig` is not installed: install the Debian package dnsutils (`make sysdeps` does it)")
        done = subprocess.run(
            [path, f"@{host}", "-p", str(port), "+time=2", "+tries=1", *args],
            capture_output=True, text=True, timeout=30,
        )
        return done.stdout + done.stderr

    return run
