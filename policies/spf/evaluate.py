"""RFC 7208 check_host(): evaluate the SPF policy of one domain for one client IP.

Everything goes through the fake resolver (forked, so the lookup log belongs to this
check alone). The evaluation follows the RFC step by step and writes down what it did
(``SpfResult.steps``) so the verdict can be explained to a trainee:

- 4.3 a domain that cannot be a DNS name gives ``none``; a sender without local-part
  becomes ``postmaster@domain``;
- 4.4/4.5 only TXT records are fetched (type SPF is not queried, 3.1); a timeout or
  SERVFAIL gives ``temperror``; no ``v=spf1`` record gives ``none``; two give ``permerror``;
- 4.6 the whole record is parsed before evaluation, so a syntax error anywhere gives
  ``permerror``;
- 4.6.4 at most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect), at most
  10 address lookups per ``mx`` (more is ``permerror``), the first 10 PTR names only,
  and at most 2 void lookups (terms whose lookup returned NXDOMAIN or no records);
- 5 the mechanisms, 6.1 ``redirect=``, 6.2 ``exp=`` (looked up once, after the result,
  only for ``fail``; any problem with it falls back to the default explanation).

Counting is done as terms are evaluated, so a record that matches early never pays for
the terms after the match. The limits are per check; include and redirect share them.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from dataclasses import dataclass
from typing import Any

import dns.name
from dns.rdtypes.ANY.MX import MX

from fake_dns import Answer, Outcome, Resolver, reverse_name
from policies.spf.macros import MacroString, MacroSyntaxError, parse_macro_string
from policies.spf.names import identity_problem, strip_root, to_query_name, truncate
from policies.spf.record import Directive, Record, RecordSyntaxError, is_spf_record, parse_record
from policies.spf.result import Problem, SpfResult

MAX_DNS_TERMS = 10
MAX_VOID_LOOKUPS = 2
MAX_NAMES = 10  # MX hosts, or PTR names, looked up for one term

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Stop(Exception):
    """Ends the evaluation with permerror or temperror."""

    def __init__(self, result: str, reason: str, problem: Problem) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason
        self.problem = problem


@dataclass(frozen=True)
class _Verdict:
    """What one record (after any redirect=) concluded, and where."""

    result: str
    directive: Directive | None  # the term that matched; None for the default neutral
    domain: str  # the domain whose record decided
    record: Record


async def check_host(
    resolver: Resolver,
    ip: str,
    domain: str,
    sender: str,
    *,
    helo: str = "",
    receiver: str = "sandbox.invalid",
    default_explanation: str | None = None,
    identity: str = "mailfrom",
    now: float | None = None,
) -> SpfResult:
    """RFC 7208 check_host(<ip>, <domain>, <sender>): the SPF result of ``domain`` for a
    message from ``ip``. ``helo`` feeds the %{h} macro, ``receiver`` the %{r} macro;
    ``identity`` ("mailfrom" or "helo") only labels the result. Never raises."""
    forked = resolver.fork()
    domain = strip_root(domain.strip())
    local, at, sender_domain = sender.rpartition("@")
    if not at:
        sender = f"{sender or 'postmaster'}@{domain}"  # a bare local-part belongs to <domain>
    elif not local:
        sender = f"postmaster@{sender_domain}"  # RFC 7208 4.3
    subject = _Subject(domain, identity, sender, helo, receiver)
    client = _client(ip)
    if client is None:
        return subject.result("permerror", ip, problem=Problem("invalid-ip", None, ip),
                              reason=f"the client IP {ip!r} is not an IPv4 or IPv6 address")
    address, client_ip = client
    fault = identity_problem(domain)
    if fault is not None:
        which = "MAIL FROM domain" if identity == "mailfrom" else "HELO name"
        return subject.result("none", client_ip,
                              reason=f"the {which} {domain!r} {fault}, so there is no SPF policy to check",
                              problem=Problem("invalid-domain", domain))

    evaluation = _Evaluation(forked, address, client_ip, sender, helo, receiver,
                             time.time() if now is None else now)
    record_text: str | None = None
    try:
        answer, record_text = await evaluation.lookup_record(domain, 0)
        if record_text is None:
            nxdomain = answer is not None and answer.outcome is Outcome.NXDOMAIN
            missing = "does not exist (NXDOMAIN)" if nxdomain else "publishes no SPF record"
            return evaluation.finish(subject, "none", reason=f"{domain} {missing}",
                                     problem=Problem("no-record", domain))
        record = evaluation.parse(domain, record_text)
        verdict = await evaluation.evaluate(domain, record, 0)
    except _Stop as stop:
        return evaluation.finish(subject, stop.result, record=record_text, reason=stop.reason,
                                 problem=stop.problem)
    explanation = await evaluation.explanation(verdict, default_explanation) if verdict.result == "fail" else None
    all_term = verdict.record.all_directive
    return evaluation.finish(
        subject,
        verdict.result,
        record=record_text,
        explanation=explanation,
        mechanism=verdict.directive.text if verdict.directive is not None else None,
        policy_domain=verdict.domain,
        all_qualifier=all_term.qualifier if all_term is not None else None,
    )


@dataclass(frozen=True)
class _Subject:
    """What was checked (the same for every outcome of one check_host() run)."""

    domain: str
    identity: str
    sender: str
    helo: str
    receiver: str

    def result(self, result: str, client_ip: str, **details: Any) -> SpfResult:
        """The SpfResult for this subject, built in one go (no dataclasses.replace per step)."""
        return SpfResult(result=result, domain=self.domain, identity=self.identity, sender=self.sender,
                         client_ip=client_ip, helo=self.helo, receiver=self.receiver, **details)


@functools.lru_cache(maxsize=1024)
def _client(ip: str) -> tuple[IPAddress, str] | None:
    """The client address and its text; an IPv4-mapped IPv6 address is the IPv4 address
    (RFC 7208 5). None for text that is no address.

    Memoised (bounded, stateless: immutable text to immutable values): a sandbox judges
    the same few client addresses for every message."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, str(address)


