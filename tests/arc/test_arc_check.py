"""check_arc on messages sealed here by dkimpy's ARC signer, the way mailing lists and
forwarders seal them, then changed, stripped of keys, or mangled."""

from __future__ import annotations

import asyncio
import base64
import json

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fake_dns import Faults, Outcome, Resolver, Zone, Zones
from policies.arc import ArcResult, check_arc
from policies.result import CheckResult

ORIGINAL = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: team@lists.example.net\r\n"
    b"Subject: Offsite agenda\r\n"
    b"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
    b"Message-ID: <agenda@example.com>\r\n"
    b"\r\n"
    b"Agenda attached.\r\n"
)
LIST, FORWARDER = "lists.example.net", "forward.example.org"
SEALED_AT = 1741000000
FIRST_HOP = "spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"


def seal(message: bytes, key: bytes, domain: str, results: str, timestamp: int = SEALED_AT) -> bytes:
    """What an intermediary does: record its Authentication-Results, then add an ARC set."""
    with_ar = f"Authentication-Results: {domain}; {results}\r\n".encode() + message
    headers = dkim.arc_sign(with_ar, b"arc", domain.encode(), key, domain.encode(), timestamp=timestamp)
    assert headers, "dkimpy refused to seal"
    return b"".join(headers) + with_ar


def keys(record: str, *, faults: list[str] = (), records: dict[str, str | None] | None = None) -> Resolver:
    """Both sealers' keys published as ``record``, except where ``records`` says
    otherwise for a domain (None: no key record at all)."""
    zone = Zone.empty(".")
    for domain, text in ({LIST: record, FORWARDER: record} | (records or {})).items():
        if text is not None:
            zone.add(f"arc._domainkey.{domain}", "TXT", text)
    return Resolver(Zones([zone]), Faults(list(faults)))


def check(message: bytes, resolver: Resolver, **options: object) -> ArcResult:
    return asyncio.run(check_arc(message, resolver, **options))


@pytest.fixture
def one_hop(sealer_key) -> bytes:
    return seal(ORIGINAL, sealer_key[0], LIST, FIRST_HOP)


@pytest.fixture
def two_hops(sealer_key, one_hop) -> bytes:
    return seal(one_hop, sealer_key[0], FORWARDER, "arc=pass; spf=fail smtp.mailfrom=lists.example.net")


def test_unsealed_message_is_none():
    result = check(ORIGINAL, keys("unused"))
    assert isinstance(result, CheckResult)
    assert (result.result, result.sets, result.lookups, result.fixes()) == ("none", 0, (), [])
    assert str(result.auth_result()) == "arc=none"
    assert not result.trusted_first_hop_pass


def test_one_hop_passes_and_exposes_what_the_list_saw(sealer_key, one_hop):
    result = check(one_hop, keys(sealer_key[1]), client_ip="192.0.2.7")
    assert (result.result, result.sets, result.failed_instance, result.reason) == ("pass", 1, None, None)
    assert result.first_hop_authserv_id == LIST
    assert result.first_hop_results == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert "dmarc=pass header.from=example.com" in result.first_hop_aar
    assert result.trusted_first_hop_pass
    assert result.oldest_pass == 0
    assert str(result.auth_result()) == "arc=pass header.oldest-pass=0 smtp.remote-ip=192.0.2.7"
    (hop,) = result.chain
    assert (hop.instance, hop.seal_domain, hop.seal_selector, hop.cv, hop.sealed_at) == (1, LIST, "arc", "none", SEALED_AT)
    assert hop.seal_valid and hop.signature_valid


def test_two_hops_pass_and_the_first_hop_is_still_the_list(sealer_key, two_hops):
    result = check(two_hops, keys(sealer_key[1]))
    assert (result.result, result.sets) == ("pass", 2)
    assert result.first_hop_authserv_id == LIST
    assert result.first_hop_results["spf"] == "pass"  # the forwarder's own spf=fail is not the first hop's
    assert [(h.instance, h.seal_domain, h.cv) for h in result.chain] == [(1, LIST, "none"), (2, FORWARDER, "pass")]
    assert [a.name for a in result.lookups] == [f"arc._domainkey.{FORWARDER}", f"arc._domainkey.{LIST}"]


def test_change_after_the_newest_seal_fails_at_the_newest_instance(sealer_key, two_hops):
    result = check(two_hops + b"-- \r\nSent through the forwarder\r\n", keys(sealer_key[1]))
    assert (result.result, result.failed_instance) == ("fail", 2)
    assert "Most recent ARC-Message-Signature did not validate" in result.reason
    assert not result.trusted_first_hop_pass
    assert FORWARDER in result.fixes()[0]
    assert str(result.auth_result()).startswith('arc=fail reason="Most recent')


def test_change_between_hops_passes_with_a_later_oldest_pass(sealer_key, one_hop):
    footed = one_hop + b"-- \r\nteam mailing list\r\n"
    resealed = seal(footed, sealer_key[0], FORWARDER, "arc=pass")
    result = check(resealed, keys(sealer_key[1]))
    assert result.result == "pass"
    assert result.oldest_pass == 2
    assert [h.signature_valid for h in result.chain] == [False, True]
    assert "header.oldest-pass=2" in str(result.auth_result())


