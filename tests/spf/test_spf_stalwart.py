"""The Stalwart mail-auth SPF suite (tests/data/stalwart-mail-auth/spf/*.yml): 163 cases,
read line by line as upstream reads them (see spf_suites.py), each run with upstream's
procedure: the HELO identity first, the MAIL FROM identity only when HELO passes.

Five cases expect what RFC 7208 does not allow. For those the test asserts the RFC 7208
result instead (and that it is not upstream's), with the reason below; the openspf
suite checks the same rules (test names in brackets).
"""

from __future__ import annotations

import asyncio

import pytest
from spf_suites import SpfCase, stalwart_cases, stalwart_check

CASES = stalwart_cases()
IDS = [case.id for case in CASES]

# case id -> (the RFC 7208 result, why upstream's expectation is not RFC 7208)
DISAGREEMENTS: dict[str, tuple[str, str]] = {
    "all/0/all-test/1": (
        "permerror",
        "`v=spf1 -all ip:10.0.0.1`: `ip:` is no mechanism. Terms after `all` are not evaluated (5.1), but "
        "a syntax error anywhere in the record is a permerror before any evaluation (4.6) "
        "[openspf detect-errors-anywhere].",
    ),
    "basic/4/dns-lookup-limits/1": (
        "permerror",
        "ten `a:` terms naming domains that do not exist: the third such void lookup exceeds the limit of "
        "two that RFC 7208 4.6.4 recommends, which is a permerror; upstream implements no void-lookup "
        "limit [openspf void-over-limit].",
    ),
    "exists/0/exists/2": (
        "fail",
        "`exists:` looks up an A record only, even for IPv6 clients (5.7); a name with only AAAA records "
        "does not match [openspf exists-ip6only]. Upstream also accepts AAAA.",
    ),
    "ip/1/ipv6-match/4": (
        "fail",
        "an IPv4 client never matches an `ip6:` term, even `ip6:::ffff:10.1.2.3`; IPv4 (and IPv4-mapped) "
        "clients are matched by ip4 only (5, 5.6) [openspf cidr6-0-ip4, cidr6-ip4].",
    ),
    "macro/1/macro-expansion-2/2": (
        "fail",
        "the first `exists:` names a domain with only an AAAA record: `exists` looks up A only (5.7), so "
        "neither exists term matches and `-all` gives fail [openspf exists-ip6only]. Upstream also accepts AAAA.",
    ),
}


def test_the_whole_suite_is_loaded() -> None:
    assert len(CASES) == 163
    assert len(set(IDS)) == 163
    assert set(DISAGREEMENTS) <= set(IDS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_stalwart_spf(case: SpfCase) -> None:
    result = asyncio.run(stalwart_check(case))
    trace = "\n".join(result.explain())
    if case.id in DISAGREEMENTS:
        rfc_result, why = DISAGREEMENTS[case.id]
        assert result.result == rfc_result and result.result not in case.results, f"{why}\n{trace}"
        return
    assert result.result in case.results, f"{case.id} ({case.spec}): expected {case.results}\n{trace}"
    if case.explanation is not None:
        assert result.explanation == case.explanation, f"{case.id}: wrong explanation\n{trace}"
