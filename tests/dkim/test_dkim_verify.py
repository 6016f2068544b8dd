"""The cryptographic check (policies.dkim.verify) on messages signed by dkimpy: RSA
through OpenSSL, Ed25519 through PyNaCl, and the edge cases where dkimpy's own
verifier had a verdict of its own that must stay the same."""

from __future__ import annotations

import base64
import math
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim_testkeys import KeyPair, check, resolver_for, sign

from policies.dkim.keyrecord import judge_key_record
from policies.dkim.message import split_message
from policies.dkim.signature import parse_signature
from policies.dkim.verify import Uncheckable, signature_problem

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: verify me\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"the  numbers\tare attached. \r\n"
)
KEY_NAME = "mail._domainkey.example.com"


def problem(message: bytes, record: str) -> str | None:
    """signature_problem for the first DKIM-Signature of ``message`` with ``record``."""
    headers, body = split_message(message)
    field = next((name, value) for name, value in headers if name.lower() == b"dkim-signature")
    signature = parse_signature(field[1], 0.0)
    key = judge_key_record(record.encode(), signature)
    assert signature.usable and key.problem is None, (signature.reason, key.reason)
    return signature_problem(headers, body, field, signature, key)


def with_b(message: bytes, value: bytes) -> bytes:
    """``message`` with the b= of its first signature replaced by ``value`` (raw bytes)."""
    b64 = base64.b64encode(value)
    return re.sub(rb"(\bb=)[A-Za-z0-9+/=\s]*?(;|\r\n(?![ \t]))", lambda m: m.group(1) + b64 + m.group(2),
                  message, count=1)


def b_value(message: bytes) -> bytes:
    return base64.b64decode(b"".join(re.search(rb"\bb=([^;]*)", message).group(1).split()))


@pytest.mark.parametrize("canonicalize", [(b"relaxed", b"relaxed"), (b"simple", b"simple"), (b"relaxed", b"simple")])
def test_rsa_and_ed25519_signatures_verify(rsa2048, ed25519, canonicalize):
    for key in (rsa2048, ed25519):
        assert problem(sign(MESSAGE, key, canonicalize=canonicalize), key.record()) is None


def test_rsa_sha1_verifies(rsa1024):
    assert problem(sign(MESSAGE, rsa1024, algorithm=b"rsa-sha1"), rsa1024.record()) is None


@pytest.mark.parametrize("key_name", ["rsa2048", "ed25519"])
def test_tampered_header_is_a_signature_mismatch_and_tampered_body_a_body_hash_mismatch(key_name, request):
    key = request.getfixturevalue(key_name)
    signed = sign(MESSAGE, key)
    assert problem(signed.replace(b"Subject: verify me", b"Subject: verify you"), key.record()) == "signature_mismatch"
    assert problem(signed.replace(b"Hello Bob", b"Hello Eve"), key.record()) == "body_hash_mismatch"


def test_a_second_from_added_after_signing_is_a_signature_mismatch(rsa2048):
    """dkimpy checks one From more than h= lists, so a From added on top fails."""
    signed = sign(MESSAGE, rsa2048)
    assert problem(signed, rsa2048.record()) is None
    added = signed.replace(b"From: Alice", b"From: Mallory <m@example.org>\r\nFrom: Alice", 1)
    assert problem(added, rsa2048.record()) == "signature_mismatch"


def test_signature_of_the_wrong_length_is_a_signature_mismatch(rsa2048):
    signed = sign(MESSAGE, rsa2048)
    good = b_value(signed)
    assert len(good) == 256
    for wrong in (good[:-1], good + b"\x01", good[:128]):
        assert problem(with_b(signed, wrong), rsa2048.record()) == "signature_mismatch"


def test_a_longer_signature_holding_the_same_number_still_verifies(rsa2048):
    """dkimpy reads the signature as a number, so leading zero bytes (or adding n)
    do not change it; OpenSSL gets the same answer from the reduced value."""
    signed = sign(MESSAGE, rsa2048)
    good = b_value(signed)
    modulus = serialization.load_der_public_key(base64.b64decode(rsa2048.public)).public_numbers().n
    plus_n = int.from_bytes(good, "big") + modulus
    for same in (b"\x00" + good, plus_n.to_bytes(257, "big")):
        assert problem(with_b(signed, same), rsa2048.record()) is None


def test_a_modulus_too_short_for_the_digest_cannot_be_checked(rsa2048):
    """A 480-bit modulus cannot hold a padded SHA-256 DigestInfo (62 bytes needed):
    dkimpy raised, and the verdict says so."""
    tiny = rsa.RSAPublicNumbers(65537, 2**479 + 1).public_key()
    der = tiny.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    signed = sign(MESSAGE, rsa2048)
    with pytest.raises(Uncheckable):
        problem(signed, record)
    (result,) = check(signed, resolver_for({KEY_NAME: record}))
    assert (result.result, result.problem, result.key_bits) == ("permerror", "verifier_error", 480)
    assert result.reason == "the signature could not be checked (digest too large for modulus: )"


def test_an_ed25519_signature_of_the_wrong_length_cannot_be_checked(ed25519):
    signed = sign(MESSAGE, ed25519)
    good = b_value(signed)
    assert len(good) == 64
    assert problem(with_b(signed, bytes([good[0] ^ 1]) + good[1:]), ed25519.record()) == "signature_mismatch"
    (result,) = check(with_b(signed, good[:63]), resolver_for({KEY_NAME: ed25519.record()}))
    assert (result.result, result.problem) == ("permerror", "verifier_error")
    assert "64 bytes" in result.reason


@pytest.fixture(scope="module")
def big_exponent_key() -> KeyPair:
    """A 3584-bit RSA key with a 71-bit public exponent: valid arithmetic, but OpenSSL
    computes with an exponent over 64 bits only for moduli up to 3072 bits."""
    p = rsa.generate_private_key(65537, 4096).private_numbers().p
    q = rsa.generate_private_key(65537, 3072).private_numbers().p
    n, phi = p * q, (p - 1) * (q - 1)
    e = 2**70 + 1
    while math.gcd(e, phi) != 1:
        e += 2
    d = pow(e, -1, phi)
    private = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair("rsa", n.bit_length(), pem, base64.b64encode(der).decode())


def test_a_key_openssl_will_not_compute_with_is_still_checked(big_exponent_key):
    key = big_exponent_key
    assert key.bits == 3584
    signed = sign(MESSAGE, key)  # dkimpy's pure-Python signer
    assert dkim.verify(signed, dnsfunc=lambda *_a, **_k: key.record().encode())
    assert problem(signed, key.record()) is None
    assert problem(signed.replace(b"verify me", b"verify it"), key.record()) == "signature_mismatch"
    (result,) = check(signed, resolver_for({KEY_NAME: key.record()}))
    assert (result.result, result.key_bits) == ("pass", 3584)
