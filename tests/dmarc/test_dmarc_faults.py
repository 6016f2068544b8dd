"""DNS faults at each lookup DMARC makes, and the RFC 7489 rule that only a failed
lookup of the DMARC record itself is temperror."""

from __future__ import annotations

import pytest

from dmarc_helpers import Dkim, Spf, dmarc, queried

ZONE = """
_dmarc.example.com.  TXT "v=DMARC1; p=reject; np=quarantine"
example.com.         A   192.0.2.1
news.example.com.    A   192.0.2.2
"""
MODES = ["rfc9989", "rfc7489"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", ["timeout", "servfail"])
def test_fault_on_the_from_domains_record_is_temperror(mode: str, fault: str) -> None:
    result = dmarc(ZONE, "news.example.com", Spf("pass", "news.example.com"), mode=mode,
                   faults=[f"_dmarc.news.example.com/TXT={fault}"])
    assert (result.result, result.policy, result.disposition) == ("temperror", None, "none")
    assert result.temporary_cause == f"the lookup of _dmarc.news.example.com failed ({fault})"
    assert str(result.auth_result()) == "dmarc=temperror header.from=news.example.com"
    assert result.fixes() == [f"make sure the name servers answer: {result.temporary_cause}"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", ["timeout", "servfail"])
def test_fault_on_the_org_domains_record_is_temperror(mode: str, fault: str) -> None:
    result = dmarc(ZONE, "news.example.com", Spf("pass", "news.example.com"), mode=mode,
                   faults=[f"_dmarc.example.com={fault}"])
    assert result.result == "temperror"
    assert result.temporary_cause == f"the lookup of _dmarc.example.com failed ({fault})"
    assert queried(result) == ["_dmarc.news.example.com", "_dmarc.example.com"]


def test_fault_at_the_top_of_the_tree_walk_is_temperror_in_rfc9989_only() -> None:
    # RFC 9989 walks on past example.com (no psd= there) to com; RFC 7489 never asks.
    bis = dmarc(ZONE, "news.example.com", Spf("pass", "news.example.com"), faults=["_dmarc.com/TXT=timeout"])
    assert (bis.result, bis.temporary_cause) == ("temperror", "the lookup of _dmarc.com failed (timeout)")
    old = dmarc(ZONE, "news.example.com", Spf("pass", "news.example.com"), mode="rfc7489",
                faults=["_dmarc.com/TXT=timeout"])
    assert old.result == "pass"
    assert "_dmarc.com" not in queried(old)


def test_fault_in_an_identifiers_walk_is_temperror_when_nothing_else_aligns() -> None:
    zone = ZONE + '_dmarc.mail.example.com. TXT "v=DMARC1; p=none"\n'
    result = dmarc(zone, "example.com", None, [Dkim("pass", "x.mail.example.com")],
                   faults=["_dmarc.x.mail.example.com/TXT=servfail"])
    assert result.result == "temperror"
    assert result.policy == "reject"  # the policy was found; only alignment could not be decided
    assert "the Organizational Domain of x.mail.example.com is unknown" in result.temporary_cause
    assert str(result.auth_result()) == "dmarc=temperror (p=reject dis=none) header.from=example.com"


def test_fault_in_an_identifiers_walk_does_not_matter_when_another_aligns() -> None:
    result = dmarc(ZONE, "example.com", Spf("pass", "example.com"), [Dkim("pass", "x.mail.example.com")],
                   faults=["_dmarc.x.mail.example.com/TXT=servfail"])
    assert result.result == "pass"


def test_fault_in_the_existence_check_for_np_is_temperror() -> None:
    result = dmarc(ZONE, "ghost.example.com", None, [], faults=["ghost.example.com/A=timeout"])
    assert (result.result, result.temporary_cause) == (
        "temperror", "the existence check of ghost.example.com failed (timeout)")


def test_no_existence_check_without_np() -> None:
    zone = '_dmarc.example.com. TXT "v=DMARC1; p=reject"\n'
    result = dmarc(zone, "ghost.example.com", None, [], faults=["ghost.example.com/A=timeout"])
    assert (result.result, result.policy_tag) == ("fail", "p")
    assert "ghost.example.com" not in queried(result)


# -- SPF / DKIM temperror --------------------------------------------------------------------


def test_aligned_spf_temperror_is_temperror_in_rfc9989() -> None:
    result = dmarc(ZONE, "example.com", Spf("temperror", "bounce.example.com"), [Dkim("pass", "other.net")])
    assert (result.result, result.disposition) == ("temperror", "none")
    assert result.temporary_cause == "SPF had a temporary error for bounce.example.com, which would be aligned"


def test_aligned_spf_temperror_is_fail_with_the_cause_kept_in_rfc7489() -> None:
    result = dmarc(ZONE, "example.com", Spf("temperror", "bounce.example.com"), [Dkim("pass", "other.net")],
                   mode="rfc7489")
    assert (result.result, result.policy, result.disposition) == ("fail", "reject", "reject")
    assert result.temporary_cause == "SPF had a temporary error for bounce.example.com, which would be aligned"
    assert any("a receiver may defer" in line for line in result.explain())


@pytest.mark.parametrize("mode", MODES)
def test_aligned_dkim_temperror(mode: str) -> None:
    result = dmarc(ZONE, "example.com", Spf("fail", "example.com"), [Dkim("temperror", "example.com")], mode=mode)
    assert result.result == ("temperror" if mode == "rfc9989" else "fail")
    assert result.temporary_cause == "DKIM had a temporary error for d=example.com, which would be aligned"


@pytest.mark.parametrize("mode", MODES)
def test_temperror_of_an_unaligned_identifier_is_a_plain_fail(mode: str) -> None:
    result = dmarc(ZONE, "example.com", Spf("temperror", "other.net"), [Dkim("temperror", "other.org")], mode=mode)
    assert (result.result, result.temporary_cause) == ("fail", None)


@pytest.mark.parametrize("mode", MODES)
def test_temperror_does_not_matter_when_something_aligned_passes(mode: str) -> None:
    result = dmarc(ZONE, "example.com", Spf("temperror", "example.com"), [Dkim("pass", "example.com")], mode=mode)
    assert (result.result, result.temporary_cause) == ("pass", None)
