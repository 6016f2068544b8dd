"""SpfResult: the identities check_spf() picks, the headers, the explanation, the fixes."""

from __future__ import annotations

import asyncio

from fake_dns import Outcome, Resolver, Zone, Zones
from policies.result import CheckResult
from policies.spf import SpfResult, check_spf

ZONE = """\
$ORIGIN example.com.
@        TXT  "v=spf1 ip4:192.0.2.0/28 include:_spf.example.net -all"
@        TXT  "google-site-verification=abc"
mail     A    192.0.2.10
mail     TXT  "v=spf1 a -all"
two      TXT  "v=spf1 -all"
two      TXT  "v=spf1 +all"
many     TXT  ( "v=spf1 include:a.example.com include:a.example.com include:a.example.com "
                "include:a.example.com include:a.example.com include:a.example.com ~all" )
a        TXT  "v=spf1 a mx ?all"
a        A    198.51.100.1
a        MX   10 mail.example.com.
redir    TXT  "v=spf1 redirect=example.com"
"""
NET = """\
$ORIGIN example.net.
_spf     TXT  "v=spf1 ip6:2001:db8::/32 ~all"
"""


def _check(ip: str, mail_from: str, helo: str = "mail.example.com", faults: list[str] | None = None) -> SpfResult:
    from fake_dns import Faults

    zones = Zones([Zone.from_text(ZONE), Zone.from_text(NET)])
    return asyncio.run(check_spf(Resolver(zones, Faults(faults or [])), ip, mail_from, helo))


def test_mail_from_identity_pass_with_headers() -> None:
    result = _check("192.0.2.3", "user@example.com")
    assert isinstance(result, CheckResult)
    assert (result.result, result.identity, result.domain, result.sender) == ("pass", "mailfrom", "example.com",
                                                                              "user@example.com")
    assert result.mechanism == "ip4:192.0.2.0/28"
    assert result.record == "v=spf1 ip4:192.0.2.0/28 include:_spf.example.net -all"
    assert str(result.auth_result()) == "spf=pass smtp.mailfrom=user@example.com"
    assert result.received_spf() == (
        "pass (sandbox.invalid: domain of user@example.com designates 192.0.2.3 as permitted sender) "
        'client-ip=192.0.2.3; envelope-from="user@example.com"; helo=mail.example.com; '
        'receiver=sandbox.invalid; identity=mailfrom; mechanism="ip4:192.0.2.0/28";'
    )
    assert result.fixes() == []


def test_null_sender_checks_the_helo_identity() -> None:
    result = _check("192.0.2.10", "", helo="mail.example.com")
    assert (result.result, result.identity, result.domain) == ("pass", "helo", "mail.example.com")
    assert result.sender == "postmaster@mail.example.com"
    assert str(result.auth_result()) == "spf=pass smtp.helo=mail.example.com"
    assert "identity=helo" in result.received_spf()


def test_sender_without_local_part_is_postmaster() -> None:
    result = _check("203.0.113.9", "@example.com")
    assert result.sender == "postmaster@example.com"
    assert result.result == "fail"


def test_ipv4_mapped_ipv6_client_is_an_ipv4_client() -> None:
    result = _check("::ffff:192.0.2.3", "user@example.com")
    assert (result.result, result.client_ip) == ("pass", "192.0.2.3")


def test_ipv6_client_through_include_and_quoted_client_ip() -> None:
    result = _check("2001:db8::25", "user@example.com")
    assert (result.result, result.mechanism) == ("pass", "include:_spf.example.net")
    assert 'client-ip="2001:db8::25"' in result.received_spf()


def test_fail_lists_each_lookup_in_order_and_the_fix() -> None:
    result = _check("203.0.113.9", "user@example.com")
    assert result.result == "fail"
    assert result.mechanism == "-all"
    assert result.all_qualifier == "-"
    assert [(a.rdtype, a.name) for a in result.lookups] == [("TXT", "example.com"), ("TXT", "_spf.example.net")]
    assert result.dns_terms == 1
    assert result.explanation is None
    explained = "\n".join(result.explain())
    assert explained.index("DNS TXT example.com") < explained.index("DNS TXT _spf.example.net")
    assert "`-all` matched" in explained
    assert "Result: fail" in explained
    assert result.fixes() == ["add `ip4:203.0.113.9` to the SPF record of example.com"]


def test_ipv6_fix_uses_ip6() -> None:
    result = _check("2001:db9::1", "user@example.com")
    assert result.result == "fail"
    assert result.fixes() == ["add `ip6:2001:db9::1` to the SPF record of example.com"]


def test_redirect_names_the_deciding_record() -> None:
    result = _check("203.0.113.9", "user@redir.example.com")
    assert (result.result, result.domain, result.policy_domain) == ("fail", "redir.example.com", "example.com")
    assert result.record == "v=spf1 redirect=example.com"
    assert result.fixes() == [
        "add `ip4:203.0.113.9` to the SPF record of example.com (the record redir.example.com redirects to)"
    ]


def test_default_explanation_on_fail_only() -> None:
    zones = Zones([Zone.from_text(ZONE), Zone.from_text(NET)])
    failed = asyncio.run(check_spf(Resolver(zones), "203.0.113.9", "u@example.com", "h.example.com",
                                   default_explanation="see https://example.com/spf"))
    passed = asyncio.run(check_spf(Resolver(zones), "192.0.2.3", "u@example.com", "h.example.com",
                                   default_explanation="see https://example.com/spf"))
    assert failed.explanation == "see https://example.com/spf"
    assert passed.explanation is None


