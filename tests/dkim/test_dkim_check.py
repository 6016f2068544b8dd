"""check_dkim on messages signed here by dkimpy and then treated the way real relays
treat mail: footers, re-folded headers, list tags, broken DNS, odd key records."""

from __future__ import annotations

import re
import time

import authres
import pytest
from dkim_testkeys import check, resolver_for, sign

from fake_dns import Outcome, Resolver, Zone, Zones
from policies.dkim import DkimResult
from policies.result import CheckResult

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: Quarterly numbers are in\r\n"
    b"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
    b"Message-ID: <q1@example.com>\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"the numbers are attached.\r\n"
)
KEY_NAME = "mail._domainkey.example.com"


def only(results: tuple[DkimResult, ...]) -> DkimResult:
    assert len(results) == 1, results
    return results[0]


def replace_tag(message: bytes, tag: bytes, value: bytes) -> bytes:
    """Rewrite one tag of the (first) DKIM-Signature in place."""
    return re.sub(rb"(\b" + tag + rb"=)[^;]*", lambda m: m.group(1) + value, message, count=1)


# --- passing signatures ------------------------------------------------------------------


def test_rsa2048_signature_passes_with_every_field_filled(rsa2048):
    signed = sign(MESSAGE, rsa2048)
    result = only(check(signed, resolver_for({KEY_NAME: rsa2048.record()})))
    assert isinstance(result, CheckResult)
    assert (result.result, result.domain, result.selector) == ("pass", "example.com", "mail")
    assert result.identity == "@example.com"
    assert result.algorithm == "rsa-sha256"
    assert result.key_bits == 2048
    assert result.reason is None and result.problem is None
    assert result.verified and not result.testing
    assert result.key_name == KEY_NAME
    b_value = re.search(rb"\bb=([^;]+)", signed.split(b"\r\n\r\n")[0].split(b"bh=")[1]).group(1)
    assert result.header_b == re.sub(rb"\s+", b"", b_value)[:8].decode()
    assert [a.outcome for a in result.lookups] == [Outcome.ANSWER]
    assert result.fixes() == []


def test_ed25519_signature_passes(ed25519):
    result = only(check(sign(MESSAGE, ed25519), resolver_for({KEY_NAME: ed25519.record()})))
    assert (result.result, result.algorithm, result.key_bits) == ("pass", "ed25519-sha256", 256)


def test_rsa1024_key_is_the_accepted_minimum(rsa1024):
    result = only(check(sign(MESSAGE, rsa1024), resolver_for({KEY_NAME: rsa1024.record()})))
    assert (result.result, result.key_bits) == ("pass", 1024)


def test_key_behind_a_cname_passes_and_the_alias_is_shown(rsa2048):
    zone = Zone.empty(".")
    zone.add(KEY_NAME, "CNAME", "mail.dkim.esp.example.")
    zone.add("mail.dkim.esp.example", "TXT", rsa2048.record())
    result = only(check(sign(MESSAGE, rsa2048), Resolver(Zones([zone]))))
    assert result.result == "pass"
    assert result.lookups[0].cnames == ("mail.dkim.esp.example",)
    assert any("via CNAME mail.dkim.esp.example" in line for line in result.explain())


def test_key_split_over_several_character_strings_is_joined_without_separator(rsa2048):
    record = rsa2048.record()
    pieces = [record[:17], record[17:100], record[100:300], record[300:]]
    zone = Zone.from_text(f'{KEY_NAME}. 300 IN TXT ' + " ".join(f'"{p}"' for p in pieces) + "\n", origin=".")
    (rdata,) = Zones([zone]).lookup(KEY_NAME, "TXT").rdataset
    assert len(rdata.strings) == 4
    result = only(check(sign(MESSAGE, rsa2048), Resolver(Zones([zone]))))
    assert (result.result, result.key_bits) == ("pass", 2048)


