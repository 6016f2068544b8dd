"""Test helpers for the DMARC tests: a root zone from text, stand-in SPF / DKIM results,
and one call that runs the real check through the real resolver."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from fake_dns import Faults, Resolver, Zone, Zones
from policies.dmarc import DmarcResult, check_dmarc


@dataclass(frozen=True)
class Spf:
    """Stands in for policies.spf.SpfResult: DMARC reads .result and .domain only."""

    result: str
    domain: str


@dataclass(frozen=True)
class Dkim:
    """Stands in for policies.dkim.DkimResult: DMARC reads .result and .domain only."""

    result: str
    domain: str
    selector: str = "s1"


def resolver(zone_text: str, faults: Sequence[str] = ()) -> Resolver:
    """A resolver over one zone with origin '.', so every name in ``zone_text`` is inside it."""
    return Resolver(Zones([Zone.from_text("$ORIGIN .\n" + zone_text)]), Faults(list(faults)))


def dmarc(zone_text: str, from_domain: str | None, spf: Spf | None = None, dkim: Sequence[Dkim] = (), *,
          mode: str = "rfc9989", faults: Sequence[str] = (), **options: object) -> DmarcResult:
    return asyncio.run(check_dmarc(resolver(zone_text, faults), from_domain, spf, list(dkim), mode=mode,
                                   **options))


def queried(result: DmarcResult) -> list[str]:
    """The names the check looked up, in order."""
    return [answer.name for answer in result.lookups]
