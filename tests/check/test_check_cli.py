"""`smtp-sandbox check` end to end: the real CLI as a subprocess over real zone files.

The classic story: the zone lost `mail._domainkey` and SPF does not list the sending
IP, so DKIM, SPF and DMARC fail, and the report names both DNS fixes; publishing the
key and the address makes everything pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dkim
import pytest

from sandbox.testing.keys import generate_dkim_key

CLI = str(Path(sys.executable).with_name("smtp-sandbox"))
IP = "192.0.2.10"


@pytest.fixture(scope="module")
def key() -> tuple[bytes, str]:
    made = generate_dkim_key("example.com", "mail")
    return made.private, made.public


def zone_file(tmp_path: Path, *, spf: str, dkim_key: str | None) -> Path:
    lines = ["$ORIGIN example.com.", f'@ TXT "{spf}"', '_dmarc TXT "v=DMARC1; p=reject"', f"mail A {IP}"]
    if dkim_key is not None:
        record = f"v=DKIM1; k=rsa; p={dkim_key}"
        chunks = " ".join(f'"{record[i:i + 200]}"' for i in range(0, len(record), 200))
        lines.append(f"mail._domainkey TXT {chunks}")
    path = tmp_path / "example.com.zone"
    path.write_text("\n".join(lines) + "\n")
    reverse = tmp_path / "reverse.zone"
    reverse.write_text("$ORIGIN 2.0.192.in-addr.arpa.\n10 PTR mail.example.com.\n")
    return path


def signed_message(tmp_path: Path, pem: bytes) -> Path:
    body = (
        b"From: Alice <alice@example.com>\r\nTo: bob@gmail.com\r\nSubject: hello\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nHi Bob.\r\n"
    )
    signature = dkim.sign(body, b"mail", b"example.com", pem, include_headers=[b"from", b"to", b"subject", b"date"])
    path = tmp_path / "message.eml"
    path.write_bytes(signature + body)
    return path


def check(*args: str, zone: Path, message: Path, ip: str = IP) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "check", str(message), "--zone", str(zone), "--zone", str(zone.with_name("reverse.zone")),
         "--ip", ip, "--mail-from", "bounce@example.com", "--helo", "mail.example.com", *args],
        capture_output=True, text=True, timeout=60,
    )


def test_missing_key_and_uncovered_ip_fail_and_name_their_fixes(tmp_path, key):
    pem, public = key
    zone = zone_file(tmp_path, spf="v=spf1 ip4:198.51.100.1 -all", dkim_key=None)
    message = signed_message(tmp_path, pem)
    done = check("--json", zone=zone, message=message)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # --json prints only the object
    assert report["spf"]["result"] == "fail"
    assert report["spf"]["domain"] == "example.com"
    assert [(d["result"], d["domain"], d["selector"], d["algorithm"]) for d in report["dkim"]] == [
        ("permerror", "example.com", "mail", "rsa-sha256")
    ]
    assert "no key" in report["dkim"][0]["reason"]
    assert (report["dmarc"]["result"], report["dmarc"]["policy"], report["dmarc"]["disposition"]) == (
        "fail", "reject", "reject")
    assert report["dmarc"]["mode"] == "rfc9989"
    assert report["arc"]["result"] == "none"
    assert report["rdns"]["result"] == "pass"
    assert report["format"] == []
    fixes = "\n".join(report["fixes"])
    assert "mail._domainkey.example.com" in fixes
    assert f"ip4:{IP}" in fixes
    header = report["authentication_results"]
    assert "spf=fail" in header and "dkim=permerror" in header and "dmarc=fail" in header


def test_text_report_walks_through_each_check_and_lists_fixes(tmp_path, key):
    pem, _ = key
    zone = zone_file(tmp_path, spf="v=spf1 ip4:198.51.100.1 -all", dkim_key=None)
    done = check(zone=zone, message=signed_message(tmp_path, pem))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for heading in ("SPF: FAIL", "DKIM signature d=example.com s=mail: PERMERROR", "DMARC: FAIL",
                    "ARC: NONE", "Reverse DNS: PASS", "What to fix:", "Authentication-Results:"):
        assert heading in out, heading
    assert "TXT example.com" in out  # the SPF record fetch is shown
    assert 'mail._domainkey.example.com TXT "v=DKIM1; k=rsa; p=' in out


def test_fixed_zone_passes_everything(tmp_path, key):
    pem, public = key
    zone = zone_file(tmp_path, spf=f"v=spf1 ip4:{IP} -all", dkim_key=public)
    message = signed_message(tmp_path, pem)
    report = json.loads(check("--json", zone=zone, message=message).stdout)
    assert report["spf"]["result"] == "pass"
    assert [d["result"] for d in report["dkim"]] == ["pass"]
    assert report["dmarc"]["result"] == "pass"
    assert report["fixes"] == []
    text = check(zone=zone, message=message).stdout
    assert "Nothing to fix" in text


def test_ipv4_mapped_ipv6_client_is_judged_as_ipv4(tmp_path, key):
    pem, public = key
    zone = zone_file(tmp_path, spf=f"v=spf1 ip4:{IP} -all", dkim_key=public)
    report = json.loads(check("--json", zone=zone, message=signed_message(tmp_path, pem), ip=f"::ffff:{IP}").stdout)
    assert report["spf"]["result"] == "pass"
    assert report["rdns"]["result"] == "pass"


def test_rfc7489_mode_is_reported(tmp_path, key):
    pem, public = key
    zone = zone_file(tmp_path, spf=f"v=spf1 ip4:{IP} -all", dkim_key=public)
    report = json.loads(check("--json", "--dmarc-mode", "rfc7489", zone=zone, message=signed_message(tmp_path, pem)).stdout)
    assert report["dmarc"]["mode"] == "rfc7489"
    assert report["dmarc"]["result"] == "pass"


def test_unsigned_message_has_empty_dkim_list(tmp_path):
    zone = zone_file(tmp_path, spf=f"v=spf1 ip4:{IP} -all", dkim_key=None)
    message = tmp_path / "plain.eml"
    message.write_bytes(b"From: a@example.com\r\nTo: b@gmail.com\r\nSubject: x\r\n\r\nbody\r\n")
    report = json.loads(check("--json", zone=zone, message=message).stdout)
    assert report["dkim"] == []
    assert {issue["code"] for issue in report["format"]} >= {"missing-message-id", "missing-date"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty"), (b"\x00\x01\x02garbage\x00", "not a message"), (None, "no such message file")],
)
def test_input_that_is_not_a_message_is_a_one_line_error(tmp_path, content, expected):
    zone = zone_file(tmp_path, spf="v=spf1 -all", dkim_key=None)
    message = tmp_path / "bad.eml"
    if content is not None:
        message.write_bytes(content)
    done = check("--json", zone=zone, message=message)
    assert done.returncode == 2
    assert done.stdout == ""
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_broken_zone_is_a_one_line_error_naming_file_and_line(tmp_path, key):
    pem, _ = key
    zone = tmp_path / "example.com.zone"
    zone.write_text("$ORIGIN example.com.\nmail A 192.0.2\n")
    (tmp_path / "reverse.zone").write_text("$ORIGIN 2.0.192.in-addr.arpa.\n")
    done = check(zone=zone, message=signed_message(tmp_path, pem))
    assert done.returncode == 2
    assert f"{zone}:2" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bad_ip_flag_is_a_one_line_error(tmp_path, key):
    pem, _ = key
    zone = zone_file(tmp_path, spf="v=spf1 -all", dkim_key=None)
    done = check(zone=zone, message=signed_message(tmp_path, pem), ip="999.1.1.1")
    assert done.returncode == 2
    assert "--ip" in done.stderr and "Traceback" not in done.stderr