def test_header_refolded_in_transit_passes_relaxed_and_fails_simple(rsa2048):
    resolver = resolver_for({KEY_NAME: rsa2048.record()})

    def refold(message: bytes) -> bytes:
        return message.replace(b"Subject: Quarterly numbers are in", b"Subject: Quarterly numbers\r\n\t are   in")

    relaxed = refold(sign(MESSAGE, rsa2048, canonicalize=(b"relaxed", b"relaxed")))
    simple = refold(sign(MESSAGE, rsa2048, canonicalize=(b"simple", b"simple")))
    assert only(check(relaxed, resolver)).result == "pass"
    failed = only(check(simple, resolver))
    assert (failed.result, failed.problem) == ("fail", "signature_mismatch")
    assert failed.canonicalization == "simple/simple"


def test_key_in_testing_mode_is_judged_and_noted(rsa2048):
    result = only(check(sign(MESSAGE, rsa2048), resolver_for({KEY_NAME: rsa2048.record("t=y; ")})))
    assert result.result == "pass" and result.testing
    assert any("t=y" in note for note in result.notes)
    assert any("t=y" in line for line in result.explain())


def test_stray_txt_record_next_to_the_key_does_not_hide_it(rsa2048):
    resolver = resolver_for({KEY_NAME: ["v=spf1 -all", rsa2048.record()]})
    result = only(check(sign(MESSAGE, rsa2048), resolver))
    assert result.result == "pass"
    assert any("2 TXT records" in note for note in result.notes)


# --- what relays do to signed mail ---------------------------------------------------------


def test_footer_added_by_a_list_is_a_body_hash_mismatch(rsa2048):
    signed = sign(MESSAGE, rsa2048) + b"-- \r\nYou are subscribed to team@lists.example.net\r\n"
    result = only(check(signed, resolver_for({KEY_NAME: rsa2048.record()})))
    assert (result.result, result.problem) == ("fail", "body_hash_mismatch")
    assert "body hash mismatch" in result.reason
    assert any("footer" in line for line in result.explain())
    (fix,) = result.fixes()
    assert "sending side" in fix and "footer" in fix


def test_subject_tag_added_by_a_list_is_a_signature_mismatch(rsa2048):
    signed = sign(MESSAGE, rsa2048).replace(b"Subject: Quarterly", b"Subject: [team] Quarterly")
    result = only(check(signed, resolver_for({KEY_NAME: rsa2048.record()})))
    assert (result.result, result.problem, result.verified) == ("fail", "signature_mismatch", False)
    assert "signature mismatch" in result.reason
    assert "Subject" in result.fixes()[0]


def test_key_of_another_pair_is_a_signature_mismatch(rsa2048, rsa1024):
    result = only(check(sign(MESSAGE, rsa2048), resolver_for({KEY_NAME: rsa1024.record()})))
    assert (result.result, result.problem) == ("fail", "signature_mismatch")


def test_several_signatures_are_each_judged_on_their_own(rsa2048, ed25519, rsa512):
    signed = sign(MESSAGE, rsa512, selector="old")
    signed = sign(signed, ed25519, selector="ed")
    signed = sign(signed, rsa2048, selector="missing")
    signed = sign(signed, rsa2048, domain="esp.example", selector="s1")
    resolver = resolver_for({
        "old._domainkey.example.com": rsa512.record(),
        "ed._domainkey.example.com": ed25519.record(),
        "s1._domainkey.esp.example": rsa2048.record(),
    })
    results = check(signed, resolver)
    assert [(r.domain, r.selector, r.result) for r in results] == [
        ("esp.example", "s1", "pass"),
        ("example.com", "missing", "permerror"),
        ("example.com", "ed", "pass"),
        ("example.com", "old", "policy"),
    ]
    assert [r.problem for r in results] == [None, "no_key", None, "short_key"]


def test_signatures_sharing_a_selector_share_one_lookup_and_leave_the_callers_log_alone(rsa2048):
    signed = sign(sign(MESSAGE, rsa2048), rsa2048, canonicalize=(b"simple", b"simple"))
    resolver = resolver_for({KEY_NAME: rsa2048.record()})
    results = check(signed, resolver)
    assert [r.result for r in results] == ["pass", "pass"]
    assert results[0].lookups[0] is results[1].lookups[0]
    assert resolver.log == []


# --- keys and DNS ------------------------------------------------------------------------------


