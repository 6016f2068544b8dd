"""``python -m bench`` on a small load: the harness measures what it claims to measure.

No timing is asserted (the machine may be busy); what is asserted is that every message
got its 250 from both servers, the sandbox judged every one of them (inbox, SPF, DKIM
and DMARC passing: the corpus's zones publish what the messages need), the store
comparison really compared batched commits with one commit per save, and the
temporary data directories are gone afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from bench import load

REPO = Path(__file__).resolve().parents[2]


def test_small_benchmark_run_reports_both_servers_and_both_store_modes(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--messages", "40", "--warmup", "5", "--connections", "3",
         "--per-connection", "7", "--rounds", "2", "--store-deliveries", "30", "--store-callers", "4", "--store-rounds", "1",
         "--work-dir", str(work), "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(output.read_text())

    a, bs = results["smtp"]["a"], results["smtp"]["b"]
    # (b) is `smtp-sandbox serve`, once per --workers value (default: 1, then one per CPU).
    assert [b["server"].split(" (")[0] for b in bs] == ["smtp-sandbox serve --workers 1",
                                                        "smtp-sandbox serve --workers auto"]
    assert bs[0]["server"].endswith("(1 SMTP process)")
    cpus = os.cpu_count() or 1
    assert bs[1]["server"].endswith(f"({cpus} SMTP process{'es' if cpus > 1 else ''})")
    assert a["replies"] == {"250": 40} and "store" not in a
    # Two rounds, each with its own (a) and (b)s; the ratio is the median of the rounds' own ratios.
    rounds = results["smtp"]["rounds"]
    assert len(rounds) == 2 and all(len(r["b"]) == 2 for r in rounds)
    assert a["messages_per_second"] in [r["a"] for r in rounds]
    for i, b in enumerate(bs):
        assert b["messages_per_second"] in [r["b"][i] for r in rounds]
        per_round = [r["b"][i] / r["a"] for r in rounds]
        assert [round(x, 4) for x in per_round] == [r["ratio_b_over_a"][i] for r in rounds]
        assert results["smtp"]["ratio_b_over_a"][i] == round(sum(per_round) / 2, 4)
    for b in bs:
        assert b["replies"] == {"250": 40}
        assert a["pipelining"] and b["pipelining"]  # both sides got the same, pipelined, client
        assert a["p50_ms"] <= a["p99_ms"] and b["p50_ms"] <= b["p99_ms"]
        assert b["server_cpu_percent"] > 0  # serve and its workers, read from /proc
        assert b["store"]["rows"] == 45  # warm-up and measured messages, one delivery each
        assert b["store"]["verdicts"] == {"inbox spf=pass dkim=pass dmarc=pass": 45}
    assert results["config"]["dkim"] == "rsa-sha256, 2048 bits"

    [store] = results["store"]
    assert store["callers"] == 4
    assert store["one_commit_per_save"]["commits"] == 30 == store["one_commit_per_save"]["deliveries"]
    assert store["group_commit"]["deliveries"] == 30
    assert "round 2: (a)" in done.stdout
    assert "ratio (b1)/(a)" in done.stdout and "ratio (b2)/(a)" in done.stdout and "group commit/s" in done.stdout
    startup = results["fixture_start_stop_ms"]
    assert startup["rounds"] == 50 and 0 < startup["median"] <= startup["max"]
    assert "pytest fixture sandbox start+stop" in done.stdout
    assert list(work.iterdir()) == []


def test_counts_below_one_are_refused_naming_the_option() -> None:
    """A median of zero rounds, or zero messages, means nothing: argparse says which option."""
    for option in ("--rounds", "--messages", "--store-rounds"):
        done = subprocess.run([sys.executable, "-m", "bench", option, "0"], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2
        assert f"argument {option}: must be at least 1, not 0" in done.stderr


def test_no_store_callers_skips_the_store_measurements(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--messages", "10", "--warmup", "0", "--connections", "2",
         "--rounds", "1", "--workers", "1", "--store-callers", "--work-dir", str(tmp_path),
         "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(output.read_text())["store"] == []
    assert "store alone" not in done.stdout and "Store alone" not in done.stdout
    assert "ratio (b)/(a)" in done.stdout  # the SMTP part ran as usual


class _Refusing:
    """aiosmtpd handler: no PIPELINING; refuses every third sender at MAIL and every
    other remaining message at the end of DATA, so each reply path of the client runs."""

    def __init__(self) -> None:
        self.mail_commands = 0
        self.messages = 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.mail_commands += 1
        if self.mail_commands % 3 == 0:
            return "550 5.7.1 sender refused"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 2.0.0 OK" if self.messages % 2 else "554 5.7.1 message refused"


def test_the_load_client_without_pipelining_counts_every_refusal_where_it_came() -> None:
    """One command at a time when the server does not offer PIPELINING; a refusal at
    MAIL is counted with its code and followed by RSET, as is a refusal after DATA."""
    handler = _Refusing()

    async def scenario() -> load.LoadResult:
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(handler, hostname="test.invalid"), "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        messages = [b"Subject: %d\r\n\r\nbody\r\n.starts with a dot\r\n" % n for n in range(12)]
        try:
            # The client blocks while it runs: in a thread, so that this loop serves it.
            return await asyncio.to_thread(load.run, address, ("a@example.org", "b@example.net"), messages,
                                           connections=2, per_connection=4)
        finally:
            server.close()
            await server.wait_closed()

    result = asyncio.run(scenario())
    assert not result.pipelining
    assert handler.mail_commands == 12
    assert result.replies == {"550": 4, "250": 4, "554": 4}
    assert len(result.latencies) == 12 and all(t > 0 for t in result.latencies)
    assert result.client_cpu_seconds > 0


def test_the_load_client_reports_a_server_that_hangs_up() -> None:
    async def scenario() -> None:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"220 hello\r\n")
            await reader.readline()  # EHLO
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        with pytest.raises(load.SmtpFailure, match="the server closed the connection"):
            await asyncio.to_thread(load.run, address, ("a@example.org", "b@example.net"), [b"x\r\n"],
                                    connections=1, per_connection=1)
        server.close()

    asyncio.run(scenario())


class _Keeping:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.contents: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.contents.append(envelope.original_content)
        return "250 OK"


def test_the_load_client_sends_messages_larger_than_the_socket_takes_at_once() -> None:
    """A 4 MB message does not fit the socket's buffer: the client keeps the rest and
    sends it as the socket drains, in order, on two connections at once."""
    handler = _Keeping()
    big = b"Subject: big\r\n\r\n" + b"".join(b"line %07d of a large body\r\n" % n for n in range(150_000))
    small = b"Subject: small\r\n\r\nx\r\n"

    async def scenario() -> load.LoadResult:
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(handler, hostname="test.invalid", data_size_limit=None), "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        try:
            return await asyncio.to_thread(load.run, address, ("a@example.org", "b@example.net"),
                                           [big, small, big], connections=2, per_connection=2)
        finally:
            server.close()
            await server.wait_closed()

    result = asyncio.run(scenario())
    assert len(big) > 4_000_000
    assert result.replies == {"250": 3}
    assert sorted(handler.contents) == sorted([big, small, big])
