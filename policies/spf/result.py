"""The SPF result type and the two header forms a receiver records it in.

:class:`SpfResult` holds what check_host() concluded and the facts behind it (the
record, the matched term, every DNS answer in order). It renders itself as an RFC 8601
Authentication-Results clause and as an RFC 7208 9.1 ``Received-SPF`` field; the
plain-language explanation and the DNS fixes live in :mod:`policies.spf.advice`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import authres

from fake_dns import Answer

RESULTS = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")
_COMMENT_SPECIALS = re.compile(r"([()\\])")
_DOT_ATOM = re.compile(r"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


@dataclass(frozen=True)
class Problem:
    """What went wrong for a ``none``, ``permerror`` or ``temperror`` result, as data.

    ``code`` is one of: ``invalid-domain``, ``no-record``, ``multiple-records``,
    ``syntax``, ``non-ascii``, ``too-many-lookups``, ``too-many-void-lookups``,
    ``too-many-mx``, ``include-no-record``, ``redirect-no-record``, ``invalid-target``,
    ``dns-timeout``, ``dns-servfail``, ``invalid-ip``. ``domain`` is the name at fault
    (the record's owner, or the name whose lookup failed); ``term`` the term involved.
    """

    code: str
    domain: str | None = None
    term: str | None = None


@dataclass(frozen=True)
class SpfResult:
    """The outcome of one SPF check (one identity, one client IP)."""

    result: str  # one of RESULTS
    domain: str  # the domain whose policy was evaluated (MAIL FROM domain or HELO name)
    identity: str  # "mailfrom" or "helo"
    sender: str  # <sender> as check_host() used it (postmaster@... substituted)
    client_ip: str
    helo: str
    receiver: str = "sandbox.invalid"
    explanation: str | None = None  # the exp= text on fail, or the default explanation
    mechanism: str | None = None  # the term that matched, as written
    record: str | None = None  # the SPF record of ``domain``
    reason: str | None = None  # why, for none / permerror / temperror
    problem: Problem | None = None
    lookups: tuple[Answer, ...] = ()  # every DNS answer, in the order asked
    dns_terms: int = 0  # DNS-querying terms evaluated (limit 10)
    void_lookups: int = 0  # terms whose lookup found nothing (limit 2)
    policy_domain: str | None = None  # whose record decided (differs from domain after redirect=)
    all_qualifier: str | None = None  # qualifier of the deciding record's `all` term
    steps: tuple[str, ...] = field(default=(), repr=False)  # what check_host() did, in order

    # -- RFC 8601 / RFC 7208 9.1 -------------------------------------------------------

    def auth_result(self) -> authres.SPFAuthenticationResult:
        """The Authentication-Results clause, e.g. ``spf=pass smtp.mailfrom=user@example.com``."""
        return _auth_result(self.result, self.identity, self.helo, self.sender)

    def auth_result_text(self) -> str:
        """``str(self.auth_result())``, memoised."""
        return _auth_result_text(self.result, self.identity, self.helo, self.sender)

    def received_spf(self) -> str:
        """The value of a ``Received-SPF:`` header field (RFC 7208 9.1), without the field name:
        the result, a comment in words, then ``key=value`` pairs."""
        return _received_spf(self.result, self.identity, self.client_ip, self.sender, self.helo, self.receiver,
                             self.mechanism, self.reason)

    # -- CheckResult -------------------------------------------------------------------

    def explain(self) -> list[str]:
        from policies.spf.advice import explain

        return explain(self)

    def fixes(self) -> list[str]:
        from policies.spf.advice import fixes

        return fixes(self)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable: every field, the lookups as objects, the renderings."""
        return {
            "result": self.result,
            "domain": self.domain,
            "identity": self.identity,
            "sender": self.sender,
            "client_ip": self.client_ip,
            "helo": self.helo,
            "receiver": self.receiver,
            "explanation": self.explanation,
            "mechanism": self.mechanism,
            "record": self.record,
            "reason": self.reason,
            "problem": None if self.problem is None else {
                "code": self.problem.code, "domain": self.problem.domain, "term": self.problem.term,
            },
            "policy_domain": self.policy_domain,
            "all_qualifier": self.all_qualifier,
            "dns_terms": self.dns_terms,
            "void_lookups": self.void_lookups,
            "lookups": [answer_dict(answer) for answer in self.lookups],
            "received_spf": self.received_spf(),
            "authentication_results": self.auth_result_text(),
            "explain": self.explain(),
            "fixes": self.fixes(),
        }


def answer_dict(answer: Answer) -> dict[str, Any]:
    """One DNS answer as JSON: what was asked, the outcome, the records as text."""
    return {
        "name": answer.name,
        "type": answer.rdtype,
        "outcome": answer.outcome.value,
        "records": answer.record_texts(),
        "cnames": list(answer.cnames),
        "summary": answer.describe(),
    }


def _auth_result(result: str, identity: str, helo: str, sender: str) -> authres.SPFAuthenticationResult:
    if identity == "helo":
        return authres.SPFAuthenticationResult(result=result, smtp_helo=helo)
    return authres.SPFAuthenticationResult(result=result, smtp_mailfrom=sender)


@functools.lru_cache(maxsize=1024)
def _auth_result_text(result: str, identity: str, helo: str, sender: str) -> str:
    """The clause as text. Memoised (bounded, stateless: a pure function of its text
    arguments), like :func:`_received_spf`: the same few senders get the same verdicts
    message after message, and authres builds the text slowly."""
    return str(_auth_result(result, identity, helo, sender))


@functools.lru_cache(maxsize=1024)
def _received_spf(result: str, identity: str, client_ip: str, sender: str, helo: str, receiver: str,
                  mechanism: str | None, reason: str | None) -> str:
    """:meth:`SpfResult.received_spf`, memoised (bounded, stateless: a pure function of the
    fields it shows, all text)."""
    pairs = [
        ("client-ip", client_ip),
        ("envelope-from", sender),
        ("helo", helo),
        ("receiver", receiver),
        ("identity", identity),
    ]
    if mechanism is not None:
        pairs.append(("mechanism", mechanism))
    if reason is not None and result in ("permerror", "temperror"):
        pairs.append(("problem", reason))
    rendered = "; ".join(f"{key}={_key_value(value)}" for key, value in pairs)
    who = f"domain of {sender}" if identity == "mailfrom" else f"HELO name {helo}"
    comment = {
        "pass": f"{who} designates {client_ip} as permitted sender",
        "fail": f"{who} does not designate {client_ip} as permitted sender",
        "softfail": f"{who} does not designate {client_ip} as permitted sender (softfail: transitioning)",
        "neutral": f"{client_ip} is neither permitted nor denied by {who}",
        "none": f"{who} does not publish a usable SPF record",
        "temperror": f"temporary error while checking {who}",
        "permerror": f"permanent error in the SPF policy of {who}",
    }[result]
    return f"{result} ({_comment(receiver + ': ' + comment)}) {rendered};"


def _key_value(value: str) -> str:
    """A Received-SPF value: a dot-atom as is, anything else as a quoted-string."""
    if _DOT_ATOM.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    """Comment text with the characters a comment cannot hold bare escaped."""
    return _COMMENT_SPECIALS.sub(r"\\\1", text)