def test_missing_key_record_is_a_permerror_with_the_record_to_publish(rsa2048):
    result = only(check(sign(MESSAGE, rsa2048), resolver_for({})))
    assert (result.result, result.problem) == ("permerror", "no_key")
    assert result.reason == f"no key record at {KEY_NAME} (the name does not exist)"
    assert result.lookups[0].outcome is Outcome.NXDOMAIN
    (fix,) = result.fixes()
    assert fix.startswith(f'publish `{KEY_NAME} TXT "v=DKIM1; k=rsa; p=<the public key>"`')


def test_key_name_without_txt_is_nodata_and_also_no_key(rsa2048, ed25519):
    zone = Zone.empty(".")
    zone.add(KEY_NAME, "A", "192.0.2.1")
    result = only(check(sign(MESSAGE, ed25519), Resolver(Zones([zone]))))
    assert (result.result, result.problem) == ("permerror", "no_key")
    assert "has no TXT record" in result.reason
    assert 'k=ed25519; p=<the public key>' in result.fixes()[0]


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
def test_dns_failure_on_the_key_is_a_temperror(rsa2048, fault):
    resolver = resolver_for({KEY_NAME: rsa2048.record()}, faults=[f"{KEY_NAME}/TXT={fault}"])
    result = only(check(sign(MESSAGE, rsa2048), resolver))
    assert (result.result, result.problem, result.key_bits) == ("temperror", "dns_error", None)
    assert {"timeout": "timed out", "servfail": "SERVFAIL"}[fault] in result.reason
    assert result.lookups[0].outcome is Outcome(fault)
    assert KEY_NAME in result.fixes()[0]


def test_revoked_key_is_a_permerror(rsa2048):
    result = only(check(sign(MESSAGE, rsa2048), resolver_for({KEY_NAME: "v=DKIM1; k=rsa; p="})))
    assert (result.result, result.problem) == ("permerror", "key_revoked")
    assert "revoked" in result.reason and "revoked" in result.fixes()[0]


def test_512_bit_key_is_policy_unless_the_minimum_is_lowered(rsa512):
    signed, resolver = sign(MESSAGE, rsa512), resolver_for({KEY_NAME: rsa512.record()})
    refused = only(check(signed, resolver))
    assert (refused.result, refused.problem, refused.key_bits, refused.verified) == ("policy", "short_key", 512, True)
    assert "RFC 8301" in refused.reason
    assert "publish a 2048-bit key" in refused.fixes()[0]
    assert only(check(signed, resolver, min_key_bits=512)).result == "pass"


def test_rsa_sha1_is_policy_but_a_tampered_one_still_fails(rsa2048):
    signed, resolver = sign(MESSAGE, rsa2048, algorithm=b"rsa-sha1"), resolver_for({KEY_NAME: rsa2048.record()})
    result = only(check(signed, resolver))
    assert (result.result, result.problem, result.algorithm, result.verified) == ("policy", "rsa_sha1", "rsa-sha1", True)
    assert "rsa-sha256" in result.fixes()[0]
    tampered = only(check(signed.replace(b"numbers are attached", b"numbers are ATTACHED"), resolver))
    assert (tampered.result, tampered.problem) == ("fail", "body_hash_mismatch")


@pytest.mark.parametrize(
    ("record", "problem", "words"),
    [
        ("v=DKIM2; k=rsa; p={p}", "key_version", "v=DKIM2"),
        ("v=DKIM1; k=dsa; p={p}", "key_type_unknown", "k=dsa"),
        ("v=DKIM1; k=ed25519; p={p}", "key_type_mismatch", "needs k=rsa"),
        ("v=DKIM1; k=rsa; p={p}; p={p}", "key_syntax", "tag=value"),
        ("v=DKIM1; k=rsa", "key_syntax", "no p="),
        ("v=DKIM1; k=rsa; p=AAAAAAAAAAAAAAAAAAAAAAAA", "key_invalid", "valid RSA public key"),
        ("v=DKIM1; h=sha1; p={p}", "key_hash_not_allowed", "h=sha1"),
        ("v=DKIM1; s=tlsrpt; p={p}", "key_service", "not for email"),
    ],
)
def test_key_record_errors_are_permerrors_with_reasons(rsa2048, record, problem, words):
    resolver = resolver_for({KEY_NAME: record.format(p=rsa2048.public)})
    result = only(check(sign(MESSAGE, rsa2048), resolver))
    assert (result.result, result.problem) == ("permerror", problem)
    assert words in result.reason
    assert result.fixes(), "every key problem has a fix"


