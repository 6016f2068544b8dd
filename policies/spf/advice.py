"""SPF results in plain words: what was checked and why (explain), and what to change (fixes).

Kept apart from the result type so the wording a trainee reads can be edited in one
place. Fixes are concrete DNS changes, addressed to the record that decided the result
(after any redirect=), using the client address that was checked.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.spf.result import SpfResult

_VERDICTS = {
    "pass": "{domain} authorizes {ip} to send its mail",
    "fail": "{domain} states that {ip} is not allowed to send its mail; receivers may reject the message",
    "softfail": "{domain} states that {ip} is probably not allowed to send its mail; receivers usually "
                "accept the message but treat it as suspicious",
    "neutral": "{domain} makes no statement about {ip} (neither allowed nor forbidden)",
    "none": "there is no SPF policy to apply",
    "temperror": "a DNS lookup failed temporarily; a receiver defers the message (4xx) and the sender retries",
    "permerror": "the SPF policy of {domain} cannot be evaluated; receivers treat this as an error of the domain",
}


def explain(result: SpfResult) -> list[str]:
    """What was checked, each step with its DNS lookups in order, the matched term, the verdict."""
    if result.identity == "helo":
        subject = f"the HELO name {result.helo} (the MAIL FROM is empty, so the sender is {result.sender})"
    else:
        subject = f"the MAIL FROM domain {result.domain} (sender {result.sender})"
    lines = [f"SPF checks {subject} for the client {result.client_ip}."]
    lines.extend(result.steps)
    if result.mechanism is not None:
        where = result.policy_domain or result.domain
        lines.append(f"The term that decided: `{result.mechanism}` in the SPF record of {where}.")
    verdict = _VERDICTS[result.result].format(domain=result.domain, ip=result.client_ip)
    lines.append(f"Result: {result.result} - {verdict}.")
    if result.reason is not None:
        lines.append(f"Reason: {result.reason}.")
    if result.explanation is not None:
        lines.append(f"Explanation: {result.explanation}")
    return lines


def fixes(result: SpfResult) -> list[str]:
    """The DNS change that would make the check pass for this client; [] on pass."""
    if result.result == "pass":
        return []
    if result.result in ("fail", "softfail", "neutral"):
        return [_authorize(result)]
    if result.problem is None:
        return []
    return [_repair(result)]


def _ip_term(result: SpfResult) -> str:
    version = ipaddress.ip_address(result.client_ip).version
    return f"ip{version}:{result.client_ip}"


def _authorize(result: SpfResult) -> str:
    """The client is not covered (the record ends in all, or nothing matched), or a term
    names it with a failing qualifier."""
    where = result.policy_domain or result.domain
    mechanism = result.mechanism
    if mechanism is not None and mechanism.lstrip("+-~?").lower() != "all":
        return (
            f"the SPF record of {where} names {result.client_ip} in `{mechanism}` with the result {result.result}: "
            f"change that term (or its qualifier) if {result.client_ip} should send mail for {result.domain}"
        )
    fix = f"add `{_ip_term(result)}` to the SPF record of {where}"
    if where != result.domain:
        fix += f" (the record {result.domain} redirects to)"
    return fix


def _repair(result: SpfResult) -> str:
    problem = result.problem
    assert problem is not None
    name = problem.domain or result.domain
    term = f"`{problem.term}`" if problem.term else "the term"
    code = problem.code
    if code == "no-record":
        return f'publish `{name} TXT "v=spf1 {_ip_term(result)} -all"`'
    if code == "invalid-domain":
        if result.identity == "helo":
            return (f"send a fully qualified domain name with an SPF record as HELO/EHLO name "
                    f"(not {result.helo!r}), e.g. the host name of the sending server")
        return f"send with a MAIL FROM address whose domain is a real domain name (not {result.sender!r})"
    if code == "multiple-records":
        return (f"merge the SPF records at {name} into one TXT record (a name may publish only one record "
                "starting with `v=spf1`)")
    if code == "syntax":
        return (f"correct {term} in the SPF record of {name}: one invalid term makes receivers ignore the "
                "whole record (permerror)")
    if code == "non-ascii":
        return (f"retype the SPF record of {name} in plain ASCII (look for typographic quotes, dashes or a "
                "byte-order mark)")
    if code == "too-many-lookups":
        return (f"reduce the terms that query DNS (include, a, mx, ptr, exists, redirect) reached from the SPF "
                f"record of {result.domain} to 10 or fewer: flatten includes into the ip4:/ip6: ranges they "
                "publish and drop terms that are not needed")
    if code == "too-many-void-lookups":
        return (f"remove {term} from the SPF record of {name}, and any other term naming a domain that does "
                "not exist or has no records (more than 2 such lookups is a permerror)")
    if code == "too-many-mx":
        return (f"replace {term} with ip4:/ip6: terms for the hosts that send mail: {name} has more than "
                "10 MX hosts to look up")
    if code in ("include-no-record", "redirect-no-record"):
        return f"publish an SPF record at {name}, or remove {term} that points to it"
    if code == "invalid-target":
        return f"fix {term} in the SPF record of {name}: it does not name a valid domain"
    if code in ("dns-timeout", "dns-servfail"):
        failure = "timed out" if code == "dns-timeout" else "failed with SERVFAIL"
        return (f"make the name servers of {name} answer: the lookup of {name} {failure} "
                f"({result.reason}); mail is deferred until it succeeds")
    # invalid-ip: the caller passed something that is not an address.
    return f"give the SPF check the client IP address of the connection (not {problem.term!r})"
