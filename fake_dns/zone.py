"""DNS zones held in memory: loaded from BIND zone files or built in code.

A :class:`Zone` is one authoritative zone (an origin and the records below it).
:class:`Zones` is the set of zones one sandbox serves; it answers "what does the
authoritative data say about NAME/TYPE" with the distinctions the checks and the
DNS server both need: an answer, a CNAME to follow, NODATA (the name exists,
empty non-terminals included, but has no record of that type), NXDOMAIN, or
"outside every zone" (which the server answers with REFUSED).

dnspython parses the zone-file syntax; this module adds what a test zone needs on
top of it: a file without SOA/NS is accepted (both are synthesized), a record
outside the zone's origin is an error instead of being silently dropped, and a
syntax error names the file and the line that holds it.
"""

from __future__ import annotations

import enum
import functools
import re
import threading
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.zone

DEFAULT_TTL = 300
_ORIGIN_RE = re.compile(r"^\$ORIGIN\s+(\S+)", re.MULTILINE | re.IGNORECASE)
_TTL_RE = re.compile(r"^\$TTL\s", re.MULTILINE | re.IGNORECASE)
_TEXT_TYPES = (dns.rdatatype.TXT, dns.rdatatype.SPF)
_LINE_RE = re.compile(r"^(?P<file>.*):(?P<line>\d+): (?P<detail>.*)$", re.DOTALL)


