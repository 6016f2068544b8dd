"""Fault injection: make chosen names (or one type at a name) time out or SERVFAIL.

Real DNS fails in these two ways, and the checks must turn both into ``temperror``;
the fault set lets a zone author reproduce them on purpose. A fault is keyed by owner
name and optionally one type; a type-specific entry wins over a name-wide one, and the
kind ``ok`` exempts one type from a name-wide fault (``example.com=timeout`` plus
``example.com/TXT=ok``: TXT answers, every other type times out, as some broken
servers do for the SPF type).

Spec syntax (the ``--fault`` flag): ``NAME=timeout``, ``NAME=servfail``,
``NAME/TYPE=timeout``, ``NAME/TYPE=servfail``, ``NAME/TYPE=ok``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype

from fake_dns.zone import to_name, to_rdtype


class FaultKind(enum.Enum):
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    OK = "ok"


class FaultSpecError(ValueError):
    """A ``--fault`` value that does not parse; the message shows the expected form."""


@dataclass(frozen=True)
class Fault:
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType | None
    kind: FaultKind

    @classmethod
    def parse(cls, spec: str) -> "Fault":
        """Parse ``NAME[/TYPE]=timeout|servfail|ok``."""
        target, sep, kind_text = spec.partition("=")
        name_text, slash, type_text = target.partition("/")
        name_text = name_text.strip()
        if not sep or not name_text:
            raise FaultSpecError(
                f"bad fault {spec!r}: expected NAME=timeout, NAME=servfail or NAME/TYPE=timeout|servfail|ok"
            )
        try:
            kind = FaultKind(kind_text.strip().lower())
        except ValueError:
            raise FaultSpecError(
                f"bad fault {spec!r}: unknown kind {kind_text!r}; use timeout, servfail or ok"
            ) from None
        try:
            name = to_name(name_text)
        except dns.exception.DNSException as exc:
            raise FaultSpecError(f"bad fault {spec!r}: {name_text!r} is not a domain name ({exc})") from None
        rdtype = None
        if slash:
            try:
                rdtype = to_rdtype(type_text.strip())
            except dns.exception.DNSException:
                raise FaultSpecError(f"bad fault {spec!r}: {type_text!r} is not a record type") from None
        return cls(name, rdtype, kind)

    def __str__(self) -> str:
        target = self.name.to_text(omit_final_dot=True)
        if self.rdtype is not None:
            target += f"/{dns.rdatatype.to_text(self.rdtype)}"
        return f"{target}={self.kind.value}"


class Faults:
    """The faults in force for one sandbox; empty by default."""

    def __init__(self, faults: Iterable[Fault | str] = ()) -> None:
        self._rules: dict[tuple[dns.name.Name, dns.rdatatype.RdataType | None], FaultKind] = {}
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault | str) -> None:
        if isinstance(fault, str):
            fault = Fault.parse(fault)
        self._rules[(fault.name, fault.rdtype)] = fault.kind

    def __bool__(self) -> bool:
        return bool(self._rules)

    def __iter__(self):
        return (Fault(name, rdtype, kind) for (name, rdtype), kind in self._rules.items())

    def for_query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> FaultKind | None:
        """The fault a query for ``name``/``rdtype`` meets, or None when it is answered."""
        if not self._rules:
            return None
        kind = self._rules.get((name, rdtype)) or self._rules.get((name, None))
        return None if kind in (None, FaultKind.OK) else kind
