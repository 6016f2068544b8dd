"""DmarcResult as the rest of the sandbox sees it: the Authentication-Results clause,
the explanation, the fixes, the JSON form, and odd From domains."""

from __future__ import annotations

import asyncio
import json

from dmarc_helpers import Dkim, Spf, dmarc, resolver
from policies.dmarc import check_dmarc
from policies.result import CheckResult

ZONE = '_dmarc.example.com. TXT "v=DMARC1; p=reject; rua=mailto:agg@example.com"\nexample.com. A 192.0.2.1\n'


def test_fail_renders_policy_and_disposition() -> None:
    result = dmarc(ZONE, "example.com", Spf("pass", "esp.example"), [Dkim("pass", "esp.example")])
    assert isinstance(result, CheckResult)
    assert str(result.auth_result()) == "dmarc=fail (p=reject dis=reject) header.from=example.com"


def test_pass_and_none_render() -> None:
    passed = dmarc(ZONE, "example.com", Spf("pass", "example.com"))
    assert str(passed.auth_result()) == "dmarc=pass (p=reject dis=none) header.from=example.com"
    none = dmarc(ZONE, "example.org", Spf("pass", "example.org"))
    assert str(none.auth_result()) == "dmarc=none header.from=example.org"


def test_explain_walks_through_lookups_policy_alignment_and_verdict() -> None:
    result = dmarc(ZONE, "news.example.com", Spf("pass", "esp.example"), [Dkim("pass", "other.com")])
    lines = result.explain()
    assert lines[0] == "DMARC (RFC 9989, DNS Tree Walk) for the From domain news.example.com"
    assert "looked up TXT _dmarc.news.example.com -> NXDOMAIN" in lines
    assert 'looked up TXT _dmarc.example.com -> "v=DMARC1; p=reject; rua=mailto:agg@example.com"' in lines
    assert ("DNS Tree Walk from news.example.com: example.com is the name with the fewest labels that has a DMARC "
            "record") in lines
    assert ("policy p=reject: news.example.com is a subdomain of example.com; the record has no sp=, so p= "
            "applies") in lines
    assert "SPF passed for esp.example, which is not aligned with news.example.com: they share no " \
           "Organizational Domain" in lines
    assert lines[-2].startswith("dmarc=fail: nothing aligned with news.example.com passed")
    assert lines[-1] == "disposition: reject"


def test_fixes_for_a_fail_say_how_to_align() -> None:
    result = dmarc(ZONE, "news.example.com", Spf("pass", "esp.example"), [])
    assert result.fixes() == [
        "align SPF: send with a MAIL FROM (Return-Path) address under example.com (e.g. bounce@news.example.com), "
        "and list your sending IP in that domain's SPF record",
        "or sign with DKIM d=example.com (or a subdomain of it), publishing the key at "
        "<selector>._domainkey.example.com",
    ]


def test_fixes_for_strict_alignment_name_the_exact_domain() -> None:
    zone = '_dmarc.example.com. TXT "v=DMARC1; p=reject; adkim=s; aspf=s"\n'
    fixes = dmarc(zone, "example.com", Spf("pass", "bounce.example.com"), []).fixes()
    assert fixes[0].startswith("align SPF: send with a MAIL FROM (Return-Path) address @example.com exactly (aspf=s)")
    assert fixes[1].startswith("or sign with DKIM d=example.com exactly (adkim=s)")


def test_fixes_for_no_record_publish_one() -> None:
    result = dmarc("", "example.org", Spf("pass", "example.org"))
    assert result.fixes()[0].startswith(
        'publish `_dmarc.example.org TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org"`')
    subdomain = dmarc("", "mail.example.org", None, mode="rfc7489")
    assert subdomain.fixes()[0].startswith('publish `_dmarc.example.org TXT "v=DMARC1; p=none;')


def test_fixes_for_broken_records_correct_them_instead_of_publishing_another() -> None:
    zone = '_dmarc.example.org. TXT "v=DMARC1; p=reject"\n_dmarc.example.org. TXT "v=DMARC1; p=none"\n'
    result = dmarc(zone, "example.org", Spf("pass", "example.org"), mode="rfc7489")
    assert result.result == "none"
    assert result.fixes() == ["correct the DMARC record: _dmarc.example.org has 2 DMARC records; all of them are "
                              "ignored"]


def test_a_pass_needs_no_fix() -> None:
    assert dmarc(ZONE, "example.com", Spf("pass", "example.com")).fixes() == []


def test_as_dict_is_json_and_carries_the_core_fields() -> None:
    result = dmarc(ZONE, "example.com", Spf("pass", "example.com"), [Dkim("fail", "example.com")], mode="rfc7489")
    data = json.loads(json.dumps(result.as_dict()))
    assert {k: data[k] for k in ("result", "domain", "policy", "disposition", "mode")} == {
        "result": "pass", "domain": "example.com", "policy": "reject", "disposition": "none", "mode": "rfc7489"}
    assert data["spf_aligned"] is True and data["dkim_aligned"] is False
    assert data["authentication_results"] == "dmarc=pass (p=reject dis=none) header.from=example.com"
    assert data["walk"] == ['_dmarc.example.com: "v=DMARC1; p=reject; rua=mailto:agg@example.com"']


def test_no_from_domain_is_none() -> None:
    result = dmarc(ZONE, None, Spf("pass", "example.com"))
    assert (result.result, result.domain, result.lookups) == ("none", None, ())
    assert "no single RFC5322.From domain" in result.reason
    assert str(result.auth_result()) == "dmarc=none"


def test_invalid_from_domain_is_permerror() -> None:
    for bad in ("exa mple.com", "a..b.com", "x" * 64 + ".com", "user@example.com", ""):
        result = dmarc(ZONE, bad, Spf("pass", "example.com"))
        assert result.result == "permerror", bad
        assert result.lookups == ()
    assert dmarc(ZONE, "a..b.com", None).fixes() == ["send with a From: address whose domain is a valid domain name"]


def test_unicode_from_domain_is_looked_up_as_a_labels() -> None:
    zone = '_dmarc.xn--bcher-kva.example. TXT "v=DMARC1; p=quarantine"\n'
    result = dmarc(zone, "bücher.example", Spf("pass", "xn--bcher-kva.example"))
    assert (result.result, result.domain, result.policy) == ("pass", "xn--bcher-kva.example", "quarantine")


def test_the_lookups_are_this_checks_own() -> None:
    shared = resolver(ZONE)
    result = asyncio.run(check_dmarc(shared, "example.com", Spf("pass", "example.com"), []))
    assert [a.name for a in result.lookups] == ["_dmarc.example.com"]
    assert shared.log == []  # the check forked the resolver
