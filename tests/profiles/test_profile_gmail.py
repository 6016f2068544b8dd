"""The Gmail profile: every rule's exact reply, the session shape, and rule precedence.

Replies of rules with an observed wire form are copied line for line from the reference
(block or row named next to each case); the others pin down our layout of the help-page
text, so a change to the wrapping or the data shows up here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from policies.profiles import DkimSignature, Facts, load_profile
from profile_helpers import NOW, clean, session

GMAIL = load_profile("gmail")


@dataclass(frozen=True)
class Case:
    rule_id: str
    stage: str
    facts: Facts
    lines: list[str]
    options: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case('G53', 'ehlo', Facts(client_ip="192.0.2.10", helo="", helo_valid=False),
         lines=[
             '501-5.5.4 Empty HELO/EHLO argument not allowed, closing connection. For more',
             '501 5.5.4 information, go to HELO/EHLO email error. {sid} - gsmtp',
         ]),
    Case('G53/invalid', 'ehlo', Facts(client_ip="192.0.2.10", helo="bad_name!", helo_valid=False),
         lines=[
             '501-5.5.4 HELO/EHLO argument bad_name! invalid closing connection. For more',
             '501 5.5.4 information, go to HELO/EHLO email error. {sid} - gsmtp',
         ]),
    Case('G52', 'mail', Facts(client_ip="192.0.2.10", helo="client.example", mail_from="(any@instagram.com", mail_from_valid=False),  # row G52, wire 2020, copied from the reference
         lines=[
             '553-5.1.7 The sender address <(any@instagram.com> is not a valid RFC-5321',
             '553 5.1.7 address. {sid} - gsmtp',
         ]),
    Case('X-relay', 'rcpt', Facts(client_ip="192.0.2.10", recipient_status="relay", recipient="bob@example.org"),
         lines=[
             '550-5.7.1 Relaying denied. example.org is not a domain this server receives',
             '550 5.7.1 mail for. {sid} - gsmtp',
         ]),
    Case('G68', 'rcpt', Facts(client_ip="192.0.2.10", recipient_status="unknown", recipient="nobody@gmail.com"),  # row G68, 2022, copied from the reference
         lines=[
             '550-5.1.1 The email account that you tried to reach does not exist. Please try',
             "550-5.1.1 double-checking the recipient's email address for typos or",
             '550-5.1.1 unnecessary spaces. Learn more at',
             '550 5.1.1  https://support.google.com/mail/?p=NoSuchUser {sid} - gsmtp',
         ]),
    Case('X-over-quota', 'rcpt', Facts(client_ip="192.0.2.10", recipient_status="over_quota", recipient="full@gmail.com"),
         lines=[
             "452-4.2.2 The recipient's inbox is out of storage space. Please direct the",
             '452-4.2.2 recipient to',
             '452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp {sid} - gsmtp',
         ]),
    Case('G51', 'data', clean(format=("unparseable",)),
         lines=[
             '554-5.6.0 Email message is malformed. Not accepted. For more information, go to',
             '554-5.6.0  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '554 5.6.0 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G30', 'data', clean(tls=False),  # W-G6, copied from the reference
         options={"require_tls": True},
         lines=[
             "421-4.7.29 Your email has been rate limited because this message wasn't sent",
             '421-4.7.29 over a TLS connection. Gmail requires all bulk email senders to use',
             '421-4.7.29 TLS/SSL for SMTP connections.',
             '421-4.7.29 To set up TLS for email, visit',
             '421-4.7.29  https://support.google.com/a?p=tls-ssl',
             '421-4.7.29 To learn more about Gmail requirements for bulk senders, visit',
             '421 4.7.29  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G31', 'data', clean(tls=False),
         options={"require_tls": True, "tls_enforcement": "permanent"},
         lines=[
             "550-5.7.29 This message was blocked because it wasn't sent over a TLS",
             '550-5.7.29 connection. Gmail requires all bulk email senders to use TLS/SSL for',
             '550-5.7.29 SMTP connections.',
             '550-5.7.29 To set up TLS for email, visit',
             '550-5.7.29  https://support.google.com/a?p=tls-ssl',
             '550-5.7.29 To learn more about Gmail requirements for bulk email senders, visit',
             '550 5.7.29  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G24', 'data', clean(client_ip="2a01:4f8:212:27c8::2", rdns="none", spf="none", dkim="none", dmarc="fail", dmarc_disposition="none"),
         lines=[
             '550-5.7.1 [2a01:4f8:212:27c8::2] Our system has detected that this message does',
             '550-5.7.1 not meet IPv6 sending guidelines regarding PTR records and',
             '550-5.7.1 authentication. Please review',
             '550-5.7.1  https://support.google.com/mail/?p=ipv6_authentication_error for',
             '550 5.7.1 more information. {sid} - gsmtp',
         ]),
    Case('G20/dns', 'data', clean(rdns="temperror"),
         lines=[
             "451-4.7.23 [192.0.2.10] The sending IP address for this message doesn't have a",
             "451-4.7.23 PTR record, or the PTR record's forward DNS entry doesn't match the",
             '451-4.7.23 sending IP address. To protect users from spam, your email has been',
             '451-4.7.23 temporarily rate limited.',
             '451-4.7.23 To learn more about IP address requirements for sending to Gmail,',
             '451-4.7.23 visit',
             '451-4.7.23  https://support.google.com/a?p=sender-guidelines-ip',
             '451-4.7.23 To learn more about Gmail requirements for bulk email senders, visit',
             '451 4.7.23  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G20', 'data', clean(client_ip="144.76.109.34", rdns="fail"),
         options={"ptr_enforcement": "temporary"},
         lines=[
             "451-4.7.23 [144.76.109.34] The sending IP address for this message doesn't have",
             "451-4.7.23 a PTR record, or the PTR record's forward DNS entry doesn't match",
             '451-4.7.23 the sending IP address. To protect users from spam, your email has',
             '451-4.7.23 been temporarily rate limited.',
             '451-4.7.23 To learn more about IP address requirements for sending to Gmail,',
             '451-4.7.23 visit',
             '451-4.7.23  https://support.google.com/a?p=sender-guidelines-ip',
             '451-4.7.23 To learn more about Gmail requirements for bulk email senders, visit',
             '451 4.7.23  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G22', 'data', clean(client_ip="2401:3400:8000:1::69", rdns="none"),  # W-G5, copied from the reference
         lines=[
             '550-5.7.25 [2401:3400:8000:1::69] The IP address sending this message does not',
             '550-5.7.25 have a PTR record setup, or the corresponding forward DNS entry does',
             '550-5.7.25 not match the sending IP. As a policy, Gmail does not accept',
             '550-5.7.25 messages from IPs with missing PTR records. For more information, go',
             '550-5.7.25 to',
             '550-5.7.25  https://support.google.com/a?p=sender-guidelines-ip',
             '550-5.7.25 To learn more about Gmail requirements for bulk senders, visit',
             '550 5.7.25  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G44', 'data', clean(format=("missing-from",)),
         lines=[
             '550-5.7.1 This message is not RFC 5322 compliant because the From: header is',
             '550-5.7.1 missing. To reduce the amount of spam sent to Gmail, this message has',
             '550-5.7.1 been blocked. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G45', 'data', clean(format=("multiple-from-headers",), format_headers=(("multiple-from-headers", "From"),)),
         lines=[
             '550-5.7.1 This message is not RFC 5322 compliant because it has multiple From:',
             '550-5.7.1 headers. To reduce the amount of spam sent to Gmail, this message has',
             '550-5.7.1 been blocked. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G41', 'data', clean(format=("from-no-valid-address",)),
         lines=[
             '550-5.7.1 Messages missing a valid address in the From: header, or having no',
             '550-5.7.1 From: header, are not accepted. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G42', 'data', clean(format=("multiple-from-addresses",)),
         lines=[
             '550-5.7.1 [192.0.2.10] Messages with multiple addresses in the From: header are',
             '550-5.7.1 not accepted. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G46', 'data', clean(format=("from-domain-invalid",)),
         lines=[
             '550-5.7.1 This message is not RFC 5322 compliant because the From: header has a',
             '550-5.7.1 non-compliant domain name. To reduce the amount of spam sent to',
             '550-5.7.1 Gmail, this message has been blocked. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G40', 'data', clean(format=("invalid-message-id",)),
         lines=[
             '550-5.7.1 [192.0.2.10] Messages missing a valid Message-ID header are not',
             '550-5.7.1 accepted. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G47', 'data', clean(format=("duplicate-header",), format_headers=(("duplicate-header", "Subject"),)),  # W-G7, copied from the reference
         lines=[
             '550-5.7.1 This message is not RFC 5322 compliant. There are multiple Subject',
             '550-5.7.1 headers. To reduce the amount of spam sent to Gmail, this message has',
             '550-5.7.1 been blocked. Please visit',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications for more information. {sid} - gsmtp',
         ]),
    Case('G48', 'data', clean(format=("malformed-header",), format_headers=(("malformed-header", "Date"),)),
         lines=[
             '550-5.7.1 This message is not RFC 5322 compliant. There is a malformed Date',
             '550-5.7.1 header. To reduce the amount of spam sent to Gmail, this message has',
             '550-5.7.1 been blocked. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G49', 'data', clean(format=("encoded-word-not-allowed",), format_headers=(("encoded-word-not-allowed", "Message-ID"),)),
         lines=[
             '550-5.7.1 Encoded-word syntax is not permitted in message header Message-ID .',
             '550-5.7.1 To reduce the amount of spam sent to Gmail, this message has been',
             '550-5.7.1 blocked. For more information, go to',
             '550-5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant and review',
             '550 5.7.1 RFC 5322 specifications. {sid} - gsmtp',
         ]),
    Case('G50', 'data', clean(format=("non-ascii-header",), format_headers=(("non-ascii-header", "To"),)),
         lines=[
             '550-5.7.1 The message contains a unicode character in a disallowed header. To',
             '550-5.7.1 review our message and header content guidelines, go to File types',
             '550 5.7.1 blocked in Gmail. {sid} - gsmtp',
         ]),
    Case('R8', 'data', clean(spf="fail", dkim="fail", dmarc="fail", dmarc_disposition="reject", aligned=False, arc="pass", arc_trusted_pass=True, from_domain="example.org"),
         lines=[
             '250 2.0.0 OK  1734897414 {sid} - gsmtp',
         ]),
    Case('G5', 'data', clean(dmarc="temperror", dmarc_temporary=True, dmarc_policy="reject", dkim="temperror", from_domain="example.org"),
         lines=[
             '451-4.7.26 Unauthenticated email from example.org is not accepted due to',
             "451-4.7.26 domain's DMARC policy, but temporary DNS failures prevent",
             '451-4.7.26 authentication. Please contact the administrator of example.org',
             '451-4.7.26 domain if this was a legitimate email. To learn about the DMARC',
             '451-4.7.26 initiative, go to',
             '451 4.7.26  https://support.google.com/mail/?p=DmarcRejection {sid} - gsmtp',
         ]),
    Case('G4', 'data', clean(dmarc="fail", dmarc_disposition="reject", spf="fail", dkim="fail", aligned=False, from_domain="example.jp"),  # W-G3, copied from the reference
         lines=[
             "550-5.7.26 Unauthenticated email from example.jp is not accepted due to domain's",
             '550-5.7.26 DMARC policy. Please contact the administrator of example.jp domain if',
             '550-5.7.26 this was a legitimate mail. To learn about the DMARC initiative, go',
             '550-5.7.26 to',
             '550 5.7.26  https://support.google.com/mail/?p=DmarcRejection {sid} - gsmtp',
         ]),
    Case('G3', 'data', clean(client_ip="203.0.113.22", spf="fail", spf_domain="email.example.jp", dkim="none", dmarc="fail", dmarc_policy="none", aligned=False),  # W-G2, copied from the reference
         lines=[
             '550-5.7.26 The MAIL FROM domain [email.example.jp] has an SPF record with a hard fail',
             '550-5.7.26 policy (-all) but it fails to pass SPF checks with the ip:',
             '550-5.7.26 [203.0.113.22]. To best protect our users from spam and phishing,',
             '550-5.7.26 the message has been blocked. For instructions on setting up',
             '550-5.7.26 authentication, go to',
             '550 5.7.26  https://support.google.com/mail/answer/81126#authentication {sid} - gsmtp',
         ]),
    Case('G2', 'data', clean(spf="softfail", dkim="none", dmarc="fail", dmarc_policy="none", aligned=False),
         options={"auth_enforcement": "temporary"},
         lines=[
             '421-4.7.26 This email has been rate limited because it is unauthenticated.',
             '421-4.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.',
             '421-4.7.26 ',
             '421-4.7.26  Authentication results:',
             '421-4.7.26  DKIM = did not pass',
             '421-4.7.26  SPF example.com with ip: 192.0.2.10 = did not pass',
             '421-4.7.26 ',
             '421-4.7.26  To resolve this issue, go to',
             '421 4.7.26  https://support.google.com/mail/answer/81126#authentication {sid} - gsmtp',
         ]),
    Case('G1', 'data', clean(client_ip="2a03:3b40:fe:81::1", spf="softfail", spf_domain="mxproxy.ogion.cz", dkim="fail", dmarc="fail", dmarc_policy="none", aligned=False),  # W-G1, 2025 Postfix form, copied from the reference
         lines=[
             '550-5.7.26 Your email has been blocked because the sender is unauthenticated.',
             '550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.',
             '550-5.7.26 ',
             '550-5.7.26  Authentication results:',
             '550-5.7.26  DKIM = did not pass',
             '550-5.7.26  SPF [mxproxy.ogion.cz] with ip: [2a03:3b40:fe:81::1] = did not pass',
             '550-5.7.26 ',
             '550-5.7.26  For instructions on setting up authentication, go to',
             '550 5.7.26  https://support.google.com/mail/answer/81126#authentication {sid} - gsmtp',
         ]),
    Case('G7', 'data', clean(bulk=True, spf="softfail", spf_domain="news.example.com"),
         options={"bulk_enforcement": "temporary"},
         lines=[
             "421-4.7.27 Your email has been rate limited because SPF authentication didn't",
             '421-4.7.27 pass for this message. Gmail requires all bulk email senders to',
             '421-4.7.27 authenticate their email with SPF.',
             '421-4.7.27 ',
             '421-4.7.27  Authentication results:',
             '421-4.7.27  SPF news.example.com with IP address: 192.0.2.10 = Did not pass.',
             '421-4.7.27 ',
             '421-4.7.27 To set up SPF for your sending domains, visit Set up SPF.',
             '421-4.7.27 To learn more about Gmail requirements for bulk email senders, visit',
             '421 4.7.27  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G8', 'data', clean(bulk=True, spf="softfail", spf_domain="news.example.com"),
         lines=[
             "550-5.7.27 This message was blocked because it didn't pass SPF authentication.",
             '550-5.7.27 Gmail requires bulk email senders to authenticate their email with',
             '550-5.7.27 SPF.',
             '550-5.7.27 ',
             '550-5.7.27  Authentication results:',
             '550-5.7.27  SPF with 192.0.2.10 = did not pass',
             '550-5.7.27 ',
             '550-5.7.27 To set up SPF for your sending domains, visit Set up SPF.',
             '550-5.7.27 To learn more about Gmail requirements for bulk email senders, visit',
             '550 5.7.27  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G9', 'data', clean(bulk=True, dkim="fail"),
         options={"bulk_enforcement": "temporary"},
         lines=[
             "421-4.7.30 Your email has been rate limited because DKIM authentication didn't",
             '421-4.7.30 pass for this message. Gmail requires all email bulk senders to',
             '421-4.7.30 authenticate their email with DKIM.',
             '421-4.7.30 ',
             '421-4.7.30  Authentication results:',
             '421-4.7.30  DKIM = Did not pass.',
             '421-4.7.30 ',
             '421-4.7.30 To set up DKIM for your sending domains, visit Set up DKIM.',
             '421-4.7.30 To learn more about Gmail requirements for bulk email senders, visit',
             '421 4.7.30  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G10', 'data', clean(bulk=True, dkim="none"),
         lines=[
             "550-5.7.30 This message was blocked because it didn't pass DKIM authentication.",
             '550-5.7.30 Gmail requires bulk email senders to authenticate their email with',
             '550-5.7.30 DKIM.',
             '550-5.7.30 ',
             '550-5.7.30  Authentication results:',
             '550-5.7.30  DKIM = did not pass',
             '550-5.7.30 ',
             '550-5.7.30 To set up DKIM for your sending domains, visit Set up DKIM.',
             '550-5.7.30 To learn more about Gmail requirements for bulk email senders, visit',
             '550 5.7.30  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G11', 'data', clean(bulk=True, dmarc="none", dmarc_policy=None, dmarc_record=False),
         options={"bulk_enforcement": "temporary"},
         lines=[
             "421-4.7.40 Your email has been rate limited because the sending domain doesn't",
             "421-4.7.40 have a DMARC record, or the DMARC record doesn't specify a DMARC",
             '421-4.7.40 policy. Gmail requires all bulk email senders to add a DMARC record',
             '421-4.7.40 to their sending domain.',
             '421-4.7.40 See Set up DMARC.',
             '421-4.7.40 To learn more about Gmail requirements for bulk email senders, visit',
             '421 4.7.40  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G12', 'data', clean(bulk=True, dmarc="none", dmarc_policy=None, dmarc_record=False),
         lines=[
             "550-5.7.40 Your message was blocked because the sending domain doesn't have a",
             "550-5.7.40 DMARC record or the DMARC record doesn't specify a DMARC policy.",
             '550-5.7.40 Gmail requires all bulk email senders to add a DMARC record to their',
             '550-5.7.40 sending domain. See Set up DMARC.',
             '550-5.7.40 To learn more about Gmail requirements for bulk email senders, visit',
             '550 5.7.40  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G13', 'data', clean(bulk=True, dmarc="fail", dmarc_policy="none", aligned=False),
         options={"bulk_enforcement": "temporary"},
         lines=[
             '421-4.7.32 Your email has been rate limited because the From: header (RFC5322)',
             "421-4.7.32 in this message isn't aligned with either the authenticated SPF or",
             '421-4.7.32 DKIM organizational domain.',
             '421-4.7.32 Learn more about DMARC alignment.',
             '421-4.7.32 To learn more about Gmail requirements for bulk email senders, visit',
             '421 4.7.32  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G14', 'data', clean(bulk=True, dmarc="fail", dmarc_policy="none", aligned=False),
         lines=[
             '550-5.7.32 Your email was blocked because the From: header (RFC5322) in this',
             "550-5.7.32 message isn't aligned with either the authenticated SPF or DKIM",
             '550-5.7.32 organizational domain.',
             '550-5.7.32 Learn more about DMARC alignment.',
             '550-5.7.32 To learn more about Gmail requirements for bulk email senders, visit',
             '550 5.7.32  https://support.google.com/a?p=sender-guidelines. {sid} - gsmtp',
         ]),
    Case('G6', 'data', clean(dmarc="fail", dmarc_policy="quarantine", dmarc_disposition="quarantine", aligned=False),
         lines=[
             '250 2.0.0 OK  1734897414 {sid} - gsmtp',
         ]),
    Case('B7', 'data', clean(bulk=True, one_click_unsubscribe=False),
         lines=[
             '250 2.0.0 OK  1734897414 {sid} - gsmtp',
         ]),
]


def test_every_gmail_rule_has_a_case():
    assert [c.rule_id for c in CASES] == [r.id for r in GMAIL.rules]


@pytest.mark.parametrize("case", CASES, ids=[c.rule_id for c in CASES])
def test_rule_reply(case: Case):
    profile = GMAIL.with_options(**case.options)
    conn = session(profile)
    decision = conn.decide(case.stage, case.facts)
    assert decision is not None and decision.rule_id == case.rule_id
    assert list(decision.lines) == [line.format(sid=conn.id) for line in case.lines]
    rule = next(r for r in GMAIL.rules if r.id == case.rule_id)
    assert decision.stage == case.stage and decision.inferred == rule.inferred and decision.note == rule.note
    assert decision.code == int(decision.lines[-1][:3])
    if decision.action in ("accept", "spam"):
        assert decision.folder == ("spam" if decision.action == "spam" else "inbox")
        assert ("X-Sandbox-Rule", case.rule_id) in decision.headers
    else:
        assert decision.action == ("defer" if decision.code < 500 else "reject")
        assert decision.lines[-1].split(" ")[1] == decision.enhanced_code and decision.folder is None
        assert decision.headers == ()


# -- the session shape (reference 1.1) -------------------------------------------------------


def test_session_lines_carry_one_id_per_connection():
    conn = session(GMAIL, ip="102.219.153.221")
    sid = conn.id
    assert re.fullmatch(r"[0-9a-f]{13}-[0-9a-f]{11}si[0-9]{7,9}[a-z][a-z0-9]{0,2}\.[0-9]{1,4}", sid)
    assert conn.greeting() == [f"220 mx.google.com ESMTP {sid} - gsmtp"]
    assert conn.reply("mail_ok", sender="a@example.org") == [f"250 2.1.0 OK {sid} - gsmtp"]
    assert conn.reply("rcpt_ok", recipient="user@gmail.com") == [f"250 2.1.5 OK {sid} - gsmtp"]
    assert conn.reply("data_go_ahead") == [f"354 Go ahead {sid} - gsmtp"]
    assert conn.reply("data_ok") == [f"250 2.0.0 OK  1734897414 {sid} - gsmtp"]
    assert conn.reply("rset") == [f"250 2.1.5 Flushed {sid} - gsmtp"]
    assert conn.reply("quit") == [f"221 2.0.0 closing connection {sid} - gsmtp"]
    assert conn.reply("mail_first") == [f"503 5.5.1 MAIL first. {sid} - gsmtp"]
    assert conn.reply("unrecognized") == [f"502 5.5.1 Unrecognized command. {sid} - gsmtp"]
    assert conn.reply("starttls_ready") == ["220 2.0.0 Ready to start TLS"]
    assert conn.reply("size_exceeded", size=200_000_000) == [f"552 5.3.4 Message size exceeds fixed limit {sid} - gsmtp"]
    assert conn.reply("help") == [f"214 2.0.0  https://www.google.com/search?btnI&q=RFC+5321 {sid} - gsmtp"]
    assert session(GMAIL, seed=8).id != sid


def test_ehlo_before_and_after_starttls():
    conn = session(GMAIL, ip="102.219.153.221")
    before = [
        "250-mx.google.com at your service, [102.219.153.221]",
        "250-SIZE 157286400",
        "250-8BITMIME",
        "250-STARTTLS",
        "250-ENHANCEDSTATUSCODES",
        "250-PIPELINING",
        "250-CHUNKING",
        "250 SMTPUTF8",
    ]
    assert conn.ehlo(tls_active=False, tls_available=True) == before
    after = [line for line in before if line != "250-STARTTLS"]
    assert conn.ehlo(tls_active=True, tls_available=True) == after
    assert conn.ehlo(tls_active=False, tls_available=False) == after
    assert conn.ehlo("2a01:4f8:212:27c8::2", tls_active=True, tls_available=False)[0] == \
        "250-mx.google.com at your service, [2a01:4f8:212:27c8::2]"


def test_size_follows_the_max_size_option():
    conn = session(GMAIL.with_options(max_size=35882577))
    assert "250-SIZE 35882577" in conn.ehlo(tls_active=False, tls_available=True)


def test_reply_kinds_that_are_rules():
    """bad_sender is G52's reply and helo_syntax G53's: one text, two ways in."""
    conn = session(GMAIL)
    assert conn.reply("bad_sender", address="(any@instagram.com") == [
        "553-5.1.7 The sender address <(any@instagram.com> is not a valid RFC-5321",
        f"553 5.1.7 address. {conn.id} - gsmtp",
    ]
    assert conn.reply("helo_syntax")[0].startswith("501-5.5.4 Empty HELO/EHLO argument not allowed")


def test_reply_rejects_values_it_does_not_take():
    with pytest.raises(TypeError):
        session(GMAIL).reply("quit", size=1)
    with pytest.raises(KeyError):
        session(GMAIL).reply("no_such_kind")


def test_unknown_stage_is_an_error():
    with pytest.raises(ValueError, match="unknown stage 'end'"):
        session(GMAIL).decide("end", clean())


def test_profile_decide_without_a_session_draws_a_fresh_id():
    decision = GMAIL.decide("rcpt", Facts(client_ip="192.0.2.10", recipient_status="unknown"))
    assert decision is not None and decision.rule_id == "G68"
    assert decision.lines[-1].endswith(" - gsmtp")


# -- acceptance ---------------------------------------------------------------------------------


def test_clean_message_is_accepted_to_the_inbox_with_gmail_trace_headers():
    conn = session(GMAIL)
    facts = clean(tls_version="TLS1_3", tls_cipher="TLS_AES_256_GCM_SHA384", tls_bits=256)
    decision = conn.decide("data", facts)
    assert decision is not None and decision.action == "accept" and decision.rule_id is None
    assert decision.lines == (f"250 2.0.0 OK  {int(NOW)} {conn.id} - gsmtp",)
    assert decision.folder == "inbox"
    assert decision.headers == (
        ("X-Sandbox-Folder", "inbox"),
        ("Received", f"from mail.example.com (mail.example.com. [192.0.2.10]) by mx.google.com with ESMTPS id "
                     f"{conn.id} for <user@gmail.com> (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256); "
                     "Sun, 22 Dec 2024 19:56:54 +0000"),
        ("Received-SPF", "pass (google.com: domain of alice@example.com designates 192.0.2.10 as permitted sender) "
                         "client-ip=192.0.2.10;"),
        ("Authentication-Results", "mx.google.com; spf=pass (google.com: domain of alice@example.com designates "
                                   "192.0.2.10 as permitted sender) smtp.mailfrom=alice@example.com; dmarc=pass "
                                   "(p=REJECT dis=NONE) header.from=example.com"),
    )
    assert conn.accept(facts) == decision


def test_trace_headers_without_tls_ptr_or_single_recipient():
    facts = clean(tls=False, ptr="", rdns="none", recipients=("a@gmail.com", "b@gmail.com"), recipient="",
                  dmarc="none", dmarc_policy=None, mail_from="", helo="client.example",
                  dkim_signatures=(DkimSignature("pass", "example.com", "s1", "AbCdEfGhIjKl"),))
    decision = session(GMAIL.with_options(ptr_enforcement="permanent")).accept(facts)
    headers = dict(decision.headers)
    assert headers["Received"].startswith("from client.example (unknown [192.0.2.10]) by mx.google.com with ESMTP id ")
    assert " for <" not in headers["Received"] and "version=" not in headers["Received"]
    assert headers["Authentication-Results"] == (
        "mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=AbCdEfGh; spf=pass (google.com: "
        "domain of postmaster@client.example designates 192.0.2.10 as permitted sender) "
        "smtp.mailfrom=postmaster@client.example; dmarc=none header.from=example.com"
    )


def test_dmarc_quarantine_goes_to_spam_and_p_none_to_the_inbox():
    quarantine = session(GMAIL).decide("data", clean(dmarc="fail", dmarc_policy="quarantine",
                                                     dmarc_disposition="quarantine", aligned=False))
    assert quarantine is not None and quarantine.action == "spam" and quarantine.folder == "spam"
    assert quarantine.headers[0] == ("X-Sandbox-Folder", "spam")
    assert any(name == "Received" for name, _ in quarantine.headers)
    p_none = session(GMAIL).decide("data", clean(dmarc="fail", dmarc_policy="none", aligned=False))
    assert p_none is not None and p_none.action == "accept" and p_none.folder == "inbox" and p_none.rule_id is None


def test_stages_before_data_continue_when_no_rule_fires():
    conn = session(GMAIL)
    ok = Facts(client_ip="192.0.2.10", helo="client.example", mail_from="a@example.org", recipient="u@gmail.com")
    for stage in ("connect", "ehlo", "mail", "rcpt"):
        assert conn.decide(stage, ok) is None


# -- precedence -----------------------------------------------------------------------------------


def _rule(facts: Facts, **options: Any) -> str | None:
    decision = session(GMAIL.with_options(**options)).decide("data", facts)
    assert decision is not None
    return decision.rule_id


def test_arc_from_a_forwarder_overrides_dmarc_spf_and_dkim_failures():
    """A mailing list broke DKIM and SPF fails at the forwarder's IP: DMARC p=reject fails
    here, but the ARC chain passes and its first hop saw DMARC pass."""
    forwarded = clean(spf="fail", dkim="fail", dmarc="fail", dmarc_disposition="reject", aligned=False,
                      arc="pass", arc_trusted_pass=True)
    decision = session(GMAIL).decide("data", forwarded)
    assert decision is not None and decision.action == "accept" and decision.rule_id == "R8"
    assert _rule(replace(forwarded, arc_trusted_pass=False, arc="fail")) == "G4"
    # the forwarder's own host must still comply: ARC does not excuse a missing PTR
    assert _rule(replace(forwarded, rdns="none")) == "G22"


@pytest.mark.parametrize("changes, options, expected", [
    # unparseable beats everything, even the transport
    (dict(format=("unparseable", "missing-from"), tls=False), dict(require_tls=True), "G51"),
    # TLS before the sending host and the message
    (dict(tls=False, rdns="none", format=("duplicate-header",)), dict(require_tls=True), "G30"),
    # the sending host (PTR) before the message format
    (dict(rdns="none", format=("duplicate-header",)), {}, "G22"),
    # the message format before authentication
    (dict(format=("missing-message-id",), spf="fail", dkim="fail", dmarc="fail", dmarc_disposition="reject"), {}, "G40"),
    # among From: problems the missing header comes first
    (dict(format=("from-no-valid-address", "missing-from")), {}, "G44"),
    # the domain's DMARC reject before SPF -all and before the generic 5.7.26
    (dict(spf="fail", dkim="none", dmarc="fail", dmarc_disposition="reject", aligned=False), {}, "G4"),
    # SPF -all only when DKIM does not pass; ~all falls to G1
    (dict(spf="fail", dkim="none", dmarc="fail", dmarc_policy="none", aligned=False), {}, "G3"),
    (dict(spf="softfail", spf_all="~", dkim="none", dmarc="fail", dmarc_policy="none", aligned=False), {}, "G1"),
    (dict(spf="fail", dkim="pass", dmarc="pass"), {}, None),
    # a DNS failure under p=reject defers; under p=quarantine it does not
    (dict(dmarc="temperror", dmarc_temporary=True, dmarc_policy="reject", spf="temperror", dkim="none"), {}, "G5"),
    (dict(dmarc="temperror", dmarc_temporary=True, dmarc_policy=None, spf="temperror", dkim="none"), {}, "G5"),
    (dict(dmarc="temperror", dmarc_temporary=True, dmarc_policy="quarantine", dkim="pass"), {}, None),
    # IPv6: no PTR and no authentication -> G24; only one of them -> G22 / G1 (W-G5, W-G1)
    (dict(client_ip="2001:db8::1", rdns="none", spf="none", dkim="none", dmarc="fail", dmarc_policy="none"), {}, "G24"),
    (dict(client_ip="2001:db8::1", rdns="none"), {}, "G22"),
    (dict(client_ip="2001:db8::1", spf="none", dkim="none", dmarc="fail", dmarc_policy="none"), {}, "G1"),
    # PTR lookup failure is temporary whatever the enforcement option says
    (dict(rdns="temperror"), dict(ptr_enforcement="permanent"), "G20/dns"),
    # all-sender rules before bulk rules; bulk rules in the order SPF, DKIM, DMARC record, alignment
    (dict(bulk=True, spf="softfail", spf_all="~", dkim="fail", dmarc="fail", dmarc_policy="none", aligned=False), {}, "G1"),
    (dict(bulk=True, spf="softfail", spf_all="~", dkim="pass", dmarc_record=False, dmarc="none"), {}, "G8"),
    (dict(bulk=True, dkim="fail", dmarc_record=False, dmarc="none", dmarc_policy=None), {}, "G10"),
    (dict(bulk=True, dmarc_record=False, dmarc="none", dmarc_policy=None, aligned=False), {}, "G12"),
    # bulk rules before DMARC quarantine filing, and before the unsubscribe note
    (dict(bulk=True, aligned=False, dmarc="fail", dmarc_disposition="quarantine", one_click_unsubscribe=False), {}, "G14"),
    (dict(bulk=True, dmarc="fail", dmarc_disposition="quarantine", aligned=True, one_click_unsubscribe=False), {}, "G6"),
    # non-bulk senders are not asked for one-click unsubscribe
    (dict(bulk=False, one_click_unsubscribe=False, list_unsubscribe=False), {}, None),
])
def test_precedence(changes, options, expected):
    assert _rule(clean(**changes), **options) == expected


# -- options -------------------------------------------------------------------------------------


def test_require_tls_is_off_by_default():
    assert not GMAIL.require_tls
    assert _rule(clean(tls=False)) is None
    assert _rule(clean(tls=False), require_tls=True) == "G30"
    assert _rule(clean(tls=False), require_tls=True, tls_enforcement="permanent") == "G31"
    assert _rule(clean(tls=True), require_tls=True) is None


def test_enforcement_options_choose_the_temporary_or_permanent_row():
    unauthenticated = clean(spf="none", dkim="none", dmarc="fail", dmarc_policy="none", aligned=False)
    assert _rule(unauthenticated) == "G1"
    assert _rule(unauthenticated, auth_enforcement="temporary") == "G2"
    assert _rule(clean(rdns="fail")) == "G22"
    assert _rule(clean(rdns="fail"), ptr_enforcement="temporary") == "G20"
    bulk_no_spf = clean(bulk=True, spf="neutral", spf_all="?")
    assert _rule(bulk_no_spf) == "G8"
    assert _rule(bulk_no_spf, bulk_enforcement="temporary") == "G7"


def test_bulk_rules_only_for_declared_bulk_senders():
    assert _rule(clean(bulk=False, spf="softfail")) is None
    assert _rule(clean(bulk=True, spf="softfail")) == "G8"
    compliant = session(GMAIL).decide("data", clean(bulk=True))
    assert compliant is not None and compliant.action == "accept" and compliant.rule_id is None
    no_unsubscribe = session(GMAIL).decide("data", clean(bulk=True, one_click_unsubscribe=False))
    assert no_unsubscribe is not None and no_unsubscribe.action == "accept" and no_unsubscribe.rule_id == "B7"
    assert no_unsubscribe.folder == "inbox"
    assert dict(no_unsubscribe.headers)["X-Sandbox-Note"].startswith("bulk sender without one-click unsubscribe")


def test_with_options_rejects_bad_values():
    with pytest.raises(ValueError, match="require_tls is true or false"):
        GMAIL.with_options(require_tls="yes")
    with pytest.raises(ValueError, match="no option 'colour'"):
        GMAIL.with_options(colour="blue")
    with pytest.raises(ValueError, match="bulk_enforcement is one of temporary, permanent"):
        GMAIL.with_options(bulk_enforcement="sometimes")
