"""SPF records: which TXT strings are SPF records, and the terms of one (RFC 7208 4.5, 4.6, 5, 6).

A record is parsed completely before it is evaluated, because "if there are any syntax
errors anywhere in the record, check_host() returns immediately with the result
permerror, without further interpretation or evaluation" (4.6). Parsing is strict
where RFC 7208 is: mechanism names are known, ``all`` takes no argument, CIDR lengths
have no leading zeros and stay within 32/128, ``ip4`` needs all four octets,
``redirect`` and ``exp`` appear at most once, unknown modifiers must still have valid
macro syntax, and every domain-spec must end in a macro or a valid top label.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from policies.spf.macros import MacroString, MacroSyntaxError, parse_macro_string

QUALIFIER_RESULTS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
#: Mechanisms and modifiers that query DNS, counted against the limit of 10 (4.6.4).
DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = DNS_MECHANISMS | {"all", "ip4", "ip6"}

_VERSION = re.compile(rb"\Av=spf1(?: |\Z)", re.IGNORECASE)
_MODIFIER = re.compile(r"\A(?P<name>[A-Za-z][A-Za-z0-9._-]*)=(?P<value>.*)\Z", re.DOTALL)
_CIDR6_SUFFIX = re.compile(r"//([0-9]+)\Z")
_CIDR4_SUFFIX = re.compile(r"/([0-9]+)\Z")
_IP4_TERM = re.compile(r"\A:(?P<address>[0-9.]+)(?:/(?P<length>[0-9]+))?\Z")
_IP6_TERM = re.compile(r"\A:(?P<address>[0-9A-Fa-f:.]+)(?:/(?P<length>[0-9]+))?\Z")
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IP4_NETWORK = re.compile(rf"\A{_QNUM}(?:\.{_QNUM}){{3}}\Z")
_IP4_CIDR = re.compile(r"\A(?:0|[1-9][0-9]?)\Z")  # ip4-cidr-length, value checked separately
_IP6_CIDR = re.compile(r"\A(?:0|[1-9][0-9]{0,2})\Z")


class RecordSyntaxError(ValueError):
    """An SPF record that breaks the RFC 7208 grammar; the message names the term."""

    def __init__(self, message: str, term: str) -> None:
        super().__init__(message)
        self.term = term


def is_spf_record(text: bytes) -> bool:
    """RFC 7208 4.5: a TXT record is an SPF record when it starts with ``v=spf1`` (any case)
    followed by a space or the end; ``v=spf10`` or ``v=spf1mx`` are not SPF records."""
    return _VERSION.match(text) is not None


@dataclass(frozen=True)
class Directive:
    """A mechanism with its qualifier, e.g. ``-all`` or ``mx:example.com/24``."""

    qualifier: str  # "+", "-", "~" or "?"
    mechanism: str  # lower case: all, include, a, mx, ptr, ip4, ip6, exists
    text: str  # the term as written in the record
    target: MacroString | None = None  # the domain-spec, when the term gives one
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None  # ip4 / ip6
    cidr4: int = 32  # a / mx prefix length for IPv4 clients
    cidr6: int = 128  # a / mx prefix length for IPv6 clients

    @property
    def result(self) -> str:
        """The result this directive gives when it matches."""
        return QUALIFIER_RESULTS[self.qualifier]

    @functools.cached_property
    def network_text(self) -> str:
        """``network`` as text, printed once: parsed records are shared between messages."""
        return str(self.network)


@dataclass(frozen=True)
class Record:
    """One parsed SPF record."""

    text: str
    directives: tuple[Directive, ...]
    redirect: MacroString | None = None
    explanation: MacroString | None = None  # the exp= domain-spec

    @functools.cached_property
    def all_directive(self) -> Directive | None:
        """The ``all`` term, if any (it makes any redirect= irrelevant, RFC 7208 6.1)."""
        return next((d for d in self.directives if d.mechanism == "all"), None)


@functools.lru_cache(maxsize=4096)
def parse_record(text: str) -> Record:
    """Parse the text of one SPF record (already selected with :func:`is_spf_record`).

    Raises :class:`RecordSyntaxError` naming the offending term. Memoized: every message
    from a domain meets the same few records, and the same text always gives the same
    immutable Record, so sharing the memo between sandboxes changes no result.
    """
    directives: list[Directive] = []
    modifiers: dict[str, MacroString] = {}
    for term in text[len("v=spf1") :].split(" "):
        if not term:
            continue  # terms are separated by one or more spaces; trailing spaces are allowed
        _check_characters(term)
        modifier = _MODIFIER.match(term)
        if modifier is not None:
            _add_modifier(modifier["name"].lower(), modifier["value"], term, modifiers)
        else:
            directives.append(_directive(term))
    return Record(text, tuple(directives), modifiers.get("redirect"), modifiers.get("exp"))


def _check_characters(term: str) -> None:
    """Terms hold visible ASCII only; a tab, CR or LF is not a separator (RFC 7208 4.6.1)."""
    bad = next((char for char in term if not "\x21" <= char <= "\x7e"), None)
    if bad is not None:
        shown = term.encode("unicode_escape").decode("ascii")
        raise RecordSyntaxError(
            f"`{shown}` contains the character U+{ord(bad):04X}; only visible ASCII is allowed "
            "and terms are separated by spaces only",
            shown,
        )


def _add_modifier(name: str, value: str, term: str, modifiers: dict[str, MacroString]) -> None:
    macro = _macro_string(value, term)
    if name in ("redirect", "exp"):
        if name in modifiers:
            raise RecordSyntaxError(f"`{name}=` appears more than once (it may appear at most once)", term)
        if not macro.is_domain_spec():
            raise RecordSyntaxError(f"`{term}`: {_domain_spec_problem(value)}", term)
        modifiers[name] = macro
    # Any other modifier is unknown and ignored (RFC 7208 6), once its macro syntax is valid.


def _directive(term: str) -> Directive:
    qualifier = term[0] if term[0] in QUALIFIER_RESULTS else "+"
    body = term[1:] if term[0] in QUALIFIER_RESULTS else term
    name_match = re.match(r"[^:/]*", body)
    name = name_match.group(0).lower() if name_match else ""
    rest = body[len(name) :]
    if name not in MECHANISMS:
        raise RecordSyntaxError(f"`{term}` is not a known mechanism or a modifier", term)
    if name == "all":
        if rest:
            raise RecordSyntaxError(f"`{term}`: `all` takes no argument or prefix length", term)
        return Directive(qualifier, name, term)
    if name in ("ip4", "ip6"):
        return _ip_directive(qualifier, name, rest, term)
    cidr4, cidr6 = 32, 128
    if name in ("a", "mx"):
        rest, cidr4, cidr6 = _dual_cidr(rest, term)
    if not rest:
        if name in ("include", "exists"):
            raise RecordSyntaxError(f"`{term}`: `{name}` needs a domain, e.g. `{name}:example.com`", term)
        return Directive(qualifier, name, term, cidr4=cidr4, cidr6=cidr6)
    if not rest.startswith(":"):
        raise RecordSyntaxError(f"`{term}`: unexpected `{rest}` after `{name}`", term)
    spec = rest[1:]
    if not spec:
        raise RecordSyntaxError(f"`{term}`: the domain after `:` is empty", term)
    target = _macro_string(spec, term)
    if not target.is_domain_spec():
        raise RecordSyntaxError(f"`{term}`: {_domain_spec_problem(spec)}", term)
    return Directive(qualifier, name, term, target=target, cidr4=cidr4, cidr6=cidr6)


def _ip_directive(qualifier: str, name: str, rest: str, term: str) -> Directive:
    match = (_IP4_TERM if name == "ip4" else _IP6_TERM).match(rest)
    if match is None:
        example = "ip4:192.0.2.0/24" if name == "ip4" else "ip6:2001:db8::/32"
        raise RecordSyntaxError(f"`{term}` is not a valid `{name}` term (expected e.g. `{example}`)", term)
    address, length = match["address"], match["length"]
    if name == "ip4":
        if _IP4_NETWORK.match(address) is None:
            raise RecordSyntaxError(f"`{term}`: {address!r} is not a full dotted-quad IPv4 address", term)
        prefix = _cidr(length, _IP4_CIDR, 32, term) if length is not None else 32
    else:
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise RecordSyntaxError(f"`{term}`: {address!r} is not an IPv6 address", term) from None
        prefix = _cidr(length, _IP6_CIDR, 128, term) if length is not None else 128
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return Directive(qualifier, name, term, network=network)


def _dual_cidr(rest: str, term: str) -> tuple[str, int, int]:
    """Split ``[:domain-spec][/ip4-cidr][//ip6-cidr]`` into the spec and both lengths."""
    cidr4, cidr6 = 32, 128
    six = _CIDR6_SUFFIX.search(rest)
    if six is not None:
        cidr6 = _cidr(six.group(1), _IP6_CIDR, 128, term)
        rest = rest[: six.start()]
    four = _CIDR4_SUFFIX.search(rest)
    if four is not None:
        cidr4 = _cidr(four.group(1), _IP4_CIDR, 32, term)
        rest = rest[: four.start()]
    return rest, cidr4, cidr6


def _cidr(text: str, form: re.Pattern[str], maximum: int, term: str) -> int:
    if form.match(text) is None or int(text) > maximum:
        raise RecordSyntaxError(
            f"`{term}`: /{text} is not a prefix length from 0 to {maximum} (no leading zeros)", term
        )
    return int(text)


def _macro_string(text: str, term: str) -> MacroString:
    try:
        return parse_macro_string(text)
    except MacroSyntaxError as exc:
        raise RecordSyntaxError(f"`{term}`: {exc}", term) from None


def _domain_spec_problem(spec: str) -> str:
    if not spec:
        return "the domain is empty"
    return f"{spec!r} does not end in a valid top-level label (a domain such as `example.com` or a macro)"
