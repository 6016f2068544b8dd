"""The DMARC verdict, and how it reads as a header, as an explanation and as fixes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import authres.dmarc

from fake_dns import Answer

_MODE_NAME = {"rfc9989": "RFC 9989, DNS Tree Walk", "rfc7489": "RFC 7489, Public Suffix List"}


@dataclass(frozen=True)
class DmarcResult:
    """DMARC for one message.

    ``policy`` is what the Domain Owner asks for failing mail (the ``p``, ``sp`` or
    ``np`` value named by ``policy_tag``; None when no usable record applies) and
    ``disposition`` what a receiver should do with this message: ``none`` unless it
    failed, and one step softer than ``policy`` under ``t=y`` (RFC 9989) or when RFC
    7489 ``pct=`` sampling left the message out (``pct_downgraded``).
    """

    result: str  # pass, fail, none, temperror or permerror
    domain: str | None  # the RFC5322.From domain (A-labels, lower case)
    org_domain: str | None  # its Organizational Domain (None: not determined)
    policy: str | None
    policy_tag: str | None  # the tag ``policy`` comes from: p, sp or np
    nonexistent: bool  # the From domain does not exist (NXDOMAIN), so np= was asked for (RFC 9989)
    disposition: str  # none, quarantine or reject
    mode: str  # rfc9989 or rfc7489
    record: str | None  # the DMARC record that applies, as published
    record_domain: str | None  # where it was found (the name without _dmarc.)
    spf_aligned: bool
    dkim_aligned: bool
    aligned_dkim_domain: str | None
    adkim: str | None  # r or s, from the record
    aspf: str | None
    testing: bool  # t=y (RFC 9989)
    pct: int | None  # pct= (RFC 7489 mode)
    pct_downgraded: bool
    temporary_cause: str | None  # a temporary DNS error behind temperror, or behind an RFC 7489 fail
    warnings: tuple[str, ...]
    alignment: tuple[str, ...]  # what aligned with what, in words
    walk: tuple[str, ...]  # every _dmarc name looked up and what it held
    org_how: str | None  # how the Organizational Domain was determined
    lookups: tuple[Answer, ...]
    reason: str

    def auth_result(self) -> authres.dmarc.DMARCAuthenticationResult:
        """``dmarc=fail (p=reject dis=reject) header.from=example.com``."""
        return _auth_result(self.result, self.policy, self.disposition, self.domain)

    def auth_result_text(self) -> str:
        """``str(self.auth_result())``, memoised."""
        return _auth_result_text(self.result, self.policy, self.disposition, self.domain)

    def explain(self) -> list[str]:
        lines = [f"DMARC ({_MODE_NAME[self.mode]}) for the From domain {self.domain or '(none)'}"]
        lines += [f"looked up {answer.describe()}" for answer in self.lookups]
        if self.org_how:
            lines.append(self.org_how)
        if self.record is not None:
            lines.append(f'the record that applies: _dmarc.{self.record_domain} "{self.record}"')
        if self.policy is not None and self.policy_tag is not None:
            lines.append(self._policy_text())
        lines += list(self.alignment)
        lines += [f"warning: {warning}" for warning in self.warnings]
        lines.append(f"dmarc={self.result}: {self.reason}")
        if self.result == "fail" and self.policy is not None:
            lines.append(self._disposition_text())
        if self.result == "fail" and self.temporary_cause:
            lines.append(f"a temporary error played a part ({self.temporary_cause}); a receiver may defer "
                         "(4xx) instead of applying the policy")
        return lines

    def _policy_text(self) -> str:
        if self.record_domain == self.domain:
            return f"policy p={self.policy}: the From domain's own record"
        wanted = "np" if self.nonexistent else "sp"
        why = (f"{self.domain} is a subdomain of {self.record_domain}"
               + (" and does not exist (NXDOMAIN)" if self.nonexistent else ""))
        if wanted == self.policy_tag:
            return f"policy {wanted}={self.policy}: {why}"
        return (f"policy {self.policy_tag}={self.policy}: {why}; the record has no {wanted}=, so "
                f"{self.policy_tag}= applies")

    def _disposition_text(self) -> str:
        if self.testing and self.policy != "none":
            return (f"t=y (testing): the policy is applied one step softer, so the disposition is "
                    f"{self.disposition} instead of {self.policy}")
        if self.pct_downgraded:
            return (f"pct={self.pct}: this message fell outside the sampled {self.pct}%, so the next softer "
                    f"policy applies: {self.disposition} instead of {self.policy}")
        return f"disposition: {self.disposition}"

    def fixes(self) -> list[str]:
        where = self.org_domain or self.domain
        fixes: list[str] = []
        if self.result == "permerror":
            fixes.append("send with a From: address whose domain is a valid domain name")
        elif self.result == "none" and self.record is None and not self.warnings and where is not None:
            fixes.append(f'publish `_dmarc.{where} TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@{where}"` '
                         "(then move to p=quarantine or p=reject once the reports show all your mail aligned)")
        elif self.result == "fail":
            fixes += self._alignment_fixes()
        elif self.result == "temperror" and self.temporary_cause:
            fixes.append(f"make sure the name servers answer: {self.temporary_cause}")
        fixes += [f"correct the DMARC record: {warning}" for warning in self.warnings]
        return fixes

    def _alignment_fixes(self) -> list[str]:
        domain = self.domain
        base = self.org_domain or domain
        if self.aspf == "s":
            spf = (f"align SPF: send with a MAIL FROM (Return-Path) address @{domain} exactly (aspf=s), and list "
                   f"your sending IP in the SPF record of {domain}")
        else:
            spf = (f"align SPF: send with a MAIL FROM (Return-Path) address under {base} (e.g. bounce@{domain}), "
                   "and list your sending IP in that domain's SPF record")
        if self.adkim == "s":
            dkim = f"or sign with DKIM d={domain} exactly (adkim=s), publishing its key under _domainkey.{domain}"
        else:
            dkim = (f"or sign with DKIM d={base} (or a subdomain of it), publishing the key at "
                    f"<selector>._domainkey.{base}")
        return [spf, dkim]

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "domain": self.domain,
            "org_domain": self.org_domain,
            "policy": self.policy,
            "policy_tag": self.policy_tag,
            "nonexistent": self.nonexistent,
            "disposition": self.disposition,
            "mode": self.mode,
            "record": self.record,
            "record_domain": self.record_domain,
            "spf_aligned": self.spf_aligned,
            "dkim_aligned": self.dkim_aligned,
            "aligned_dkim_domain": self.aligned_dkim_domain,
            "adkim": self.adkim,
            "aspf": self.aspf,
            "testing": self.testing,
            "pct": self.pct,
            "pct_downgraded": self.pct_downgraded,
            "temporary_cause": self.temporary_cause,
            "warnings": list(self.warnings),
            "alignment": list(self.alignment),
            "walk": list(self.walk),
            "reason": self.reason,
            "lookups": [answer.describe() for answer in self.lookups],
            "authentication_results": self.auth_result_text(),
            "explain": self.explain(),
            "fixes": self.fixes(),
        }


def _auth_result(result: str, policy: str | None, disposition: str,
                 domain: str | None) -> authres.dmarc.DMARCAuthenticationResult:
    comment = f"p={policy} dis={disposition}" if policy is not None else None
    return authres.dmarc.DMARCAuthenticationResult(result=result, result_comment=comment, header_from=domain)


@functools.lru_cache(maxsize=1024)
def _auth_result_text(result: str, policy: str | None, disposition: str, domain: str | None) -> str:
    """The clause as text. Memoised (bounded, stateless: a pure function of its text
    arguments): the same From domains get the same verdict message after message, and
    authres builds the text slowly."""
    return str(_auth_result(result, policy, disposition, domain))
