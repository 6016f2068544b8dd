"""The mail the benchmark sends, and the DNS that makes it pass.

A sender domain with SPF for the sending address, a DKIM key the benchmark generates
(RSA-2048) and publishes, DMARC ``p=reject`` and forward-confirmed reverse DNS: every
message should be accepted into the inbox, so the sandbox runs every check to the end.
The messages are signed once, up front, so signing costs nothing during the run.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.utils import formatdate

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fake_dns import Zone, Zones

DOMAIN = "example.org"
SELECTOR = "bench"
SENDER_IP = "198.51.100.25"  # the address the sandbox judges every benchmark client as
SENDER = f"news@{DOMAIN}"
RECIPIENT = "user@gmail.com"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]
_FILLER = b"The quick brown fox jumps over the lazy dog while the benchmark measures it. "


@dataclass(frozen=True)
class Corpus:
    zones_text: tuple[tuple[str, str], ...]  # (origin, zone file text): picklable, rebuilt per process
    messages: tuple[bytes, ...]
    key_bits: int

    def zones(self) -> Zones:
        return Zones([Zone.from_text(text, origin=origin, source=f"bench:{origin}") for origin, text in self.zones_text])


def build(count: int, size: int, key_bits: int = 2048) -> Corpus:
    """``count`` distinct messages of about ``size`` bytes each, DKIM-signed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    messages = tuple(_signed(_message(index, size), private_pem) for index in range(count))
    return Corpus(_zones_text(base64.b64encode(public_der).decode()), messages, key_bits)


def _zones_text(public_key: str) -> tuple[tuple[str, str], ...]:
    # The key is longer than one TXT character-string (255 bytes): split it the way a
    # zone file does, into several quoted strings that receivers join again.
    record = f"v=DKIM1; k=rsa; p={public_key}"
    strings = " ".join(f'"{record[i:i + 200]}"' for i in range(0, len(record), 200))
    reverse_origin = ".".join(reversed(SENDER_IP.split(".")[:3])) + ".in-addr.arpa."
    forward = (
        f"$TTL 300\n@ MX 10 mail\n@ TXT \"v=spf1 ip4:{SENDER_IP} -all\"\nmail A {SENDER_IP}\n"
        f"{SELECTOR}._domainkey TXT {strings}\n_dmarc TXT \"v=DMARC1; p=reject\"\n"
    )
    reverse = f"$TTL 300\n{SENDER_IP.rsplit('.', 1)[1]} PTR mail.{DOMAIN}.\n"
    return ((f"{DOMAIN}.", forward), (reverse_origin, reverse))


def _message(index: int, size: int) -> bytes:
    headers = (
        f"From: Benchmark <{SENDER}>\r\nTo: <{RECIPIENT}>\r\nSubject: benchmark message {index}\r\n"
        f"Date: {formatdate()}\r\nMessage-ID: <bench.{index}@{DOMAIN}>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    body = f"Message {index}.\r\n".encode()
    line = _FILLER.strip() + b"\r\n"
    # Leave room for the DKIM-Signature field (about 510 bytes with a 2048-bit key).
    while len(headers) + len(body) + len(line) + 510 <= size:
        body += line
    return headers + body


def _signed(message: bytes, private_pem: bytes) -> bytes:
    signature = dkim.sign(message, SELECTOR.encode(), DOMAIN.encode(), private_pem, include_headers=SIGNED_HEADERS)
    return signature + message