def test_no_record_proposes_one() -> None:
    result = _check("192.0.2.77", "user@nothing.example.com")
    assert result.result == "none"
    assert result.reason == "nothing.example.com does not exist (NXDOMAIN)"
    assert result.fixes() == ['publish `nothing.example.com TXT "v=spf1 ip4:192.0.2.77 -all"`']


def test_two_records_are_a_permerror() -> None:
    result = _check("192.0.2.77", "user@two.example.com")
    assert result.result == "permerror"
    assert result.reason == "two SPF records at two.example.com"
    assert "problem=\"two SPF records at two.example.com\"" in result.received_spf()
    assert "merge the SPF records at two.example.com" in result.fixes()[0]


def test_too_many_lookups_is_a_permerror_with_a_flattening_fix() -> None:
    result = _check("192.0.2.77", "user@many.example.com")
    assert result.result == "permerror"
    assert result.reason == "11 DNS-querying terms (limit 10)"
    assert result.dns_terms == 11
    assert "flatten includes" in result.fixes()[0]


def test_timeout_is_a_temperror_naming_the_name() -> None:
    result = _check("192.0.2.3", "user@example.com", faults=["_spf.example.net/TXT=timeout"])
    # ip4 matches first: the include is never evaluated, so the timeout does not matter.
    assert result.result == "pass"
    result = _check("203.0.113.9", "user@example.com", faults=["_spf.example.net/TXT=timeout"])
    assert result.result == "temperror"
    assert result.reason == "DNS timeout for TXT _spf.example.net"
    assert result.lookups[-1].outcome is Outcome.TIMEOUT
    assert "_spf.example.net" in result.fixes()[0]


def test_servfail_is_a_temperror() -> None:
    result = _check("203.0.113.9", "user@example.com", faults=["example.com=servfail"])
    assert (result.result, result.reason) == ("temperror", "DNS SERVFAIL for TXT example.com")


def test_the_lookup_log_is_the_checks_own() -> None:
    zones = Zones([Zone.from_text(ZONE), Zone.from_text(NET)])
    resolver = Resolver(zones)
    first = asyncio.run(check_spf(resolver, "203.0.113.9", "user@example.com", "h.example.com"))
    second = asyncio.run(check_spf(resolver, "192.0.2.3", "user@example.com", "h.example.com"))
    assert resolver.log == []
    assert len(first.lookups) == 2 and len(second.lookups) == 1


def test_bad_input_never_raises() -> None:
    assert _check("not-an-ip", "user@example.com").result == "permerror"
    literal = _check("192.0.2.3", "", helo="[192.0.2.3]")
    assert (literal.result, literal.identity) == ("none", "helo")
    assert "address literal" in (literal.reason or "")
    assert _check("192.0.2.3", "no-at-sign").result == "none"


def test_as_dict_is_json_ready() -> None:
    import json

    result = _check("203.0.113.9", "user@example.com")
    data = json.loads(json.dumps(result.as_dict()))
    assert data["result"] == "fail"
    assert data["explanation"] is None
    assert [lookup["summary"] for lookup in data["lookups"]] == [a.describe() for a in result.lookups]
    assert data["fixes"] == result.fixes()


def test_only_txt_is_queried_never_type_spf() -> None:
    zone = Zone.empty("example.org")
    zone.add("@", "SPF", "v=spf1 +all")  # RFC 7208 3.1: type SPF (99) is no longer used
    result = asyncio.run(check_spf(Resolver(Zones([zone])), "192.0.2.1", "u@example.org", "h.example.org"))
    assert result.result == "none"
    assert [(a.rdtype, a.name) for a in result.lookups] == [("TXT", "example.org")]


def test_an_spf_record_changed_by_a_zone_reload_is_evaluated_anew() -> None:
    zones = Zones([Zone.from_text(ZONE), Zone.from_text(NET)])
    resolver = Resolver(zones)
    first = asyncio.run(check_spf(resolver, "192.0.2.3", "user@example.com", "mail.example.com"))
    assert (first.result, first.mechanism) == ("pass", "ip4:192.0.2.0/28")
    zones.replace(Zones([Zone.from_text(ZONE.replace("ip4:192.0.2.0/28", "ip4:198.51.100.0/24")),
                         Zone.from_text(NET)]))
    again = asyncio.run(check_spf(resolver, "192.0.2.3", "user@example.com", "mail.example.com"))
    assert again.record == "v=spf1 ip4:198.51.100.0/24 include:_spf.example.net -all"
    assert (again.result, again.mechanism) == ("fail", "-all")
    assert "`ip4:198.51.100.0/24`: 192.0.2.3 is not in 198.51.100.0/24" in again.steps


def test_repeated_checks_give_equal_results_with_their_own_lookups() -> None:
    resolver = Resolver(Zones([Zone.from_text(ZONE), Zone.from_text(NET)]))
    results = [asyncio.run(check_spf(resolver, "2001:db8::1", "user@example.com", "mail.example.com"))
               for _ in range(2)]
    assert results[0] == results[1] and results[0].as_dict() == results[1].as_dict()
    assert [a.describe() for a in results[1].lookups] == [
        'TXT example.com -> "v=spf1 ip4:192.0.2.0/28 include:_spf.example.net -all"; "google-site-verification=abc"',
        'TXT _spf.example.net -> "v=spf1 ip6:2001:db8::/32 ~all"',
    ]
    assert resolver.log == []
