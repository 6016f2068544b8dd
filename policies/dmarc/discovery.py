"""Finding DMARC records and Organizational Domains: the RFC 9989 DNS Tree Walk and
the RFC 7489 Public Suffix List.

:class:`RecordFinder` fetches ``_dmarc.<domain>`` TXT records for one check, each
name at most once (the walks for the From domain and for the SPF and DKIM domains
share their upper levels). :func:`tree_walk` is RFC 9989 section 4.10 with the
Organizational Domain selection of 4.10.2; :func:`psl_org_domain` is RFC 7489 3.2.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

from fake_dns import Answer, Resolver
from policies.dmarc.record import DmarcRecord, parse_record, version_of

#: RFC 9989 4.10: no walk makes more than this many queries.
MAX_WALK_QUERIES = 8


class SuffixList(Protocol):
    """What RFC 7489 mode needs of a Public Suffix List (publicsuffixlist.PublicSuffixList)."""

    def privatesuffix(self, domain: str) -> str | None: ...


@functools.cache
def default_psl() -> Any:
    """The Public Suffix List shipped in the ``publicsuffixlist`` package (ICANN and
    private sections), loaded on first use and then shared by every check in the
    process; it is only ever read."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def psl_org_domain(domain: str, psl: SuffixList) -> str:
    """RFC 7489 3.2: the public suffix of ``domain`` plus one label; a domain that is
    itself a public suffix is its own Organizational Domain."""
    return psl.privatesuffix(domain) or domain


@dataclass(frozen=True)
class Level:
    """What one ``_dmarc.<domain>`` TXT lookup found."""

    domain: str
    answer: Answer
    record: DmarcRecord | None  # the record, when exactly one DMARC record is published
    count: int  # how many TXT records there start with v=DMARC1
    near_misses: tuple[str, ...] = ()  # TXT records that start with v= but not v=DMARC1

    @property
    def name(self) -> str:
        return f"_dmarc.{self.domain}"

    @property
    def failed(self) -> bool:
        return self.answer.outcome.is_error

    @property
    def psd(self) -> str | None:
        """The record's psd= flag (``y``, ``n`` or ``u``); None when there is no record."""
        return self.record.psd if self.record is not None else None

    def summary(self) -> str:
        if self.failed:
            return f"{self.name}: lookup failed ({self.answer.outcome.value})"
        if self.count > 1:
            return f"{self.name}: {self.count} DMARC records, so none counts"
        if self.record is None:
            return f"{self.name}: no DMARC record"
        return f'{self.name}: "{self.record.text}"'


class RecordFinder:
    """Fetches ``_dmarc`` records through one check's resolver, each name once."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._levels: dict[str, Level] = {}

    async def at(self, domain: str) -> Level:
        level = self._levels.get(domain)
        if level is None:
            answer = await self.resolver.resolve(f"_dmarc.{domain}", "TXT")
            texts = tuple(answer.texts()) if not answer.outcome.is_error else ()
            level = Level(domain, answer, *_read(texts))
            self._levels[domain] = level
        return level

    def levels(self) -> tuple[Level, ...]:
        """Every level fetched so far, in the order first asked."""
        return tuple(self._levels.values())


@functools.lru_cache(maxsize=1024)
def _read(texts: tuple[str, ...]) -> tuple[DmarcRecord | None, int, tuple[str, ...]]:
    """What the TXT records at one ``_dmarc`` name hold: the DMARC record (when exactly
    one is published), how many there are, and the near misses (see :class:`Level`).

    Memoised (bounded, stateless: a pure function of the texts, to immutable values):
    every message makes DMARC read the same few records."""
    records = [r for r in (parse_record(t) for t in texts) if r is not None]
    misses = tuple(t for t in texts if version_of(t) not in (None, "DMARC1") and "dmarc" in t.lower())
    return records[0] if len(records) == 1 else None, len(records), misses


def walk_targets(domain: str) -> list[str]:
    """The names a DNS Tree Walk from ``domain`` queries, in order (RFC 9989 4.10 steps
    3-7): the domain, then -- for eight labels or more -- its last seven labels, then
    one label fewer each time, down to the top-level domain. At most eight names."""
    labels = domain.split(".")
    rest = labels[1:] if len(labels) < MAX_WALK_QUERIES else labels[-(MAX_WALK_QUERIES - 1):]
    targets = [domain]
    while rest:
        targets.append(".".join(rest))
        rest = rest[1:]
    return targets


@dataclass(frozen=True)
class Walk:
    """One DNS Tree Walk: the levels queried, and the Organizational Domain it selects
    (None when a lookup failed, see ``failed``)."""

    start: str
    levels: tuple[Level, ...]
    org_domain: str | None
    how: str  # how the Organizational Domain was chosen, in words
    failed: Level | None = None

    def found(self) -> list[Level]:
        return [level for level in self.levels if level.record is not None]

    def level(self, domain: str) -> Level | None:
        return next((level for level in self.levels if level.domain == domain), None)

    @property
    def psd_level(self) -> Level | None:
        """The level whose record says psd=y, if the walk stopped at one."""
        found = self.found()
        return found[-1] if found and found[-1].psd == "y" else None


async def tree_walk(finder: RecordFinder, domain: str) -> Walk:
    """RFC 9989 4.10: walk from ``domain`` towards the root until a record with psd=y or
    psd=n stops the walk, then select the Organizational Domain (4.10.2):

    1. the record that says psd=n is at the Organizational Domain;
    2. a record that says psd=y (other than at ``domain`` itself) makes the domain one
       label below it the Organizational Domain;
    3. otherwise the record found at the name with the fewest labels;

    and when no record was found, ``domain`` is its own Organizational Domain.
    """
    levels: list[Level] = []
    for target in walk_targets(domain):
        level = await finder.at(target)
        levels.append(level)
        if level.failed:
            return Walk(domain, tuple(levels), None, f"the lookup of {level.name} failed", level)
        if level.psd in ("y", "n"):
            break
    found = [level for level in levels if level.record is not None]
    if not found:
        return Walk(domain, tuple(levels), domain, f"no DMARC record on the way up, so {domain} is its own")
    last = found[-1]
    if last.psd == "n":
        return Walk(domain, tuple(levels), last.domain, f"{last.name} says psd=n: {last.domain} is one")
    if last.psd == "y" and last.domain != domain:
        org = one_label_below(domain, last.domain)
        return Walk(domain, tuple(levels), org,
                    f"{last.name} says psd=y ({last.domain} is a public suffix), so the domain one label below it, "
                    f"{org}, is the Organizational Domain")
    return Walk(domain, tuple(levels), last.domain,
                f"{last.domain} is the name with the fewest labels that has a DMARC record")


def one_label_below(domain: str, ancestor: str) -> str:
    """``one_label_below("a.b.example.com", "com") == "example.com"``."""
    keep = ancestor.count(".") + 2
    return ".".join(domain.split(".")[-keep:])