class ZoneError(ValueError):
    """A zone file or record that cannot be loaded; the message says where and why."""

    def __init__(self, source: str, problem: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


def to_name(name: str | dns.name.Name, origin: dns.name.Name | None = None) -> dns.name.Name:
    """Parse a domain name; relative names are taken relative to ``origin`` (root if None)."""
    if isinstance(name, dns.name.Name):
        return name
    if origin is None or origin == dns.name.root:
        return _parse_absolute_name(name)
    return dns.name.from_text(name, origin=origin)


@functools.lru_cache(maxsize=4096)
def _parse_absolute_name(text: str) -> dns.name.Name:
    """dnspython's name parser (relative to the root), memoised: every message makes the
    checks look up the same few names again, and parsing is much of a lookup's cost.
    Process-wide but stateless: immutable text to an immutable Name (bounded; text that
    does not parse raises every time, nothing is kept for it). Relative names are not
    memoised: origins compare equal across letter case, and the parsed name keeps it."""
    return dns.name.from_text(text, origin=dns.name.root)


def to_rdtype(rdtype: str | int | dns.rdatatype.RdataType) -> dns.rdatatype.RdataType:
    """Parse a record type given as text (``"TXT"``, ``"SPF"``, ``"TYPE99"``) or number."""
    try:
        if isinstance(rdtype, str):
            return dns.rdatatype.from_text(rdtype.upper())
        return dns.rdatatype.RdataType.make(rdtype)
    except ValueError:
        # dnspython raises a bare ValueError for TYPE<n> above 65535; callers handle DNSException.
        raise dns.rdatatype.UnknownRdatatype(f"{rdtype!r} is not a record type") from None


def txt_rdata(value: str | bytes, rdtype: str = "TXT") -> dns.rdata.Rdata:
    """A TXT (or SPF-type) rdata holding ``value``, split into 255-byte character-strings
    as DNS requires.

    Long DKIM keys do not fit one character-string; receivers join the pieces again
    without a separator, so splitting never changes what a check sees.
    """
    raw = value.encode() if isinstance(value, str) else value
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    kind = to_rdtype(rdtype)
    record_class = dns.rdtypes.ANY.SPF.SPF if kind == dns.rdatatype.SPF else dns.rdtypes.ANY.TXT.TXT
    return record_class(dns.rdataclass.IN, kind, chunks)


class Kind(enum.Enum):
    """What the authoritative data says about one name and type."""

    ANSWER = "answer"
    CNAME = "cname"
    NODATA = "nodata"
    NXDOMAIN = "nxdomain"
    REFUSED = "refused"


@dataclass(frozen=True)
class ZoneAnswer:
    """The outcome of :meth:`Zones.lookup`: ``rdataset`` holds the records for ANSWER and
    CNAME, ``zone`` is the zone that is authoritative for the name (None when REFUSED)."""

    kind: Kind
    name: dns.name.Name
    rdataset: dns.rdataset.Rdataset | None
    zone: "Zone | None"

    @property
    def records(self) -> dns.rdataset.Rdataset:
        """``rdataset`` where the kind guarantees one (ANSWER, CNAME), typed as such."""
        assert self.rdataset is not None, f"a {self.kind.value} answer has no records"
        return self.rdataset


class Memo:
    """Data derived from the records a :class:`Zones` serves (the resolver keeps its
    answers here), valid exactly as long as those records: every change to them (a zone
    added or replaced, a record added to or removed from a zone served) swaps
    ``entries`` for a fresh, empty dict.

    Swapped rather than cleared, because checks may run in another thread than the one
    changing the zones: a reader takes ``entries`` once, computes from the records and
    stores into that same dict, so a result computed while a change was under way lands
    in a dict nobody reads any more instead of being served after the change.
    """

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[Hashable, Any] = {}

    def forget(self) -> None:
        self.entries = {}


@dataclass
class Zone:
    """One zone: its origin and the record sets of every name at or below it."""

    origin: dns.name.Name
    source: str = "<code>"
    _records: dict[dns.name.Name, dict[int, dns.rdataset.Rdataset]] = field(default_factory=dict)
    # Every name that exists: owners plus their ancestors up to the origin (empty non-terminals).
    _existing: set[dns.name.Name] = field(default_factory=set)
    # The memos of every Zones that serves this zone: each change to the records forgets them.
    _memos: list[Memo] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def empty(cls, origin: str | dns.name.Name, *, synthesize: bool = True) -> "Zone":
        """A zone with no records but (by default) a synthesized SOA and NS at its apex."""
        zone = cls(to_name(origin))
        zone._existing.add(zone.origin)
        if synthesize:
            zone._synthesize_apex()
        return zone

    @classmethod
    def from_text(cls, text: str, *, origin: str | None = None, source: str = "<text>") -> "Zone":
        """Parse BIND zone-file text. The zone is named by ``origin`` or the first ``$ORIGIN``."""
        match = _ORIGIN_RE.search(text)
        if origin is None:
            if match is None:
                raise ZoneError(
                    source,
                    "no $ORIGIN line names the zone; add one such as `$ORIGIN example.com.` at the top",
                )
            origin = match.group(1)
        try:
            zone_origin = to_name(origin)
        except dns.exception.DNSException as exc:
            raise ZoneError(source, f"the origin {origin!r} is not a valid domain name: {exc}") from None
        # dnspython needs a default TTL; a file without $TTL gets ours, on a line of its own.
        prefix = "" if _TTL_RE.search(text) else f"$TTL {DEFAULT_TTL}\n"
        body = prefix + (text if match is not None else f"$ORIGIN {zone_origin}\n" + text)
        shift = prefix.count("\n") + (0 if match is not None else 1)
        try:
            parsed = _parse(body, zone_origin, source)
        except dns.exception.SyntaxError as exc:
            raise _located_error(str(exc), body, zone_origin, source, shift) from None
        except dns.exception.DNSException as exc:
            raise ZoneError(source, str(exc) or type(exc).__name__) from None
        except ValueError as exc:
            # dnspython's transaction refuses an SOA below the apex with a bare ValueError.
            raise ZoneError(source, f"{exc}: an SOA record belongs at the zone origin {zone_origin}") from None
        zone = cls.empty(zone_origin, synthesize=False)
        zone.source = source
        for name, node in parsed.nodes.items():
            for rdataset in node.rdatasets:
                for rdata in rdataset:
                    zone.add_rdata(name, rdata, ttl=rdataset.ttl)
        zone._synthesize_apex()
        return zone

    @classmethod
    def from_file(cls, path: str | Path) -> "Zone":
        """Load a BIND zone file; every error names the file (and the line, when there is one)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ZoneError(str(path), "no such zone file") from None
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            raise ZoneError(
                str(path), f"not UTF-8 text (byte {exc.start}); zone files are UTF-8 text", line=line
            ) from None
        except OSError as exc:
            raise ZoneError(str(path), exc.strerror or str(exc)) from None
        return cls.from_text(text, source=str(path))

    # -- building ---------------------------------------------------------------------------

    def add(self, owner: str, rdtype: str, text: str, ttl: int = DEFAULT_TTL) -> None:
        """Add one record given in presentation format, e.g. ``add("mail", "A", "192.0.2.1")``.

        A relative ``owner`` (or ``"@"``) is taken relative to the zone origin.
        """
        name = self._owner(owner)
        try:
            # Unquoted TXT/SPF text is one string; dnspython would split it at every space.
            if to_rdtype(rdtype) in _TEXT_TYPES and not text.lstrip().startswith('"'):
                rdata = txt_rdata(text, rdtype)
            else:
                rdata = dns.rdata.from_text(
                    dns.rdataclass.IN, to_rdtype(rdtype), text, origin=self.origin, relativize=False
                )
        except dns.exception.DNSException as exc:
            raise ZoneError(self.source, f"bad {rdtype} record for {name}: {text!r}: {exc}") from None
        self.add_rdata(name, rdata, ttl=ttl)

    def add_rdata(self, owner: str | dns.name.Name, rdata: dns.rdata.Rdata, ttl: int = DEFAULT_TTL) -> None:
        """Add one already-built rdata (for records presentation text cannot express easily)."""
        name = self._owner(owner)
        if not name.is_subdomain(self.origin):
            raise ZoneError(self.source, f"{name} is outside the zone {self.origin}")
        by_type = self._records.setdefault(name, {})
        rdataset = by_type.get(rdata.rdtype)
        if rdataset is None:
            rdataset = by_type[rdata.rdtype] = dns.rdataset.Rdataset(rdata.rdclass, rdata.rdtype)
        rdataset.add(rdata, ttl)
        while name != self.origin:
            self._existing.add(name)
            name = name.parent()
        self._existing.add(self.origin)
        self._changed()

    def remove(self, owner: str, rdtype: str | None = None) -> None:
        """Remove the records of one type (or all records) at ``owner``."""
        name = self._owner(owner)
        if rdtype is None:
            self._records.pop(name, None)
        else:
            self._records.get(name, {}).pop(to_rdtype(rdtype), None)
            if not self._records.get(name, True):
                del self._records[name]
        self._existing = {self.origin}
        for owner_name in self._records:
            while owner_name != self.origin:
                self._existing.add(owner_name)
                owner_name = owner_name.parent()
        self._changed()

    def _served_with(self, memo: Memo) -> None:
        """Forget ``memo`` (that of a Zones now serving this zone) whenever the records change."""
        if not any(held is memo for held in self._memos):
            self._memos.append(memo)

    def _changed(self) -> None:
        # Called once a change is complete, so nothing computed before it can be kept.
        for memo in self._memos:
            memo.forget()

    def _owner(self, owner: str | dns.name.Name) -> dns.name.Name:
        if isinstance(owner, dns.name.Name):
            return owner
        if owner == "@":
            return self.origin
        return to_name(owner, self.origin)

    def _synthesize_apex(self) -> None:
        """Give the zone the SOA and NS a real zone has, when its file did not declare them."""
        apex = self._records.get(self.origin, {})
        host = "ns1.sandbox.invalid." if self.origin == dns.name.root else f"ns1.{self.origin}"
        if dns.rdatatype.SOA not in apex:
            self.add_rdata(
                self.origin,
                dns.rdata.from_text("IN", "SOA", f"{host} hostmaster.sandbox.invalid. 1 3600 600 86400 {DEFAULT_TTL}"),
            )
        if dns.rdatatype.NS not in self._records.get(self.origin, {}):
            self.add_rdata(self.origin, dns.rdata.from_text("IN", "NS", host))

    # -- reading ----------------------------------------------------------------------------

    def soa(self) -> dns.rdataset.Rdataset | None:
        """The apex SOA record set (for the authority section of negative answers)."""
        return self._records.get(self.origin, {}).get(dns.rdatatype.SOA)

    def rdatasets(self) -> Iterator[tuple[dns.name.Name, dns.rdataset.Rdataset]]:
        """Every record set in the zone, apex first."""
        for name in sorted(self._records):
            for rdataset in self._records[name].values():
                yield name, rdataset

    def lookup(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> ZoneAnswer:
        """What this zone says about ``name``/``rdtype`` (``name`` must be inside the zone)."""
        by_type = self._records.get(name)
        if by_type is None and name not in self._existing:
            by_type = self._wildcard(name)
            if by_type is None:
                return ZoneAnswer(Kind.NXDOMAIN, name, None, self)
        by_type = by_type or {}
        rdataset = by_type.get(rdtype)
        if rdataset is not None:
            return ZoneAnswer(Kind.ANSWER, name, rdataset, self)
        cname = by_type.get(dns.rdatatype.CNAME)
        if cname is not None:
            return ZoneAnswer(Kind.CNAME, name, cname, self)
        return ZoneAnswer(Kind.NODATA, name, None, self)

    def _wildcard(self, name: dns.name.Name) -> dict[int, dns.rdataset.Rdataset] | None:
        """RFC 4592: ``*.<closest encloser>`` answers for names below the closest encloser."""
        encloser = name.parent()
        while encloser not in self._existing and encloser != self.origin:
            encloser = encloser.parent()
        return self._records.get(dns.name.Name((b"*",) + encloser.labels))


class _OriginCheckedZone(dns.zone.Zone):
    """The dnspython zone the parser fills: its origin is the root, so that dnspython keeps
    a record outside ``zone_origin`` (it would silently drop it otherwise), and every record
    is checked as it is stored, so that one outside raises a syntax error dnspython ties to
    its file and line."""

    def __init__(self, zone_origin: dns.name.Name) -> None:
        super().__init__(dns.name.root, dns.rdataclass.IN, relativize=False)
        self.zone_origin = zone_origin

    def origin_information(self) -> tuple[dns.name.Name, bool, dns.name.Name]:
        # The reader takes the first item (root: keep every record); dnspython's check that
        # an SOA sits at the apex takes the last (the real zone origin).
        return dns.name.root, False, self.zone_origin

    def writer(self, replacement: bool = False) -> dns.zone.Transaction:
        txn = super().writer(replacement)
        txn.check_put_rdataset(self._check_inside)
        return txn

    def _check_inside(self, _txn: object, name: dns.name.Name, _rdataset: object) -> None:
        if not name.is_subdomain(self.zone_origin):
            raise dns.exception.SyntaxError(f"{name} is outside the zone {self.zone_origin} (its $ORIGIN)")


def _parse(body: str, zone_origin: dns.name.Name, source: str) -> dns.zone.Zone:
    """dnspython's zone-file parser, with absolute names and the check above."""
    return dns.zone.from_text(
        body,
        origin=dns.name.root,
        relativize=False,
        zone_factory=lambda *_args, **_kw: _OriginCheckedZone(zone_origin),
        filename=source,
        check_origin=False,
    )


def _located_error(message: str, body: str, zone_origin: dns.name.Name, source: str, shift: int) -> ZoneError:
    """Turn dnspython's ``file:line: detail`` into a ZoneError on the line at fault.

    dnspython reports the tokenizer's position, which is past the end-of-line when the
    bad token was the last one on its line; re-parsing the text up to the line before
    tells the two cases apart.
    """
    match = _LINE_RE.match(message)
    if match is None:
        return ZoneError(source, message)
    line, detail = int(match.group("line")), match.group("detail")
    lines = body.splitlines()
    while line > 1:
        try:
            _parse("\n".join(lines[: line - 1]) + "\n", zone_origin, source)
            break
        except dns.exception.SyntaxError as exc:
            earlier = _LINE_RE.match(str(exc))
            if earlier is None or earlier.group("detail") != detail:
                break
            line -= 1
        except dns.exception.DNSException:
            break
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if text:
        detail = f"{detail} (in `{text}`)"
    return ZoneError(source, detail, line=max(line - shift, 1))


class Zones:
    """The zones one sandbox serves, looked up by longest matching origin.

    Thread-safe for the one mutation that happens while a server runs: a reload
    replaces the whole set at once (:meth:`replace`), so a lookup sees either the old
    zones or the new ones, never a mix.

    ``memo`` holds what others derive from the data served (:class:`Memo`); any change,
    here or in one of the zones, empties it.
    """

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        self._by_origin: dict[dns.name.Name, Zone] = {}
        self._lock = threading.Lock()
        self.memo = Memo()
        for zone in zones:
            self.add(zone)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> "Zones":
        """Load several zone files; two files for the same origin are merged."""
        zones = cls()
        for path in paths:
            zones.add(Zone.from_file(path))
        return zones

    def add(self, zone: Zone) -> Zone:
        """Add a zone; a zone with the same origin as one already held is merged into it."""
        with self._lock:
            existing = self._by_origin.get(zone.origin)
            if existing is None:
                zone._served_with(self.memo)
                self._by_origin = {**self._by_origin, zone.origin: zone}
                self.memo.forget()
                return zone
        for name, rdataset in zone.rdatasets():
            if rdataset.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS) and name == zone.origin:
                continue
            for rdata in rdataset:
                existing.add_rdata(name, rdata, ttl=rdataset.ttl)
        return existing

    def zone(self, origin: str) -> Zone:
        """The zone with this origin, created empty (with synthesized SOA/NS) if needed."""
        name = to_name(origin)
        found = self._by_origin.get(name)
        return found if found is not None else self.add(Zone.empty(name))

    def replace(self, other: "Zones") -> None:
        """Swap in the zones of ``other`` atomically (a zone reload)."""
        with self._lock:
            for zone in other._by_origin.values():
                zone._served_with(self.memo)
            self._by_origin = dict(other._by_origin)
            self.memo.forget()

    def __iter__(self) -> Iterator[Zone]:
        return iter(list(self._by_origin.values()))

    def __len__(self) -> int:
        return len(self._by_origin)

    def find(self, name: dns.name.Name) -> Zone | None:
        """The zone authoritative for ``name``: the one with the longest matching origin."""
        by_origin = self._by_origin
        candidate = name
        while True:
            zone = by_origin.get(candidate)
            if zone is not None:
                return zone
            if candidate.labels == (b"",):  # the root (a cheaper test than Name equality)
                return None
            candidate = candidate.parent()

    def lookup(self, name: str | dns.name.Name, rdtype: str | int) -> ZoneAnswer:
        """What the served data says about one name and type (no CNAME chasing here)."""
        qname = to_name(name)
        zone = self.find(qname)
        if zone is None:
            return ZoneAnswer(Kind.REFUSED, qname, None, None)
        return zone.lookup(qname, to_rdtype(rdtype))
