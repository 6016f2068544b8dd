"""Reading one DKIM-Signature field: its tags, and whether it can be verified at all.

RFC 6376 section 6.1.1 lists what a verifier checks before it fetches any key; a
signature that fails one of these checks is never verified, so no DNS lookup is
made for it. Doing these checks here, and not leaving them to dkimpy, gives each
problem its own reason, and judges ``x=`` against the caller's clock (dkimpy reads
the system clock, which would make replaying a stored message impossible).

RFC 8601 section 2.7.1 names the outcomes: a signature "that contained syntax errors
or [was] not otherwise able to be processed" is ``neutral``; an expired signature is
a permanent error (``permerror``), as RFC 6376 6.1.1 calls it PERMFAIL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dkim.util import DuplicateTag, InvalidTagValueList, parse_tag_value

#: Signature algorithms a verifier can check (RFC 6376 3.3, RFC 8463).
ALGORITHMS = ("rsa-sha256", "rsa-sha1", "ed25519-sha256")
CANONICALIZATIONS = ("simple", "relaxed")
REQUIRED_TAGS = ("v", "a", "b", "bh", "d", "h", "s")
_REQUIRED_KEYS = frozenset(t.encode() for t in REQUIRED_TAGS)
_VALID_CANONICALIZATIONS = frozenset(f"{h}/{b}" for h in CANONICALIZATIONS for b in CANONICALIZATIONS)

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}\Z")
_DIGITS = re.compile(rb"[0-9]{1,76}\Z")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Signature:
    """What one DKIM-Signature says, as far as it could be read.

    ``problem`` and ``reason`` are set when the signature cannot be verified (then
    ``result`` is the RFC 8601 result to report); fields the field did not carry, or
    that could not be read, are empty strings or None.
    """

    tags: dict[bytes, bytes]
    domain: str = ""
    selector: str = ""
    identity: str | None = None
    algorithm: str = ""
    canonicalization: str = "simple/simple"
    signed_headers: tuple[str, ...] = ()
    body_length: int | None = None
    timestamp: int | None = None
    expires: int | None = None
    header_b: str = ""
    result: str | None = None
    problem: str | None = None
    reason: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def key_name(self) -> str:
        """The DNS name of the key record (RFC 6376 3.6.2.1); empty when unknown."""
        if not (self.selector and self.domain):
            return ""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def hash_name(self) -> str:
        """``sha256`` or ``sha1``: what the key record's ``h=`` must allow."""
        return self.algorithm.rsplit("-", 1)[-1]


def parse_signature(value: bytes, now: float) -> Signature:
    """Read a DKIM-Signature field value (as it stands in the message, folded or not)
    and run the RFC 6376 6.1.1 checks, judging ``x=`` against ``now``."""
    try:
        tags = _tag_list(value)
    except DuplicateTag as err:
        return Signature({}, result="neutral", problem="malformed_tags",
                         reason=f"the tag {_text(err.args[0])}= appears twice (RFC 6376 3.2)")
    except InvalidTagValueList as err:
        piece = _text(err.args[0]).strip() if err.args else ""
        return Signature({}, result="neutral", problem="malformed_tags",
                         reason=f"the tag list is malformed near {piece!r} (RFC 6376 3.2)")
    fields = _fields(tags)
    problem = _first_problem(tags, fields, now)
    if problem is None:
        return Signature(tags, **fields)
    result, code, reason = problem
    return Signature(tags, **fields, result=result, problem=code, reason=reason)


def _tag_list(value: bytes) -> dict[bytes, bytes]:
    """The tags of ``value`` as dkimpy's ``parse_tag_value`` reads them (RFC 6376 3.2:
    ``;``-separated ``tag=value``, white space around both trimmed, a tag name starts
    with a letter, no tag twice). A well-formed list, the case of every real
    signature, is read here without dkimpy's regular expression per tag, three times
    faster; any other is handed to dkimpy, which raises its error about it."""
    tags = {}
    specs = value.strip().split(b";")
    if not specs[-1]:
        specs.pop()  # a trailing ";" is allowed
    for spec in specs:
        name, equals, tag_value = spec.partition(b"=")
        name = name.strip()
        if not equals or not name[:1].isalpha() or name in tags:
            return parse_tag_value(value)
        tags[name] = tag_value.strip()
    return tags


def _fields(tags: dict[bytes, bytes]) -> dict:
    """The descriptive fields, read leniently so that even an unusable signature
    can say which domain and selector it named."""
    get = tags.get
    return {
        **_signer_fields(get(b"d", b""), get(b"s", b""), get(b"i"), get(b"a", b""), get(b"c"), get(b"h", b"")),
        "body_length": _int_or_none(get(b"l")),
        "timestamp": _int_or_none(get(b"t")),
        "expires": _int_or_none(get(b"x")),
        "header_b": _squash(get(b"b", b""))[:8],
    }


@functools.lru_cache(maxsize=1024)
def _signer_fields(d: bytes, s: bytes, i: bytes | None, a: bytes, c: bytes | None,
                   h: bytes) -> Mapping[str, object]:
    """The fields a signer writes the same way on every message (read-only).

    Memoised (bounded, stateless: a pure function of the tag bytes): one sender's
    signatures differ only in b=, bh=, t= and x=, and reading these six tags is most
    of the cost of reading a signature."""
    return MappingProxyType({
        "domain": _squash(d).lower().rstrip("."),
        "selector": _squash(s).lower(),
        "identity": _qp_decode(i) if i is not None else None,
        "algorithm": _squash(a).lower(),
        "canonicalization": _canonicalization_text(c),
        "signed_headers": tuple(name.strip().lower() for name in _text(h).split(":") if name.strip()),
    })


