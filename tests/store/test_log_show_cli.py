"""``smtp-sandbox log`` and ``show`` as a user runs them: the installed command in a
subprocess, reading a data directory a store wrote."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import DMARC_FIX, SENDER_IP, accepted, refused_at_rcpt, rejected

from sandbox.store import Delivery, Store


def _cli() -> str:
    path = Path(sys.executable).with_name("smtp-sandbox")
    if not path.exists():
        pytest.fail(f"{path} is missing: install the project into its venv (`make venv` / `pip install -e .`)")
    return str(path)


def _run(*args: str, text: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([_cli(), *args], capture_output=True, text=text, timeout=60)


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, list[Delivery]]:
    """A data directory holding a rejection (id 1), an acceptance (2), a refusal at RCPT (3)."""
    deliveries = [rejected(), accepted(), refused_at_rcpt()]

    async def fill() -> None:
        store = Store(tmp_path)
        try:
            for delivery in deliveries:
                await store.save(delivery)
        finally:
            await store.close()

    asyncio.run(fill())
    return tmp_path, deliveries


def test_log_json_lists_every_delivery_with_its_verdict(data_dir: tuple[Path, list[Delivery]]) -> None:
    path, saved = data_dir
    done = _run("log", "--data-dir", str(path), "--json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [e["id"] for e in entries] == [1, 2, 3]
    first, second, third = entries
    assert first["received_at"] == saved[0].received_at and first["received_at"].endswith("Z")
    assert first["client_ip"] == SENDER_IP and first["original_ip"] == "127.0.0.1"
    assert (first["helo"], first["mail_from"], first["rcpt_to"]) == (
        "mail.example.net", "alice@example.net", ["bob@gmail.com"])
    assert first["message_id"] == "<m1@example.net>" and first["folder"] is None
    assert first["decision"] == {
        "action": "reject", "code": 550, "enhanced_code": "5.7.26", "rule_id": "gmail.dmarc-reject",
        "text": "Unauthenticated email from example.net is not accepted due to domain's DMARC policy. - gsmtp",
        "inferred": False,
    }
    assert first["spf"] == {"result": "fail", "domain": "example.net"}
    assert first["dkim"] == [{"result": "fail", "domain": "example.net", "selector": "mail"}]
    assert first["dmarc"] == {"result": "fail", "policy": "reject", "disposition": "reject"}
    assert first["tls"] == {"active": True, "version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}
    assert second["folder"] == "inbox" and second["decision"]["action"] == "accept"
    assert second["rcpt_to"] == ["bob@gmail.com", "carol@gmail.com"] and second["dkim"] == []
    # Refused at RCPT: no checks ran, so the results are null, and the shape is the same.
    assert third["stage"] == "rcpt" and third["message_id"] is None and third["size"] == 0
    assert third["spf"] == {"result": None, "domain": None} and third["dkim"] == []
    assert third["dmarc"] == {"result": None, "policy": None, "disposition": None}
    assert third["decision"]["code"] == 550 and third["decision"]["enhanced_code"] == "5.1.1"


def test_log_prints_one_line_per_delivery(data_dir: tuple[Path, list[Delivery]]) -> None:
    path, _ = data_dir
    done = _run("log", "--data-dir", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("#1 ") and SENDER_IP in lines[0]
    assert "alice@example.net -> bob@gmail.com" in lines[0]
    assert "550 5.7.26 reject" in lines[0] and lines[0].endswith("<m1@example.net>")
    assert "-> bob@gmail.com, carol@gmail.com" in lines[1] and "250 2.0.0 inbox" in lines[1]
    assert "550 5.1.1 reject at rcpt" in lines[2] and lines[2].endswith(" -")


def test_log_filters(data_dir: tuple[Path, list[Delivery]]) -> None:
    path, _ = data_dir
    recent = json.loads(_run("log", "--data-dir", str(path), "--json", "--limit", "2").stdout)
    assert [e["id"] for e in recent] == [2, 3]
    rejects = json.loads(_run("log", "--data-dir", str(path), "--json", "--action", "reject").stdout)
    assert [e["id"] for e in rejects] == [1, 3]
    bad = _run("log", "--data-dir", str(path), "--limit", "0")
    assert bad.returncode == 2 and "--limit" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_log_of_a_missing_data_dir_is_a_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    for args in (["log"], ["log", "--json"], ["show", "1"]):
        done = _run(*args, "--data-dir", str(missing))
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.splitlines() == [f"smtp-sandbox {args[0]}: error: no data directory {missing}"]
    assert not missing.exists()


def test_show_tells_the_whole_story_of_a_rejection(data_dir: tuple[Path, list[Delivery]]) -> None:
    path, saved = data_dir
    done = _run("show", "1", "--data-dir", str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    lines = out.splitlines()
    assert lines[0].startswith(f"Delivery 1  received {saved[0].received_at}  profile gmail  session sess-1")
    assert f"client      {SENDER_IP} (judged as this address; the connection came from 127.0.0.1)" in out
    assert "TLS         TLSv1.3 TLS_AES_256_GCM_SHA384 (256 bits)" in out
    # The decision with the rule that made it, and the reply as sent.
    assert "Decision: reject at DATA - 550 5.7.26 (rule gmail.dmarc-reject)" in out
    assert "reason: DMARC fail with p=reject" in out
    # The transcript, in order, client and server lines marked.
    transcript = [line.split("s ", 1)[1].strip() for line in lines if line.startswith("  +")]
    assert transcript[:3] == ["S: 220 mx.google.com ESMTP sess-1 - gsmtp", "C: EHLO mail.example.net",
                              "S: 250 mx.google.com at your service"]
    assert transcript[-1] == "S: 550 5.7.26 DMARC policy. - gsmtp"
    assert "*  message of 92 bytes" in transcript
    # Each verdict explained, with the real SPF check's steps and fix.
    spf = saved[0].checks["spf"]
    assert "  SPF: fail" in lines
    for step in spf["explain"]:
        assert f"    {step}" in lines
    assert f"    fix: {spf['fixes'][0]}" in lines and "ip4:192.0.2.99" in spf["fixes"][0]
    assert "  DKIM signature 1 (d=example.net, s=mail): fail" in lines
    assert "  DMARC: fail" in lines and "    neither SPF nor DKIM aligned" in lines
    assert "    missing-date (Date): the message has no Date header" in lines
    # And the changes to make, gathered.
    assert lines[lines.index("What to change") + 1:] == [f"  1. {spf['fixes'][0]}", f"  2. {DMARC_FIX}"]


def test_show_of_a_refusal_before_data_says_no_check_ran(data_dir: tuple[Path, list[Delivery]]) -> None:
    path, _ = data_dir
    out = _run("show", "3", "--data-dir", str(path)).stdout
    assert "Decision: reject at RCPT - 550 5.1.1 (rule gmail.unknown-user)" in out
    assert "none: no check ran; the attempt ended at RCPT, before a complete message arrived" in out
    assert "message     none (the attempt ended before a message arrived)" in out


def test_show_json_and_message_give_the_stored_delivery_exactly(tmp_path: Path) -> None:
    body = b"Subject: \xff\xfe\r\n\r\n\x00binary\x80\r\n"

    async def fill() -> None:
        store = Store(tmp_path)
        try:
            await store.save(accepted(message=body))
        finally:
            await store.close()

    asyncio.run(fill())
    data = json.loads(_run("show", "1", "--data-dir", str(tmp_path), "--json").stdout)
    assert base64.b64decode(data["message_base64"]) == body and data["message_size"] == len(body)
    assert data["id"] == 1 and data["folder"] == "inbox" and data["decision"]["code"] == 250
    assert data["transcript"][1] == {"t": data["transcript"][1]["t"], "dir": "C", "line": "EHLO mail.example.com"}
    raw = _run("show", "1", "--data-dir", str(tmp_path), "--message", text=False)
    assert raw.returncode == 0 and raw.stdout == body


def test_show_of_an_unknown_id_is_a_one_line_error(data_dir: tuple[Path, list[Delivery]]) -> None:
    path, _ = data_dir
    for wrong, expected in (("99", "no delivery 99 in"), ("abc", "'abc' is not a delivery number")):
        done = _run("show", wrong, "--data-dir", str(path))
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and expected in done.stderr


def test_an_empty_store_lists_nothing_and_says_so(tmp_path: Path) -> None:
    asyncio.run(Store(tmp_path).close())
    assert json.loads(_run("log", "--data-dir", str(tmp_path), "--json").stdout) == []
    done = _run("log", "--data-dir", str(tmp_path))
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr == f"no deliveries stored in {tmp_path} yet\n"


def test_show_of_an_attempt_without_a_verdict(tmp_path: Path) -> None:
    """The client went away in the middle of the message: what arrived is kept, nothing was judged."""
    lost = accepted(decision={}, folder=None, checks={}, message=b"From: a@example.com\r\n\r\npart", stage="data")

    async def fill() -> None:
        store = Store(tmp_path)
        try:
            await store.save(lost)
        finally:
            await store.close()

    asyncio.run(fill())
    out = _run("show", "1", "--data-dir", str(tmp_path)).stdout
    assert "Decision: none - the client went away before the sandbox could answer" in out
    assert "none: no check ran; the attempt ended at DATA, before a complete message arrived" in out
    line = _run("log", "--data-dir", str(tmp_path)).stdout
    assert "no reply (connection lost)" in line
    entry = json.loads(_run("log", "--data-dir", str(tmp_path), "--json").stdout)[0]
    assert entry["decision"] == {"action": None, "code": None, "enhanced_code": None, "text": None,
                                 "rule_id": None, "inferred": None}


def test_show_of_a_real_rejection_names_the_dns_fix(tmp_path: Path) -> None:
    """End to end: the demo's example.net message through the real sandbox (Gmail profile),
    then ``show``: the refusal, the transcript and the SPF fix a trainee needs."""
    import smtplib

    from fake_dns import Zones
    from sandbox import demo
    from sandbox.app import Sandbox

    sandbox = Sandbox(Zones.from_files(demo.zone_files()), data_dir=tmp_path, dns=None,
                      client_ips={None: demo.CLIENT_IP})
    message = (f"From: {demo.BROKEN_SENDER}\r\nTo: user@gmail.com\r\nSubject: hi\r\n"
               "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <real@example.net>\r\n\r\nHello\r\n")
    with sandbox.run_in_thread() as running:
        with smtplib.SMTP(*running.smtp_address, timeout=30) as client:
            client.ehlo("mail.example.net")
            client.mail(demo.BROKEN_SENDER)
            client.rcpt("user@gmail.com")
            code, reply = client.data(message.encode())
    assert code == 550

    done = _run("show", "1", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Decision: reject at DATA - 550 5.7.26 (rule " in out
    assert f"C: mail FROM:<{demo.BROKEN_SENDER}>" in out  # as smtplib sent it
    assert "  SPF: fail" in out and "  DMARC: fail" in out
    fixes = out.split("What to change\n", 1)[1]
    assert f"add `ip4:{demo.CLIENT_IP}` to the SPF record of example.net" in fixes
    entry = json.loads(_run("log", "--data-dir", str(tmp_path), "--json").stdout)[0]
    assert entry["spf"]["result"] == "fail" and entry["dmarc"]["result"] == "fail"
    assert entry["dmarc"]["policy"] == "reject" and entry["message_id"] == "<real@example.net>"