def test_tampered_first_seal_breaks_the_newest_seal_too(sealer_key, two_hops):
    # Each seal signs every earlier ARC set, so changing i=1 is caught first by the i=2 seal.
    tampered = two_hops.replace(b"ARC-Seal: i=1; cv=none", b"ARC-Seal: i=1; cv=pass", 1)
    assert tampered != two_hops
    result = check(tampered, keys(sealer_key[1]))
    assert (result.result, result.failed_instance) == ("fail", 2)
    assert "ARC-Seal[2] did not validate" in result.reason
    assert [h.seal_valid for h in result.chain] == [False, False]


def test_wrong_key_for_the_first_sealer_fails_at_instance_one(sealer_key, two_hops):
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    der = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    wrong = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    result = check(two_hops, keys(sealer_key[1], records={LIST: wrong}))
    assert (result.result, result.failed_instance) == ("fail", 1)
    assert "ARC-Seal[1] did not validate" in result.reason
    assert [h.seal_valid for h in result.chain] == [False, True]


def test_missing_sealer_key_fails_and_says_which_record_to_publish(sealer_key, two_hops):
    result = check(two_hops, keys(sealer_key[1], records={LIST: None}))
    assert (result.result, result.failed_instance) == ("fail", 1)
    assert f"the key lookup of arc._domainkey.{LIST} found no such name" in result.reason
    assert result.fixes() == [
        f'publish `arc._domainkey.{LIST} TXT "v=DKIM1; k=rsa; p=<the public key>"` '
        "with the public key of the ARC sealer that uses it"
    ]


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
def test_dns_failure_on_a_sealer_key_fails_the_chain(sealer_key, one_hop, fault):
    result = check(one_hop, keys(sealer_key[1], faults=[f"arc._domainkey.{LIST}={fault}"]))
    assert result.result == "fail"
    assert {"timeout": "timed out", "servfail": "SERVFAIL"}[fault] in result.reason
    assert result.lookups[0].outcome is Outcome(fault)
    assert "name servers" in result.fixes()[0]


def test_the_callers_resolver_log_is_untouched(sealer_key, one_hop):
    resolver = keys(sealer_key[1])
    check(one_hop, resolver)
    assert resolver.log == []


def test_explain_and_as_dict(sealer_key, two_hops):
    result = check(two_hops, keys(sealer_key[1]), now=SEALED_AT + 300)
    lines = result.explain()
    assert lines[0] == "the message carries 2 ARC sets"
    assert lines[1].startswith(f"i=1: sealed by {LIST} (s=arc) with cv=none at 2025-03-03")
    assert "5 minutes before this check" in lines[1]
    assert any(line.startswith(f"looked up TXT arc._domainkey.{LIST}") for line in lines)
    assert any(f"the first hop ({LIST}) recorded spf=pass, dkim=pass, dmarc=pass" in line for line in lines)
    data = json.loads(json.dumps(result.as_dict()))
    assert (data["result"], data["sets"], data["first_hop_results"]["dmarc"]) == ("pass", 2, "pass")
    assert data["chain"][1]["seal_domain"] == FORWARDER


def test_unparseable_first_hop_results_keep_the_text():
    from policies.arc.first_hop import read_first_hop

    hop = read_first_hop(b"i=1; mx.example.net; ;;; ===")
    assert (hop.authserv_id, hop.results) == ("mx.example.net", {})
    assert hop.value == "i=1; mx.example.net; ;;; ==="
    best = read_first_hop(b"i=1; mx.example.net; dkim=fail header.d=a.example; dkim=pass header.d=b.example")
    assert best.results == {"dkim": "pass"}


GARBAGE = [
    b"",
    b"garbage without headers",
    b"ARC-Seal: i=1; junk\r\n\r\n",
    b"ARC-Seal: i=abc; a=rsa-sha256\r\nFrom: x\r\n\r\n",
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=\xff\xfe; s=\x80; b=AAAA\r\n"
    b"ARC-Message-Signature: i=1; a=rsa-sha256; d=x; s=y; h=from; bh=AAAA; b=AAAA\r\n"
    b"ARC-Authentication-Results: i=1; \xff\r\nFrom: x\r\n\r\n",
    b" folded first line\r\nARC-Seal: i=1\r\n\r\n",
    b"ARC-Seal: i=1; a=rsa-sha256\r\nline without a colon\r\n\r\n",
    b"ARC-Seal: i=99999999999999999999; a=rsa-sha256; cv=none; d=x; s=y; b=AAAA\r\n\r\n",
]


@pytest.mark.parametrize("message", GARBAGE)
def test_garbage_never_raises(message):
    result = check(message, keys("v=DKIM1; p="))
    assert result.result in ("none", "fail")
    if result.result == "fail":
        assert result.reason
    json.dumps(result.as_dict())
    str(result.auth_result()), result.explain(), result.fixes()


def test_instance_numbers_above_fifty_fail_at_once():
    result = check(GARBAGE[-1], keys("unused"))
    assert (result.result, result.lookups) == ("fail", ())
    assert "at most 50 ARC sets" in result.reason


def test_unparseable_header_with_arc_fields_fails():
    result = check(GARBAGE[-2], keys("unused"))
    assert result.result == "fail" and "cannot be parsed" in result.reason
