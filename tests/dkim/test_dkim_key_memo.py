"""A key record is judged once per signature shape: a key is parsed once however many
messages it verifies, and a record that does not parse is reported every time."""

from __future__ import annotations

from dataclasses import replace

from dkim_testkeys import check, resolver_for, sign

from policies.dkim.keyrecord import judge_key_record
from policies.dkim.signature import parse_signature

MESSAGE = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: memo\r\n\r\nbody\r\n"


def _signature(key, **options):
    signed = sign(MESSAGE, key, **options)
    value = signed.split(b":", 1)[1].split(b"\r\nFrom:", 1)[0]
    return parse_signature(value, 0.0)


def test_one_record_is_parsed_once_and_every_message_still_verifies(rsa2048):
    signature = _signature(rsa2048)
    first = judge_key_record(rsa2048.record().encode(), signature)
    second = judge_key_record(rsa2048.record().encode(), signature)
    assert first.problem is None and first.bits == 2048
    assert second.public_key is first.public_key
    resolver = resolver_for({"mail._domainkey.example.com": rsa2048.record()})
    for subject in (b"one", b"two"):
        message = sign(MESSAGE.replace(b"memo", subject), rsa2048)
        assert [r.result for r in check(message, resolver)] == ["pass"]


def test_a_broken_key_is_reported_every_time(rsa2048):
    signature = _signature(rsa2048)
    broken = b"v=DKIM1; k=rsa; p=" + rsa2048.public[:40].encode()
    for _ in range(2):
        key = judge_key_record(broken, signature)
        assert key.problem == "key_invalid" and key.public_key is None


def test_the_verdict_follows_what_the_record_is_judged_against(rsa2048):
    """The same record, judged again for another algorithm or identity, gets its own verdict."""
    record = rsa2048.record("h=sha256; t=s; ").encode()
    assert judge_key_record(record, _signature(rsa2048)).problem is None
    sha1 = judge_key_record(record, _signature(rsa2048, algorithm=b"rsa-sha1"))
    assert (sha1.problem, sha1.public_key) == ("key_hash_not_allowed", None)
    subdomain = replace(_signature(rsa2048), identity="news@mail.example.com")
    assert judge_key_record(record, subdomain).problem == "key_strict_identity"
    assert judge_key_record(record, replace(subdomain, identity="news@Example.COM")).problem is None
