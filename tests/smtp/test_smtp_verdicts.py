"""Profile verdicts end to end over SMTP: zone in, message over the socket, the provider's
exact reply lines out (and the store records the rule)."""

from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from smtp_helpers import DEMO_IP, RawClient, demo_zones, message, running, session_id

from fake_dns import Zone

SHOP_ZONE = """$ORIGIN shop.example.
@        TXT  "v=spf1 include:_spf.old-provider.example ~all"
"""


@pytest.fixture(scope="module")
def dkim_key() -> tuple[bytes, str]:
    """(private key PEM for dkimpy, public key base64 for the p= tag)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode()


def _signed(sender: str, private_pem: bytes) -> bytes:
    body = message(sender)
    domain = sender.rpartition("@")[2].encode()
    signature = dkim.sign(body, b"mail", domain, private_pem,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + body


def _send(client: RawClient, sender: str, body: bytes, recipient: str = "user@gmail.com") -> list[str]:
    client.command("EHLO client.example")
    assert client.command(f"MAIL FROM:<{sender}>")[0].startswith("250 ")
    assert client.command(f"RCPT TO:<{recipient}>")[0].startswith("250 ")
    assert client.command("DATA")[0].startswith("354 ")
    return client.command(body + b".")


def _shop_zones(public_key: str | None):
    zones = demo_zones()
    shop = Zone.from_text(SHOP_ZONE)
    if public_key is not None:
        shop.add("mail._domainkey", "TXT", f"v=DKIM1; k=rsa; p={public_key}")
    zones.add(shop)
    return zones


def test_dkim_key_forgotten_in_the_new_zone_gets_gmail_5_7_26(dkim_key):
    """The README story: DNS moved, mail._domainkey not copied, SPF does not cover the
    sending host: Gmail refuses at end of DATA with its multi-line 5.7.26 (W-G1, 2025 form)."""
    private, public = dkim_key
    with running(_shop_zones(None), client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            sid = session_id(client.reply())
            verdict = _send(client, "orders@shop.example", _signed("orders@shop.example", private))
        stored = sandbox.deliveries()[0]
    assert verdict == [
        "550-5.7.26 Your email has been blocked because the sender is unauthenticated.",
        "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
        "550-5.7.26 ",
        "550-5.7.26  Authentication results:",
        "550-5.7.26  DKIM = did not pass",
        f"550-5.7.26  SPF [shop.example] with ip: [{DEMO_IP}] = did not pass",
        "550-5.7.26 ",
        "550-5.7.26  For instructions on setting up authentication, go to",
        f"550 5.7.26  https://support.google.com/mail/answer/81126#authentication {sid} - gsmtp",
    ]
    assert stored.decision["rule_id"] == "G1" and stored.stage == "data" and stored.folder is None
    assert stored.checks["dkim"][0]["result"] != "pass"


def test_dkim_key_published_gets_the_message_accepted(dkim_key):
    private, public = dkim_key
    with running(_shop_zones(public), client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            verdict = _send(client, "orders@shop.example", _signed("orders@shop.example", private))
        stored = sandbox.deliveries()[0]
    assert verdict[0].startswith("250 2.0.0 OK  ")
    header = stored.message.split(b"\r\n\r\n", 1)[0].decode()
    assert "dkim=pass header.i=@shop.example header.s=mail" in " ".join(header.split())


def test_demo_domain_with_stale_spf_gets_the_dmarc_reject_lines():
    with running(client_ips={None: DEMO_IP}) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        verdict = _send(client, "bob@example.net", message("bob@example.net"))
    assert verdict == [
        "550-5.7.26 Unauthenticated email from example.net is not accepted due to domain's",
        "550-5.7.26 DMARC policy. Please contact the administrator of example.net domain if",
        "550-5.7.26 this was a legitimate mail. To learn about the DMARC initiative, go",
        "550-5.7.26 to",
        f"550 5.7.26  https://support.google.com/mail/?p=DmarcRejection {sid} - gsmtp",
    ]


def test_unknown_recipient_gets_the_g68_lines():
    with running(unknown_users=["nobody@gmail.com"]) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        client.command("MAIL FROM:<alice@example.com>")
        assert client.command("RCPT TO:<nobody@gmail.com>") == [
            "550-5.1.1 The email account that you tried to reach does not exist. Please try",
            "550-5.1.1 double-checking the recipient's email address for typos or",
            "550-5.1.1 unnecessary spaces. Learn more at",
            f"550 5.1.1  https://support.google.com/mail/?p=NoSuchUser {sid} - gsmtp",
        ]
        assert client.command("RCPT TO:<NoBody@gmail.com>")[0].startswith("550-5.1.1 ")
        assert client.command("RCPT TO:<somebody@gmail.com>")[0].startswith("250 2.1.5 ")


def test_other_domains_are_not_relayed_and_full_mailboxes_defer():
    with running(over_quota=["full@googlemail.com"]) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        client.command("MAIL FROM:<alice@example.com>")
        relay = client.command("RCPT TO:<someone@example.org>")
        assert relay[0].startswith("550") and "5.7.1 Relaying denied." in relay[0]
        assert relay[-1].endswith(f"{sid} - gsmtp")
        full = client.command("RCPT TO:<full@googlemail.com>")
        assert all(line.startswith(("452-4.2.2 ", "452 4.2.2 ")) for line in full)
        assert full[-1].endswith(f"{sid} - gsmtp")


def test_invalid_sender_gets_g52_and_empty_helo_g53():
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        assert client.command("MAIL FROM:<(any@instagram.com>") == [
            "553-5.1.7 The sender address <(any@instagram.com> is not a valid RFC-5321",
            f"553 5.1.7 address. {sid} - gsmtp",
        ]
        assert client.command("RCPT TO:<user@gmail.com>") == [f"503 5.5.1 MAIL first. {sid} - gsmtp"]
        refused = client.command("EHLO")
        assert refused[0].startswith("501-5.5.4 Empty HELO/EHLO argument not allowed, closing connection.")
        assert refused[-1].endswith(f"{sid} - gsmtp")
        assert client.closed_by_server()
        stored = sandbox.deliveries()
    assert [d.decision["rule_id"] for d in stored] == ["G52", "G53"]


def test_require_tls_defers_plaintext_mail_and_closes():
    with running(client_ips={None: DEMO_IP}, require_tls=True) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            sid = session_id(client.reply())
            verdict = _send(client, "alice@example.com", message())
            assert verdict == [
                "421-4.7.29 Your email has been rate limited because this message wasn't sent",
                "421-4.7.29 over a TLS connection. Gmail requires all bulk email senders to use",
                "421-4.7.29 TLS/SSL for SMTP connections.",
                "421-4.7.29 To set up TLS for email, visit",
                "421-4.7.29  https://support.google.com/a?p=tls-ssl",
                "421-4.7.29 To learn more about Gmail requirements for bulk senders, visit",
                f"421 4.7.29  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp",
            ]
            assert client.closed_by_server()  # a 421 ends the session (RFC 5321 3.8)
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            client.command("STARTTLS")
            client.starttls()
            assert _send(client, "alice@example.com", message())[0].startswith("250 2.0.0 OK  ")


def test_sending_address_without_ptr_gets_g22():
    zones = demo_zones()
    example = zones.zone("example.com")
    example.remove("@", "TXT")
    example.add("@", "TXT", "v=spf1 ip4:192.0.2.77 -all")
    with running(zones, client_ips={None: "192.0.2.77"}) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        verdict = _send(client, "alice@example.com", message())
    assert verdict[0].startswith("550-5.7.25 [192.0.2.77] The IP address sending this message does not")
    assert verdict[-1] == f"550 5.7.25  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp"


@pytest.mark.parametrize("profile, greeting, recipient", [
    ("yahoo", "220 ", "user@yahoo.com"),
    ("outlook", "220 ", "user@outlook.com"),
])
def test_other_profiles_speak_for_themselves(profile, greeting, recipient):
    with running(profile=profile, client_ips={None: DEMO_IP}) as sandbox, RawClient(sandbox.smtp_address) as client:
        hello = client.reply()
        assert hello[0].startswith(greeting) and "gsmtp" not in hello[0]
        ehlo = client.command("EHLO client.example")
        assert ehlo[0].startswith("250-") and "mx.google.com" not in ehlo[0]
        verdict = _send(client, "alice@example.com", message(recipient=recipient), recipient=recipient)
        assert verdict[0].startswith("250")
        assert all(len(reply) == 1 for reply in (hello, verdict))  # single-line providers
