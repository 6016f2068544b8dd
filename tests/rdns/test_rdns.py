"""Forward-confirmed reverse DNS through a real zone and the real resolver."""

from __future__ import annotations

import asyncio
import json

import pytest

from fake_dns import Faults, Resolver, Zone, Zones
from policies.rdns import MAX_NAMES, RdnsResult, check_rdns
from policies.result import CheckResult

V6_REVERSE = "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"

ZONE = f"""
$ORIGIN .
10.2.0.192.in-addr.arpa.   PTR   mail.example.com.
11.2.0.192.in-addr.arpa.   PTR   wrong.example.com.
12.2.0.192.in-addr.arpa.   PTR   nowhere.example.com.
13.2.0.192.in-addr.arpa.   PTR   other.example.com.
13.2.0.192.in-addr.arpa.   PTR   mail2.example.com.
14.2.0.192.in-addr.arpa.   TXT   "no PTR here"
20.2.0.192.in-addr.arpa.   CNAME 20.16/28.2.0.192.in-addr.arpa.
20.16/28.2.0.192.in-addr.arpa. PTR delegated.example.com.
{V6_REVERSE}. PTR mail6.example.com.
b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mail.example.com.
mail.example.com.          A     192.0.2.10
mail2.example.com.         A     192.0.2.13
wrong.example.com.         A     192.0.2.99
other.example.com.         A     198.51.100.1
delegated.example.com.     A     192.0.2.20
mail6.example.com.         AAAA  2001:db8::a
"""


def rdns(ip: str, faults: list[str] | None = None) -> RdnsResult:
    resolver = Resolver(Zones([Zone.from_text(ZONE)]), Faults(faults or []))
    return asyncio.run(check_rdns(resolver, ip))


def test_ipv4_pass() -> None:
    result = rdns("192.0.2.10")
    assert isinstance(result, CheckResult)
    assert (result.result, result.ptr, result.confirmed_name, result.ip) == (
        "pass", ("mail.example.com",), "mail.example.com", "192.0.2.10")
    assert result.reverse_name == "10.2.0.192.in-addr.arpa"
    assert str(result.auth_result()) == "iprev=pass policy.iprev=192.0.2.10 (mail.example.com)"
    assert [f"{a.rdtype} {a.name}" for a in result.lookups] == ["PTR 10.2.0.192.in-addr.arpa", "A mail.example.com"]
    assert result.fixes() == []


def test_ipv6_uses_the_34_label_ip6_arpa_name_and_aaaa() -> None:
    result = rdns("2001:db8::a")
    assert len(result.reverse_name.split(".")) == 34
    assert result.reverse_name == V6_REVERSE
    assert (result.result, result.confirmed_name) == ("pass", "mail6.example.com")
    assert [a.rdtype for a in result.lookups] == ["PTR", "AAAA"]
    assert str(result.auth_result()) == 'iprev=pass policy.iprev="2001:db8::a" (mail6.example.com)'


def test_ipv6_ptr_name_with_only_an_a_record_fails() -> None:
    result = rdns("2001:db8::b")
    assert (result.result, result.ptr) == ("fail", ("mail.example.com",))
    assert result.fixes() == ["publish `mail.example.com AAAA 2001:db8::b`, or change the PTR of 2001:db8::b to a "
                              "name that already resolves to it"]


def test_ipv4_mapped_ipv6_is_judged_as_ipv4() -> None:
    result = rdns("::ffff:192.0.2.10")
    assert (result.result, result.ip, result.reverse_name) == ("pass", "192.0.2.10", "10.2.0.192.in-addr.arpa")


def test_ptr_name_resolving_elsewhere_fails() -> None:
    result = rdns("192.0.2.11")
    assert (result.result, result.ptr, result.confirmed_name) == ("fail", ("wrong.example.com",), None)
    assert str(result.auth_result()) == "iprev=fail policy.iprev=192.0.2.11 (wrong.example.com)"
    assert result.reason == "192.0.2.11 has PTR wrong.example.com, but no A record of that name holds 192.0.2.11"
    assert result.fixes() == ["publish `wrong.example.com A 192.0.2.11`, or change the PTR of 192.0.2.11 to a name "
                              "that already resolves to it"]


def test_ptr_name_that_does_not_resolve_fails() -> None:
    result = rdns("192.0.2.12")
    assert (result.result, result.ptr) == ("fail", ("nowhere.example.com",))
    assert result.lookups[-1].describe() == "A nowhere.example.com -> NXDOMAIN"


def test_multiple_ptrs_pass_when_any_confirms() -> None:
    result = rdns("192.0.2.13")
    assert set(result.ptr) == {"other.example.com", "mail2.example.com"}
    assert (result.result, result.confirmed_name) == ("pass", "mail2.example.com")


