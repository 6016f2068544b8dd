"""DKIM key pairs for tests: generated in one call, published and used to sign.

`cryptography` refuses to *generate* RSA keys under 1024 bits, yet a test of the
RFC 8301 rule ("keys under 1024 bits must not be accepted") needs one; such a key is
built from two random primes found with a Miller-Rabin test (loading it is allowed).
"""

from __future__ import annotations

import base64
import math
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PUBLIC_EXPONENT = 65537
_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


@dataclass(frozen=True)
class DkimKey:
    """A key pair bound to its domain and selector. ``private`` is what dkimpy signs
    with (PEM for RSA, the base64 seed for ed25519); ``public`` is the base64 for ``p=``."""

    domain: str
    selector: str
    key_type: str  # "rsa" or "ed25519"
    bits: int
    private: bytes
    public: str

    @property
    def dns_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def algorithm(self) -> str:
        return "ed25519-sha256" if self.key_type == "ed25519" else "rsa-sha256"

    def record(self, extra: str = "") -> str:
        """The key's TXT record text; ``extra`` tags (``t=y; ``) go before ``p=``."""
        return f"v=DKIM1; k={self.key_type}; {extra}p={self.public}"


def generate_dkim_key(domain: str, selector: str = "mail", *, key_type: str = "rsa", bits: int = 2048) -> DkimKey:
    """A new key pair; ``key_type`` ``rsa`` (any ``bits``, small ones included) or ``ed25519``."""
    if key_type == "ed25519":
        private_ed = ed25519.Ed25519PrivateKey.generate()
        seed = private_ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
        raw = private_ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return DkimKey(domain, selector, "ed25519", 256, base64.b64encode(seed), base64.b64encode(raw).decode())
    if key_type != "rsa":
        raise ValueError(f"unknown DKIM key type {key_type!r}; use 'rsa' or 'ed25519'")
    if bits < 512:
        raise ValueError(f"an RSA key of {bits} bits cannot hold a SHA-256 signature; use 512 bits or more")
    private = _small_rsa(bits) if bits < 1024 else rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return DkimKey(domain, selector, "rsa", bits, pem, base64.b64encode(der).decode())


def _small_rsa(bits: int) -> rsa.RSAPrivateKey:
    while True:
        p, q = _prime(bits // 2), _prime(bits - bits // 2)
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
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1  # top two bits set: p*q has the full size
        if _probably_prime(candidate):
            return candidate


def _probably_prime(n: int, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
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
