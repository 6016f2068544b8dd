"""``check_dmarc``: policy discovery, identifier alignment and the verdict, in either mode.

The mode is chosen per call, so a user can see where RFC 9989 (DNS Tree Walk, psd=,
np=, t=) and RFC 7489 (Public Suffix List, pct=) disagree about the same message.

How each mode turns DNS trouble into a result:

- RFC 9989 5.3.6: when a query DMARC needs does not complete, the message can neither
  pass nor fail: a failed ``_dmarc`` lookup, a failed Tree Walk for an identifier's
  Organizational Domain, or an SPF / DKIM ``temperror`` for an identifier that would
  have aligned (with nothing else passing aligned) all give ``temperror``.
- RFC 7489: only a failed lookup of the DMARC record itself is ``temperror``. An SPF or
  DKIM ``temperror`` with nothing aligned passing is ``fail``; the temporary cause is
  kept in :attr:`DmarcResult.temporary_cause` so a profile can defer instead of reject.

``permerror`` is kept for a From domain that is not a valid domain name (nothing can
be looked up). A record that cannot be used (bad ``p=`` and no ``rua=``) means "no
DMARC processing" in both RFCs: the result is ``none``, with a warning saying why.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from typing import Protocol

import dns.exception
import dns.name

from fake_dns import Outcome, Resolver
from policies.dmarc.discovery import Level, RecordFinder, SuffixList, Walk, default_psl, psl_org_domain, tree_walk
from policies.dmarc.record import Interpretation, interpret
from policies.dmarc.result import DmarcResult

MODES = ("rfc9989", "rfc7489")
_SOFTER = {"reject": "quarantine", "quarantine": "none", "none": "none"}
_MODE_WORD = {"r": "relaxed", "s": "strict"}


class SpfOutcome(Protocol):
    """What DMARC reads of an SPF result: the verdict and the domain it is for (the
    MAIL FROM domain, or the HELO name for a null sender). Read-only, so frozen results
    qualify."""

    @property
    def result(self) -> str: ...

    @property
    def domain(self) -> str | None: ...


class DkimOutcome(Protocol):
    """What DMARC reads of one DKIM signature's result: the verdict and its d= domain.
    Read-only, so frozen results qualify."""

    @property
    def result(self) -> str: ...

    @property
    def domain(self) -> str | None: ...


async def check_dmarc(
    resolver: Resolver,
    from_domain: str | None,
    spf: SpfOutcome | None,
    dkim: Sequence[DkimOutcome],
    *,
    mode: str = "rfc9989",
    psl: SuffixList | None = None,
    sample: float | None = None,
) -> DmarcResult:
    """DMARC for a message whose RFC5322.From domain is ``from_domain`` (None when the
    message has no single From domain).

    ``mode`` is ``rfc9989`` or ``rfc7489``; ``psl`` replaces the Public Suffix List that
    RFC 7489 mode uses; ``sample`` (0 <= sample < 1) decides RFC 7489 pct= sampling: the
    policy is applied when ``sample * 100 < pct`` (a fresh random number when None).
    """
    if mode not in MODES:
        raise ValueError(f"unknown DMARC mode {mode!r}; use one of {', '.join(MODES)}")
    evaluation = _Evaluation(resolver.fork(), mode, psl, sample)
    return await evaluation.run(from_domain, spf, tuple(dkim))


@functools.lru_cache(maxsize=4096)
def normalise_domain(domain: str) -> str | None:
    """``domain`` as lower-case A-labels without a trailing dot; None when it cannot be
    a domain name (RFC 9989 5.3.1: U-labels are converted to A-labels).

    Memoised (bounded, stateless: a pure function of the text): every message brings the
    same few From, MAIL FROM and d= domains, and dnspython parses and prints names slowly."""
    text = domain.strip().rstrip(".")
    if not text or "@" in text or any(ch.isspace() for ch in text):
        return None
    try:
        name = dns.name.from_unicode(text) if not text.isascii() else dns.name.from_text(text)
    except (dns.exception.DNSException, UnicodeError, ValueError):
        return None
    if len(name.labels) < 2:
        return None
    return name.to_text(omit_final_dot=True).lower()


class _Evaluation:
    """The state of one check: its resolver, the records fetched, the walks made."""

    def __init__(self, resolver: Resolver, mode: str, psl: SuffixList | None, sample: float | None) -> None:
        self.resolver = resolver
        self.mode = mode
        self.psl = psl
        self.sample = sample
        self.finder = RecordFinder(resolver)
        self.walks: dict[str, Walk] = {}
        self.warnings: list[str] = []
        self.notes: list[str] = []  # what aligned with what, in words
        self.passing: list[str] = []  # the notes of aligned passes

    # -- the steps -------------------------------------------------------------------------

    async def run(self, from_domain: str | None, spf: SpfOutcome | None,
                  dkim: tuple[DkimOutcome, ...]) -> DmarcResult:
        if from_domain is None:
            return self._result("none", None, reason="the message has no single RFC5322.From domain, so DMARC "
                                                     "cannot be evaluated (RFC 9989 5.3.1)")
        author = normalise_domain(from_domain)
        if author is None:
            return self._result("permerror", from_domain,
                                reason=f"the From domain {from_domain!r} is not a valid domain name")
        found = await self._discover(author)
        if isinstance(found, DmarcResult):
            return found
        level, rules, wanted = found
        requested, tag = rules.policy_for(wanted)
        spf_aligned, aligned_dkim, unknown, temporary = await self._align(author, rules, spf, dkim)
        org = await self._org_domain_if_known(author)
        verdict = functools.partial(self._result, org_domain=org, policy=requested, policy_tag=tag, level=level,
                                    rules=rules, nonexistent=wanted == "np", spf_aligned=spf_aligned,
                                    aligned_dkim=aligned_dkim)
        if spf_aligned or aligned_dkim is not None:
            return verdict("pass", author, reason=self.passing[0])
        causes = unknown + temporary
        why = "; ".join(self.notes) or "there is neither an SPF nor a DKIM result to align"
        if unknown or (temporary and self.mode == "rfc9989"):
            return verdict("temperror", author, temporary_cause="; ".join(causes),
                           reason=f"DMARC could not decide: {'; '.join(causes)}")
        disposition, downgraded = self._disposition(requested, rules)
        return verdict("fail", author, disposition=disposition, pct_downgraded=downgraded,
                       temporary_cause="; ".join(temporary) or None,
                       reason=f"nothing aligned with {author} passed: {why}")

    async def _discover(self, author: str) -> tuple[Level, Interpretation, str] | DmarcResult:
        """The record that applies, its interpretation and the tag (p / sp / np) whose
        policy governs ``author``; or the finished result when there is none."""
        own = await self.finder.at(author)
        if own.failed:
            return self._temperror(author, own)
        self._warn_level(own)
        level: Level | None
        if own.record is not None:
            level = own
        elif self.mode == "rfc9989":
            walk = await self._walk(author)
            if walk.failed is not None:
                return self._temperror(author, walk.failed)
            assert walk.org_domain is not None  # only a failed walk has none
            level = walk.level(walk.org_domain)
            if level is None or level.record is None:
                level = walk.psd_level
            if level is None:
                return self._result("none", author, org_domain=walk.org_domain,
                                    reason=f"no DMARC record for {author}: the Tree Walk found none "
                                           f"({', '.join(lv.name for lv in walk.levels)})")
        else:
            if own.count > 1:
                return self._result("none", author, org_domain=self._psl_org(author),
                                    reason=f"{own.name} has {own.count} DMARC records; RFC 7489 6.6.3 then "
                                           "applies no DMARC processing")
            org = self._psl_org(author)
            level = await self.finder.at(org) if org != author else own
            if level.failed:
                return self._temperror(author, level)
            if level is not own:
                self._warn_level(level)
            if level.record is None:
                many = f" ({level.name} has {level.count} DMARC records)" if level.count > 1 else ""
                above = f" nor at its Organizational Domain {level.name}" if org != author else ""
                return self._result("none", author, org_domain=org,
                                    reason=f"no DMARC record for {author}: none at _dmarc.{author}{above}{many}")
        rules = interpret(level.record, self.mode, level.name)
        self.warnings.extend(rules.warnings)
        if not rules.usable:
            return self._result("none", author, level=level, rules=rules,
                                org_domain=await self._org_domain_if_known(author),
                                reason=f"the DMARC record at {level.name} has no usable policy and no rua=, so no "
                                       "DMARC processing applies")
        if level.domain == author:
            return level, rules, "p"
        if self.mode == "rfc9989" and rules.np is not None:
            exists = await self.resolver.resolve(author, "A")
            if exists.outcome.is_error:
                return self._temperror(author, f"the existence check of {author} failed "
                                               f"({exists.outcome.value})")
            if exists.outcome is Outcome.NXDOMAIN:
                return level, rules, "np"
        return level, rules, "sp"

    async def _align(self, author: str, rules: Interpretation, spf: SpfOutcome | None,
                     dkim: tuple[DkimOutcome, ...]) -> tuple[bool, str | None, list[str], list[str]]:
        """(SPF aligned, the first aligned passing DKIM d=, alignment checks that failed
        on DNS, temporary SPF / DKIM errors of identifiers that would have aligned)."""
        unknown: list[str] = []
        temporary: list[str] = []
        spf_aligned = False
        spf_domain = normalise_domain(spf.domain) if spf is not None and spf.domain else None
        if spf is None or spf_domain is None:
            self.notes.append("there is no SPF result with a domain to align")
        elif spf.result not in ("pass", "temperror"):
            self.notes.append(f"SPF {spf.result} for {spf_domain}: only an SPF pass can align")
        else:
            aligned, how = await self._aligns(spf_domain, author, rules.aspf)
            if spf.result == "pass":
                if aligned is None:
                    unknown.append(how)
                spf_aligned = bool(aligned)
                self.notes.append(f"SPF passed for {spf_domain}, which {how}")
                if spf_aligned:
                    self.passing.append(self.notes[-1])
            elif aligned is not False:
                temporary.append(f"SPF had a temporary error for {spf_domain}, which would be aligned")
                self.notes.append(f"SPF had a temporary error (temperror) for {spf_domain}")
            else:
                self.notes.append(f"SPF had a temporary error for {spf_domain}, which {how} anyway")
        aligned_dkim: str | None = None
        for signature in dkim:
            domain = normalise_domain(signature.domain) if signature.domain else None
            if domain is None:
                self.notes.append(f"a DKIM signature without a valid d= ({signature.result}) cannot align")
                continue
            if signature.result not in ("pass", "temperror"):
                self.notes.append(f"DKIM d={domain} is {signature.result}: only a DKIM pass can align")
                continue
            aligned, how = await self._aligns(domain, author, rules.adkim)
            if signature.result == "pass":
                if aligned is None:
                    unknown.append(how)
                self.notes.append(f"DKIM d={domain} passed and {how}" if aligned is not False
                                  else f"DKIM d={domain} passed but {how}")
                if aligned:
                    aligned_dkim = aligned_dkim or domain
                    self.passing.append(self.notes[-1])
            elif aligned is not False:
                temporary.append(f"DKIM had a temporary error for d={domain}, which would be aligned")
                self.notes.append(f"DKIM d={domain} had a temporary error (temperror)")
            else:
                self.notes.append(f"DKIM d={domain} had a temporary error, but {how} anyway")
        if not dkim:
            self.notes.append("the message has no DKIM signature")
        return spf_aligned, aligned_dkim, unknown, temporary

    async def _aligns(self, identifier: str, author: str, mode_char: str) -> tuple[bool | None, str]:
        """Is ``identifier`` aligned with ``author`` (None: a DNS failure kept it open)?"""
        mode = _MODE_WORD[mode_char]
        if identifier == author:
            return True, f"is aligned ({mode}) with {author}: the same domain"
        if mode_char == "s":
            return False, f"is not aligned with {author}: strict alignment needs exactly {author}"
        if identifier.rpartition(".")[2] != author.rpartition(".")[2]:
            return False, f"is not aligned with {author}: they share no Organizational Domain"
        org_author = await self._org_domain(author)
        org_identifier = await self._org_domain(identifier)
        if org_author is None or org_identifier is None:
            failed = self.walks[author if org_author is None else identifier].failed
            assert failed is not None  # only a failed walk leaves an Organizational Domain unknown
            return None, (f"could not be checked: the Organizational Domain of "
                          f"{identifier if org_author else author} is unknown (the lookup of {failed.name} "
                          f"failed: {failed.answer.outcome.value})")
        if org_author == org_identifier:
            return True, f"is aligned ({mode}) with {author}: both have the Organizational Domain {org_author}"
        return False, (f"is not aligned with {author}: its Organizational Domain is {org_identifier}, "
                       f"{author}'s is {org_author}")

    def _disposition(self, requested: str, rules: Interpretation) -> tuple[str, bool]:
        """What the receiver should do with a failing message, and whether RFC 7489 pct
        sampling (not RFC 9989 t=y) lowered it."""
        if self.mode == "rfc9989":
            return (_SOFTER[requested], False) if rules.testing else (requested, False)
        if rules.pct >= 100 or requested == "none":
            return requested, False
        draw = self.sample if self.sample is not None else random.random()
        if draw * 100 < rules.pct:
            return requested, False
        return _SOFTER[requested], True

    # -- Organizational Domains ------------------------------------------------------------

    def _psl_org(self, domain: str) -> str:
        return psl_org_domain(domain, self.psl if self.psl is not None else default_psl())

    async def _walk(self, domain: str) -> Walk:
        walk = self.walks.get(domain)
        if walk is None:
            walk = self.walks[domain] = await tree_walk(self.finder, domain)
        return walk

    async def _org_domain(self, domain: str) -> str | None:
        if self.mode == "rfc7489":
            return self._psl_org(domain)
        return (await self._walk(domain)).org_domain

    async def _org_domain_if_known(self, author: str) -> str | None:
        """The From domain's Organizational Domain when it is known without a DNS query
        the receiver would not otherwise make (RFC 9989 4.10.2 skips the walk when no
        alignment needs it)."""
        if self.mode == "rfc7489":
            return self._psl_org(author)
        walk = self.walks.get(author)
        return walk.org_domain if walk is not None else None

    # -- building the result ---------------------------------------------------------------

    def _warn_level(self, level: Level) -> None:
        if level.count > 1:
            self.warnings.append(f"{level.name} has {level.count} DMARC records; all of them are ignored")
        for text in level.near_misses:
            self.warnings.append(f'{level.name}: "{text}" is not a DMARC record (it must start with v=DMARC1); '
                                 "ignored")

    def _temperror(self, author: str, failure: Level | str) -> DmarcResult:
        """``temperror`` for ``failure``: the level whose lookup failed, or the cause in words."""
        if isinstance(failure, str):
            cause = failure
        else:
            cause = f"the lookup of {failure.name} failed ({failure.answer.outcome.value})"
        return self._result("temperror", author, temporary_cause=cause, reason=cause)

    def _result(self, result: str, domain: str | None, *, reason: str, org_domain: str | None = None,
                policy: str | None = None, policy_tag: str | None = None, level: Level | None = None,
                rules: Interpretation | None = None, nonexistent: bool = False, spf_aligned: bool = False,
                aligned_dkim: str | None = None,
                disposition: str = "none", pct_downgraded: bool = False,
                temporary_cause: str | None = None) -> DmarcResult:
        return DmarcResult(
            result=result,
            domain=domain,
            org_domain=org_domain,
            policy=policy,
            policy_tag=policy_tag,
            nonexistent=nonexistent,
            disposition=disposition,
            mode=self.mode,
            record=level.record.text if level is not None and level.record is not None else None,
            record_domain=level.domain if level is not None else None,
            spf_aligned=spf_aligned,
            dkim_aligned=aligned_dkim is not None,
            aligned_dkim_domain=aligned_dkim,
            adkim=rules.adkim if rules is not None else None,
            aspf=rules.aspf if rules is not None else None,
            testing=bool(rules and rules.testing),
            pct=rules.pct if rules is not None and self.mode == "rfc7489" else None,
            pct_downgraded=pct_downgraded,
            temporary_cause=temporary_cause,
            warnings=tuple(dict.fromkeys(self.warnings)),
            alignment=tuple(self.notes),
            walk=tuple(level.summary() for level in self.finder.levels()),
            org_how=self._org_how(domain, org_domain),
            lookups=tuple(self.resolver.log),
            reason=reason,
        )

    def _org_how(self, domain: str | None, org_domain: str | None) -> str | None:
        if domain is None or org_domain is None:
            return None
        if self.mode == "rfc7489":
            return f"the Public Suffix List makes {org_domain} the Organizational Domain of {domain}"
        walk = self.walks.get(domain)
        return f"DNS Tree Walk from {domain}: {walk.how}" if walk is not None else None
