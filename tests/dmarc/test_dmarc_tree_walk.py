"""RFC 9989 4.10: the DNS Tree Walk, its label limit, psd=, and the Organizational
Domain selection of 4.10.2 -- the RFC's own examples, run through a real zone."""

from __future__ import annotations

from dmarc_helpers import Dkim, Spf, dmarc, queried
from policies.dmarc.discovery import one_label_below, walk_targets


def test_walk_targets_short_domain_goes_one_label_at_a_time() -> None:
    assert walk_targets("a.mail.example.com") == ["a.mail.example.com", "mail.example.com", "example.com", "com"]


def test_walk_targets_long_domain_jumps_to_seven_labels() -> None:
    # RFC 9989 4.10: the eight queries for a.b.c.d.e.f.g.h.i.j.mail.example.com.
    assert walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com") == [
        "a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
        "i.j.mail.example.com", "j.mail.example.com", "mail.example.com", "example.com", "com",
    ]


def test_walk_targets_eight_labels_drop_one() -> None:
    eight = "a.b.c.d.e.f.example.com"
    assert len(eight.split(".")) == 8
    assert walk_targets(eight)[1] == "b.c.d.e.f.example.com"
    assert len(walk_targets(eight)) == 8


def test_one_label_below() -> None:
    assert one_label_below("a.b.example.gov", "gov") == "example.gov"
    assert one_label_below("x.mail.example.com", "example.com") == "mail.example.com"


def test_deep_walk_queries_eight_names_and_finds_the_apex_record() -> None:
    # RFC 9989 B.4.2.
    zone = '_dmarc.example.com. TXT "v=DMARC1; p=reject"\n_dmarc.signing.example.com. TXT "v=DMARC1; p=none"\n'
    result = dmarc(zone, "a.b.c.d.e.f.g.h.i.j.k.example.com", Spf("pass", "example.com"),
                   [Dkim("pass", "signing.example.com")])
    assert (result.result, result.policy, result.record_domain, result.org_domain) == (
        "pass", "reject", "example.com", "example.com")
    walk = [name for name in queried(result)][:8]
    assert walk == ["_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com", "_dmarc.g.h.i.j.k.example.com",
                    "_dmarc.h.i.j.k.example.com", "_dmarc.i.j.k.example.com", "_dmarc.j.k.example.com",
                    "_dmarc.k.example.com", "_dmarc.example.com", "_dmarc.com"]
    assert result.dkim_aligned  # signing.example.com's Organizational Domain is example.com too


def test_psd_n_below_the_label_limit_is_never_seen() -> None:
    # RFC 9989 5.1.8: a psd=n record at b.c.d.e.f.g.example.com is skipped by the walk
    # from mail.a.b.c.d.e.f.g.example.com; the apex record applies.
    zone = ('_dmarc.example.com. TXT "v=DMARC1; p=reject"\n'
            '_dmarc.b.c.d.e.f.g.example.com. TXT "v=DMARC1; p=none; psd=n"\n')
    result = dmarc(zone, "mail.a.b.c.d.e.f.g.example.com", None, [])
    assert "_dmarc.b.c.d.e.f.g.example.com" not in queried(result)
    assert (result.record_domain, result.policy) == ("example.com", "reject")
    assert len([n for n in queried(result) if n.startswith("_dmarc.")]) == 8


def test_org_domain_is_the_record_with_fewest_labels() -> None:
    # RFC 9989 4.10.2, first example.
    zone = ('_dmarc.mail.example.com. TXT "v=DMARC1; p=none"\n'
            '_dmarc.example.com. TXT "v=DMARC1; p=reject; sp=quarantine"\n')
    result = dmarc(zone, "a.mail.example.com", None, [])
    assert result.org_domain == "example.com"
    assert (result.record_domain, result.policy, result.policy_tag) == ("example.com", "quarantine", "sp")
    assert "example.com is the name with the fewest labels that has a DMARC record" in result.org_how


def test_psd_n_makes_its_domain_the_org_domain_and_stops_the_walk() -> None:
    # RFC 9989 4.10.2, second example.
    zone = ('_dmarc.mail.example.com. TXT "v=DMARC1; p=quarantine; psd=n"\n'
            '_dmarc.example.com. TXT "v=DMARC1; p=reject"\n')
    result = dmarc(zone, "a.mail.example.com", Spf("pass", "example.com"), [])
    assert (result.org_domain, result.record_domain, result.policy) == ("mail.example.com", "mail.example.com",
                                                                      "quarantine")
    assert "_dmarc.example.com" in queried(result)  # the SPF domain's own walk, not the From domain's
    assert result.result == "fail"  # example.com is another Organizational Domain now
    assert queried(result)[:2] == ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com"]


