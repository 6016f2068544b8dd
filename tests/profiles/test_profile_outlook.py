"""The Outlook.com profile: every rule's exact reply with hop stamps, session shape,
precedence, and W-M1 reproduced to the character."""

from __future__ import annotations

import re
from typing import Any

import pytest

from policies.profiles import Facts, Session, load_profile, parse_profile
from profile_helpers import clean, dump, profile_data, session

OUTLOOK = load_profile("outlook")
STAMP = "[{server}.namprd21.prod.outlook.com 2024-12-22T19:56:54.000Z {id}]"
STAMPS = ("[{server}.NAMPRD21.PROD.OUTLOOK.COM 2024-12-22T19:56:54.000Z {id}] "
          "[{server}.namprd21.prod.outlook.com 2024-12-22T19:56:54.000Z {id}] "
          "[{server}.eop-nam02.prod.protection.outlook.com 2024-12-22T19:56:54.000Z {id}]")
W_M1_TEXT = ("550 5.7.515 Access denied, sending domain NYAAAAN.EXAMPLE.JP doesn't meet the required authentication "
             "level. The sender's domain in the 5322.From address doesn't meet the authentication requirements "
             "defined for the sender. To learn how to fix this see: https://go.microsoft.com/fwlink/p/?linkid=2319303 "
             "Spf= Fail , Dkim= Pass , DMARC= Pass")

CASES: list[tuple[str, dict[str, Any], str, Facts, str]] = [
    ("Q12", {"require_tls": True}, "mail", Facts(client_ip="192.0.2.10", mail_from="a@example.com"),
     "530 5.7.0 Must issue a STARTTLS command first " + STAMP),
    ("X-relay", {}, "rcpt", Facts(client_ip="192.0.2.10", recipient_status="relay", recipient="bob@example.org"),
     "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain " + STAMP),
    ("X-unknown-user", {}, "rcpt",
     Facts(client_ip="192.0.2.10", recipient_status="unknown", recipient="nobody@outlook.com"),
     "550 5.5.0 Requested action not taken: mailbox unavailable. " + STAMP),
    ("X-over-quota", {}, "rcpt",
     Facts(client_ip="192.0.2.10", recipient_status="over_quota", recipient="full@outlook.com"),
     "452 4.2.2 Mailbox full " + STAMP),
    ("M10", {}, "data", clean(client_ip="2a01:111:f200:2004::240", rdns="none"),
     "550 5.7.25 Access denied, the sending IPv6 address [2a01:111:f200:2004::240] must have a reverse DNS record "
     + STAMPS),
    ("M11", {}, "data", clean(client_ip="2a01:111:f200:2004::240", spf="none", dkim="none", dmarc="fail",
                              dmarc_policy="none"),
     "450 4.7.26 Access denied, a message sent over IPv6 [2a01:111:f200:2004::240] must pass either SPF or DKIM "
     "validation, this message is not signed " + STAMPS),
    # W-M2, the domain of the sample
    ("M2", {}, "data", clean(dmarc="fail", dmarc_disposition="reject", from_domain="example.jp"),
     "550 5.7.509 Access denied, sending domain [EXAMPLE.JP] does not pass DMARC verification and has a DMARC "
     "policy of reject. " + STAMPS),
    # W-M1: SPF failed, DKIM and DMARC passed, still refused for a high-volume sender
    ("M1", {}, "data", clean(bulk=True, spf="fail", from_domain="nyaaaan.example.jp"), W_M1_TEXT + " " + STAMPS),
    ("M2/quarantine", {}, "data", clean(dmarc="fail", dmarc_disposition="quarantine"),
     "250 2.6.0 Queued mail for delivery"),
]


def test_every_outlook_rule_has_a_case():
    assert [c[0] for c in CASES] == [r.id for r in OUTLOOK.rules]


@pytest.mark.parametrize("rule_id, options, stage, facts, line", CASES, ids=[c[0] for c in CASES])
def test_rule_reply(rule_id, options, stage, facts, line):
    conn = session(OUTLOOK.with_options(**options))
    decision = conn.decide(stage, facts)
    assert decision is not None and decision.rule_id == rule_id
    assert decision.lines == (line.format(**conn.tokens),)
    rule = next(r for r in OUTLOOK.rules if r.id == rule_id)
    assert decision.inferred == rule.inferred
    if rule.action in ("accept", "spam"):
        assert decision.folder == ("spam" if rule.action == "spam" else "inbox")
    else:
        assert decision.action == rule.action and decision.code == int(line[:3])


