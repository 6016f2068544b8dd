"""``smtp-sandbox serve`` as a user runs it: the demo by default, the printed recipe works,
SIGTERM stops it cleanly with everything stored, and mistakes are one line, exit 2."""

from __future__ import annotations

import re
import signal
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

from smtp_helpers import client_tls_context, message


PROJECT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "sandbox.cli"]


def _start(*flags: str, data_dir: Path) -> tuple[subprocess.Popen[str], list[str], tuple[str, int]]:
    process = subprocess.Popen(
        [*CLI, "serve", "--smtp", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--data-dir", str(data_dir), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT,
    )
    banner = []
    assert process.stdout is not None
    for line in process.stdout:
        banner.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C stops"):
            break
    else:
        raise AssertionError(f"serve ended early: {banner} {process.stderr.read() if process.stderr else ''}")
    match = re.search(r"SMTP\s+127\.0\.0\.1:(\d+)", "\n".join(banner))
    assert match, banner
    return process, banner, ("127.0.0.1", int(match.group(1)))


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _err = process.communicate(timeout=30)
    return process.returncode, out


def test_demo_recipe_gets_the_verdicts_it_promises(tmp_path):
    process, banner, (host, port) = _start(data_dir=tmp_path)
    try:
        text = "\n".join(banner)
        assert "example.com" in text and "example.net" in text
        one_liner = next(line.strip() for line in banner if line.strip().startswith("python3 -c"))
        assert "swaks --server" in text
        # The printed one-liner, run as printed (with this interpreter), gets a 250.
        command = one_liner.replace("python3 -c ", "", 1)
        assert command.startswith("'") and command.endswith("'")
        result = subprocess.run([sys.executable, "-c", command[1:-1]], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("250 2.0.0 OK  ")
        # The broken domain of the demo is refused.
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.starttls(context=client_tls_context())
            client.ehlo("client.example")
            client.mail("bob@example.net")
            client.rcpt("user@gmail.com")
            code, reply = client.data(message("bob@example.net"))
        assert code == 550 and reply.startswith(b"5.7.26 ")
    finally:
        returncode, out = _stop(process)
    assert returncode == 0
    assert "stopping" in out
    # Both verdicts were printed as they happened, and are in the store.
    assert re.search(r"#\d+ alice@example\.com -> user@gmail\.com \[192\.0\.2\.10\]: 250 2\.0\.0 accept to inbox\n", out), out
    assert re.search(r"#\d+ bob@example\.net -> user@gmail\.com \[192\.0\.2\.10\]: 550 5\.7\.26 reject at data by G4: "
                     r"Unauthenticated email from example\.net is not accepted", out), out
    assert any(tmp_path.iterdir())


def test_sigterm_while_a_client_is_connected_stores_what_was_accepted(tmp_path):
    process, _banner, (host, port) = _start(data_dir=tmp_path)
    client = smtplib.SMTP(host, port, timeout=30)
    try:
        client.ehlo("client.example")
        assert client.sendmail("alice@example.com", ["user@gmail.com"], message()) == {}
        returncode, out = _stop(process)
    finally:
        client.close()
    assert returncode == 0
    assert "alice@example.com -> user@gmail.com" in out


def _error(*flags: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "serve", "--dns", "127.0.0.1:0", "--data-dir", str(cwd / "data"), *flags],
                          capture_output=True, text=True, timeout=60, cwd=PROJECT)


def test_port_in_use_is_one_line_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _error("--smtp", f"127.0.0.1:{port}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"--smtp 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_zone_and_bad_profile_are_one_line_exit_2(tmp_path):
    zone = tmp_path / "broken.zone"
    zone.write_text("$ORIGIN example.com.\n@ TXT \"v=spf1 -all\"\nmail A not-an-address\n")
    for flags, needle in (
        (("--zone", str(zone)), "broken.zone:3"),
        (("--profile", "no-such-provider"), "no-such-provider"),
        (("--client-ip", "not-an-ip"), "--client-ip"),
        (("--tls-cert", str(zone)), "--tls-key"),
    ):
        result = _error("--smtp", "127.0.0.1:0", *flags, cwd=tmp_path)
        assert result.returncode == 2, (flags, result.stderr)
        assert result.stderr.count("\n") == 1 and needle in result.stderr, (flags, result.stderr)
        assert "Traceback" not in result.stderr