def test_key_with_email_among_several_services_and_unknown_tags_passes(rsa2048):
    record = rsa2048.record("s=web:email; h=sha1:sha256; g=*; n=a note; ")
    assert only(check(sign(MESSAGE, rsa2048), resolver_for({KEY_NAME: record}))).result == "pass"


def test_strict_key_refuses_an_identity_in_a_subdomain(rsa2048):
    signed = sign(MESSAGE, rsa2048).replace(b"i=@example.com", b"i=@news.example.com", 1)
    result = only(check(signed, resolver_for({KEY_NAME: rsa2048.record("t=s; ")})))
    assert (result.result, result.problem) == ("permerror", "key_strict_identity")


# --- signature tags ---------------------------------------------------------------------


def test_body_length_covering_the_whole_body_passes_and_a_footer_after_it_is_policy(rsa2048):
    signed, resolver = sign(MESSAGE, rsa2048, length=True), resolver_for({KEY_NAME: rsa2048.record()})
    whole = only(check(signed, resolver))
    assert whole.result == "pass" and whole.body_length is not None
    assert any("l=" in note for note in whole.notes)
    footed = only(check(signed + b"-- \r\nunsubscribe: https://lists.example.net/u\r\n", resolver))
    assert (footed.result, footed.problem, footed.verified) == ("policy", "partial_body", True)
    assert "RFC 6376 8.2" in footed.reason


def test_expired_signature_is_judged_against_the_given_clock(rsa2048):
    # dkimpy cannot sign with x=, so the expiry is added by hand: the tags are
    # judged before any cryptography, so the altered signature is never verified.
    signed = replace_tag(sign(MESSAGE, rsa2048), b"t", b"1700000000; x=1700003600")
    resolver = resolver_for({KEY_NAME: rsa2048.record()})
    expired = only(check(signed, resolver, now=1700003601))
    assert (expired.result, expired.problem) == ("permerror", "expired")
    assert "x=1700003600" in expired.reason and expired.lookups == ()
    in_time = only(check(signed, resolver, now=1700003599))
    assert in_time.problem != "expired"
    assert only(check(signed, resolver)).problem == "expired"  # the real clock is long past 2023


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda m: replace_tag(m, b"a", b"rsa-sha512"), "unknown_algorithm"),
        (lambda m: replace_tag(m, b"v", b"2"), "bad_version"),
        (lambda m: m.replace(b"v=1;", b"v=1; junk;", 1), "malformed_tags"),
        (lambda m: m.replace(b"v=1;", b"v=1; d=example.org;", 1), "malformed_tags"),
        (lambda m: re.sub(rb" bh=[^;]+;", b"", m, count=1), "missing_tags"),
        (lambda m: replace_tag(m, b"b", b"!!not*base64!!"), "bad_base64"),
        (lambda m: replace_tag(m, b"bh", b"AAA"), "bad_base64"),
        (lambda m: replace_tag(m, b"h", b"to : subject"), "from_not_signed"),
        (lambda m: replace_tag(m, b"c", b"relaxed/fancy"), "bad_canonicalization"),
        (lambda m: replace_tag(m, b"i", b"alice@example.org"), "identity_outside_domain"),
        (lambda m: replace_tag(m, b"q", b"https/well-known"), "unsupported_query_method"),
        (lambda m: replace_tag(m, b"t", b"yesterday"), "bad_tag_value"),
        (lambda m: replace_tag(m, b"d", b"exa mple..com"), "bad_domain"),
    ],
)
def test_unusable_signatures_are_neutral_and_fetch_no_key(rsa2048, edit, problem):
    result = only(check(edit(sign(MESSAGE, rsa2048)), resolver_for({KEY_NAME: rsa2048.record()})))
    assert (result.result, result.problem) == ("neutral", problem)
    assert result.reason and result.lookups == ()
    assert result.as_dict()["result"] == "neutral"


def test_identity_in_quoted_printable_is_decoded(rsa2048):
    signed = sign(MESSAGE, rsa2048).replace(b"i=@example.com", b"i=alice=40news.example.com", 1)
    result = only(check(signed, resolver_for({KEY_NAME: rsa2048.record()})))
    assert result.identity == "alice@news.example.com"


