"""Test-side DKIM keys and signing: real key pairs made with `cryptography`, messages
signed by dkimpy, and resolvers over a zone holding the public keys.

`cryptography` refuses to *generate* RSA keys under 1024 bits, so the 512-bit key for
the RFC 8301 policy case is built from two random 256-bit primes (a Miller-Rabin test
here); loading such a key is allowed.
"""

from __future__ import annotations

import asyncio
import base64
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fake_dns import Faults, Resolver, Zone, Zones
from policies.dkim import DkimResult, check_dkim

PUBLIC_EXPONENT = 65537


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
    private = _small_rsa(bits) if bits < 1024 else rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair("rsa", bits, pem, base64.b64encode(der).decode())


def ed25519_key() -> KeyPair:
    private = ed25519.Ed25519PrivateKey.generate()
    seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair("ed25519", 256, base64.b64encode(seed), base64.b64encode(raw).decode())


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


def _small_rsa(bits: int) -> rsa.RSAPrivateKey:
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(PUBLIC_EXPONENT, phi) == 1:
            break
    d = pow(PUBLIC_EXPONENT, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q),
    )
    return numbers.private_key()


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1  # top two bits set: p*q has 2*bits bits
        if _probably_prime(candidate):
            return candidate


def _probably_prime(n: int, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)):
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
