"""Test-side DKIM keys and signing: real key pairs (made by ``sandbox.testing.keys``,
small RSA keys for the RFC 8301 policy case included), messages signed by dkimpy, and
resolvers over a zone holding the public keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

import dkim

from fake_dns import Faults, Resolver, Zone, Zones
from policies.dkim import DkimResult, check_dkim
from sandbox.testing.keys import generate_dkim_key


@dataclass(frozen=True)
class KeyPair:
    """A key pair: ``private`` is what ``dkim.sign`` takes, ``public`` the base64 for p=."""

    key_type: str  # "rsa" or "ed25519"
    bits: int
    private: bytes
    public: str

    @property
    def algorithm(self) -> bytes:
        return b"ed25519-sha256" if self.key_type == "ed25519" else b"rsa-sha256"

    def record(self, extra: str = "") -> str:
        """The key's TXT record text, ``extra`` tags inserted before p=."""
        return f"v=DKIM1; k={self.key_type}; {extra}p={self.public}"


def rsa_key(bits: int) -> KeyPair:
    made = generate_dkim_key("example.com", key_type="rsa", bits=bits)
    return KeyPair("rsa", bits, made.private, made.public)


def ed25519_key() -> KeyPair:
    made = generate_dkim_key("example.com", key_type="ed25519")
    return KeyPair("ed25519", 256, made.private, made.public)


def sign(
    message: bytes,
    key: KeyPair,
    *,
    domain: str = "example.com",
    selector: str = "mail",
    algorithm: bytes | None = None,
    canonicalize: tuple[bytes, bytes] = (b"relaxed", b"simple"),
    include_headers: list[bytes] | None = None,
    length: bool = False,
) -> bytes:
    """``message`` with a new DKIM-Signature (made by dkimpy) on top."""
    header = dkim.sign(
        message, selector.encode(), domain.encode(), key.private,
        canonicalize=canonicalize, signature_algorithm=algorithm or key.algorithm,
        include_headers=include_headers, length=length,
    )
    return header + message


def resolver_for(records: dict[str, str | list[str]], faults: Iterable[str] = ()) -> Resolver:
    """A resolver over one root zone: ``records`` maps a name to its TXT text(s)."""
    zone = Zone.empty(".")
    for name, texts in records.items():
        for text in [texts] if isinstance(texts, str) else texts:
            zone.add(name, "TXT", text)
    return Resolver(Zones([zone]), Faults(list(faults)))


def check(message: bytes, resolver: Resolver, **options: object) -> tuple[DkimResult, ...]:
    return asyncio.run(check_dkim(message, resolver, **options))