def _first_problem(tags: dict[bytes, bytes], f: dict, now: float) -> tuple[str, str, str] | None:
    """The first RFC 6376 6.1.1 check the signature fails, as (result, problem, reason)."""
    if not tags.keys() >= _REQUIRED_KEYS:
        missing = [t for t in REQUIRED_TAGS if t.encode() not in tags]
        names = ", ".join(f"{t}=" for t in missing)
        return "neutral", "missing_tags", f"required tag{'s' if len(missing) > 1 else ''} {names} missing (RFC 6376 3.5)"
    if tags[b"v"].strip() != b"1":
        return "neutral", "bad_version", f"v={_text(tags[b'v']).strip()} is not a DKIM version this verifier knows (only v=1)"
    if f["algorithm"] not in ALGORITHMS:
        return "neutral", "unknown_algorithm", (
            f"unknown signature algorithm a={f['algorithm']} (known: {', '.join(ALGORITHMS)})")
    if f["canonicalization"] not in _VALID_CANONICALIZATIONS:
        return "neutral", "bad_canonicalization", (
            f"unknown canonicalization c={_text(tags.get(b'c', b'')).strip()} (simple or relaxed, header/body)")
    for tag in (b"b", b"bh"):
        if not _is_base64(tags[tag]):
            return "neutral", "bad_base64", f"{tag.decode()}= is not valid base64"
    if not _is_domain(f["domain"]):
        return "neutral", "bad_domain", f"d={_text(tags[b'd']).strip()} is not a domain name"
    if not _is_domain(f["selector"]):
        return "neutral", "bad_selector", f"s={_text(tags[b's']).strip()} is not a valid selector"
    if f["identity"] is not None and not _identity_in_domain(f["identity"], f["domain"]):
        return "neutral", "identity_outside_domain", (
            f"i={f['identity']} is not in d={f['domain']} or a subdomain of it (RFC 6376 3.5)")
    if "from" not in f["signed_headers"]:
        return "neutral", "from_not_signed", "h= does not include From, which must be signed (RFC 6376 5.4)"
    for tag, what in ((b"l", "body length"), (b"t", "timestamp"), (b"x", "expiry time")):
        if tag in tags and not _DIGITS.match(tags[tag].strip()):
            return "neutral", "bad_tag_value", f"{tag.decode()}= ({what}) is not a decimal number"
    if b"q" in tags and "dns/txt" not in _squash(tags[b"q"]).lower().split(":"):
        return "neutral", "unsupported_query_method", (
            f"q={_text(tags[b'q']).strip()} names no key query method this verifier supports (only dns/txt)")
    if f["expires"] is not None and f["timestamp"] is not None and f["expires"] < f["timestamp"]:
        return "neutral", "bad_tag_value", "x= (expiry) is earlier than t= (signing time) (RFC 6376 3.5)"
    if f["expires"] is not None and f["expires"] < now:
        return "permerror", "expired", f"the signature expired at x={f['expires']} (RFC 6376 3.5)"
    return None


def _canonicalization_text(value: bytes | None) -> str:
    """``c=`` in its full header/body form; a lone algorithm names the header one and
    the body one defaults to simple (RFC 6376 3.5)."""
    if value is None:
        return "simple/simple"
    text = _squash(value).lower()
    return text if "/" in text else f"{text}/simple"


def _is_base64(value: bytes) -> bool:
    """Base64 that decodes (RFC 6376 2.4, white space ignored). Whole quanta of
    alphabet characters with at most two ``=`` at the end always decode, so the
    pattern and the length say it without decoding."""
    squeezed = _squeeze(value)
    return bool(squeezed) and not len(squeezed) % 4 and _BASE64.match(squeezed) is not None


@functools.lru_cache(maxsize=1024)
def _is_domain(name: str) -> bool:
    """Letters, digits, hyphens and underscores in dot-separated labels; U-labels are
    accepted when they convert to A-labels (RFC 8616).

    Memoised (bounded, stateless: a pure function of the text): the same few d= and
    s= values come with every message of a sender."""
    if not name or len(name) > 253:
        return False
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return False
    return all(_LABEL.match(label) for label in ascii_name.split("."))


def _identity_in_domain(identity: str, domain: str) -> bool:
    if "@" not in identity:
        return False
    host = identity.rsplit("@", 1)[1].lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


def _qp_decode(value: bytes) -> str:
    """``i=`` is dkim-quoted-printable (RFC 6376 2.11): ``=40`` is ``@``."""
    raw = _squeeze(value)
    if b"=" in raw:
        raw = _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return _text(raw)


def _int_or_none(value: bytes | None) -> int | None:
    if value is None or not _DIGITS.match(value.strip()):
        return None
    return int(value.strip())


def _squash(value: bytes) -> str:
    """A tag value as text with all folding whitespace removed."""
    return _text(_squeeze(value))


def _squeeze(value: bytes) -> bytes:
    """``value`` without any white space (bytes.split() splits at the same six ASCII
    characters as ``\\s`` in a bytes pattern, and is several times faster)."""
    return b"".join(value.split())


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
