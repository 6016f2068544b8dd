"""`smtp-sandbox spf` run for real as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ZONE = """\
$ORIGIN example.com.
@     TXT  "v=spf1 ip4:192.0.2.0/28 include:_spf.example.com -all exp=why.example.com"
_spf  TXT  "v=spf1 a:mail.example.com ~all"
mail  A    192.0.2.20
mail  TXT  "v=spf1 a -all"
why   TXT  "%{i} may not send for %{d}"
"""


def _cli() -> str:
    path = Path(sys.executable).with_name("smtp-sandbox")
    if not path.exists():
        pytest.fail(f"{path} is missing: install the project into its venv (`make venv` / `pip install -e .`)")
    return str(path)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_cli(), "spf", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    path = tmp_path / "example.com.zone"
    path.write_text(ZONE)
    return path


def test_json_is_one_object_with_result_explanation_and_lookups(zone: Path) -> None:
    done = _run("--zone", str(zone), "--ip", "198.51.100.7", "--mail-from", "user@example.com",
                "--helo", "mail.example.com", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # the whole of stdout is one JSON document
    assert data["result"] == "fail"
    assert data["explanation"] == "198.51.100.7 may not send for example.com"
    assert [(lookup["type"], lookup["name"]) for lookup in data["lookups"]] == [
        ("TXT", "example.com"), ("TXT", "_spf.example.com"), ("A", "mail.example.com"), ("TXT", "why.example.com"),
    ]


def test_text_output_shows_result_explanation_and_each_lookup(zone: Path) -> None:
    done = _run("--zone", str(zone), "--ip", "198.51.100.7", "--mail-from", "user@example.com",
                "--helo", "mail.example.com")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("SPF: FAIL")
    assert "Explanation: 198.51.100.7 may not send for example.com" in out
    assert out.index("1. TXT example.com") < out.index("2. TXT _spf.example.com") < out.index("3. A mail.example.com")
    assert "add `ip4:198.51.100.7` to the SPF record of example.com" in out
    assert "Received-SPF: fail" in out


def test_null_sender_and_ipv4_mapped_ipv6(zone: Path) -> None:
    done = _run("--zone", str(zone), "--ip", "::ffff:192.0.2.20", "--mail-from", "",
                "--helo", "mail.example.com", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["result"], data["identity"], data["client_ip"]) == ("pass", "helo", "192.0.2.20")


def test_ipv6_client(zone: Path) -> None:
    done = _run("--zone", str(zone), "--ip", "2001:db8::1", "--mail-from", "user@example.com",
                "--helo", "mail.example.com", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["client_ip"] == "2001:db8::1"


def test_fault_gives_temperror_and_exit_0(zone: Path) -> None:
    done = _run("--zone", str(zone), "--fault", "_spf.example.com=timeout", "--ip", "198.51.100.7",
                "--mail-from", "user@example.com", "--helo", "mail.example.com", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["result"], data["reason"]) == ("temperror", "DNS timeout for TXT _spf.example.com")


@pytest.mark.parametrize(("extra", "message"), [
    (["--zone", "{broken}"], "broken.zone:2"),
    (["--zone", "{missing}"], "no such zone file"),
    (["--zone", "{zone}", "--ip", "192.0.2.300"], "is not an IPv4 or IPv6 address"),
    (["--zone", "{zone}", "--fault", "example.com=explode"], "bad fault"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, zone: Path, extra: list[str], message: str) -> None:
    broken = tmp_path / "broken.zone"
    broken.write_text('$ORIGIN example.org.\n@ TXT "v=spf1 -all\n')
    paths = {"broken": str(broken), "missing": str(tmp_path / "nope.zone"), "zone": str(zone)}
    args = [arg.format(**paths) for arg in extra]
    if "--ip" not in args:
        args += ["--ip", "192.0.2.1"]
    done = _run(*args, "--mail-from", "user@example.com", "--helo", "mail.example.com")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtp-sandbox spf: error:") and message in lines[0]
