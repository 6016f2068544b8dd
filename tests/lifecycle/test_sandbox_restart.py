"""A sandbox stopped and started again on its data directory: every delivery is still
there, exactly once, and the numbering carries on (what ``smtp-sandbox log`` shows
after ``serve`` is restarted mid-test)."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid
from pathlib import Path

from fake_dns import Zone, Zones
from sandbox.app import Sandbox, SandboxThread

ZONE = """$ORIGIN sender.test.
$TTL 300
@      TXT "v=spf1 ip4:192.0.2.10 -all"
mail   A   192.0.2.10
_dmarc TXT "v=DMARC1; p=reject"
"""
PTR = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
10 PTR mail.sender.test.
"""


def start(data_dir: Path, smtp: tuple[str, int] = ("127.0.0.1", 0)) -> SandboxThread:
    zones = Zones([Zone.from_text(ZONE), Zone.from_text(PTR)])
    return Sandbox(zones, data_dir=data_dir, dns=None, smtp=smtp, client_ips={None: "192.0.2.10"}).run_in_thread()


def send(address: tuple[str, int]) -> str:
    message_id = make_msgid(domain="sender.test")
    text = (f"From: alice@sender.test\r\nTo: user@gmail.com\r\nSubject: restart\r\n"
            f"Message-ID: {message_id}\r\n\r\nhello\r\n")
    with smtplib.SMTP(*address, timeout=30) as client:
        client.ehlo("mail.sender.test")
        client.sendmail("alice@sender.test", ["user@gmail.com"], text.encode())
    return message_id


def test_deliveries_survive_a_restart_on_the_same_data_dir_exactly_once(tmp_path: Path) -> None:
    first = start(tmp_path)
    try:
        address = first.smtp_address
        before = send(address)
    finally:
        first.stop()
    second = start(tmp_path, smtp=address)  # a new Sandbox, same directory and port
    try:
        after = send(address)
        deliveries = second.deliveries()
    finally:
        second.stop()
    assert [(d.message_id, d.action, d.folder) for d in deliveries] == \
        [(before, "accept", "inbox"), (after, "accept", "inbox")]
    first_id, second_id = (d.id for d in deliveries)
    assert first_id is not None and second_id is not None and second_id > first_id
