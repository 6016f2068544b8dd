"""MessageAuthentication.header_value() joins each check's memoised clause text; it must
write exactly what authres writes when it renders the whole header from the clause
objects, for every kind of result real messages produce."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import authres
import yaml

from fake_dns import Faults, Resolver, Zone, Zones
from fake_dns.zone import txt_rdata
from policies.authenticate import MessageAuthentication, authenticate

DATA = Path(__file__).resolve().parent.parent / "data"
ARC_SUITE = DATA / "arc_test_suite" / "arc-draft-validation-tests.yml"
DKIM_CORPUS = DATA / "mail-dkim-corpus"

#: SPF, DMARC and reverse DNS for the senders below, so those clauses vary too.
SENDER_RECORDS = """\
example.org. TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc.example.org. TXT "v=DMARC1; p=reject"
example.com. TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc.example.com. TXT "v=DMARC1; p=quarantine; pct=50"
mail.example.org. A 192.0.2.10
10.2.0.192.in-addr.arpa. PTR mail.example.org.
11.2.0.192.in-addr.arpa. PTR elsewhere.example.net.
"""

#: (client IP, MAIL FROM, HELO, authserv-id): pass, fail, helo identity, IPv6, upper case.
ENVELOPES = [
    ("192.0.2.10", "bounce@example.org", "mail.example.org", "mx.google.com"),
    ("192.0.2.11", "user@example.com", "mail.example.com", "MX.Sandbox.Example"),
    ("2001:db8::25", "", "helo.example.org", "sandbox.invalid"),
]


def authres_rendering(auth: MessageAuthentication) -> str:
    """The whole header as authres renders it from the clause objects."""
    clauses = [auth.arc.auth_result(), *(d.auth_result() for d in auth.dkim)]
    clauses += [auth.spf.auth_result(), auth.dmarc.auth_result(), auth.rdns.auth_result()]
    if not auth.dkim:
        clauses.insert(1, authres.DKIMAuthenticationResult(result="none"))
    return authres.AuthenticationResultsHeader(authserv_id=auth.authserv_id, results=clauses).header_value()


def zone_with_senders() -> Zone:
    zone = Zone.empty(".")
    for line in SENDER_RECORDS.splitlines():
        owner, rdtype, text = line.split(" ", 2)
        zone.add(owner, rdtype, text.strip('"') if rdtype == "TXT" else text)
    return zone


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def arc_suite_cases() -> list[tuple[bytes, Resolver]]:
    """Every message of the ValiMail ARC suite with its key records."""
    cases = []
    for scenario in yaml.safe_load_all(ARC_SUITE.read_text()):
        zone = zone_with_senders()
        for name, text in scenario["txt-records"].items():
            zone.add_rdata(name, txt_rdata(text))
        resolver = Resolver(Zones([zone]))
        cases += [(crlf(test["message"].encode()), resolver) for test in scenario["tests"].values()]
    return cases


def dkim_corpus_cases() -> list[tuple[bytes, Resolver]]:
    """Every DKIM message of the Mail::DKIM corpus over its FAKE_DNS.dat (faults included)."""
    zone, faults = zone_with_senders(), []
    for line in (DKIM_CORPUS / "FAKE_DNS.dat").read_bytes().decode("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, record = re.split(r"\s+", line, maxsplit=1)
        if record in ("~~Query timed out~~", "~~SERVFAIL~~"):
            faults.append(f"{name}=" + ("timeout" if "timed out" in record else "servfail"))
        elif record != "NXDOMAIN":
            zone.add_rdata(name, txt_rdata(b"" if record == '""' else record.encode()))
    resolver = Resolver(Zones([zone]), Faults(faults))
    cases = json.loads((DKIM_CORPUS / "expected.json").read_text())["cases"]
    return [((DKIM_CORPUS / case["file"]).read_bytes(), resolver) for case in cases if case["kind"] == "dkim"]


def test_header_value_is_what_authres_renders_for_every_real_result():
    async def every_result() -> list[MessageAuthentication]:
        return [
            await authenticate(message, resolver=resolver.fork(), client_ip=ip, mail_from=mail_from, helo=helo,
                               authserv_id=authserv_id)
            for message, resolver in arc_suite_cases() + dkim_corpus_cases()
            for ip, mail_from, helo, authserv_id in ENVELOPES
        ]

    results = asyncio.run(every_result())
    values = [auth.header_value() for auth in results]
    assert values == [authres_rendering(auth) for auth in results]
    assert [auth.as_dict()["authentication_results"] for auth in results] == values
    # The comparison covers every clause kind, not one repeated header.
    assert len(set(values)) >= 300
    for clause in ("arc=none", "arc=pass", "arc=fail reason=", "dkim=none", "dkim=pass", "dkim=fail",
                   "dkim=permerror", "dkim=temperror", "header.b=\"", "spf=pass", "spf=fail", "spf=none",
                   "smtp.helo=", "dmarc=pass", "dmarc=fail (p=reject", "iprev=pass", "iprev=fail",
                   "iprev=permerror", "mx.sandbox.example; "):
        assert any(clause in value for value in values), clause
