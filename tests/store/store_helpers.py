"""Deliveries shaped like the ones the SMTP server stores, for the store and CLI tests.

The decision is a real profile :class:`Decision`; the SPF result is a real check run
against the demo zones (so its explanation and fix are the ones a trainee would see);
the other check dicts follow the shape their ``as_dict()`` gives.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from fake_dns import Faults, Resolver, Zones
from policies.profiles.decision import Decision
from policies.spf import check_spf
from sandbox import demo
from sandbox.store import Delivery
from sandbox.store.delivery import iso_utc

SENDER_IP = "192.0.2.99"  # not in example.net's SPF record: SPF fails
DMARC_FIX = "publish `_dmarc.example.net TXT \"v=DMARC1; p=none\"` while you fix SPF"


def spf_failure() -> dict[str, Any]:
    """The real SPF check's dict for a client example.net's SPF record does not list
    (runs its own event loop: call it outside one)."""
    resolver = Resolver(Zones.from_files(demo.zone_files()), Faults(()))
    result = asyncio.run(check_spf(resolver, SENDER_IP, "alice@example.net", "mail.example.net"))
    return result.as_dict()


def rejected_checks() -> dict[str, Any]:
    spf = spf_failure()
    return {
        "spf": spf,
        "dkim": [{
            "result": "fail", "domain": "example.net", "selector": "mail",
            "explain": ["DKIM-Signature d=example.net s=mail", "dkim=fail: the body hash does not match"],
            "fixes": [],
        }],
        "dmarc": {
            "result": "fail", "domain": "example.net", "policy": "reject", "disposition": "reject",
            "explain": ["DMARC record of example.net: v=DMARC1; p=reject", "neither SPF nor DKIM aligned"],
            "fixes": [DMARC_FIX],
        },
        "arc": {"result": "none", "explain": ["no ARC headers"], "fixes": []},
        "rdns": {"result": "pass", "explain": ["PTR 99.2.0.192.in-addr.arpa -> mail.example.net"], "fixes": []},
        "format": [{"code": "missing-date", "header": "Date", "detail": "the message has no Date header"}],
        "fixes": [*spf["fixes"], DMARC_FIX],
        "authentication_results": "mx.google.com; spf=fail smtp.mailfrom=example.net; dmarc=fail",
    }


def rejected_decision() -> dict[str, Any]:
    lines = (
        "550-5.7.26 Unauthenticated email from example.net is not accepted due to domain's",
        "550 5.7.26 DMARC policy. - gsmtp",
    )
    return Decision(action="reject", stage="data", code=550, enhanced_code="5.7.26", lines=lines,
                    rule_id="gmail.dmarc-reject", reason="DMARC fail with p=reject").as_dict()


def accepted_decision() -> dict[str, Any]:
    return Decision(action="accept", stage="data", code=250, enhanced_code="2.0.0",
                    lines=("250 2.0.0 OK  1700000000 abc - gsmtp",), folder="inbox",
                    headers=(("Authentication-Results", "mx.google.com; spf=pass"),)).as_dict()


def transcript(*lines: tuple[str, str]) -> list[dict[str, Any]]:
    start = time.time()
    return [{"t": round(start + index * 0.001, 6), "dir": d, "line": line} for index, (d, line) in enumerate(lines)]


MESSAGE = (b"From: alice@example.net\r\nTo: bob@gmail.com\r\nSubject: hi\r\n"
           b"Message-ID: <m1@example.net>\r\n\r\nHello\r\n")


def rejected(**changes: Any) -> Delivery:
    """A message refused at the end of DATA: SPF and DMARC fail."""
    base = Delivery(
        received_at=iso_utc(time.time()), session_id="sess-1", profile="gmail", client_ip=SENDER_IP,
        original_ip="127.0.0.1", helo="mail.example.net", mail_from="alice@example.net",
        rcpt_to=["bob@gmail.com"], tls={"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "bits": 256},
        checks=rejected_checks(), decision=rejected_decision(), folder=None,
        transcript=transcript(("S", "220 mx.google.com ESMTP sess-1 - gsmtp"), ("C", "EHLO mail.example.net"),
                              ("S", "250 mx.google.com at your service"), ("C", "MAIL FROM:<alice@example.net>"),
                              ("S", "250 2.1.0 OK"), ("C", "RCPT TO:<bob@gmail.com>"), ("S", "250 2.1.5 OK"),
                              ("C", "DATA"), ("S", "354 Go ahead"), ("*", "message of 92 bytes"),
                              *(("S", line) for line in rejected_decision()["lines"])),
        message=MESSAGE, message_id="<m1@example.net>", stage="data",
    )
    return replace(base, **changes)


def accepted(**changes: Any) -> Delivery:
    """A message delivered to the inbox, the provider's header on top."""
    base = Delivery(
        received_at=iso_utc(time.time()), session_id="sess-2", profile="gmail", client_ip="192.0.2.10",
        original_ip="127.0.0.1", helo="mail.example.com", mail_from="alice@example.com",
        rcpt_to=["bob@gmail.com", "carol@gmail.com"], tls={}, checks={"spf": {"result": "pass", "domain": "example.com"},
                                                                      "dkim": [], "fixes": []},
        decision=accepted_decision(), folder="inbox",
        transcript=transcript(("S", "220 mx.google.com ESMTP"), ("C", "EHLO mail.example.com")),
        message=b"Authentication-Results: mx.google.com; spf=pass\r\n" + MESSAGE.replace(b"m1@", b"m2@"),
        message_id="<m2@example.net>", stage="data",
    )
    return replace(base, **changes)


def refused_at_rcpt(**changes: Any) -> Delivery:
    """Unknown user at RCPT: no message, no checks, what is known of the envelope."""
    lines = ("550-5.1.1 The email account that you tried to reach does not exist.", "550 5.1.1 nosuchuser - gsmtp")
    decision = Decision(action="reject", stage="rcpt", code=550, enhanced_code="5.1.1", lines=lines,
                        rule_id="gmail.unknown-user").as_dict()
    base = Delivery(
        received_at=iso_utc(time.time()), session_id="sess-3", profile="gmail", client_ip="192.0.2.10",
        original_ip="192.0.2.10", helo="mail.example.com", mail_from="alice@example.com", rcpt_to=[],
        tls={}, checks={}, decision=decision, folder=None,
        transcript=transcript(("C", "RCPT TO:<nosuchuser@gmail.com>"), *(("S", line) for line in lines)),
        message=b"", message_id=None, stage="rcpt",
    )
    return replace(base, **changes)