# --- output ------------------------------------------------------------------------------


def test_auth_result_clause_names_domain_selector_identity_and_b(rsa2048):
    result = only(check(sign(MESSAGE, rsa2048), resolver_for({KEY_NAME: rsa2048.record()})))
    clause = result.auth_result()
    assert isinstance(clause, authres.DKIMAuthenticationResult)
    text = str(clause)
    assert text.startswith("dkim=pass ")
    for part in ("header.d=example.com", "header.i=@example.com", "header.s=mail", "header.a=rsa-sha256"):
        assert part in text
    header = authres.AuthenticationResultsHeader(authserv_id="mx.sandbox.test", results=[clause])
    (parsed,) = authres.AuthenticationResultsHeader.parse(str(header)).results
    properties = {(p.type, p.name): p.value for p in parsed.properties}
    assert parsed.result == "pass"
    assert properties[("header", "b")] == result.header_b and len(result.header_b) == 8


def test_failure_clause_carries_the_reason(rsa2048):
    result = only(check(sign(MESSAGE, rsa2048), resolver_for({})))
    assert f'reason="no key record at {KEY_NAME}' in str(result.auth_result())


def test_as_dict_and_explain_tell_the_whole_story(rsa2048):
    result = only(check(sign(MESSAGE, rsa2048) + b"footer\r\n", resolver_for({KEY_NAME: rsa2048.record()})))
    data = result.as_dict()
    for key in ("result", "domain", "selector", "algorithm", "reason", "key_bits", "lookups", "explain", "fixes"):
        assert key in data
    assert data["lookups"] == [f'TXT {KEY_NAME} -> "{rsa2048.record()[:255]}" "{rsa2048.record()[255:]}"']
    explain = result.explain()
    assert explain[0].startswith("DKIM-Signature d=example.com s=mail (rsa-sha256, c=relaxed/simple")
    assert explain[1].startswith(f"looked up TXT {KEY_NAME}")
    assert "the key is a 2048-bit RSA key" in explain


# --- never an exception -------------------------------------------------------------------

GARBAGE = [
    b"",
    b"\x00\x01\x02 not a message",
    b"DKIM-Signature: v=1; a=rsa-sha256; d=exa",
    b"DKIM-Signature:",
    b"DKIM-Signature: v=1; a=rsa-sha256; b=\xff\xfe; bh=\x80; d=\xc3\xa9.example; s=\xff; h=from\r\nFrom: x\r\n\r\n",
    b"DKIM-Signature: ;;;===;;;\r\n\r\n",
    b" folded first line\r\nDKIM-Signature: v=1; d=example.com; s=mail\r\n\r\nbody",
    b"From: a\r\nno colon on this line\r\nDKIM-Signature: v=1; d=example.com; s=mail\r\n\r\nbody",
    b"DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=mail; h=from; bh=AAAA; b=AAAA\r\nFrom: x\r\n\r\n",
]


@pytest.mark.parametrize("message", GARBAGE)
def test_garbage_never_raises(rsa2048, message):
    results = check(message, resolver_for({KEY_NAME: rsa2048.record()}))
    for result in results:
        assert result.result in ("neutral", "permerror", "fail")
        assert result.reason
        result.as_dict(), str(result.auth_result()), result.explain(), result.fixes()


def test_unparseable_header_gives_each_signature_a_permerror():
    results = check(GARBAGE[-2], resolver_for({}))
    assert [(r.result, r.problem, r.domain) for r in results] == [("permerror", "message_format", "example.com")]
    assert "no colon on this line" in results[0].reason


def test_unsigned_message_gives_no_results():
    assert check(MESSAGE, resolver_for({})) == ()


def test_ten_megabyte_body_is_verified_in_reasonable_time(rsa2048):
    big = MESSAGE + b"0123456789 abcdefghij\r\n" * 450_000
    signed = sign(big, rsa2048, canonicalize=(b"relaxed", b"relaxed"))
    resolver = resolver_for({KEY_NAME: rsa2048.record()})
    start = time.monotonic()
    assert only(check(signed, resolver)).result == "pass"
    assert only(check(signed + b"x\r\n", resolver)).problem == "body_hash_mismatch"
    assert time.monotonic() - start < 20
