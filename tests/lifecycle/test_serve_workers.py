"""``smtp-sandbox serve --workers N``: several SMTP processes behind one socket.

Through the real CLI: the workers are processes of ``serve``, every connection any of
them takes gets the same verdict and lands in the one store, a zone reload reaches
every worker before it is reported done, a worker that dies is replaced, and SIGTERM
stops them all cleanly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
from serve_process import CLI, PROJECT, Serve, zone_reload

# SPF that still names the old provider only: Gmail refuses (550 5.7.26, no SPF or DKIM pass).
ZONE = """$ORIGIN sender.test.
$TTL 300
@  TXT "v=spf1 ip4:198.51.100.20 ~all"
mail A 192.0.2.10
"""
FIXED = ZONE.replace("~all", "ip4:192.0.2.10 ~all")  # and with the new address: accepted
REVERSE = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
10 PTR mail.sender.test.
"""
CLIENT_IP = "192.0.2.10"


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    path = tmp_path / "sender.test.zone"
    path.write_text(FIXED)
    return path


def start(zone: Path, data_dir: Path, *, new_session: bool = False) -> Serve:
    """serve with two workers, judging every client as CLIENT_IP (whose PTR and A the
    zones publish, so Gmail's reverse DNS rules pass)."""
    reverse = zone.with_name("reverse.zone")
    reverse.write_text(REVERSE)
    return Serve(zone, data_dir, "--zone", str(reverse), "--workers", "2", "--client-ip", CLIENT_IP,
                 new_session=new_session)


@pytest.fixture
def serve(zone: Path, tmp_path: Path) -> Iterator[Serve]:
    running = start(zone, tmp_path / "data")
    try:
        yield running
    finally:
        assert running.stop() == 0


def workers(serve: Serve) -> list[int]:
    line = next(line for line in serve.seen if line.strip().startswith("workers "))
    found = re.fullmatch(r"\s*workers 2 SMTP processes \(pids (\d+), (\d+)\)", line)
    assert found, line
    return [int(found.group(1)), int(found.group(2))]


def children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def send(port: int, subject: str) -> tuple[int, bytes]:
    """One message on a connection of its own; the reply to its end of data."""
    message = (f"From: <a@sender.test>\r\nTo: <user@gmail.com>\r\nSubject: {subject}\r\nDate: {formatdate()}\r\n"
               f"Message-ID: {make_msgid(domain='sender.test')}\r\n\r\nHello.\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("mail.sender.test")
        client.mail("a@sender.test")
        client.rcpt("user@gmail.com")
        return client.data(message)


def send_many(port: int, count: int, label: str) -> list[tuple[int, bytes]]:
    """``count`` messages on as many connections, 8 at a time, so both workers take some."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda n: send(port, f"{label} {n}"), range(count)))


def log(data_dir: Path) -> list[dict]:
    result = subprocess.run([*CLI, "log", "--json", "--data-dir", str(data_dir)], capture_output=True, text=True,
                            cwd=PROJECT, timeout=60, check=True)
    return json.loads(result.stdout)


def test_workers_are_processes_of_serve_and_share_one_store(serve: Serve) -> None:
    pids = workers(serve)
    assert set(pids) == children(serve.process.pid)
    replies = send_many(serve.smtp_port, 24, "load")
    assert {code for code, _ in replies} == {250}
    stored = log(serve.data_dir)
    assert len(stored) == 24
    assert len({entry["id"] for entry in stored}) == 24
    assert len({entry["message_id"] for entry in stored} - {None}) == 24  # every message, once
    assert {entry["spf"]["result"] for entry in stored} == {"pass"}
    # Each delivery was printed by the worker that stored it, once (the two workers'
    # lines interleave in any order).
    line = rf"^#(\d+) a@sender\.test -> user@gmail\.com \[{re.escape(CLIENT_IP)}\]: 250 "
    printed = [int(re.match(line, serve.wait_for(line)).group(1)) for _ in stored]
    assert sorted(printed) == sorted(entry["id"] for entry in stored)


def test_a_reload_is_done_only_when_every_worker_serves_the_new_zone(zone: Path, tmp_path: Path) -> None:
    zone.write_text(ZONE)
    serve = start(zone, tmp_path / "data")
    try:
        before = send_many(serve.smtp_port, 4, "before")
        zone.write_text(FIXED)
        result = zone_reload(serve.data_dir)
        # Whichever worker takes each of these connections, it judges with the new zone.
        after = send_many(serve.smtp_port, 16, "after")
    finally:
        assert serve.stop() == 0
    assert [code for code, _ in before] == [550] * 4
    assert all(text.startswith(b"5.7.26 Your email has been blocked because the sender is unauthenticated.")
               for _, text in before)
    assert (result.returncode, result.stdout) == (0, "reloaded zones: sender.test, 2.0.192.in-addr.arpa\n")
    assert [code for code, _ in after] == [250] * 16
    stored = log(serve.data_dir)
    results = [(entry["spf"]["result"]) for entry in stored]
    assert results == ["softfail"] * 4 + ["pass"] * 16


def test_a_worker_that_dies_is_replaced(serve: Serve) -> None:
    first, second = workers(serve)
    os.kill(first, signal.SIGKILL)
    serve.wait_for(rf"^smtp-sandbox: worker 1 \(pid {first}\) exited with code -9; starting another$")
    took_over = serve.wait_for(r"^smtp-sandbox: worker 1 \(pid \d+\) took over$")
    replacement = int(re.search(r"pid (\d+)", took_over).group(1))
    assert children(serve.process.pid) == {second, replacement}
    assert {code for code, _ in send_many(serve.smtp_port, 8, "after the crash")} == {250}


def test_sigterm_stops_every_worker(zone: Path, tmp_path: Path) -> None:
    running = start(zone, tmp_path / "data")
    pids = workers(running)
    send_many(running.smtp_port, 4, "then stop")
    assert running.stop() == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert len(log(tmp_path / "data")) == 4


def test_ctrl_c_in_a_terminal_stops_serve_and_its_workers_once(zone: Path, tmp_path: Path) -> None:
    """Ctrl-C signals the whole process group: the workers leave the stop to serve,
    which stops them in order; nothing is lost and nothing prints a traceback."""
    running = start(zone, tmp_path / "data", new_session=True)
    pids = workers(running)
    send_many(running.smtp_port, 4, "then Ctrl-C")
    os.killpg(running.process.pid, signal.SIGINT)
    assert running.process.wait(timeout=30) == 0
    running.wait_for(r"^smtp-sandbox: stopping; finishing messages in flight$")
    assert running.process.stdout is not None
    rest = running.process.stdout.read() if not running.process.stdout.closed else ""
    assert "Traceback" not in "\n".join(running.seen) + rest
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
    assert len(log(tmp_path / "data")) == 4


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_workers_value_is_one_line(zone: Path, tmp_path: Path, value: str) -> None:
    result = subprocess.run([*CLI, "serve", "--zone", str(zone), "--workers", value, "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"smtp-sandbox serve: error: --workers {value!r}: expected a number of processes "
                             "(1 or more) or auto\n")
