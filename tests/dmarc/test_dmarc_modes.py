"""Where RFC 9989 and RFC 7489 disagree about the same message, and the mode plumbing."""

from __future__ import annotations

import asyncio

import pytest

from dmarc_helpers import Dkim, Spf, dmarc, resolver
from policies.dmarc import check_dmarc
from policies.dmarc.discovery import default_psl


def both(zone: str, from_domain: str, spf: Spf | None, dkim: list[Dkim]) -> tuple:
    return tuple(dmarc(zone, from_domain, spf, dkim, mode=mode) for mode in ("rfc9989", "rfc7489"))


def test_psd_n_splits_an_organisation_the_psl_sees_as_one() -> None:
    # A department declares itself an Organizational Domain with psd=n; the PSL only
    # knows example.com, so RFC 7489 finds bounce.example.com aligned.
    zone = ('_dmarc.example.com. TXT "v=DMARC1; p=none"\n'
            '_dmarc.news.example.com. TXT "v=DMARC1; p=reject; psd=n"\n')
    bis, old = both(zone, "news.example.com", Spf("pass", "bounce.example.com"), [])
    assert (bis.result, bis.org_domain, bis.disposition) == ("fail", "news.example.com", "reject")
    assert (old.result, old.org_domain, old.disposition) == ("pass", "example.com", "none")
    assert "_dmarc.news.example.com says psd=n" in bis.org_how
    assert old.org_how == "the Public Suffix List makes example.com the Organizational Domain of news.example.com"


def test_psd_record_on_a_public_suffix_gives_policy_only_under_rfc9989() -> None:
    # co.uk is on the Public Suffix List: RFC 7489 never looks above shop.co.uk.
    zone = '_dmarc.co.uk. TXT "v=DMARC1; p=reject; psd=y"\n'
    bis, old = both(zone, "shop.co.uk", Spf("pass", "mailer.example"), [])
    assert (bis.result, bis.policy, bis.record_domain, bis.org_domain) == ("fail", "reject", "co.uk", "shop.co.uk")
    assert (old.result, old.policy, old.record) == ("none", None, None)
    assert old.org_domain == "shop.co.uk"


def test_tree_walk_finds_an_intermediate_record_the_psl_skips() -> None:
    zone = '_dmarc.mail.example.org. TXT "v=DMARC1; p=quarantine"\n'
    bis, old = both(zone, "eu.mail.example.org", None, [Dkim("pass", "mail.example.org")])
    assert (bis.result, bis.record_domain, bis.policy) == ("pass", "mail.example.org", "quarantine")
    assert (old.result, old.record) == ("none", None)  # the PSL says example.org, which has no record


def test_private_psl_entries_separate_tenants_under_rfc7489() -> None:
    # github.io is in the PSL's private section: two sites there are different organisations.
    zone = '_dmarc.alice.github.io. TXT "v=DMARC1; p=reject"\n_dmarc.github.io. TXT "v=DMARC1; p=none"\n'
    bis, old = both(zone, "alice.github.io", Spf("pass", "bob.github.io"), [])
    assert (old.result, old.org_domain) == ("fail", "alice.github.io")
    assert bis.result == "pass"  # the walk finds _dmarc.github.io: both sit under one Organizational Domain


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown DMARC mode 'rfc1234'"):
        asyncio.run(check_dmarc(resolver(""), "example.com", None, [], mode="rfc1234"))


def test_the_public_suffix_list_is_loaded_once_per_process() -> None:
    assert default_psl() is default_psl()


def test_a_given_suffix_list_replaces_the_shipped_one() -> None:
    class EverythingUnderTest:
        """Treats 'test' and 'corp.test' as public suffixes."""

        def privatesuffix(self, domain: str) -> str | None:
            labels = domain.split(".")
            keep = 3 if domain.endswith(".corp.test") else 2
            return ".".join(labels[-keep:]) if len(labels) >= keep else None

    zone = '_dmarc.a.corp.test. TXT "v=DMARC1; p=reject"\n'
    result = dmarc(zone, "x.a.corp.test", Spf("pass", "y.a.corp.test"), [], mode="rfc7489",
                   psl=EverythingUnderTest())
    assert (result.result, result.org_domain, result.record_domain, result.policy_tag) == (
        "pass", "a.corp.test", "a.corp.test", "p")
