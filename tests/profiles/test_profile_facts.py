"""build_facts: the check results and the session, flattened for the rules."""

from __future__ import annotations

import random
import re
from dataclasses import fields, replace

import pytest

from policies.profiles import DkimSignature, Facts, build_facts
from policies.profiles.decision import facts_from
from policies.profiles.facts import header_section, helo_is_valid
from profile_helpers import Arc, Auth, Dkim, Dmarc, Format, Issue, Rdns, Spf

ONE_CLICK = (b"From: a@example.com\r\nList-Unsubscribe: <mailto:u@example.com>,\r\n <https://example.com/u?x=1>\r\n"
             b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nSubject: hi\r\n\r\nList-Unsubscribe: <https://no>\r\n")


def test_before_data_only_the_session_is_known():
    facts = build_facts(None, client_ip="2001:db8::1", helo="mail.example.com", mail_from="Alice@Example.COM",
                        tls={"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "bits": 256},
                        recipient_status="unknown", recipient="nobody@gmail.com")
    assert facts.ip_version == 6 and facts.tls and facts.tls_version == "TLS1_3" and facts.tls_bits == 256
    assert facts.mail_from_domain == "example.com" and facts.helo_valid and facts.mail_from_valid
    assert facts.recipient_status == "unknown" and facts.recipient == "nobody@gmail.com"
    assert facts.spf == "none" and facts.dmarc == "none" and facts.format == ()


def test_plaintext_session():
    facts = build_facts(None, client_ip="192.0.2.10", tls=None)
    assert facts.tls is False and facts.tls_version == "" and facts.ip_version == 4


def test_passing_message():
    facts = build_facts(Auth(), client_ip="192.0.2.10", helo="mail.example.com", mail_from="a@example.com",
                        recipients=["user@gmail.com"], message=ONE_CLICK)
    assert (facts.spf, facts.spf_domain, facts.spf_all) == ("pass", "example.com", "-")
    assert (facts.dkim, facts.dkim_domain) == ("pass", "example.com")
    assert facts.dkim_signatures == (DkimSignature("pass", "example.com", "s1", "AbCdEfGhIjKl"),)
    assert (facts.dmarc, facts.dmarc_policy, facts.dmarc_record, facts.aligned) == ("pass", "reject", True, True)
    assert facts.rdns == "pass" and facts.ptr == "mail.example.com"
    assert facts.from_domain == "example.com" and facts.recipient == "user@gmail.com"
    assert facts.list_unsubscribe and facts.one_click_unsubscribe


def test_best_dkim_result_is_the_passing_signature():
    auth = Auth(dkim=(Dkim(result="fail", domain="esp.example"), Dkim(result="pass", domain="example.com")))
    facts = build_facts(auth, client_ip="192.0.2.10")
    assert (facts.dkim, facts.dkim_domain) == ("pass", "example.com")
    facts = build_facts(replace(auth, dkim=(Dkim(result="permerror", domain="esp.example"),)), client_ip="192.0.2.10")
    assert (facts.dkim, facts.dkim_domain) == ("permerror", "esp.example")
    facts = build_facts(replace(auth, dkim=()), client_ip="192.0.2.10")
    assert (facts.dkim, facts.dkim_domain, facts.dkim_signatures) == ("none", "", ())


@pytest.mark.parametrize("record, qualifier", [
    ("v=spf1 ip4:192.0.2.0/24 -all", "-"),
    ("v=spf1 include:_spf.example.net ~ALL", "~"),
    ("v=spf1 all", "+"),
    ("v=spf1 a mx", None),
    ("v=spf1 redirect=_spf.example.com", None),
    (None, None),
])
def test_spf_all_qualifier_from_the_record(record, qualifier):
    facts = build_facts(Auth(spf=Spf(result="fail", record=record)), client_ip="192.0.2.10")
    assert facts.spf_all == qualifier


def test_dmarc_without_record_and_with_temporary_failure():
    no_record = Dmarc(result="none", policy=None, record=None, spf_aligned=False, dkim_aligned=False)
    facts = build_facts(Auth(dmarc=no_record), client_ip="192.0.2.10")
    assert facts.dmarc_record is False and facts.dmarc_policy is None and facts.aligned is False
    temporary = Dmarc(result="temperror", policy=None, record=None, temporary_cause="_dmarc.example.com/TXT timeout")
    assert build_facts(Auth(dmarc=temporary), client_ip="192.0.2.10").dmarc_temporary
    known_policy = Dmarc(result="fail", temporary_cause="DKIM key lookup timed out")
    assert build_facts(Auth(dmarc=known_policy), client_ip="192.0.2.10").dmarc_temporary


@pytest.mark.parametrize("first_hop, result, trusted", [
    ({"spf": "fail", "dkim": "pass", "dmarc": "pass"}, "pass", True),
    ({"spf": "pass", "dkim": "pass", "dmarc": "fail"}, "pass", False),
    ({"spf": "pass"}, "pass", True),
    ({"spf": "fail", "dkim": "fail"}, "pass", False),
    ({"dmarc": "pass"}, "fail", False),
    ({}, "none", False),
])
def test_arc_trust_needs_a_passing_chain_and_a_passing_first_hop(first_hop, result, trusted):
    facts = build_facts(Auth(arc=Arc(result=result, first_hop_results=first_hop)), client_ip="192.0.2.10")
    assert facts.arc == result and facts.arc_trusted_pass is trusted


def test_format_issues_keep_order_and_name_headers():
    issues = (Issue("duplicate-header", "Subject"), Issue("missing-message-id"), Issue("duplicate-header", "To"))
    facts = build_facts(Auth(format=Format(issues=issues, from_domain="Example.COM")), client_ip="192.0.2.10")
    assert facts.format == ("duplicate-header", "missing-message-id")
    assert facts.format_headers == (("duplicate-header", "Subject"), ("duplicate-header", "To"))
    assert facts.from_domain == "example.com"


def test_no_ptr():
    facts = build_facts(Auth(rdns=Rdns(result="none", ptr=())), client_ip="192.0.2.10")
    assert facts.rdns == "none" and facts.ptr == ""


@pytest.mark.parametrize("bulk_domains, from_domain, mail_from, bulk", [
    ({"example.com"}, "example.com", "", True),
    ({"example.com"}, "news.example.com", "", True),  # counted per organisational domain
    ({"news.example.com"}, "example.com", "", False),
    ({"esp.example"}, "example.com", "bounce@mail.esp.example", True),
    (set(), "example.com", "a@example.com", False),
])
def test_bulk_sender(bulk_domains, from_domain, mail_from, bulk):
    auth = Auth(format=Format(from_domain=from_domain))
    assert build_facts(auth, client_ip="192.0.2.10", mail_from=mail_from, bulk_domains=bulk_domains).bulk is bulk


def test_bulk_known_at_mail_from_the_envelope():
    assert build_facts(None, client_ip="192.0.2.10", mail_from="a@news.example.com", bulk_domains={"example.com"}).bulk


@pytest.mark.parametrize("message, listed, one_click", [
    (ONE_CLICK, True, True),
    (b"List-Unsubscribe: <mailto:u@example.com>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", True, False),
    (b"List-Unsubscribe: <https://example.com/u>\r\n\r\n", True, False),
    (b"List-Unsubscribe: <https://example.com/u>\nList-Unsubscribe-Post: List-Unsubscribe=Later\n\n", True, False),
    (b"Subject: no list headers\r\n\r\nbody", False, False),
    (b"Subject: body only\r\n\r\nList-Unsubscribe: <https://example.com/u>\r\n", False, False),
    (b"Subject: LF header end\n\nList-Unsubscribe: <https://example.com/u>\n", False, False),
    (b"LIST-UNSUBSCRIBE: <https://example.com/u>\nlist-unsubscribe-post: List-Unsubscribe=One-Click", True, True),
])
def test_one_click_unsubscribe_rfc_8058(message, listed, one_click):
    facts = build_facts(Auth(), client_ip="192.0.2.10", message=message)
    assert facts.list_unsubscribe is listed and facts.one_click_unsubscribe is one_click


@pytest.mark.parametrize("helo, valid", [
    ("mail.example.com", True),
    ("localhost", True),
    ("[192.0.2.10]", True),
    ("[IPv6:2001:db8::1]", True),
    ("", False),
    ("bad_name!", False),
    ("[999.1.1.1]", False),
    ("-start.example", False),
])
def test_helo_validity(helo, valid):
    assert helo_is_valid(helo) is valid


def test_header_section_ends_at_the_first_empty_line_in_any_line_ending():
    """The header section is what the regex ``\\r?\\n\\r?\\n`` would cut at: checked
    against it on random mixes of CR, LF and text, plus the usual forms."""
    blank_line = re.compile(rb"\r?\n\r?\n")
    rng = random.Random(5)
    samples = [b"", b"\n", b"\r\n", b"a\r\n\r\nb", b"a\n\nb", b"a\r\n\nb", b"a\n\r\nb", b"\r\n\r\n", b"a: b\r\n"]
    samples += [bytes(rng.choice(b"a:\r\n") for _ in range(rng.randrange(12))) for _ in range(3000)]
    for message in samples:
        end = blank_line.search(message)
        assert header_section(message) == (message[: end.start()] if end else message), message


def test_built_facts_are_the_facts_the_constructor_makes():
    """build_facts fills the frozen dataclass directly (see facts_from): the result must
    be indistinguishable from ``Facts(**values)``, field order included."""
    built = build_facts(Auth(format=Format(issues=(Issue("missing-date"),))), client_ip="2001:db8::1",
                        helo="mail.example.com", mail_from="a@example.com", tls={"version": "TLSv1.2"},
                        recipients=["u@gmail.com"], message=ONE_CLICK)
    made = Facts(**{f.name: getattr(built, f.name) for f in fields(Facts)})
    assert built == made and repr(built) == repr(made)
    assert list(vars(built).items()) == list(vars(made).items())
    assert vars(build_facts(None, client_ip="192.0.2.10")) == vars(Facts(client_ip="192.0.2.10", helo_valid=False))
    with pytest.raises(AttributeError):
        built.spf = "fail"  # type: ignore[misc]


def test_facts_from_rejects_what_the_constructor_rejects():
    with pytest.raises(TypeError, match="no_such_fact"):
        facts_from({"client_ip": "192.0.2.10", "no_such_fact": True})
    with pytest.raises(TypeError, match="client_ip"):
        facts_from({"helo": "mail.example.com"})
