"""DMARC policy records: recognise them, read their tags, and interpret them per mode.

A TXT record at ``_dmarc.<domain>`` is a DMARC record when its first tag is
``v=DMARC1`` (case-sensitive value; RFC 9989 4.7, RFC 7489 6.3); anything else there
is not DMARC and is ignored. :func:`parse_record` reads the tag list once;
:func:`interpret` applies one mode's rules to it, because the two RFCs disagree on
which tags exist and on what a missing ``p=`` means:

- RFC 9989: tags p sp np adkim aspf fo rua ruf psd t; no ``p=`` means ``p=none``;
  ``pct``, ``rf`` and ``ri`` were removed and are ignored.
- RFC 7489: tags p sp adkim aspf pct fo rf ri rua ruf; ``p=`` is required.

Both: unknown tags are ignored; a bad adkim / aspf / t / psd / pct value falls back to
the default; a bad (or, under RFC 7489, missing) ``p=``, or a bad ``sp=`` (or ``np=``
under RFC 9989), makes the record act as ``p=none`` when it has a usable ``rua=``, and
otherwise means no DMARC processing at all (RFC 9989 4.10.1, RFC 7489 6.6.3). Every
such departure is reported as a warning, in words, so the sender can fix the record.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

POLICIES = ("none", "quarantine", "reject")
_TAG = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")
_VERSION = re.compile(r"\s*[vV]\s*=\s*([^;]*?)\s*(?:;|$)")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s,!]+(?:![0-9]+[kmgtKMGT]?)?")
_TAGS = {
    "rfc9989": frozenset({"v", "p", "sp", "np", "adkim", "aspf", "fo", "rua", "ruf", "psd", "t"}),
    "rfc7489": frozenset({"v", "p", "sp", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf"}),
}
_OTHER_MODE_NOTE = {
    "rfc9989": "was removed in RFC 9989 and is ignored",
    "rfc7489": "is an RFC 9989 tag; RFC 7489 ignores it",
}


@dataclass(frozen=True)
class DmarcRecord:
    """One DMARC record as published: its text and its tags (names lower-cased, first
    occurrence kept) plus what was wrong with the tag list itself."""

    text: str
    tags: tuple[tuple[str, str], ...]
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> str | None:
        for tag, value in self.tags:
            if tag == name:
                return value
        return None

    @property
    def psd(self) -> str:
        """The psd= flag for the RFC 9989 tree walk: ``y``, ``n`` or ``u`` (the default,
        also for a value that is none of these)."""
        value = (self.get("psd") or "u").lower()
        return value if value in ("y", "n") else "u"


def version_of(text: str) -> str | None:
    """The value of the leading ``v=`` tag, or None when the text does not start with one."""
    match = _VERSION.match(text)
    return match.group(1) if match else None


def parse_record(text: str) -> DmarcRecord | None:
    """Read ``text`` as a DMARC record; None when it does not start with ``v=DMARC1``."""
    if version_of(text) != "DMARC1":
        return None
    tags: list[tuple[str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for part in text.split(";"):
        if not part.strip():
            continue
        match = _TAG.fullmatch(part)
        if match is None:
            problems.append(f"{part.strip()!r} is not a tag=value pair; ignored")
            continue
        name, value = match.group(1).lower(), match.group(2)
        if name in seen:
            problems.append(f"{name}= appears more than once; the first one counts")
            continue
        seen.add(name)
        tags.append((name, value))
    return DmarcRecord(text, tuple(tags), tuple(problems))


@dataclass(frozen=True)
class Interpretation:
    """What one mode makes of a record.

    ``usable`` False means the mode applies no DMARC processing because of this record
    (a bad policy tag and no usable rua). ``p``, ``sp`` and ``np`` are the policies in
    force (``sp``/``np`` None when absent: they fall back to ``p``, then ``sp``).
    """

    usable: bool
    p: str
    sp: str | None
    np: str | None
    adkim: str  # "r" or "s"
    aspf: str
    testing: bool  # t=y (RFC 9989 only)
    pct: int  # 0..100 (RFC 7489 only; 100 under RFC 9989)
    psd: str  # y / n / u (RFC 9989 only; "u" under RFC 7489)
    warnings: tuple[str, ...]

    def policy_for(self, tag: str) -> tuple[str, str]:
        """(policy, the tag it comes from) for ``p``, ``sp`` or ``np`` after the
        fallbacks RFC 9989 4.7 gives: a missing np= falls back to sp=, then p=."""
        if tag == "np" and self.np is not None:
            return self.np, "np"
        if tag in ("np", "sp") and self.sp is not None:
            return self.sp, "sp"
        return self.p, "p"


@functools.lru_cache(maxsize=1024)
def interpret(record: DmarcRecord, mode: str, where: str) -> Interpretation:
    """Apply ``mode``'s rules to ``record`` (published at ``where``, for the warnings).

    Memoised (bounded, stateless: a pure function of immutable arguments, to an immutable
    value): every message from a domain meets the same record."""
    known = _TAGS[mode]
    warnings = [f"{where}: {problem}" for problem in record.problems]
    for name, _ in record.tags:
        if name in known:
            continue
        if name in _TAGS["rfc9989"] | _TAGS["rfc7489"]:
            warnings.append(f"{where}: {name}= {_OTHER_MODE_NOTE[mode]}")
        else:
            warnings.append(f"{where}: unknown tag {name}= ignored")
    if mode == "rfc7489" and record.tags[1:2] and record.tags[1][0] != "p":
        warnings.append(f"{where}: RFC 7489 expects p= right after v=DMARC1")

    def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = record.get(name)
        if raw is None:
            return default
        if raw.lower() in allowed:
            return raw.lower()
        warnings.append(f"{where}: {name}={raw} is not valid ({' or '.join(allowed)}); the default {name}={default} "
                        "applies")
        return default

    adkim = choice("adkim", ("r", "s"), "r")
    aspf = choice("aspf", ("r", "s"), "r")
    testing = mode == "rfc9989" and choice("t", ("y", "n"), "n") == "y"
    psd = choice("psd", ("y", "n", "u"), "u") if mode == "rfc9989" else "u"
    pct = _pct(record.get("pct"), where, warnings) if mode == "rfc7489" else 100
    has_rua = _has_valid_uri(record.get("rua"))
    if record.get("rua") is not None and not has_rua:
        warnings.append(f"{where}: rua={record.get('rua')} holds no valid URI (e.g. mailto:dmarc@example.com)")

    bad: list[str] = []
    p = record.get("p")
    if p is None:
        if mode == "rfc9989":
            warnings.append(f"{where}: no p= tag; RFC 9989 treats the record as p=none")
            p = "none"
        else:
            bad.append("there is no p= tag (RFC 7489 requires one)")
    elif p.lower() not in POLICIES:
        bad.append(f"p={p} is not none, quarantine or reject")
    policy_tags = ("sp", "np") if mode == "rfc9989" else ("sp",)
    for name in policy_tags:
        value = record.get(name)
        if value is not None and value.lower() not in POLICIES:
            bad.append(f"{name}={value} is not none, quarantine or reject")
    if bad:
        problem = "; ".join(bad)
        if has_rua:
            warnings.append(f"{where}: {problem}; because rua= is usable, the record acts as p=none")
            return Interpretation(True, "none", None, None, adkim, aspf, testing, pct, psd, tuple(warnings))
        warnings.append(f"{where}: {problem} and there is no usable rua=, so no DMARC processing applies")
        return Interpretation(False, "none", None, None, adkim, aspf, testing, pct, psd, tuple(warnings))
    assert p is not None  # no p=: "none" under RFC 9989, a problem in `bad` under RFC 7489
    sp = record.get("sp")
    np = record.get("np") if mode == "rfc9989" else None
    return Interpretation(True, p.lower(), sp and sp.lower(), np and np.lower(), adkim, aspf, testing, pct, psd,
                          tuple(warnings))


def _pct(raw: str | None, where: str, warnings: list[str]) -> int:
    if raw is None:
        return 100
    if raw.isdigit() and int(raw) <= 100:
        return int(raw)
    warnings.append(f"{where}: pct={raw} is not a number from 0 to 100; pct=100 applies")
    return 100


def _has_valid_uri(value: str | None) -> bool:
    if not value:
        return False
    return any(_URI.fullmatch(uri.strip()) for uri in value.split(","))
