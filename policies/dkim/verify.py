"""The cryptographic check of one DKIM-Signature: body hash, header hash, signature.

dkimpy's ``verify_sig_process`` does all three, but checks an RSA signature with
pure-Python big-number code (byte-by-byte conversions and Python's ``pow``): about
250 microseconds for a 2048-bit key, the largest single cost of judging a message.
Here OpenSSL (through ``cryptography``) checks RSA signatures in a tenth of that; the
rest keeps dkimpy's rules, so that every verdict stays what it was:

- the body is canonicalised as dkimpy does it (:mod:`policies.dkim.canonical`) and
  cut to ``l=``;
- the header fields are chosen by dkimpy's ``select_headers`` from ``h=``, plus one
  more ``from`` when ``h=`` names From at all (dkimpy's guard against a second From
  field added after signing: such a message fails), each canonicalised, followed by
  the DKIM-Signature itself with its ``b=`` value removed (as dkimpy's ``RE_BTAG``
  removes it) and its trailing white space dropped (RFC 6376 3.7);
- RSA is RSASSA-PKCS1-v1_5 (RFC 8017 8.2.2) over that SHA-256 or SHA-1 digest, with
  dkimpy's arithmetic: the signature is taken as a number modulo n, whatever its
  length, and a modulus too short to hold the DigestInfo makes it uncheckable. Keys
  OpenSSL will not compute with (see :func:`_openssl_key`) still get dkimpy's check;
- Ed25519 (RFC 8463: the signature is over the SHA-256 digest of the header data) is
  checked by the PyNaCl key dkimpy's key parser made: libsodium is twice as fast
  here as OpenSSL, and judges crafted keys (small-order points) as before.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Sequence
from typing import Any

import dkim
import nacl.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.crypto import RSASSA_PKCS1_v1_5_verify

from policies.dkim.canonical import canonical_body, canonical_headers
from policies.dkim.keyrecord import KeyRecord
from policies.dkim.signature import Signature

_HASHES = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
_PREHASHED = {"sha256": utils.Prehashed(hashes.SHA256()), "sha1": utils.Prehashed(hashes.SHA1())}
_PKCS1 = padding.PKCS1v15()
#: Length of the DER DigestInfo (``tLen``, RFC 8017 9.2 note 1) that PKCS #1 v1.5
#: pads to the size of the modulus; it needs 11 bytes more than that.
_DIGEST_INFO_BYTES = {"sha256": 51, "sha1": 35}
_TAG_LIST_SEPARATOR = re.compile(rb"\s*:\s*")
_BASE64_CHAR = rb"[a-zA-Z0-9+/=]"
#: dkimpy's ``RE_BTAG`` (a ``b=`` tag and its value, folding included, up to a final
#: line break), written so that a run of base64 is one step and not one alternation per
#: character: the same matches, ten times faster on a 2048-bit signature. (dkimpy's
#: folding white space pattern matches any run of white space, so ``\s*`` is the same.)
_B_TAG = re.compile(rb"([;\s]b\s*=)" + _BASE64_CHAR + rb"*(?:\s+" + _BASE64_CHAR + rb"+)*(?:\r?\n\Z)?")


class Uncheckable(Exception):
    """The key cannot check the signature at all; the message says why."""


def signature_problem(
    headers: Sequence[Sequence[bytes]], body: bytes, field: tuple[bytes, bytes], signature: Signature, key: KeyRecord
) -> str | None:
    """None when ``signature`` verifies with ``key``, else ``body_hash_mismatch`` or
    ``signature_mismatch``.

    ``headers`` and ``body`` are the message as :func:`policies.dkim.message.split_message`
    gives it, ``field`` the DKIM-Signature (name, value) among those ``headers``, and
    ``key`` a usable key record for the signature's algorithm. Raises
    :class:`Uncheckable` for a modulus too short for the digest; an error PyNaCl raises
    on a malformed signature is let through (the caller reports it as it is).
    """
    header_algorithm, body_algorithm = signature.canonicalization.split("/")
    new_hash = _HASHES[signature.hash_name]
    signed_body = canonical_body(body, body_algorithm)
    if signature.body_length is not None:
        signed_body = signed_body[: signature.body_length]
    if new_hash(signed_body).digest() != _base64(signature.tags[b"bh"]):
        return "body_hash_mismatch"
    header_hash = new_hash(_signed_header_data(headers, field, signature, header_algorithm))
    value = _base64(signature.tags[b"b"])
    if key.key_type == "ed25519":
        verified = _ed25519_verifies(key.public_key, header_hash.digest(), value)
    else:
        verified = _rsa_verifies(key.public_key, header_hash, value)
    return None if verified else "signature_mismatch"


def _signed_header_data(
    headers: Sequence[Sequence[bytes]], field: tuple[bytes, bytes], signature: Signature, algorithm: str
) -> bytes:
    """What the header hash covers (see the module docstring)."""
    include = [name.lower() for name in _TAG_LIST_SEPARATOR.split(signature.tags[b"h"].strip())]
    if b"from" in include:
        include.append(b"from")
    # dkimpy canonicalises every header field and then selects; selecting first is the
    # same (relaxed canonicalisation only lower-cases names, which selection ignores).
    chosen = dkim.select_headers(headers, include)
    name, value = field
    *signed, (own_name, own_value) = canonical_headers([*chosen, (name, _B_TAG.sub(rb"\1", value))], algorithm)
    return b"".join(b"%s:%s" % (x, y) for x, y in signed) + own_name + b":" + own_value.rstrip()


def _rsa_verifies(numbers: dict[str, int], header_hash: Any, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 with dkimpy's public key numbers (``modulus``, ``publicExponent``)."""
    modulus, exponent = numbers["modulus"], numbers["publicExponent"]
    size = max(1, (modulus.bit_length() + 7) // 8)
    if size < _DIGEST_INFO_BYTES[header_hash.name] + 11:
        raise Uncheckable("digest too large for modulus: ")  # dkimpy's words, kept for the reason text
    key = _openssl_key(modulus, exponent)
    if key is None:
        return RSASSA_PKCS1_v1_5_verify(header_hash, signature, numbers)
    # s and s mod n give the same s^e mod n: dkimpy's arithmetic, which OpenSSL (wanting
    # exactly the modulus length, below n) gets by this normalisation.
    value = (int.from_bytes(signature, "big") % modulus).to_bytes(size, "big")
    try:
        key.verify(value, header_hash.digest(), _PKCS1, _PREHASHED[header_hash.name])
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=256)
def _openssl_key(modulus: int, exponent: int) -> rsa.RSAPublicKey | None:
    """The OpenSSL key for (n, e), made once per key however many messages it checks;
    None for a key OpenSSL will not compute with although the arithmetic is defined.

    OpenSSL 3 refuses an even modulus (its Montgomery arithmetic needs an odd one), a
    modulus over 16384 bits (OPENSSL_RSA_MAX_MODULUS_BITS), an exponent over 64 bits
    with a modulus over 3072 bits (OPENSSL_RSA_MAX_PUBEXP_BITS, _SMALL_MODULUS_BITS),
    and ``cryptography`` an exponent below 3, even, or not below n. No key generator
    makes such keys; a record that holds one is judged as dkimpy judged it.
    Process-wide but stateless: a pure function of two integers, bounded.
    """
    bits = modulus.bit_length()
    if modulus % 2 == 0 or bits > 16384 or (bits > 3072 and exponent.bit_length() > 64):
        return None
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except ValueError:
        return None


def _ed25519_verifies(key: Any, digest: bytes, signature: bytes) -> bool:
    """The check dkimpy makes with its PyNaCl ``VerifyKey``: a signature that is not
    64 bytes long raises PyNaCl's ValueError (let through), a wrong one is False."""
    try:
        key.verify(digest, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def _base64(value: bytes) -> bytes:
    """A ``b=``/``bh=`` value decoded, folding white space removed (signature.py has
    already checked that it is base64)."""
    return base64.b64decode(b"".join(value.split()))
