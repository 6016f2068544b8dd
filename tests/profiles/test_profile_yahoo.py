"""The Yahoo / AOL profile: every rule's exact single-line reply, session shape, precedence."""

from __future__ import annotations

from typing import Any

import pytest

from policies.profiles import Facts, load_profile
from profile_helpers import clean, session

YAHOO = load_profile("yahoo")
POLICY = "554 5.7.9 Message not accepted for policy reasons. See https://senders.yahooinc.com/error-codes"

# (rule id, options, stage, facts, the reply line; "{mta}" is this session's MTA host)
CASES: list[tuple[str, dict[str, Any], str, Facts, str]] = [
    ("Q11", {"require_tls": True}, "mail", Facts(client_ip="192.0.2.10", mail_from="a@example.com"),
     "530 5.7.0 Must issue a STARTTLS command first"),
    ("X-relay", {}, "rcpt", Facts(client_ip="192.0.2.10", recipient_status="relay", recipient="bob@example.org"),
     "550 5.7.1 Relaying denied for example.org"),
    # Y12: Yahoo's documented sample, its MTA host replaced by this session's
    ("Y12", {}, "rcpt", Facts(client_ip="192.0.2.10", recipient_status="unknown", recipient="testing123@yahoo.com"),
     "554 delivery error: dd This user doesn't have a yahoo.com account (testing123@yahoo.com) [-5] - {mta}"),
    ("X-over-quota", {}, "rcpt",
     Facts(client_ip="192.0.2.10", recipient_status="over_quota", recipient="full@yahoo.com"),
     "452 4.2.2 Mailbox over quota"),
    ("Y6", {}, "data", clean(format=("duplicate-header",), format_headers=(("duplicate-header", "Subject"),)),
     "554 Message not accepted: headers are not rfc compliant (Subject). See https://senders.yahooinc.com/smtp-error-codes/"),
    ("Y8", {}, "data", clean(spf="temperror"),
     "451 Message temporarily deferred due to a temporary DNS failure during authentication. "
     "See https://senders.yahooinc.com/smtp-error-codes/"),
    # Y11 answers with Y3's later wire form (TSS04), the sample's IP kept
    ("Y11", {}, "data", clean(client_ip="192.0.2.192", rdns="none"),
     "421 4.7.0 [TSS04] Messages from 192.0.2.192 temporarily deferred due to unexpected volume or user complaints "
     "- 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"),
    ("Y2/arc", {}, "data", clean(dmarc="fail", dmarc_disposition="reject", spf="fail", dkim="fail", arc="pass",
                                 arc_trusted_pass=True),
     "250 ok dirdel"),
    # Y2: wire form 2024, copied from the reference
    ("Y2", {}, "data", clean(dmarc="fail", dmarc_disposition="reject"), POLICY),
    # Y1: wire form Sept 2025, copied from the reference (<domain> was redacted there)
    ("Y1", {}, "data", clean(client_ip="209.85.215.170", spf="fail", spf_domain="example.com", dkim="fail",
                             dmarc="fail", dmarc_policy="none"),
     "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to "
     "authenticate with either SPF or DKIM. Authentication results: DKIM = FAILURE - SPF example.com with ip "
     "209.85.215.170 = FAILURE. See https://senders.yahooinc.com/smtp-error-codes/#authentication-failures for "
     "more information."),
    ("Y2/bulk", {}, "data", clean(bulk=True, dkim="none"), POLICY),
    ("Y2/quarantine", {}, "data", clean(dmarc="fail", dmarc_disposition="quarantine", dmarc_policy="quarantine"),
     "250 ok dirdel"),
]


def test_every_yahoo_rule_has_a_case():
    assert [c[0] for c in CASES] == [r.id for r in YAHOO.rules]


@pytest.mark.parametrize("rule_id, options, stage, facts, line", CASES, ids=[c[0] for c in CASES])
def test_rule_reply(rule_id, options, stage, facts, line):
    conn = session(YAHOO.with_options(**options))
    decision = conn.decide(stage, facts)
    assert decision is not None and decision.rule_id == rule_id
    assert decision.lines == (line.format(mta=f"mta{conn.id}.mail.mud.yahoo.com"),)
    rule = next(r for r in YAHOO.rules if r.id == rule_id)
    assert decision.inferred == rule.inferred
    if rule.action in ("accept", "spam"):
        assert decision.folder == ("spam" if rule.action == "spam" else "inbox")
    else:
        assert decision.action == rule.action and decision.code == int(line[:3])


def test_yahoo_session_shape():
    conn = session(YAHOO, ip="203.0.113.5")
    mta = f"mta{conn.id}.mail.mud.yahoo.com"
    assert conn.id.isdigit() and len(conn.id) == 4
    assert conn.greeting() == [f"220 {mta} ESMTP YSmtp service ready"]
    assert conn.ehlo(tls_active=False, tls_available=True, helo="client.example") == [
        f"250-{mta} Hello client.example [203.0.113.5]",
        "250-PIPELINING",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250-SIZE 41697280",
        "250 STARTTLS",
    ]
    assert conn.reply("mail_ok", sender="a@example.com") == ["250 sender <a@example.com> ok"]
    assert conn.reply("data_ok") == ["250 ok dirdel"]


def test_yahoo_headers_and_domains():
    assert YAHOO.domains >= {"yahoo.com", "aol.com"}
    decision = session(YAHOO).decide("data", clean())
    assert decision is not None and decision.action == "accept"
    headers = dict(decision.headers)
    assert headers["Authentication-Results"].endswith("spf=pass smtp.mailfrom=example.com; dmarc=pass(p=REJECT) "
                                                      "header.from=example.com;")


@pytest.mark.parametrize("changes, expected", [
    (dict(format=("unparseable",), rdns="none"), "Y6"),
    (dict(rdns="temperror"), "Y8"),  # a failed PTR lookup is temporary, not Y11
    (dict(rdns="none", spf="fail", dkim="fail", dmarc="fail", dmarc_disposition="reject"), "Y11"),
    (dict(spf="fail", dkim="fail", dmarc="fail", dmarc_disposition="reject"), "Y2"),
    (dict(spf="fail", dkim="fail", dmarc="fail", dmarc_disposition="none", bulk=True), "Y1"),
    (dict(bulk=True, dmarc="fail", dmarc_disposition="quarantine"), "Y2/bulk"),
    (dict(format=("missing-message-id",)), None),  # Yahoo does not ask for a Message-ID
])
def test_precedence(changes, expected):
    decision = session(YAHOO).decide("data", clean(**changes))
    assert decision is not None and decision.rule_id == expected
