"""The in-process resolver: five distinct outcomes, CNAME chasing, faults, the lookup log."""

from __future__ import annotations

import asyncio
import time

import pytest

from fake_dns import Answer, Faults, Outcome, Resolver, Zone, Zones, reverse_name

ZONE = """\
$ORIGIN example.com.
@            TXT   "v=spf1 " "include:_spf.example.net -all"
@            MX    10 mx1
mx1          A     192.0.2.25
mx1          AAAA  2001:db8::25
www          CNAME web
web          CNAME mx1
dangling     CNAME gone
outside      CNAME host.example.org.
loop1        CNAME loop2
loop2        CNAME loop1
alias-slow   CNAME slow
sel._domainkey TXT "v=DKIM1; p=abc"
"""
REVERSE = """\
$ORIGIN 2.0.192.in-addr.arpa.
25 PTR mx1.example.com.
"""
REVERSE_V6 = """\
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR mx1.example.com.
"""


def _resolver(*faults: str) -> Resolver:
    zones = Zones([Zone.from_text(ZONE), Zone.from_text(REVERSE), Zone.from_text(REVERSE_V6)])
    return Resolver(zones, Faults(faults))


def _resolve(resolver: Resolver, name: str, rdtype: str) -> Answer:
    return asyncio.run(resolver.resolve(name, rdtype))


def test_answer_with_text_helpers() -> None:
    answer = _resolve(_resolver(), "example.com", "TXT")
    assert answer.outcome is Outcome.ANSWER and answer
    assert answer.txt() == [b"v=spf1 include:_spf.example.net -all"]
    assert answer.texts() == ["v=spf1 include:_spf.example.net -all"]
    assert answer.describe() == 'TXT example.com -> "v=spf1 " "include:_spf.example.net -all"'


def test_address_and_target_helpers() -> None:
    resolver = _resolver()
    assert _resolve(resolver, "mx1.example.com", "A").addresses() == ["192.0.2.25"]
    assert _resolve(resolver, "mx1.example.com", "AAAA").addresses() == ["2001:db8::25"]
    assert _resolve(resolver, "example.com", "MX").targets() == ["mx1.example.com"]


@pytest.mark.parametrize(
    ("name", "rdtype", "outcome"),
    [
        ("nope.example.com", "A", Outcome.NXDOMAIN),
        ("mx1.example.com", "TXT", Outcome.NODATA),
        ("_domainkey.example.com", "TXT", Outcome.NODATA),  # empty non-terminal
        ("example.org", "A", Outcome.NXDOMAIN),  # outside every zone
        ("a..b", "A", Outcome.NXDOMAIN),  # not a valid name: cannot exist
        ("x" * 64 + ".example.com", "A", Outcome.NXDOMAIN),  # label over 63 octets
    ],
)
def test_negative_outcomes_are_distinct(name: str, rdtype: str, outcome: Outcome) -> None:
    answer = _resolve(_resolver(), name, rdtype)
    assert answer.outcome is outcome
    assert not answer and answer.records == ()
    assert not answer.outcome.is_error
    assert answer.describe().endswith(f"-> {outcome.value.upper()}")


def test_cname_chain_is_followed() -> None:
    answer = _resolve(_resolver(), "www.example.com", "A")
    assert answer.outcome is Outcome.ANSWER
    assert answer.addresses() == ["192.0.2.25"]
    assert answer.cnames == ("web.example.com", "mx1.example.com")
    assert answer.describe() == "A www.example.com (via CNAME web.example.com -> mx1.example.com) -> 192.0.2.25"


def test_asking_for_the_cname_itself_does_not_chase() -> None:
    answer = _resolve(_resolver(), "www.example.com", "CNAME")
    assert answer.targets() == ["web.example.com"] and answer.cnames == ()


@pytest.mark.parametrize(
    ("name", "outcome", "cnames"),
    [
        ("dangling.example.com", Outcome.NXDOMAIN, ("gone.example.com",)),
        ("outside.example.com", Outcome.NXDOMAIN, ("host.example.org",)),
        ("www.example.com", Outcome.NODATA, ("web.example.com", "mx1.example.com")),
    ],
)
def test_cname_to_nothing(name: str, outcome: Outcome, cnames: tuple[str, ...]) -> None:
    answer = _resolve(_resolver(), name, "TXT" if outcome is Outcome.NODATA else "A")
    assert answer.outcome is outcome and answer.cnames == cnames


