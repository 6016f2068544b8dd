"""Parsing SMTP command arguments: reverse/forward paths, ESMTP parameters, BDAT, XCLIENT.

Pure functions over text; the connection turns their errors into the profile's reply
for that kind of error. The grammar is RFC 5321 4.1.2 (paths), RFC 6531 (UTF-8 in
addresses when SMTPUTF8 was asked for), RFC 3030 (BDAT) and Postfix's XCLIENT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from sandbox.smtp.identity import normalize_ip

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_ATEXT_UTF8 = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]"
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*\Z")
_DOT_STRING_UTF8 = re.compile(rf"{_ATEXT_UTF8}+(?:\.{_ATEXT_UTF8}+)*\Z")
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*"\Z')
_LABEL = r"[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\-\u0080-\U0010ffff]*[A-Za-z0-9\u0080-\U0010ffff])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\Z")
_LITERAL = re.compile(r"\[(?:IPv6:)?[0-9A-Fa-f:.]+\]\Z")
# "<" [source route ":"] mailbox ">" then the parameters; the source route is ignored.
_PATH = re.compile(r"<(?:@[^<>:]*:)?(?P<mailbox>(?:\"(?:[^\"\\]|\\.)*\"|[^<>\"])*)>(?P<rest>.*)\Z", re.DOTALL)
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e\u0080-\U0010ffff]+\Z")
_BDAT = re.compile(r"(?P<size>[0-9]{1,18})(?:[ ]+(?P<last>LAST))?[ ]*\Z", re.IGNORECASE)
_XTEXT = re.compile(r"\+([0-9A-F]{2})")
XCLIENT_ATTRIBUTES = ("ADDR", "NAME", "HELO")
_XCLIENT_UNSET = ("[UNAVAILABLE]", "[TEMPUNAVAIL]")


class PathError(Enum):
    """Why a MAIL FROM / RCPT TO argument was refused (each has its own reply)."""

    SYNTAX = "syntax"  # not "FROM:<...>" / "TO:<...>" at all
    ADDRESS = "address"  # the address inside the brackets is malformed
    NON_ASCII = "non_ascii"  # UTF-8 address without the SMTPUTF8 parameter
    PARAMETER = "parameter"  # a parameter that does not parse


@dataclass(frozen=True)
class PathCommand:
    """A parsed MAIL or RCPT argument: the address ("" for the null path) and parameters."""

    address: str
    params: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class PathProblem:
    error: PathError
    address: str = ""  # what the client wrote between the brackets, for the reply text


def parse_path(arg: str, keyword: str, *, allow_null: bool, utf8: bool = False) -> PathCommand | PathProblem:
    """Parse ``FROM:<addr> params`` (keyword ``FROM``) or ``TO:<addr> params``.

    UTF-8 addresses are allowed with ``utf8`` (RCPT in a transaction whose MAIL asked
    for SMTPUTF8) or when this command's own parameters ask for SMTPUTF8, which follow
    the path: so the parameters are parsed first and the address checked after.
    """
    head = arg[: len(keyword) + 1]
    if head.upper() != keyword + ":":
        return PathProblem(PathError.SYNTAX)
    rest = arg[len(keyword) + 1 :].lstrip(" ")
    match = _PATH.match(rest)
    if match is None:
        return PathProblem(PathError.SYNTAX, rest.split(" ", 1)[0])
    mailbox = match.group("mailbox")
    params = parse_params(match.group("rest"))
    if params is None:
        return PathProblem(PathError.PARAMETER, mailbox)
    if mailbox == "":
        return PathCommand("", params) if allow_null else PathProblem(PathError.ADDRESS, mailbox)
    problem = mailbox_problem(mailbox, utf8=utf8 or "SMTPUTF8" in params)
    if problem is not None:
        return PathProblem(problem, mailbox)
    return PathCommand(mailbox, params)


def mailbox_problem(mailbox: str, *, utf8: bool) -> PathError | None:
    """None when ``local@domain`` is a valid RFC 5321 (or, with ``utf8``, RFC 6531) mailbox."""
    local, at, domain = mailbox.rpartition("@")
    if not at or not local or not domain or len(local) > 64 or len(domain) > 255:
        return PathError.ADDRESS
    ascii_only = mailbox.isascii()
    if not ascii_only and not utf8:
        dot_ok = _DOT_STRING_UTF8.match(local) or _QUOTED.match(local)
        return PathError.NON_ASCII if dot_ok and _domain_ok(domain) else PathError.ADDRESS
    if not (_DOT_STRING_UTF8 if utf8 else _DOT_STRING).match(local) and not _QUOTED.match(local):
        return PathError.ADDRESS
    return None if _domain_ok(domain) else PathError.ADDRESS


def _domain_ok(domain: str) -> bool:
    if domain.startswith("["):
        if not _LITERAL.match(domain):
            return False
        try:
            normalize_ip(domain[1:-1].removeprefix("IPv6:"))
        except ValueError:
            return False
        return True
    return bool(_DOMAIN.match(domain)) and all(len(label) <= 63 for label in domain.split("."))


def parse_params(text: str) -> dict[str, str | None] | None:
    """ESMTP parameters ``KEY[=VALUE]`` separated by spaces; None when one does not parse
    or a keyword repeats. Keywords are upper-cased; values keep their case."""
    params: dict[str, str | None] = {}
    if text and not text.startswith(" "):
        return None
    for item in text.split():
        keyword, eq, value = item.partition("=")
        if not _KEYWORD.match(keyword) or (eq and not _VALUE.match(value)):
            return None
        key = keyword.upper()
        if key in params:
            return None
        params[key] = value if eq else None
    return params


@dataclass(frozen=True)
class BdatCommand:
    size: int
    last: bool


def parse_bdat(arg: str | None) -> BdatCommand | None:
    """``BDAT <size> [LAST]`` (RFC 3030); None when the argument does not parse."""
    match = _BDAT.match(arg or "")
    if match is None:
        return None
    return BdatCommand(int(match.group("size")), match.group("last") is not None)


@dataclass(frozen=True)
class XclientCommand:
    """The attributes of one XCLIENT command; None = not given, "" = explicitly unavailable."""

    addr: str | None = None
    name: str | None = None
    helo: str | None = None


def parse_xclient(arg: str | None) -> XclientCommand | str:
    """Postfix ``XCLIENT NAME=... ADDR=... HELO=...`` (xtext values; ``[UNAVAILABLE]``
    resets one). Returns the command, or the text of the problem."""
    if not arg or not arg.strip():
        return "XCLIENT needs at least one attribute"
    values: dict[str, str | None] = {}
    for item in arg.split():
        name, eq, raw = item.partition("=")
        name = name.upper()
        if not eq or name not in XCLIENT_ATTRIBUTES:
            return f"bad XCLIENT attribute {item!r}"
        value = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), raw)
        if value.upper() in _XCLIENT_UNSET:
            values[name] = ""
            continue
        if name == "ADDR":
            try:
                value = normalize_ip(value[5:] if value.upper().startswith("IPV6:") else value)
            except ValueError:
                return f"bad XCLIENT address {raw!r}"
        values[name] = value
    return XclientCommand(addr=values.get("ADDR"), name=values.get("NAME"), helo=values.get("HELO"))
