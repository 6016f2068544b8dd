"""The async resolver every check uses: answers from the loaded zones, with faults.

It behaves like a recursive resolver in front of the fake zones: it chases CNAMEs,
and it reports the five outcomes a check must tell apart (an answer, NXDOMAIN,
NODATA, a timeout, SERVFAIL). A name outside every loaded zone is NXDOMAIN here
(the DNS server answers REFUSED to outsiders; a resolver in front of it would turn
that into a failure to find anything). Timeouts are reported at once, never waited out.

Each resolver keeps a log of the lookups made through it, in order. Checks count
their DNS-querying terms with it (SPF's limits) and explain themselves from it;
:meth:`Resolver.fork` gives a check its own log over the same zones, so checks that
run concurrently do not mix their logs.

Every message makes the checks ask the same few questions, so while no fault is set
the answers are remembered in the zones' memo (:class:`~fake_dns.zone.Memo`), which
any change to the zones empties; each lookup is still logged where it was asked.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.reversename

from fake_dns.faults import FaultKind, Faults
from fake_dns.zone import Kind, Zones, to_name, to_rdtype

MAX_CNAME_CHAIN = 8
MEMO_SIZE = 4096  # answers kept per set of zones (see Resolver._memoised)


class Outcome(enum.Enum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"

    @property
    def is_error(self) -> bool:
        """True for the outcomes a check must report as temperror."""
        return self in (Outcome.TIMEOUT, Outcome.SERVFAIL)


@dataclass(frozen=True)
class Answer:
    """The result of one lookup.

    ``name`` is the name asked for; ``cnames`` the aliases followed (in order) to reach
    the final owner. ``records`` is empty unless ``outcome`` is ANSWER.
    """

    name: str
    rdtype: str
    outcome: Outcome
    records: tuple[dns.rdata.Rdata, ...] = ()
    cnames: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.outcome is Outcome.ANSWER

    # The views below are derived once per answer and handed out as fresh lists: answers
    # are immutable and shared (the resolver's memo gives every check the same one), so
    # each message does not render the same records again.

    def txt(self) -> list[bytes]:
        """TXT (or SPF-type) records, each record's character-strings joined without a separator."""
        return list(self._txt)

    def texts(self) -> list[str]:
        """As :meth:`txt`, decoded as UTF-8 (undecodable bytes become U+FFFD)."""
        return list(self._texts)

    def addresses(self) -> list[str]:
        """A/AAAA records as address strings."""
        return list(self._addresses)

    def ip_addresses(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        """A/AAAA records as :mod:`ipaddress` objects (parsed once per answer)."""
        return self._ip_addresses

    def targets(self) -> list[str]:
        """Target host names of MX/PTR/NS/CNAME records, without the trailing dot."""
        return list(self._targets)

    def record_texts(self) -> list[str]:
        """Each record's presentation text, as ``rdata.to_text()`` gives it."""
        return list(self._record_texts)

    def describe(self) -> str:
        """One line for logs and explanations: ``TXT example.com -> "v=spf1 -all"``."""
        return self._description

    @functools.cached_property
    def _txt(self) -> tuple[bytes, ...]:
        return tuple(b"".join(r.strings) for r in self.records if hasattr(r, "strings"))

    @functools.cached_property
    def _texts(self) -> tuple[str, ...]:
        return tuple(t.decode("utf-8", "replace") for t in self._txt)

    @functools.cached_property
    def _addresses(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.records if hasattr(r, "address"))

    @functools.cached_property
    def _ip_addresses(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        return tuple(ipaddress.ip_address(address) for address in self._addresses)

    @functools.cached_property
    def _targets(self) -> tuple[str, ...]:
        out = []
        for r in self.records:
            target = getattr(r, "exchange", None) or getattr(r, "target", None)
            if target is not None:
                out.append(target.to_text(omit_final_dot=True))
        return tuple(out)

    @functools.cached_property
    def _record_texts(self) -> tuple[str, ...]:
        return tuple(_record_text(r) for r in self.records)

    @functools.cached_property
    def _description(self) -> str:
        head = f"{self.rdtype} {self.name}"
        if self.cnames:
            head += " (via CNAME " + " -> ".join(self.cnames) + ")"
        if self.outcome is Outcome.ANSWER:
            return head + " -> " + "; ".join(self._record_texts)
        return f"{head} -> {self.outcome.value.upper()}"


def _record_text(record: dns.rdata.Rdata) -> str:
    """A record's presentation text. Text records (DKIM keys above all) are rendered
    through a memo: answers hand out the zone's own immutable rdata objects, so the same
    ones are rendered for every message, and dnspython's escaping of long strings is slow.
    Only text records: their equality is byte-exact, whereas records holding names compare
    equal across letter case and would share one rendering."""
    return _text_record_text(record) if hasattr(record, "strings") else record.to_text()


@functools.lru_cache(maxsize=1024)
def _text_record_text(record: dns.rdata.Rdata) -> str:
    """Process-wide but stateless: a pure function of an immutable record (bounded)."""
    return record.to_text()


@dataclass
class Resolver:
    """Async lookups over :class:`~fake_dns.zone.Zones` with :class:`~fake_dns.faults.Faults`."""

    zones: Zones
    faults: Faults = field(default_factory=Faults)
    log: list[Answer] = field(default_factory=list)

    def fork(self) -> "Resolver":
        """A resolver over the same zones and faults with a fresh, separate lookup log."""
        return Resolver(self.zones, self.faults)

    async def resolve(self, name: str | dns.name.Name, rdtype: str | int) -> Answer:
        """Look up ``name``/``rdtype``; never raises for DNS conditions, see :class:`Outcome`."""
        return self.resolve_now(name, rdtype)

    def resolve_now(self, name: str | dns.name.Name, rdtype: str | int) -> Answer:
        """The synchronous core of :meth:`resolve`, for callers that cannot await
        (dkimpy's key callback); the zones are in memory, so nothing blocks."""
        answer = self._answer(name, rdtype) if self.faults else self._memoised(name, rdtype)
        self.log.append(answer)
        return answer

    def _memoised(self, name: str | dns.name.Name, rdtype: str | int) -> Answer:
        """:meth:`_answer`, kept in the zones' memo: without faults an answer depends on
        nothing but the zones, and the memo is emptied on every change to them (a reload,
        a record added). Keyed on the name exactly as spelled (a Name by its labels, which
        keep their case; dnspython's Name equality ignores it), since the answer shows
        that spelling. Answers are immutable, so checks can share one. Bounded: when full,
        it starts again empty."""
        entries = self.zones.memo.entries
        key = (name if isinstance(name, str) else name.labels, rdtype)
        answer = entries.get(key)
        if answer is None:
            answer = self._answer(name, rdtype)
            if len(entries) >= MEMO_SIZE:
                entries.clear()
            entries[key] = answer
        return answer

    def _answer(self, name: str | dns.name.Name, rdtype: str | int) -> Answer:
        parsed = _shown(name) if isinstance(name, dns.name.Name) else _parse_name(name)
        qtype = to_rdtype(rdtype)
        if parsed is None:
            return Answer(str(name), dns.rdatatype.to_text(qtype), Outcome.NXDOMAIN)
        return self._chase(*parsed, qtype)

    async def resolve_ptr(self, ip: str) -> Answer:
        """PTR lookup for an IPv4 or IPv6 address (IPv4-mapped IPv6 is treated as IPv4)."""
        return await self.resolve(reverse_name(ip), "PTR")

    def _chase(self, qname: dns.name.Name, shown: str, qtype: dns.rdatatype.RdataType) -> Answer:
        type_text = dns.rdatatype.to_text(qtype)
        cnames: list[str] = []
        current = qname
        for _ in range(MAX_CNAME_CHAIN + 1):
            fault = self.faults.for_query(current, qtype)
            if fault is not None:
                outcome = Outcome.TIMEOUT if fault is FaultKind.TIMEOUT else Outcome.SERVFAIL
                return Answer(shown, type_text, outcome, cnames=tuple(cnames))
            found = self.zones.lookup(current, qtype)
            if found.kind is Kind.ANSWER:
                return Answer(shown, type_text, Outcome.ANSWER, tuple(found.records), tuple(cnames))
            if found.kind is Kind.CNAME:
                target = next(iter(found.records)).target
                cnames.append(target.to_text(omit_final_dot=True))
                current = target
                continue
            outcome = Outcome.NODATA if found.kind is Kind.NODATA else Outcome.NXDOMAIN
            return Answer(shown, type_text, outcome, cnames=tuple(cnames))
        # A CNAME loop or an over-long chain: a real resolver gives up with SERVFAIL.
        return Answer(shown, type_text, Outcome.SERVFAIL, cnames=tuple(cnames))


@functools.lru_cache(maxsize=4096)
def _parse_name(name: str) -> tuple[dns.name.Name, str] | None:
    """Parse a name to look up, with the text answers show for it; text that is no valid
    name (empty labels, a label over 63 octets, over 255 in all) cannot exist in DNS, so
    the lookup is NXDOMAIN (None).

    Memoised because the checks look up the same few names for every message and dnspython
    parses and prints names slowly. Process-wide but stateless: keyed on the exact text
    (so letter case is kept as given), values immutable, bounded."""
    try:
        return _shown(to_name(name))
    except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong, dns.exception.SyntaxError):
        return None


def _shown(name: dns.name.Name) -> tuple[dns.name.Name, str]:
    """A name and the text answers show for it (no final dot; the root as ".")."""
    return name, name.to_text(omit_final_dot=True) or "."


@functools.lru_cache(maxsize=1024)
def reverse_name(ip: str) -> dns.name.Name:
    """The in-addr.arpa / ip6.arpa name of an address; IPv4-mapped IPv6 maps to in-addr.arpa.

    Memoised (bounded, stateless: immutable text to an immutable Name): a sandbox judges
    the same few client addresses over and over, and each needs this name for rDNS."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return dns.reversename.from_address(str(address))