class _Evaluation:
    """The state of one check_host() run: counters, the PTR cache, the steps taken."""

    def __init__(self, resolver: Resolver, client: IPAddress, client_text: str, sender: str, helo: str,
                 receiver: str, now: float) -> None:
        self.resolver = resolver
        self.client = client
        self.client_text = client_text
        self.address_type = "A" if client.version == 4 else "AAAA"
        self.sender = sender
        self.helo = helo
        self.receiver = receiver
        self.now = now
        self.dns_terms = 0
        self.void_lookups = 0
        self.steps: list[str] = []
        self._validated: tuple[str, ...] | None = None
        self._ptr_void = False

    @functools.cached_property
    def values(self) -> dict[str, str]:
        """The macro values (RFC 7208 7.2) but %{d} and %{p}; worked out only when a
        record uses a macro, which most never do."""
        client = self.client
        local, _, sender_domain = self.sender.rpartition("@")
        # %{i} of an IPv6 client is its nibbles, dotted; upper-case hex as the openspf suite expects.
        dotted = self.client_text if client.version == 4 else ".".join(client.exploded.replace(":", "").upper())
        return {
            "s": self.sender, "l": local, "o": sender_domain, "i": dotted,
            "v": "in-addr" if client.version == 4 else "ip6", "h": self.helo, "c": self.client_text,
            "r": self.receiver, "t": str(int(self.now)),
        }

    def finish(self, subject: _Subject, result: str, **details: Any) -> SpfResult:
        """The result for ``subject`` with ``details``, the counters, the lookups and the steps of this run."""
        return subject.result(result, self.client_text, **details, lookups=tuple(self.resolver.log),
                              dns_terms=self.dns_terms, void_lookups=self.void_lookups, steps=tuple(self.steps))

    # -- records -----------------------------------------------------------------------

    async def lookup_record(self, domain: str, depth: int) -> tuple[Answer | None, str | None]:
        """RFC 7208 4.4/4.5: the TXT lookup and the choice of the one ``v=spf1`` record;
        returns the answer and the record text (None when there is no SPF record)."""
        answer = await self._lookup(domain, "TXT", depth)
        if answer is None:
            return None, None
        if answer.outcome.is_error:
            raise self._dns_error(answer, domain, None)
        texts = [text for text in answer.txt() if is_spf_record(text)]
        if not texts:
            self._note(depth, f"{domain} has no TXT record starting with `v=spf1`: no SPF record")
            return answer, None
        if len(texts) > 1:
            count = "two" if len(texts) == 2 else str(len(texts))
            raise _Stop("permerror", f"{count} SPF records at {domain}", Problem("multiple-records", domain))
        try:
            return answer, texts[0].decode("ascii")
        except UnicodeDecodeError:
            raise _Stop("permerror", f"the SPF record of {domain} contains non-ASCII bytes (SPF records are ASCII)",
                        Problem("non-ascii", domain)) from None

    def parse(self, domain: str, text: str) -> Record:
        """RFC 7208 4.6: the whole record is parsed first; a syntax error is permerror."""
        try:
            return parse_record(text)
        except RecordSyntaxError as exc:
            raise _Stop("permerror", f"syntax error in the SPF record of {domain}: {exc}",
                        Problem("syntax", domain, exc.term)) from None

    async def _fetch(self, domain: str, depth: int) -> Record | None:
        _, text = await self.lookup_record(domain, depth)
        return None if text is None else self.parse(domain, text)

    # -- evaluation --------------------------------------------------------------------

    async def evaluate(self, domain: str, record: Record, depth: int) -> _Verdict:
        """RFC 7208 4.6-4.7 and 6.1 for one record: the first matching term decides, else
        redirect=, else neutral. (A record with an `all` term always matches before its
        redirect= is reached, which is how "redirect is ignored when there is all" holds.)"""
        self._note(depth, f"SPF record of {domain}: {record.text}")
        for directive in record.directives:
            if await self._matches(directive, domain, depth):
                self._note(depth, f"`{directive.text}` matched: the result is {directive.result}")
                return _Verdict(directive.result, directive, domain, record)
        if record.redirect is None:
            self._note(depth, f"no term of the SPF record of {domain} matched: the default result is neutral")
            return _Verdict("neutral", None, domain, record)
        term = f"redirect={record.redirect.text}"
        self._count_term(term, domain)
        target = await self._expand_domain(record.redirect, domain, depth)
        self._note(depth, f"no term matched; `{term}` hands the decision to {target}")
        fault = identity_problem(target)
        if fault is not None:
            raise _Stop("permerror", f"`{term}` in the SPF record of {domain}: {target!r} {fault}",
                        Problem("invalid-target", domain, term))
        redirected = await self._fetch(target, depth)
        if redirected is None:
            raise _Stop("permerror", f"`{term}` in the SPF record of {domain}: {target} has no SPF record",
                        Problem("redirect-no-record", target, term))
        return await self.evaluate(target, redirected, depth)

    async def _matches(self, directive: Directive, domain: str, depth: int) -> bool:
        kind = directive.mechanism
        if kind == "all":
            return True
        if kind in ("ip4", "ip6"):
            network = directive.network
            hit = network is not None and self.client.version == network.version and self.client in network
            self._note(depth, f"`{directive.text}`: {self.client_text} is {'' if hit else 'not '}in "
                              f"{directive.network_text}")
            return hit
        self._count_term(directive.text, domain)
        target = domain if directive.target is None else await self._expand_domain(directive.target, domain, depth)
        if kind == "include":
            return await self._include(directive, domain, target, depth)
        if kind == "a":
            return await self._a(directive, domain, target, depth)
        if kind == "mx":
            return await self._mx(directive, domain, target, depth)
        if kind == "ptr":
            return await self._ptr(directive, domain, target, depth)
        return await self._exists(directive, domain, target, depth)

    async def _include(self, directive: Directive, domain: str, target: str, depth: int) -> bool:
        """RFC 7208 5.2: pass matches; fail, softfail and neutral do not; none is permerror;
        temperror and permerror end the whole check (they propagate as _Stop)."""
        fault = identity_problem(target)
        if fault is not None:
            raise _Stop("permerror", f"`{directive.text}` in the SPF record of {domain}: {target!r} {fault}",
                        Problem("invalid-target", domain, directive.text))
        included = await self._fetch(target, depth + 1)
        if included is None:
            raise _Stop("permerror",
                        f"`{directive.text}` in the SPF record of {domain}: {target} has no SPF record to include",
                        Problem("include-no-record", target, directive.text))
        verdict = await self.evaluate(target, included, depth + 1)
        hit = verdict.result == "pass"
        self._note(depth, f"`{directive.text}`: {target} gives {verdict.result}, so the include "
                          f"{'matches' if hit else 'does not match'}")
        return hit

    async def _a(self, directive: Directive, domain: str, target: str, depth: int) -> bool:
        """RFC 7208 5.3: any A (IPv4 client) or AAAA (IPv6 client) record of target, widened
        to the term's prefix length, contains the client."""
        answer = await self._addresses(target, directive, depth)
        if answer is None:
            return False
        if not answer:
            self._void(directive.text, domain, depth)
            return False
        hit = self._covers(answer.addresses(), directive)
        self._note(depth, f"`{directive.text}`: {self.client_text} is {'' if hit else 'not '}{self._within(directive)}"
                          f"an address of {target} ({', '.join(answer.addresses())})")
        return hit

    async def _mx(self, directive: Directive, domain: str, target: str, depth: int) -> bool:
        """RFC 7208 5.4: the addresses of target's MX hosts, in preference order; needing
        more than 10 address lookups is permerror (4.6.4). A null MX (RFC 7505) is no host."""
        answer = await self._records(directive, domain, target, "MX", depth)
        if answer is None:
            return False
        looked_up = 0
        exchanges = sorted((r for r in answer.records if isinstance(r, MX)), key=lambda r: r.preference)
        for record in exchanges:
            if record.exchange == dns.name.root:
                self._note(depth, f"`{directive.text}`: {target} has a null MX (it accepts no mail)")
                continue
            looked_up += 1
            if looked_up > MAX_NAMES:
                raise _Stop("permerror",
                            f"`{directive.text}`: {target} has more than {MAX_NAMES} MX hosts to look up "
                            f"(limit {MAX_NAMES})", Problem("too-many-mx", target, directive.text))
            host = record.exchange.to_text(omit_final_dot=True)
            addresses = await self._addresses(host, directive, depth)
            if addresses and self._covers(addresses.addresses(), directive):
                self._note(depth, f"`{directive.text}`: {self.client_text} is {self._within(directive)}"
                                  f"MX host {host}")
                return True
        self._note(depth, f"`{directive.text}`: {self.client_text} is not {self._within(directive)}"
                          f"any MX host of {target}")
        return False

    async def _ptr(self, directive: Directive, domain: str, target: str, depth: int) -> bool:
        """RFC 7208 5.5: some validated PTR name of the client is target or ends in .target."""
        names = await self._validated_names(depth)
        if self._ptr_void:
            self._void(directive.text, domain, depth)
        wanted = target.lower()
        hit = next((n for n in names if n.lower() == wanted or n.lower().endswith("." + wanted)), None)
        if hit is None:
            shown = ", ".join(names) if names else "none"
            self._note(depth, f"`{directive.text}`: no validated PTR name of {self.client_text} is in {target} "
                              f"(validated names: {shown})")
            return False
        self._note(depth, f"`{directive.text}`: {self.client_text} has the validated PTR name {hit}")
        return True

    async def _exists(self, directive: Directive, domain: str, target: str, depth: int) -> bool:
        """RFC 7208 5.7: target has an A record; the lookup is type A even for IPv6 clients."""
        if await self._records(directive, domain, target, "A", depth) is None:
            return False
        self._note(depth, f"`{directive.text}`: {target} has an A record")
        return True

    # -- addresses and PTR names ---------------------------------------------------------

    async def _addresses(self, target: str, directive: Directive, depth: int) -> Answer | None:
        """The A or AAAA lookup (by the client's family) of a/mx; a DNS error is temperror."""
        answer = await self._lookup(target, self.address_type, depth)
        if answer is not None and answer.outcome.is_error:
            raise self._dns_error(answer, target, directive.text)
        return answer

    def _covers(self, addresses: list[str], directive: Directive) -> bool:
        prefix = directive.cidr4 if self.client.version == 4 else directive.cidr6
        return any(self.client in ipaddress.ip_network(f"{a}/{prefix}", strict=False) for a in addresses)

    def _within(self, directive: Directive) -> str:
        prefix = directive.cidr4 if self.client.version == 4 else directive.cidr6
        full = 32 if self.client.version == 4 else 128
        return "" if prefix == full else f"within /{prefix} of "

    async def _validated_names(self, depth: int) -> tuple[str, ...]:
        """RFC 7208 5.5: the client's PTR names (the first 10) whose A/AAAA records lead
        back to the client. DNS errors just leave names out. Computed once per check."""
        if self._validated is not None:
            return self._validated
        answer = await self._lookup(reverse_name(self.client_text).to_text(omit_final_dot=True), "PTR", depth)
        names: list[str] = []
        if answer is None or answer.outcome.is_error:
            self._note(depth, f"the PTR lookup of {self.client_text} failed: no validated names")
        else:
            self._ptr_void = not answer
            candidates = answer.targets()
            if len(candidates) > MAX_NAMES:
                self._note(depth, f"{self.client_text} has {len(candidates)} PTR names: only the first {MAX_NAMES} "
                                  "are checked")
            for candidate in candidates[:MAX_NAMES]:
                forward = await self._lookup(candidate, self.address_type, depth)
                if forward and self.client in forward.ip_addresses():
                    names.append(candidate)
        self._validated = tuple(names)
        return self._validated

    async def _validated_domain(self, domain: str, depth: int) -> str:
        """RFC 7208 7.3 %{p}: the validated name equal to <domain>, else one under it,
        else any; "unknown" when there is none."""
        names = await self._validated_names(depth)
        wanted = domain.lower()
        for name in names:
            if name.lower() == wanted:
                return name
        for name in names:
            if name.lower().endswith("." + wanted):
                return name
        return names[0] if names else "unknown"

    # -- macros ------------------------------------------------------------------------

    async def _expand(self, macro: MacroString, domain: str, depth: int) -> str:
        values = {**self.values, "d": domain}
        if "p" in macro.letters:
            values["p"] = await self._validated_domain(domain, depth)
        return macro.expand(values)

    async def _expand_domain(self, macro: MacroString, domain: str, depth: int) -> str:
        """A domain-spec's target name: expanded, trailing dot dropped, truncated to 253."""
        return truncate(await self._expand(macro, domain, depth))

    async def explanation(self, verdict: _Verdict, default: str | None) -> str | None:
        """RFC 7208 6.2: the exp= text of the record that decided, fetched after the result.
        Any problem with it (DNS error, no or several TXT records, non-ASCII, bad macro
        syntax) means "as if there were no exp=": the default explanation. Not counted
        against the lookup limits."""
        spec = verdict.record.explanation
        if spec is None:
            return default
        target = await self._expand_domain(spec, verdict.domain, 0)
        answer = await self._lookup(target, "TXT", 0)
        texts = answer.txt() if answer else []
        if len(texts) != 1:
            found = "no TXT record" if not texts else f"{len(texts)} TXT records"
            self._note(0, f"exp={spec.text} ignored: {target} has {found} (exactly one is needed)")
            return default
        try:
            explanation = parse_macro_string(texts[0].decode("ascii"), explanation=True)
        except UnicodeDecodeError:
            self._note(0, f"exp={spec.text} ignored: the explanation at {target} is not ASCII")
            return default
        except MacroSyntaxError as exc:
            self._note(0, f"exp={spec.text} ignored: {exc}")
            return default
        return await self._expand(explanation, verdict.domain, 0)

    # -- bookkeeping -------------------------------------------------------------------

    async def _records(self, directive: Directive, domain: str, target: str, rdtype: str,
                       depth: int) -> Answer | None:
        """A term's lookup that must find records: DNS errors stop the check (temperror),
        an empty answer is a void lookup (4.6.4) and, like an impossible name, no match."""
        answer = await self._lookup(target, rdtype, depth)
        if answer is None:
            return None
        if answer.outcome.is_error:
            raise self._dns_error(answer, target, directive.text)
        if not answer:
            self._void(directive.text, domain, depth)
            return None
        return answer

    async def _lookup(self, target: str, rdtype: str, depth: int) -> Answer | None:
        """Ask the resolver; None when ``target`` cannot be a DNS name at all (such a name
        cannot exist, so the term simply does not match)."""
        name = to_query_name(target)
        if name is None:
            self._note(depth, f"{target!r} cannot be a DNS name: treated as a name that does not exist")
            return None
        answer = await self.resolver.resolve(name, rdtype)
        self._note(depth, f"DNS {answer.describe()}")
        return answer

    def _count_term(self, term: str, domain: str) -> None:
        """Count a DNS-querying term as it is evaluated: at most 10 per check (4.6.4)."""
        self.dns_terms += 1
        if self.dns_terms > MAX_DNS_TERMS:
            raise _Stop("permerror", f"{self.dns_terms} DNS-querying terms (limit {MAX_DNS_TERMS})",
                        Problem("too-many-lookups", domain, term))

    def _void(self, term: str, domain: str, depth: int) -> None:
        """Count a term whose lookup found nothing (NXDOMAIN or no records): at most 2 (4.6.4)."""
        self.void_lookups += 1
        self._note(depth, f"`{term}` found nothing: void lookup {self.void_lookups} (at most {MAX_VOID_LOOKUPS})")
        if self.void_lookups > MAX_VOID_LOOKUPS:
            raise _Stop("permerror",
                        f"{self.void_lookups} void lookups (limit {MAX_VOID_LOOKUPS}): `{term}` found nothing",
                        Problem("too-many-void-lookups", domain, term))

    def _dns_error(self, answer: Answer, name: str, term: str | None) -> _Stop:
        kind = "timeout" if answer.outcome is Outcome.TIMEOUT else "SERVFAIL"
        return _Stop("temperror", f"DNS {kind} for {answer.rdtype} {name}",
                     Problem("dns-timeout" if kind == "timeout" else "dns-servfail", name, term))

    def _note(self, depth: int, text: str) -> None:
        self.steps.append("  " * depth + text)
