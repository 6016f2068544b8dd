"""Loaders for the SPF conformance suites copied into tests/data (see tests/data/README.md).

Test code: it turns each suite's DNS description into a fake_dns root zone plus faults,
so the cases run through the public ``check_spf`` API exactly like a received message.

openspf (``rfc7208-tests.yml``), zonedata as the reference driver (pyspf's testspf.py)
serves it:
- an ``SPF`` record is also served as ``TXT`` unless the name has an explicit ``TXT``
  entry (``TXT: NONE`` included, which otherwise adds nothing);
- a list value is several character-strings of one record; ``[]`` (a record with no
  strings) cannot exist in DNS or dnspython, so it becomes a record with one empty
  string, which SPF sees the same way (joined text ``""``, not an SPF record);
- strings are encoded as UTF-8 bytes (YAML escapes such as ``"\\xEF"`` are code points);
- a bare ``TIMEOUT`` makes the name time out for every type not listed before it:
  a name-wide ``timeout`` fault plus ``NAME/TYPE=ok`` for the types listed before it
  (``TXT: NONE`` lists nothing; the SPF-as-TXT copies are appended after TIMEOUT by
  the reference driver, so they do not count either);
- ``MX: [0, ""]`` is a null MX (exchange ``.``).

stalwart (``spf/*.yml``) is not standard YAML; it is read line by line as its upstream
test does (``src/spf/verify.rs``): records accumulate per file and a later record for
the same name and kind replaces the earlier one; ``domain``/``sender``/``ip`` persist
within a ``---`` document; names containing ``_dns_error.`` answer SERVFAIL.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.reversename
import yaml

from fake_dns import Fault, FaultKind, Faults, Resolver, Zone, Zones
from policies.spf import SpfResult, check_spf

DATA = Path(__file__).resolve().parent.parent / "data"
OPENSPF = DATA / "openspf" / "rfc7208-tests.yml"
STALWART = DATA / "stalwart-mail-auth" / "spf"


@dataclass(frozen=True)
class SpfCase:
    """One conformance test: the SMTP facts, the expected results, the DNS to use."""

    id: str
    helo: str
    ip: str
    mail_from: str
    results: tuple[str, ...]  # any of these is conforming; the first is preferred
    explanation: str | None
    zone: Zone = field(repr=False)
    faults: tuple[Fault, ...] = field(repr=False, default=())
    spec: str = ""

    def resolver(self) -> Resolver:
        return Resolver(Zones([self.zone]), Faults(self.faults))


# -- openspf ------------------------------------------------------------------------------

def openspf_cases(path: Path = OPENSPF) -> list[SpfCase]:
    """Every test of the openspf YAML stream, with its scenario's zone."""
    cases = []
    with path.open("rb") as stream:
        for scenario in yaml.safe_load_all(stream):
            zone, faults = openspf_zone(scenario["zonedata"])
            for test_id, test in scenario["tests"].items():
                expected = test["result"]
                cases.append(SpfCase(
                    id=test_id,
                    helo=str(test["helo"]),
                    ip=str(test["host"]),
                    mail_from=str(test["mailfrom"]),
                    results=tuple(expected) if isinstance(expected, list) else (expected,),
                    explanation=test.get("explanation"),
                    zone=zone,
                    faults=faults,
                    spec=str(test.get("spec", "")),
                ))
    return cases


def openspf_zone(zonedata: dict[str, list[Any]]) -> tuple[Zone, tuple[Fault, ...]]:
    """One root-origin zone and the faults for one scenario's zonedata."""
    zone = Zone.empty(".")
    faults: list[Fault] = []
    for owner, entries in zonedata.items():
        name = dns.name.from_text(owner)
        explicit_txt = any(isinstance(entry, dict) and "TXT" in entry for entry in entries)
        listed: list[str] = []
        for entry in entries:
            if entry == "TIMEOUT":
                faults.append(Fault(name, None, FaultKind.TIMEOUT))
                faults.extend(Fault(name, dns.rdatatype.from_text(t), FaultKind.OK) for t in dict.fromkeys(listed))
                continue
            ((rdtype, value),) = entry.items()
            if value == "NONE":
                continue
            listed.append(rdtype)
            zone.add_rdata(name, _openspf_rdata(rdtype, value))
            if rdtype == "SPF" and not explicit_txt:
                zone.add_rdata(name, _openspf_rdata("TXT", value))
    return zone, tuple(faults)


def _openspf_rdata(rdtype: str, value: Any) -> dns.rdata.Rdata:
    if rdtype in ("TXT", "SPF"):
        strings = [value] if isinstance(value, str) else list(value)
        raw = [s.encode("utf-8") for s in strings] or [b""]
        kind = dns.rdtypes.ANY.SPF.SPF if rdtype == "SPF" else dns.rdtypes.ANY.TXT.TXT
        return kind(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), raw)
    if rdtype == "MX":
        preference, host = value
        return dns.rdtypes.ANY.MX.MX(dns.rdataclass.IN, dns.rdatatype.MX, int(preference), _absolute(host))
    if rdtype == "PTR":
        return dns.rdtypes.ANY.PTR.PTR(dns.rdataclass.IN, dns.rdatatype.PTR, _absolute(value))
    if rdtype == "CNAME":
        return dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME, _absolute(value))
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, str(value))