def test_no_ptr_is_none_and_permerror_in_the_header() -> None:
    for ip, why in (("192.0.2.15", "does not exist (NXDOMAIN)"), ("192.0.2.14", "has no PTR record")):
        result = rdns(ip)
        assert (result.result, result.ptr, result.confirmed_name) == ("none", (), None)
        assert result.reason.endswith(why)
        assert str(result.auth_result()) == f"iprev=permerror policy.iprev={ip}"
    assert rdns("192.0.2.15").fixes() == [
        "publish `15.2.0.192.in-addr.arpa. PTR <your mail server's host name>.` (the reverse zone belongs to whoever "
        "holds the address block: ask your hosting provider), then `<that host name> A 192.0.2.15`"]


def test_classless_delegation_cname_is_followed() -> None:
    result = rdns("192.0.2.20")
    assert (result.result, result.confirmed_name) == ("pass", "delegated.example.com")
    assert result.lookups[0].cnames == ("20.16/28.2.0.192.in-addr.arpa",)


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
def test_ptr_lookup_fault_is_temperror(fault: str) -> None:
    result = rdns("192.0.2.10", [f"10.2.0.192.in-addr.arpa/PTR={fault}"])
    assert (result.result, result.ptr) == ("temperror", ())
    assert result.reason == f"the PTR lookup for 10.2.0.192.in-addr.arpa failed ({fault})"
    assert str(result.auth_result()) == "iprev=temperror policy.iprev=192.0.2.10"
    assert result.fixes()[0].startswith("make sure the name servers of the reverse zone")


def test_forward_lookup_fault_is_temperror_when_nothing_confirms() -> None:
    result = rdns("192.0.2.10", ["mail.example.com/A=servfail"])
    assert (result.result, result.ptr) == ("temperror", ("mail.example.com",))
    assert "the A lookup of mail.example.com failed" in result.reason


def test_forward_lookup_fault_does_not_matter_when_another_name_confirms() -> None:
    result = rdns("192.0.2.13", ["other.example.com/A=timeout"])
    assert (result.result, result.confirmed_name) == ("pass", "mail2.example.com")


def test_at_most_ten_ptr_names_are_followed() -> None:
    names = "".join(f"30.2.0.192.in-addr.arpa. PTR h{i}.example.com.\nh{i}.example.com. A 198.51.100.{i}\n"
                    for i in range(12))
    resolver = Resolver(Zones([Zone.from_text("$ORIGIN .\n" + names)]))
    result = asyncio.run(check_rdns(resolver, "192.0.2.30"))
    assert result.result == "fail"
    assert len(result.ptr) == 12
    assert len([a for a in result.lookups if a.rdtype == "A"]) == MAX_NAMES
    assert f"(only the first {MAX_NAMES} were followed)" in result.reason


def test_text_that_is_no_address_is_none_without_lookups() -> None:
    result = rdns("not-an-ip")
    assert (result.result, result.reverse_name, result.lookups) == ("none", None, ())
    assert result.fixes() == []


def test_explain_and_as_dict() -> None:
    result = rdns("192.0.2.11")
    assert result.explain() == [
        "looked up PTR 11.2.0.192.in-addr.arpa -> wrong.example.com.",
        "looked up A wrong.example.com -> 192.0.2.99",
        "rdns=fail: 192.0.2.11 has PTR wrong.example.com, but no A record of that name holds 192.0.2.11",
    ]
    data = json.loads(json.dumps(result.as_dict()))
    assert (data["result"], data["ptr"], data["confirmed_name"]) == ("fail", ["wrong.example.com"], None)
    assert data["authentication_results"] == "iprev=fail policy.iprev=192.0.2.11 (wrong.example.com)"


def test_a_ptr_changed_by_a_zone_reload_is_judged_anew() -> None:
    zones = Zones([Zone.from_text(ZONE)])
    resolver = Resolver(zones)
    assert asyncio.run(check_rdns(resolver, "192.0.2.10")).result == "pass"
    zones.replace(Zones([Zone.from_text(ZONE.replace("mail.example.com.          A     192.0.2.10",
                                                     "mail.example.com.          A     192.0.2.77"))]))
    again = asyncio.run(check_rdns(resolver, "192.0.2.10"))
    assert (again.result, again.ptr) == ("fail", ("mail.example.com",))
    assert again.explain()[1] == "looked up A mail.example.com -> 192.0.2.77"


def test_the_same_client_gets_the_same_verdict_and_its_own_log_every_time() -> None:
    resolver = Resolver(Zones([Zone.from_text(ZONE)]))
    first, second = (asyncio.run(check_rdns(resolver, "::ffff:192.0.2.10")) for _ in range(2))
    assert first == second and first.as_dict() == second.as_dict()
    assert (second.ip, second.reverse_name, len(second.lookups)) == ("192.0.2.10", "10.2.0.192.in-addr.arpa", 2)
    assert resolver.log == []
