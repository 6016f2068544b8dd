"""A fake authoritative DNS: zones in memory, an async resolver over them with fault
injection, and a real UDP/TCP server for the same zones (``fake_dns.server``)."""

from fake_dns.faults import Fault, FaultKind, Faults, FaultSpecError
from fake_dns.resolver import Answer, Outcome, Resolver, reverse_name
from fake_dns.zone import Kind, Zone, ZoneAnswer, ZoneError, Zones

__all__ = [
    "Answer", "Fault", "FaultKind", "FaultSpecError", "Faults", "Kind", "Outcome",
    "Resolver", "Zone", "ZoneAnswer", "ZoneError", "Zones", "reverse_name",
]
