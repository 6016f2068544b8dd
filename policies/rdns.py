"""Reverse DNS of the SMTP client: a PTR record whose name resolves back to the address.

Receivers call this forward-confirmed reverse DNS (FCrDNS); RFC 8601 section 3 names
it ``iprev``. The address's PTR names are looked up (IPv4-mapped IPv6 counts as the
IPv4 address, as the connection really is IPv4), then each name's A (IPv4) or AAAA
(IPv6) records; the check passes when one of them holds the address.

Results, and the RFC 8601 section 2.7.3 ``iprev`` result each is written as:

==========  =========  ===============================================================
result      iprev      meaning
==========  =========  ===============================================================
pass        pass       a PTR name resolves back to the address
fail        fail       PTR names exist, none resolves back (wrong address, or nothing)
none        permerror  no PTR data: NXDOMAIN or no PTR record at the reverse name
temperror   temperror  the PTR lookup, or a forward lookup that could have confirmed,
                       timed out or got SERVFAIL (and no other name confirmed)
==========  =========  ===============================================================

The profiles test ``none`` and ``fail`` apart (a missing PTR and a mismatched one are
different fixes), which is why the result keeps ``none`` instead of RFC 8601's
``permerror``. At most :data:`MAX_NAMES` PTR names are followed, the limit RFC 7208
5.5 sets for the same walk, so a reverse zone cannot make a check query without end.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

import authres

from fake_dns import Answer, Outcome, Resolver, reverse_name

MAX_NAMES = 10
_AR_RESULT = {"pass": "pass", "fail": "fail", "none": "permerror", "temperror": "temperror"}


@dataclass(frozen=True)
class RdnsResult:
    """The reverse-DNS verdict for one client address."""

    result: str  # pass, fail, none or temperror
    ip: str  # the address judged (an IPv4-mapped IPv6 address as its IPv4 form)
    reverse_name: str | None  # e.g. 10.2.0.192.in-addr.arpa (None for text that is no address)
    ptr: tuple[str, ...]  # PTR target names, without the trailing dot, as published
    confirmed_name: str | None  # the PTR name whose A/AAAA holds the address
    reason: str
    lookups: tuple[Answer, ...] = ()

    def auth_result(self) -> authres.IPRevAuthenticationResult:
        """``iprev=pass policy.iprev=192.0.2.10 (mail.example.com)`` (see the module's table)."""
        return _auth_result(self.result, self.ip, self._shown_name)

    def auth_result_text(self) -> str:
        """``str(self.auth_result())``, memoised."""
        return _auth_result_text(self.result, self.ip, self._shown_name)

    @property
    def _shown_name(self) -> str | None:
        return self.confirmed_name or (self.ptr[0] if self.ptr else None)

    def explain(self) -> list[str]:
        lines = [f"looked up {answer.describe()}" for answer in self.lookups]
        lines.append(f"rdns={self.result}: {self.reason}")
        return lines

    def fixes(self) -> list[str]:
        record = "AAAA" if ":" in self.ip else "A"
        if self.result == "none" and self.reverse_name is not None:
            return [f"publish `{self.reverse_name}. PTR <your mail server's host name>.` (the reverse zone "
                    f"belongs to whoever holds the address block: ask your hosting provider), then "
                    f"`<that host name> {record} {self.ip}`"]
        if self.result == "fail":
            name = self.ptr[0]
            return [f"publish `{name} {record} {self.ip}`, or change the PTR of {self.ip} to a name "
                    f"that already resolves to it"]
        if self.result == "temperror":
            return ["make sure the name servers of the reverse zone (and of the PTR names) answer; "
                    "the lookups timed out or failed"]
        return []

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "ip": self.ip,
            "reverse_name": self.reverse_name,
            "ptr": list(self.ptr),
            "confirmed_name": self.confirmed_name,
            "reason": self.reason,
            "lookups": [answer.describe() for answer in self.lookups],
            "authentication_results": self.auth_result_text(),
            "explain": self.explain(),
            "fixes": self.fixes(),
        }


async def check_rdns(resolver: Resolver, ip: str) -> RdnsResult:
    """Forward-confirmed reverse DNS of ``ip`` through ``resolver`` (never raises)."""
    resolver = resolver.fork()
    client = _client(ip)
    if client is None:
        return RdnsResult("none", ip, None, (), None, f"{ip!r} is not an IP address, so it has no PTR record")
    address, shown, reverse = client
    ptr = await resolver.resolve(reverse, "PTR")

    def result(verdict: str, names: tuple[str, ...], confirmed: str | None, reason: str) -> RdnsResult:
        return RdnsResult(verdict, shown, reverse, names, confirmed, reason, tuple(resolver.log))

    if ptr.outcome.is_error:
        return result("temperror", (), None, f"the PTR lookup for {reverse} failed ({ptr.outcome.value})")
    names = tuple(ptr.targets())
    if not names:
        why = "does not exist (NXDOMAIN)" if ptr.outcome is Outcome.NXDOMAIN else "has no PTR record"
        return result("none", (), None, f"{shown} has no reverse DNS: {reverse} {why}")
    rdtype = "AAAA" if address.version == 6 else "A"
    temporary: list[str] = []
    for name in names[:MAX_NAMES]:
        forward = await resolver.resolve(name, rdtype)
        if forward.outcome.is_error:
            temporary.append(name)
        elif address in forward.ip_addresses():
            return result("pass", names, name, f"{shown} has PTR {name}, and {name} resolves back to {shown}")
    listed = ", ".join(names)
    if temporary:
        return result("temperror", names, None, f"{shown} has PTR {listed}, but the {rdtype} lookup of "
                                                f"{', '.join(temporary)} failed, so it could not be confirmed")
    skipped = f" (only the first {MAX_NAMES} were followed)" if len(names) > MAX_NAMES else ""
    return result("fail", names, None, f"{shown} has PTR {listed}{skipped}, but no {rdtype} record of "
                                       f"{'that name' if len(names) == 1 else 'those names'} holds {shown}")


def _auth_result(result: str, ip: str, name: str | None) -> authres.IPRevAuthenticationResult:
    return authres.IPRevAuthenticationResult(result=_AR_RESULT[result], policy_iprev=ip, policy_iprev_comment=name)


@functools.lru_cache(maxsize=1024)
def _auth_result_text(result: str, ip: str, name: str | None) -> str:
    """The clause as text. Memoised (bounded, stateless: a pure function of its text
    arguments): the same clients get the same verdict message after message, and authres
    builds the text slowly."""
    return str(_auth_result(result, ip, name))


@functools.lru_cache(maxsize=1024)
def _client(ip: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str, str] | None:
    """The address judged (an IPv4-mapped IPv6 address as its IPv4 form), its text and its
    reverse name; None for text that is no address.

    Memoised (bounded, stateless: immutable text to immutable values): a sandbox judges
    the same few client addresses for every message, and parsing and printing them is
    much of the check's cost."""
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    shown = str(address)
    return address, shown, reverse_name(shown).to_text(omit_final_dot=True)
