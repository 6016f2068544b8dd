"""The demo that ``smtp-sandbox serve`` (``make run``) starts with when given no zone.

Two sender domains share one sending address, 192.0.2.10: example.com publishes SPF
for it, example.net still lists only its old provider (see the zone files under
``sandbox/data/demo``). Every client is judged as 192.0.2.10, so the first message a
newcomer sends from their laptop gets a real verdict: accepted from example.com,
rejected from example.net, with the reason and the DNS fix in the store.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fake_dns import Resolver
    from policies.profiles import Profile

ZONE_DIR = Path(__file__).with_name("data") / "demo"
CLIENT_IP = "192.0.2.10"
GOOD_SENDER = "alice@example.com"
BROKEN_SENDER = "bob@example.net"


def zone_files() -> list[str]:
    return sorted(str(path) for path in ZONE_DIR.glob("*.zone"))


def python_one_liner(host: str, port: int, sender: str, recipient: str) -> str:
    """A shell line that sends one well-formed message over STARTTLS and prints the reply
    to the end of DATA (smtplib's ``data`` returns it instead of raising on a refusal)."""
    domain = sender.rpartition("@")[2]
    message = (
        f"From: {sender}\\r\\nTo: {recipient}\\r\\nSubject: hello\\r\\nDate: {{u.formatdate()}}\\r\\n"
        "Message-ID: {m}\\r\\n\\r\\nHello from the sandbox.\\r\\n"
    )
    return (
        f"python3 -c 'import smtplib, email.utils as u; m = u.make_msgid(domain=\"{domain}\"); "
        f"s = smtplib.SMTP(\"{host}\", {port}); s.starttls(); s.ehlo(); "
        f"s.mail(\"{sender}\"); s.rcpt(\"{recipient}\"); "
        f"code, text = s.data(f\"{message}\"); print(code, text.decode())'"
    )


def swaks_line(host: str, port: int, sender: str, recipient: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"swaks --server {shown}:{port} --tls --from {sender} --to {recipient}"


async def expected_reply(profile: "Profile", resolver: "Resolver", sender: str, recipient: str) -> list[str]:
    """The reply the demo message from ``sender`` gets over STARTTLS, worked out with the
    same checks and profile the server uses (so the banner never promises a wrong
    verdict); per-connection tokens show as ``<id>``."""
    from policies.profiles import Session
    from sandbox.smtp.verdict import judge

    domain = sender.rpartition("@")[2]
    message = (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: hello\r\nDate: {formatdate()}\r\n"
        f"Message-ID: <demo@{domain}>\r\n\r\nHello from the sandbox.\r\n"
    ).encode()
    session = Session(profile, CLIENT_IP, {name: f"<{name}>" for name in profile.tokens}, time.time)
    _auth, decision = await judge(
        session, resolver, message, client_ip=CLIENT_IP, helo="client.example", mail_from=sender,
        recipients=[recipient], tls={"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "bits": 256},
    )
    return list(decision.lines)


def instructions(host: str, port: int, recipient: str, *, accepted: list[str], rejected: list[str]) -> str:
    """What to paste into a second terminal, and which reply to expect for each."""
    return "\n".join([
        f"Send a first message (example.com's SPF allows {CLIENT_IP}):",
        f"  {python_one_liner(host, port, GOOD_SENDER, recipient)}",
        f"  {swaks_line(host, port, GOOD_SENDER, recipient)}",
        *_expect(accepted),
        "Then one from a domain whose SPF still names its old provider:",
        f"  {swaks_line(host, port, BROKEN_SENDER, recipient)}",
        *_expect(rejected),
        "Then: smtp-sandbox log, and smtp-sandbox show ID for the checks, the reasons and the DNS fixes.",
    ])


def _expect(lines: list[str]) -> list[str]:
    return ["  expect: " + lines[0], *("          " + line for line in lines[1:])]
