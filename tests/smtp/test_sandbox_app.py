"""The in-process Sandbox: its DNS server serves the same zones the checks read, a zone
reload changes both at once, start and stop are fast, a temporary data dir goes away,
and a port already in use is reported as such."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time

import dns.asyncquery
import dns.message
import pytest
from smtp_helpers import DEMO_IP, demo_zones, message, read_reply

from policies.profiles import load_profile
from sandbox.app import BindError, Sandbox


async def _txt(address: tuple[str, int], name: str) -> list[str]:
    query = dns.message.make_query(name, "TXT")
    response = await dns.asyncquery.udp(query, address[0], port=address[1], timeout=5)
    return [b"".join(r.strings).decode() for rrset in response.answer for r in rrset]


async def _send(address: tuple[str, int], sender: str) -> list[str]:
    reader, writer = await asyncio.open_connection(*address)
    try:
        await read_reply(reader)
        for line in (b"EHLO client.example", f"MAIL FROM:<{sender}>".encode(), b"RCPT TO:<user@gmail.com>", b"DATA"):
            writer.write(line + b"\r\n")
            await read_reply(reader)
        writer.write(message(sender) + b".\r\n")
        return await read_reply(reader)
    finally:
        writer.close()


def test_dns_server_and_checks_share_the_zones_and_reload_together():
    async def scenario() -> tuple[list[str], list[str], list[str], list[str]]:
        async with Sandbox(demo_zones(), client_ips={None: DEMO_IP}) as sandbox:
            assert sandbox.dns_address is not None
            before = await _txt(sandbox.dns_address, "example.net")
            refused = await _send(sandbox.smtp_address, "bob@example.net")
            reloaded = demo_zones()  # the fix: example.net's SPF names the new server
            example_net = reloaded.zone("example.net")
            example_net.remove("@", "TXT")
            example_net.add("@", "TXT", "v=spf1 ip4:192.0.2.10 -all")
            sandbox.reload_zones(reloaded)
            after = await _txt(sandbox.dns_address, "example.net")
            accepted = await _send(sandbox.smtp_address, "bob@example.net")
            return before, refused, after, accepted

    before, refused, after, accepted = asyncio.run(scenario())
    assert before == ["v=spf1 ip4:198.51.100.20 -all"]
    assert refused[0].startswith("550-5.7.26 ")
    assert after == ["v=spf1 ip4:192.0.2.10 -all"]
    assert accepted[0].startswith("250 2.0.0 OK  ")


def test_start_and_stop_take_milliseconds():
    profile = load_profile("gmail")

    async def cycle() -> tuple[float, float]:
        sandbox = Sandbox(demo_zones(), profile=profile)
        started = time.perf_counter()
        await sandbox.start()
        running = time.perf_counter()
        await sandbox.stop()
        return running - started, time.perf_counter() - running

    async def measure() -> list[tuple[float, float]]:
        return [await cycle() for _ in range(7)]

    timings = asyncio.run(measure())
    start = statistics.median(t[0] for t in timings)
    stop = statistics.median(t[1] for t in timings)
    assert start + stop < 0.1, f"start {start * 1000:.1f} ms, stop {stop * 1000:.1f} ms"


def test_temporary_data_dir_is_removed_and_a_given_one_kept(tmp_path):
    async def scenario(data_dir):
        async with Sandbox(demo_zones(), data_dir=data_dir, dns=None) as sandbox:
            used = sandbox.data_dir
            await _send(sandbox.smtp_address, "alice@example.com")
        return used

    temporary = asyncio.run(scenario(None))
    assert not temporary.exists()
    kept = asyncio.run(scenario(tmp_path / "store"))
    assert kept.exists() and any(kept.iterdir())


def test_port_in_use_raises_bind_error_and_leaves_nothing_running():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = Sandbox(demo_zones(), smtp=("127.0.0.1", port))
        with pytest.raises(BindError) as caught:
            asyncio.run(sandbox.start())
    assert caught.value.service == "smtp"
    assert sandbox.store is None and sandbox.dns_address is None


def test_bad_arguments_are_value_errors():
    for options in ({"profile": "no-such-provider"}, {"client_ips": {None: "nope"}},
                    {"tls_cert": "cert.pem"}, {"faults": ["example.com=explode"]}):
        with pytest.raises(ValueError):
            Sandbox(demo_zones(), **options)


def test_thread_wrapper_runs_and_stops():
    sandbox = Sandbox(demo_zones(), dns=None, client_ips={None: DEMO_IP})
    with sandbox.run_in_thread() as running:
        with socket.create_connection(running.smtp_address, timeout=10) as client:
            assert client.makefile("rb").readline().startswith(b"220 mx.google.com ESMTP ")
    with pytest.raises(RuntimeError):
        _ = sandbox.smtp_address
