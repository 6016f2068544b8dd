"""Zone reload without a restart, through the real CLI: ``smtp-sandbox zone reload``,
SIGHUP to ``serve``, and the file watch; a broken file keeps the old zones and says why.

Each test runs ``smtp-sandbox serve`` as a subprocess on its own data directory and
asks the sandbox's own DNS server (``--dns 127.0.0.1:0``) what it serves, so what is
asserted is what a sender's tooling would see.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_process import CLI, PROJECT, Serve, save, zone_reload

ZONE = """$ORIGIN sender.test.
$TTL 300
@  TXT "v=spf1 ip4:198.51.100.20 ~all"
"""
FIXED = ZONE.replace("~all", "ip4:192.0.2.10 ~all")
BROKEN = ZONE + "mail A not-an-address\n"


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    path = tmp_path / "sender.test.zone"
    path.write_text(ZONE)
    return path


@pytest.fixture
def serve(zone: Path, tmp_path: Path) -> Iterator[Serve]:
    running = Serve(zone, tmp_path / "data")
    try:
        yield running
    finally:
        assert running.stop() == 0
    assert not (tmp_path / "data" / "control.sock").exists()  # removed on the way out


def test_zone_reload_command_serves_the_edited_zone(serve: Serve, zone: Path) -> None:
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ~all"]
    zone.write_text(FIXED)
    result = zone_reload(serve.data_dir)
    assert (result.returncode, result.stdout, result.stderr) == (0, "reloaded zones: sender.test\n", "")
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ip4:192.0.2.10 ~all"]
    serve.wait_for(r"^smtp-sandbox: reloaded zones \(smtp-sandbox zone reload\): sender\.test$")


def test_broken_zone_file_keeps_the_old_zone_and_says_why(serve: Serve, zone: Path) -> None:
    zone.write_text(BROKEN)
    result = zone_reload(serve.data_dir)
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith(f"smtp-sandbox zone reload: error: zone file {zone}:4: "), result.stderr
    assert result.stderr.rstrip().endswith("; still serving the previous zones"), result.stderr
    printed = serve.wait_for(r"^smtp-sandbox: zone reload failed \(smtp-sandbox zone reload\): ")
    assert f"zone file {zone}:4: " in printed
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ~all"]  # the old zone, still served


def test_sighup_reloads(serve: Serve, zone: Path) -> None:
    zone.write_text(FIXED)
    serve.process.send_signal(signal.SIGHUP)
    serve.wait_for(r"^smtp-sandbox: reloaded zones \(SIGHUP\): sender\.test$")
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ip4:192.0.2.10 ~all"]


def test_saving_a_zone_file_reloads_it_and_a_broken_save_is_reported_once(serve: Serve, zone: Path) -> None:
    save(zone, FIXED)
    serve.wait_for(r"^smtp-sandbox: reloaded zones \(a zone file changed\): sender\.test$")
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ip4:192.0.2.10 ~all"]
    save(zone, BROKEN)
    serve.wait_for(rf"^smtp-sandbox: zone reload failed \(a zone file changed\): zone file {re.escape(str(zone))}:4: ")
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ip4:192.0.2.10 ~all"]
    save(zone, ZONE)
    serve.wait_for(r"^smtp-sandbox: reloaded zones \(a zone file changed\): sender\.test$")
    assert serve.spf() == ["v=spf1 ip4:198.51.100.20 ~all"]
    # The broken save was reported once, not at every poll.
    assert sum("zone reload failed" in line for line in serve.seen) == 1


def test_zone_reload_without_a_running_serve_is_one_line_exit_2(tmp_path: Path) -> None:
    result = zone_reload(tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"smtp-sandbox zone: error: no smtp-sandbox serve is running with --data-dir "
                             f"{tmp_path} (nothing answers on {tmp_path}/control.sock)\n")


def test_a_second_serve_on_the_same_data_dir_is_refused(serve: Serve, zone: Path) -> None:
    second = subprocess.run(
        [*CLI, "serve", "--smtp", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--data-dir", str(serve.data_dir),
         "--zone", str(zone)], capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert second.returncode == 2
    assert second.stderr == (f"smtp-sandbox serve: error: --data-dir {serve.data_dir}: another smtp-sandbox "
                             "serve is running there (stop it, or choose another --data-dir)\n")
    assert second.stdout == ""  # refused before opening the store or any port
    assert zone_reload(serve.data_dir).returncode == 0  # the first one still answers


def test_a_socket_left_by_a_dead_serve_is_replaced(zone: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:  # bound, never listening: refuses
        dead.bind(str(data_dir / "control.sock"))
    running = Serve(zone, data_dir)
    try:
        assert zone_reload(data_dir).stdout == "reloaded zones: sender.test\n"
    finally:
        assert running.stop() == 0


def test_a_data_dir_too_deep_for_a_socket_still_serves_and_reloads_on_sighup(zone: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / ("d" * 60) / ("e" * 60)  # control.sock would pass sun_path's 108 bytes
    running = Serve(zone, data_dir)
    try:
        warning = next(line for line in running.seen if "zone reload` is not available" in line)
        assert "is longer than a Unix socket path may be (107 bytes); choose a shorter --data-dir" in warning
        zone.write_text(FIXED)
        running.process.send_signal(signal.SIGHUP)
        running.wait_for(r"^smtp-sandbox: reloaded zones \(SIGHUP\): sender\.test$")
        assert running.spf() == ["v=spf1 ip4:198.51.100.20 ip4:192.0.2.10 ~all"]
    finally:
        assert running.stop() == 0
