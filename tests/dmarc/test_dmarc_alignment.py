"""The alignment matrix: aligned / unaligned, relaxed / strict, the From domain's own
record vs its Organizational Domain's, p / sp / np, psd=, no record and two records,
each judged in both modes through a real zone and the real resolver."""

from __future__ import annotations

import pytest

from dmarc_helpers import Dkim, Spf, dmarc

ZONE = """
_dmarc.example.com.        TXT "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:agg@example.com"
example.com.               A   192.0.2.1
news.example.com.          A   192.0.2.2
bounce.example.com.        A   192.0.2.3
_dmarc.two.example.com.    TXT "v=DMARC1; p=none"
_dmarc.two.example.com.    TXT "v=DMARC1; p=reject"
_dmarc.example.net.        TXT "v=DMARC1; p=reject"
_dmarc.example.net.        TXT "v=DMARC1; p=quarantine"
_dmarc.strict.example.org. TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
strict.example.org.        A   192.0.2.4
mail.strict.example.org.   A   192.0.2.5
_dmarc.giant.bank.example. TXT "v=DMARC1; p=quarantine"
_dmarc.bank.example.       TXT "v=DMARC1; p=reject; psd=y"
giant.bank.example.        A   192.0.2.6
"""

# (id, From domain, SPF, DKIM, RFC 9989 (result, policy, disposition), RFC 7489 (the same))
MATRIX = [
    ("same-domain-spf", "example.com", Spf("pass", "example.com"), [],
     ("pass", "reject", "none"), ("pass", "reject", "none")),
    ("relaxed-spf-subdomain", "example.com", Spf("pass", "bounce.example.com"), [],
     ("pass", "reject", "none"), ("pass", "reject", "none")),
    ("relaxed-dkim-parent", "news.example.com", None, [Dkim("pass", "example.com")],
     ("pass", "quarantine", "none"), ("pass", "quarantine", "none")),
    ("unaligned-dkim", "example.com", Spf("softfail", "example.com"), [Dkim("pass", "other.net")],
     ("fail", "reject", "reject"), ("fail", "reject", "reject")),
    ("aligned-spf-fails", "example.com", Spf("fail", "example.com"), [],
     ("fail", "reject", "reject"), ("fail", "reject", "reject")),
    ("aligned-dkim-fails-unaligned-spf-passes", "example.com", Spf("pass", "other.net"),
     [Dkim("fail", "example.com")], ("fail", "reject", "reject"), ("fail", "reject", "reject")),
    ("second-signature-aligns", "example.com", None, [Dkim("pass", "esp.example"), Dkim("pass", "example.com")],
     ("pass", "reject", "none"), ("pass", "reject", "none")),
    ("existing-subdomain-sp", "news.example.com", Spf("pass", "other.net"), [],
     ("fail", "quarantine", "quarantine"), ("fail", "quarantine", "quarantine")),
    # RFC 7489 has no np=: the subdomain policy applies to a name that does not exist.
    ("nonexistent-subdomain-np", "ghost.example.com", None, [Dkim("pass", "other.net")],
     ("fail", "reject", "reject"), ("fail", "quarantine", "quarantine")),
    ("strict-spf-subdomain", "strict.example.org", Spf("pass", "mail.strict.example.org"), [],
     ("fail", "reject", "reject"), ("fail", "reject", "reject")),
    ("strict-dkim-exact", "strict.example.org", None, [Dkim("pass", "strict.example.org")],
     ("pass", "reject", "none"), ("pass", "reject", "none")),
    # The Tree Walk finds _dmarc.strict.example.org above the From domain; the PSL says the
    # Organizational Domain is example.org, which has no record.
    ("strict-dkim-parent", "mail.strict.example.org", None, [Dkim("pass", "strict.example.org")],
     ("fail", "reject", "reject"), ("none", None, "none")),
    ("no-record", "example.edu", Spf("pass", "example.edu"), [],
     ("none", None, "none"), ("none", None, "none")),
    # Two records at the From domain: RFC 9989 discards them and walks on; RFC 7489 stops.
    ("two-records-at-from-domain", "two.example.com", Spf("pass", "other.net"), [],
     ("fail", "quarantine", "quarantine"), ("none", None, "none")),
    ("two-records-at-org-domain", "example.net", None, [Dkim("pass", "other.org")],
     ("none", None, "none"), ("none", None, "none")),
    # RFC 9989 B.4.3: bank.example is a PSD (psd=y); giant.bank.example and
    # mega.bank.example are different organisations. The PSL knows nothing of it.
    ("psd-spf-same-organisation", "giant.bank.example", Spf("pass", "mail.giant.bank.example"), [],
     ("pass", "quarantine", "none"), ("pass", "quarantine", "none")),
    ("psd-dkim-other-organisation", "giant.bank.example", None, [Dkim("pass", "mail.mega.bank.example")],
     ("fail", "quarantine", "quarantine"), ("pass", "quarantine", "none")),
    ("psd-policy-for-domain-without-record", "shop.bank.example", None, [],
     ("fail", "reject", "reject"), ("fail", "reject", "reject")),
]