def test_w_m1_to_the_character_with_the_samples_hop_names():
    """A copy of the profile whose stamps name the sample's hops reproduces W-M1 exactly:
    the stamps are profile data, not code."""
    data = profile_data("outlook")
    data["session"]["values"]["stamps"] = (
        "[{server}.JPNP255.PROD.OUTLOOK.COM {now_iso} {id}] [{server}.jpnprd00.prod.outlook.com {now_iso} {id}] "
        "[{server}EE.apcprd00.prod.outlook.com {now_iso} {id}]"
    )
    profile = parse_profile(dump(data), source="copy-of-outlook.yaml")
    conn = Session(profile, "192.0.2.10", {"id": "0000000000000EEE", "server": "0000000000000"},
                   clock=lambda: 1748211742.0)  # 2025-05-25T22:22:22Z
    decision = conn.decide("data", clean(bulk=True, spf="fail", from_domain="nyaaaan.example.jp"))
    assert decision is not None
    assert decision.lines == (
        "550 5.7.515 Access denied, sending domain NYAAAAN.EXAMPLE.JP doesn't meet the required authentication "
        "level. The sender's domain in the 5322.From address doesn't meet the authentication requirements defined "
        "for the sender. To learn how to fix this see: https://go.microsoft.com/fwlink/p/?linkid=2319303 Spf= Fail "
        ", Dkim= Pass , DMARC= Pass [0000000000000.JPNP255.PROD.OUTLOOK.COM 2025-05-25T22:22:22.000Z "
        "0000000000000EEE] [0000000000000.jpnprd00.prod.outlook.com 2025-05-25T22:22:22.000Z 0000000000000EEE] "
        "[0000000000000EE.apcprd00.prod.outlook.com 2025-05-25T22:22:22.000Z 0000000000000EEE]",
    )


def test_outlook_session_shape():
    """Greeting with host, date and hex id; EHLO in the June 2025 capture's order."""
    conn = session(OUTLOOK, ip="120.221.100.232", now=1750571880.0)  # Sun, 22 Jun 2025 05:58:00 +0000
    server, sid = conn.tokens["server"], conn.id
    assert re.fullmatch(r"[A-Z]{2}[0-9]PEPF[0-9A-F]{8}", server) and re.fullmatch(r"[0-9A-F]{16}", sid)
    assert conn.greeting() == [f"220 {server}.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready at "
                               f"Sun, 22 Jun 2025 05:58:00 +0000 [{sid}]"]
    assert conn.ehlo(tls_active=False, tls_available=True) == [
        f"250-{server}.mail.protection.outlook.com Hello [120.221.100.232]",
        "250-SIZE 49283072",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        "250-STARTTLS",
        "250-8BITMIME",
        "250-BINARYMIME",
        "250-CHUNKING",
        "250 SMTPUTF8",
    ]
    assert conn.reply("mail_ok", sender="a@example.com") == ["250 2.1.0 Sender OK"]


def test_outlook_trace_headers():
    decision = session(OUTLOOK).decide("data", clean(tls_version="TLS1_2", tls_cipher="ECDHE-RSA-AES256-GCM-SHA384"))
    assert decision is not None and decision.action == "accept"
    headers = dict(decision.headers)
    assert "with Microsoft SMTP Server (version=TLS1_2, cipher=ECDHE-RSA-AES256-GCM-SHA384) id" in headers["Received"]
    assert headers["Authentication-Results"] == (
        "spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=example.com; dmarc=pass action=none header.from=example.com;"
    )


@pytest.mark.parametrize("changes, expected", [
    (dict(client_ip="2001:db8::5", rdns="none", dmarc="fail", dmarc_disposition="reject"), "M10"),
    (dict(dmarc="fail", dmarc_disposition="reject", bulk=True), "M2"),
    (dict(bulk=True, dkim="fail"), "M1"),
    (dict(bulk=True, dmarc="fail", dmarc_disposition="quarantine"), "M1"),
    (dict(rdns="none"), None),  # IPv4 without PTR: no published reply (M9)
    (dict(format=("duplicate-header",)), None),  # no format rule for the consumer MX
])
def test_precedence(changes, expected):
    decision = session(OUTLOOK).decide("data", clean(**changes))
    assert decision is not None and decision.rule_id == expected