def test_cname_loop_is_servfail() -> None:
    answer = _resolve(_resolver(), "loop1.example.com", "A")
    assert answer.outcome is Outcome.SERVFAIL and answer.outcome.is_error
    assert answer.cnames[:2] == ("loop2.example.com", "loop1.example.com")


@pytest.mark.parametrize("kind", ["timeout", "servfail"])
def test_faults_make_error_outcomes(kind: str) -> None:
    resolver = _resolver(f"example.com/TXT={kind}")
    answer = _resolve(resolver, "example.com", "TXT")
    assert answer.outcome is Outcome(kind) and answer.outcome.is_error
    # Only TXT is faulty.
    assert _resolve(resolver, "example.com", "MX").outcome is Outcome.ANSWER


def test_fault_applies_to_names_without_records_and_outside_the_zones() -> None:
    resolver = _resolver("nothing-here.example.com=servfail", "elsewhere.example.org=timeout")
    assert _resolve(resolver, "nothing-here.example.com", "A").outcome is Outcome.SERVFAIL
    assert _resolve(resolver, "elsewhere.example.org", "TXT").outcome is Outcome.TIMEOUT


def test_fault_applies_to_cname_targets() -> None:
    resolver = _resolver("slow.example.com=timeout")
    answer = _resolve(resolver, "alias-slow.example.com", "A")
    assert answer.outcome is Outcome.TIMEOUT and answer.cnames == ("slow.example.com",)


def test_timeouts_are_reported_at_once() -> None:
    resolver = _resolver("example.com=timeout")

    async def many() -> list[Answer]:
        return [await resolver.resolve("example.com", "TXT") for _ in range(100)]

    started = time.perf_counter()
    answers = asyncio.run(many())
    assert time.perf_counter() - started < 1.0  # a real timeout would be seconds each
    assert {a.outcome for a in answers} == {Outcome.TIMEOUT}


def test_lookup_log_is_in_order_and_forks_keep_their_own() -> None:
    resolver = _resolver()
    fork = resolver.fork()
    _resolve(resolver, "example.com", "TXT")
    _resolve(resolver, "nope.example.com", "A")
    resolver.resolve_now("example.com", "MX")
    _resolve(fork, "mx1.example.com", "A")
    assert [(a.name, a.rdtype, a.outcome) for a in resolver.log] == [
        ("example.com", "TXT", Outcome.ANSWER),
        ("nope.example.com", "A", Outcome.NXDOMAIN),
        ("example.com", "MX", Outcome.ANSWER),
    ]
    assert [(a.name, a.rdtype) for a in fork.log] == [("mx1.example.com", "A")]
    assert fork.zones is resolver.zones and fork.faults is resolver.faults


@pytest.mark.parametrize("address", ["192.0.2.25", "::ffff:192.0.2.25", "2001:db8::25"])
def test_ptr_lookups_for_ipv4_ipv6_and_mapped_addresses(address: str) -> None:
    answer = asyncio.run(_resolver().resolve_ptr(address))
    assert answer.outcome is Outcome.ANSWER and answer.targets() == ["mx1.example.com"]


def test_reverse_names() -> None:
    assert reverse_name("::ffff:192.0.2.25").to_text() == "25.2.0.192.in-addr.arpa."
    assert len(reverse_name("2001:db8::25").labels) == 35


def test_reload_through_zones_replace_is_seen_by_the_resolver() -> None:
    resolver = _resolver()
    resolver.zones.replace(Zones([Zone.from_text('$ORIGIN example.com.\n@ TXT "v=spf1 -all"\n')]))
    assert _resolve(resolver, "example.com", "TXT").texts() == ["v=spf1 -all"]
    assert _resolve(resolver, "25.2.0.192.in-addr.arpa", "PTR").outcome is Outcome.NXDOMAIN