def test_psd_y_at_the_top_makes_the_label_below_the_org_domain() -> None:
    # RFC 9989 4.10.2, last example: only _dmarc.com exists, with psd=y.
    zone = '_dmarc.com. TXT "v=DMARC1; p=reject; np=reject; sp=quarantine; psd=y"\nexample.com. A 192.0.2.1\n' \
           'a.mail.example.com. A 192.0.2.2\n'
    result = dmarc(zone, "a.mail.example.com", None, [Dkim("pass", "x.example.com")])
    assert result.org_domain == "example.com"
    assert (result.result, result.record_domain, result.policy, result.policy_tag) == ("pass", "com", "quarantine",
                                                                                      "sp")


def test_psd_record_np_applies_to_nonexistent_domains() -> None:
    zone = '_dmarc.example. TXT "v=DMARC1; p=none; np=reject; psd=y"\nreal.example. A 192.0.2.1\n'
    ghost = dmarc(zone, "ghost.example", None, [])
    assert (ghost.result, ghost.policy, ghost.policy_tag, ghost.disposition) == ("fail", "reject", "np", "reject")
    assert "A ghost.example" in [f"{a.rdtype} {a.name}" for a in ghost.lookups]
    real = dmarc(zone, "real.example", None, [])
    assert (real.result, real.policy, real.policy_tag) == ("fail", "none", "p")


def test_psd_policy_is_not_used_when_the_org_domain_has_a_record() -> None:
    zone = ('_dmarc.example. TXT "v=DMARC1; p=reject; psd=y"\n'
            '_dmarc.shop.example. TXT "v=DMARC1; p=none"\n')
    result = dmarc(zone, "www.shop.example", None, [])
    assert (result.record_domain, result.policy) == ("shop.example", "none")


def test_psd_y_on_the_from_domain_itself_is_its_own_org_domain() -> None:
    # psd=y counts only above the domain the walk started from (4.10.2 rule 2), so the PSD
    # is its own Organizational Domain, and a name below it is another organisation.
    zone = '_dmarc.example. TXT "v=DMARC1; p=reject; psd=y"\n'
    result = dmarc(zone, "example", Spf("pass", "mail.example"), [])
    assert (result.result, result.org_domain, result.record_domain) == ("fail", "example", "example")
    assert "its Organizational Domain is mail.example, example's is example" in result.reason


def test_non_dmarc_txt_records_are_ignored_and_the_walk_goes_on() -> None:
    zone = ('_dmarc.mail.example.com. TXT "google-site-verification=abc"\n'
            '_dmarc.example.com. TXT "v=DMARC1; p=reject"\n')
    result = dmarc(zone, "mail.example.com", None, [])
    assert (result.record_domain, result.policy) == ("example.com", "reject")
    assert result.warnings == ()


def test_walk_without_any_record_gives_none_and_lists_the_names() -> None:
    result = dmarc("example.com. A 192.0.2.1\n", "a.mail.example.com", Spf("pass", "a.mail.example.com"), [])
    assert (result.result, result.policy, result.record) == ("none", None, None)
    assert queried(result) == ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com", "_dmarc.example.com",
                               "_dmarc.com"]
    assert "_dmarc.a.mail.example.com, _dmarc.mail.example.com, _dmarc.example.com, _dmarc.com" in result.reason


def test_walk_is_skipped_when_no_alignment_needs_it() -> None:
    # The From domain has its own record and the identifier is the same domain:
    # RFC 9989 4.10.2 needs no Organizational Domain, so nothing above is queried.
    zone = '_dmarc.mail.example.com. TXT "v=DMARC1; p=reject"\n'
    result = dmarc(zone, "mail.example.com", Spf("pass", "mail.example.com"), [])
    assert result.result == "pass"
    assert queried(result) == ["_dmarc.mail.example.com"]
    assert result.org_domain is None


def test_shared_upper_levels_are_queried_once() -> None:
    zone = '_dmarc.example.com. TXT "v=DMARC1; p=reject"\n'
    result = dmarc(zone, "a.example.com", Spf("pass", "b.example.com"), [Dkim("pass", "c.example.com")])
    names = queried(result)
    assert names.count("_dmarc.example.com") == 1 and names.count("_dmarc.com") == 1
    assert result.result == "pass"
