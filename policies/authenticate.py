"""One entry point that runs every check on one message and composes the results.

This is what a careful receiver concludes about a message and its envelope: SPF for
the envelope, each DKIM signature, ARC, reverse DNS of the client, the message format,
and DMARC on top of SPF and DKIM. The provider profiles decide what to do with it;
this module only establishes the facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import authres

from fake_dns import Resolver
from policies.arc import ArcResult, check_arc
from policies.dkim import DkimResult, check_dkim
from policies.dmarc import DmarcResult, check_dmarc
from policies.format import FormatResult, check_format
from policies.rdns import RdnsResult, check_rdns
from policies.spf import SpfResult, check_spf

DMARC_MODES = ("rfc9989", "rfc7489")

#: The clause for a message without DKIM signatures.
_NO_SIGNATURE = str(authres.DKIMAuthenticationResult(result="none"))


@dataclass(frozen=True)
class MessageAuthentication:
    """Every check's result for one message, and the Authentication-Results they make."""

    spf: SpfResult
    dkim: tuple[DkimResult, ...]
    dmarc: DmarcResult
    arc: ArcResult
    rdns: RdnsResult
    format: FormatResult
    authserv_id: str

    def checks(self) -> list[tuple[str, Any]]:
        """(name, result) pairs in the order a trainee reads them."""
        return [
            ("spf", self.spf),
            *(("dkim", d) for d in self.dkim),
            ("dmarc", self.dmarc),
            ("arc", self.arc),
            ("rdns", self.rdns),
            ("format", self.format),
        ]

    def header_value(self) -> str:
        """The Authentication-Results field value (RFC 8601, without the field name).

        authres writes it as ``authserv-id; clause; clause`` with the authserv-id in lower
        case; the clauses come in the order receivers usually write them, ``dkim=none``
        standing in for missing signatures. (authres writes ``authserv-id; none`` for a
        header without clauses, which cannot happen here: SPF, DMARC and iprev always
        give one.) Each clause is authres's text, memoised by its check where the inputs
        repeat, so no header object is built per message.
        """
        dkim = [d.auth_result_text() for d in self.dkim] or [_NO_SIGNATURE]
        clauses = (self.arc.auth_result_text(), *dkim, self.spf.auth_result_text(),
                   self.dmarc.auth_result_text(), self.rdns.auth_result_text())
        return f"{self.authserv_id.lower()}; {'; '.join(clauses)}"

    def fixes(self) -> list[str]:
        """Every fix the checks propose, without repeats, in reading order."""
        return _unique(fix for _, result in self.checks() for fix in result.fixes())

    def as_dict(self) -> dict[str, Any]:
        """The ``check --json`` object (also what the store keeps for each delivery).

        Each check's dict already carries its ``fixes``; the overall list is collected
        from those rather than asking every check again (this runs once per message).
        """
        spf, dmarc, arc, rdns = (r.as_dict() for r in (self.spf, self.dmarc, self.arc, self.rdns))
        dkim = [d.as_dict() for d in self.dkim]
        fmt = self.format.as_dict()
        return {
            "spf": spf,
            "dkim": dkim,
            "dmarc": dmarc,
            "arc": arc,
            "rdns": rdns,
            "format": fmt["issues"],
            "fixes": _unique(fix for d in (spf, *dkim, dmarc, arc, rdns, fmt) for fix in d["fixes"]),
            "authentication_results": self.header_value(),
        }


def _unique(items: Iterable[str]) -> list[str]:
    """``items`` without repeats, first occurrence kept."""
    return list(dict.fromkeys(items))


async def authenticate(
    message: bytes,
    *,
    resolver: Resolver,
    client_ip: str,
    mail_from: str,
    helo: str,
    smtputf8: bool = False,
    dmarc_mode: str = "rfc9989",
    authserv_id: str = "sandbox.invalid",
    now: float | None = None,
) -> MessageAuthentication:
    """Run every check for one message received from ``client_ip``.

    SPF, DKIM, ARC and reverse DNS are independent of each other; DMARC needs SPF's and
    DKIM's results and the From domain the format check found. They run one after the
    other: the resolver answers from memory and never waits (timeouts are reported at
    once), so running them as concurrent tasks would only add task switches.
    """
    if dmarc_mode not in DMARC_MODES:
        raise ValueError(f"unknown DMARC mode {dmarc_mode!r}; use one of {', '.join(DMARC_MODES)}")
    fmt = check_format(message, smtputf8=smtputf8)
    spf = await check_spf(resolver, client_ip, mail_from, helo, receiver=authserv_id)
    dkim = await check_dkim(message, resolver, now=now)
    arc = await check_arc(message, resolver, now=now, client_ip=client_ip)
    rdns = await check_rdns(resolver, client_ip)
    dmarc = await check_dmarc(resolver, fmt.from_domain, spf, dkim, mode=dmarc_mode)
    return MessageAuthentication(spf, tuple(dkim), dmarc, arc, rdns, fmt, authserv_id)