@pytest.mark.parametrize("mode", ["rfc9989", "rfc7489"])
@pytest.mark.parametrize("case", MATRIX, ids=[case[0] for case in MATRIX])
def test_alignment_matrix(case: tuple, mode: str) -> None:
    _, from_domain, spf, dkim, expect_9989, expect_7489 = case
    result = dmarc(ZONE, from_domain, spf, dkim, mode=mode)
    expected = expect_9989 if mode == "rfc9989" else expect_7489
    assert (result.result, result.policy, result.disposition) == expected, result.explain()
    assert result.mode == mode
    assert result.domain == from_domain


def test_relaxed_pass_says_which_identifier_aligned_and_how() -> None:
    result = dmarc(ZONE, "example.com", Spf("pass", "bounce.example.com"), [Dkim("pass", "other.com")])
    assert result.spf_aligned and not result.dkim_aligned
    assert result.reason == ("SPF passed for bounce.example.com, which is aligned (relaxed) with example.com: both "
                             "have the Organizational Domain example.com")
    assert ("DKIM d=other.com passed but is not aligned with example.com: its Organizational Domain is other.com, "
            "example.com's is example.com") in result.alignment


def test_dkim_alignment_names_the_aligned_signature() -> None:
    result = dmarc(ZONE, "news.example.com", Spf("pass", "esp.example"),
                   [Dkim("pass", "esp.example"), Dkim("pass", "example.com")])
    assert (result.result, result.spf_aligned, result.dkim_aligned) == ("pass", False, True)
    assert result.aligned_dkim_domain == "example.com"


def test_strict_alignment_is_reported_as_such() -> None:
    result = dmarc(ZONE, "strict.example.org", Spf("pass", "mail.strict.example.org"), [])
    assert (result.aspf, result.adkim) == ("s", "s")
    assert ("SPF passed for mail.strict.example.org, which is not aligned with strict.example.org: strict "
            "alignment needs exactly strict.example.org") in result.alignment


def test_only_pass_results_align() -> None:
    result = dmarc(ZONE, "example.com", Spf("neutral", "example.com"), [Dkim("policy", "example.com")])
    assert result.result == "fail"
    assert "SPF neutral for example.com: only an SPF pass can align" in result.alignment
    assert "DKIM d=example.com is policy: only a DKIM pass can align" in result.alignment


def test_alignment_ignores_case_and_trailing_dots() -> None:
    result = dmarc(ZONE, "Example.COM.", Spf("pass", "BOUNCE.example.com."), [])
    assert (result.result, result.domain, result.spf_aligned) == ("pass", "example.com", True)


def test_policy_from_the_organizational_domain_names_its_tag() -> None:
    sub = dmarc(ZONE, "news.example.com", None, [])
    assert (sub.policy, sub.policy_tag, sub.record_domain, sub.nonexistent) == (
        "quarantine", "sp", "example.com", False)
    ghost = dmarc(ZONE, "ghost.example.com", None, [])
    assert (ghost.policy, ghost.policy_tag, ghost.nonexistent) == ("reject", "np", True)
    own = dmarc(ZONE, "example.com", None, [])
    assert (own.policy, own.policy_tag, own.record_domain) == ("reject", "p", "example.com")