def _absolute(host: str) -> dns.name.Name:
    return dns.name.root if host in ("", ".") else dns.name.from_text(host)


# -- stalwart -----------------------------------------------------------------------------

_DNS_ERROR_NAME = re.compile(r"[A-Za-z0-9_.-]*_dns_error\.[A-Za-z0-9_.-]*[A-Za-z0-9]")
_STALWART_RECEIVER = "localdomain.org"


@dataclass
class _StalwartRecords:
    """The upstream test's resolver caches: one entry per name (or IP), replaced on re-add."""

    txt: dict[str, str] = field(default_factory=dict)
    a: dict[str, list[str]] = field(default_factory=dict)
    aaaa: dict[str, list[str]] = field(default_factory=dict)
    ptr: dict[str, list[str]] = field(default_factory=dict)
    mx: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> None:
        name, _, data = value.strip().partition(" ")
        items = [item.strip() for item in data.split(",")]
        if kind in ("spf", "exp"):
            self.txt[name] = data.strip()
        elif kind == "mx":
            self.mx[name] = items
            for position, item in enumerate(items):
                family = self.a if ipaddress.ip_address(item).version == 4 else self.aaaa
                family[f"mx.{item}.{position}"] = [item]
        else:
            getattr(self, kind)[name] = items

    def zone(self) -> Zone:
        """A root zone holding a snapshot of the records (names DNS cannot carry are left out:
        they could not be published, and the tests using them expect none)."""
        zone = Zone.empty(".")
        for name, text in self.txt.items():
            _add(zone, name, dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [text.encode()]))
        for family, rdtype in ((self.a, "A"), (self.aaaa, "AAAA")):
            for name, addresses in family.items():
                for address in addresses:
                    _add(zone, name, dns.rdata.from_text(dns.rdataclass.IN, rdtype, address))
        for address, names in self.ptr.items():
            for target in names:
                _add(zone, dns.reversename.from_address(address).to_text(),
                     dns.rdtypes.ANY.PTR.PTR(dns.rdataclass.IN, dns.rdatatype.PTR, dns.name.from_text(target)))
        for name, items in self.mx.items():
            for position, item in enumerate(items):
                exchange = dns.name.from_text(f"mx.{item}.{position}")
                _add(zone, name, dns.rdtypes.ANY.MX.MX(dns.rdataclass.IN, dns.rdatatype.MX, position + 1, exchange))
        return zone

    def copy(self) -> _StalwartRecords:
        return _StalwartRecords(dict(self.txt), dict(self.a), dict(self.aaaa), dict(self.ptr), dict(self.mx))


def _add(zone: Zone, owner: str, rdata: dns.rdata.Rdata) -> None:
    try:
        name = dns.name.from_text(owner)
    except dns.exception.DNSException:
        return
    zone.add_rdata(name, rdata)


def stalwart_cases(directory: Path = STALWART) -> list[SpfCase]:
    """Every ``expect:`` line of the stalwart SPF files, read as upstream reads them.

    The upstream harness checks the HELO identity first and the MAIL FROM identity only
    when HELO passes; ``helo``/``mail_from`` here are the two inputs to that procedure
    (see :func:`stalwart_check`).
    """
    cases = []
    for path in sorted(directory.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        faults = tuple(Fault(dns.name.from_text(n), None, FaultKind.SERVFAIL)
                       for n in sorted(set(_DNS_ERROR_NAME.findall(text))))
        records = _StalwartRecords()
        for document_number, document in enumerate(text.split("---\n")):
            scenario, helo, mail_from, ip, number = "", "", "", "127.0.0.1", 0
            for raw in document.split("\n"):
                line = raw.strip()
                line = line[1:].strip() if line.startswith("-") else line
                key, _, value = line.partition(":")
                value = value.strip()
                if key == "name":
                    scenario = value
                elif key in ("spf", "exp", "a", "aaaa", "ptr", "mx"):
                    records.add(key, value)
                elif key == "domain":
                    helo = value
                elif key == "sender":
                    mail_from = value
                elif key == "ip":
                    ip = value
                elif key == "expect":
                    number += 1
                    result, _, explanation = value.partition(" ")
                    cases.append(SpfCase(
                        id=f"{path.stem}/{document_number}/{_slug(scenario)}/{number}",
                        helo=helo, ip=ip, mail_from=mail_from, results=(result,),
                        explanation=explanation.strip() or None, zone=records.copy().zone(), faults=faults,
                        spec=scenario,
                    ))
    return cases


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


async def stalwart_check(case: SpfCase) -> SpfResult:
    """The upstream harness's procedure (``verify_spf`` with both identities): check the
    HELO identity first; only when it passes, check the MAIL FROM identity."""
    resolver = case.resolver()
    helo = await check_spf(resolver, case.ip, "", case.helo, receiver=_STALWART_RECEIVER)
    if helo.result != "pass":
        return helo
    return await check_spf(resolver, case.ip, case.mail_from, case.helo, receiver=_STALWART_RECEIVER)
