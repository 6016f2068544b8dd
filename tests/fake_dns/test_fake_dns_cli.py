"""`smtp-sandbox dns serve` run for real as a subprocess, queried with dig, stopped by signal."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Dig = Callable[..., str]  # the `dig` fixture

ZONE = """\
$ORIGIN example.com.
@    TXT "v=spf1 ip4:192.0.2.0/24 -all"
@    TXT "google-site-verification=abc"
mx1  A   192.0.2.25
"""
REVERSE = """\
$ORIGIN 2.0.192.in-addr.arpa.
25 PTR mx1.example.com.
"""


def _cli() -> str:
    path = Path(sys.executable).with_name("smtp-sandbox")
    if not path.exists():
        pytest.fail(f"{path} is missing: install the project into its venv (`make venv` / `pip install -e .`)")
    return str(path)


def _free_port() -> int:
    """A port number free for both TCP and UDP right now (the CLI takes a fixed port)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _read_line(process: subprocess.Popen[str], seconds: float = 15.0) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, "the server printed nothing"
    return process.stdout.readline()


@pytest.fixture
def zone_files(tmp_path: Path) -> tuple[Path, Path]:
    forward, reverse = tmp_path / "example.com.zone", tmp_path / "reverse.zone"
    forward.write_text(ZONE)
    reverse.write_text(REVERSE)
    return forward, reverse


@pytest.fixture
def running(zone_files: tuple[Path, Path]) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    process = subprocess.Popen(
        [_cli(), "dns", "serve", "--zone", str(zone_files[0]), "--zone", str(zone_files[1]),
         "--dns", f"127.0.0.1:{port}", "--fault", "slow.example.com=timeout"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_answers_dig_and_stops_cleanly(
    running: tuple[subprocess.Popen[str], int], dig: Dig, stop_signal: signal.Signals
) -> None:
    process, port = running
    line = _read_line(process)
    assert f"127.0.0.1:{port}" in line
    assert "example.com." in line and "2.0.192.in-addr.arpa." in line
    assert "slow.example.com=timeout" in line

    output = dig("127.0.0.1", port, "example.com", "TXT")
    assert "status: NOERROR" in output, output
    assert re.search(r'^example\.com\.\s+\d+\s+IN\s+TXT\s+"v=spf1 ip4:192\.0\.2\.0/24 -all"$', output, re.M), output
    assert re.search(r'^example\.com\.\s+\d+\s+IN\s+TXT\s+"google-site-verification=abc"$', output, re.M), output
    ptr = dig("127.0.0.1", port, "+tcp", "+short", "-x", "192.0.2.25")
    assert ptr.strip() == "mx1.example.com."

    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_cli(), "dns", "serve", *args], capture_output=True, text=True, timeout=30)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("smtp-sandbox dns: error: ")
    return lines[0]


def test_broken_zone_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.zone"
    path.write_text('$ORIGIN example.com.\n@ TXT "ok"\nwww A 192.0.2.300\n')
    line = _one_line_error(_run_cli("--zone", str(path), "--dns", "127.0.0.1:0"))
    assert f"{path}:3:" in line and "www A 192.0.2.300" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dns", "127.0.0.1"], "--dns '127.0.0.1': expected HOST:PORT"),
        (["--dns", "127.0.0.1:99999"], "expected HOST:PORT"),
        (["--fault", "example.com=slow"], "unknown kind 'slow'"),
        (["--fault", "example.com"], "expected NAME=timeout"),
    ],
)
def test_bad_flags_are_one_line_errors(zone_files: tuple[Path, Path], args: list[str], message: str) -> None:
    assert message in _one_line_error(_run_cli("--zone", str(zone_files[0]), *args))


def test_missing_zone_flag_says_what_to_give() -> None:
    assert "give at least one --zone FILE" in _one_line_error(_run_cli("--dns", "127.0.0.1:0"))


def test_missing_zone_file(tmp_path: Path) -> None:
    line = _one_line_error(_run_cli("--zone", str(tmp_path / "absent.zone")))
    assert "absent.zone: no such zone file" in line


def test_taken_port_is_a_one_line_error(zone_files: tuple[Path, Path]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        line = _one_line_error(_run_cli("--zone", str(zone_files[0]), "--dns", f"127.0.0.1:{port}"))
    assert f"--dns 127.0.0.1:{port}: cannot listen there" in line and "choose another" in line


def test_help_names_the_serve_action() -> None:
    done = subprocess.run([_cli(), "dns", "--help"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0 and "serve" in done.stdout
