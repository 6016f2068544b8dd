"""RFC 5322 address lists, read just far enough to judge the From field.

What the receivers enforce is narrow: how many mailboxes a field names, whether each
has a syntactically valid addr-spec, and whether the domain of that addr-spec is a
real host name. So this reads an address list into mailboxes (display names, quoted
strings, nested comments, angle brackets and group syntax handled; RFC 6532 UTF-8
allowed, the non-ASCII rule is judged elsewhere) and checks each addr-spec against
the RFC 5322 3.4.1 grammar; it never decodes display names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policies.format.memo import memoise_short

# atext (RFC 5322 3.2.3) plus RFC 6532 UTF8-non-ascii.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff"
_DOT_ATOM = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_SPECIAL = frozenset('"(),:;\\')


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One mailbox of an address list. ``addr_spec`` is the address as written (without
    angle brackets); ``local`` and ``domain`` are None when it has no valid syntax."""

    addr_spec: str
    local: str | None
    domain: str | None


@dataclass(frozen=True, slots=True)
class AddressList:
    mailboxes: tuple[Mailbox, ...]
    problem: str | None  # unbalanced quotes, comments or angle brackets


@memoise_short(max_len=998)  # RFC 5322 2.1.1: the longest a header line may be
def parse_address_list(text: str) -> AddressList:
    """Split an address-list / mailbox-list into mailboxes (groups contribute their members).
    Memoised: a sender writes the same From: value into message after message."""
    if not _SPECIAL.intersection(text):
        item = text.strip()
        return AddressList((_mailbox(item),) if item else (), None)
    items: list[str] = []
    buf: list[str] = []
    depth = 0
    quoted = angle = escaped = False
    for ch in text:
        if escaped:
            escaped = False
            if not depth:
                buf.append(ch)
        elif quoted:
            buf.append(ch)
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif depth:
            if ch == "\\":
                escaped = True
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    buf.append(" ")
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == "(":
            depth = 1
        elif ch == "<":
            angle = True
            buf.append(ch)
        elif ch == ">":
            angle = False
            buf.append(ch)
        elif ch in ",;" and not angle:
            items.append("".join(buf))
            buf = []
        elif ch == ":" and not angle:
            buf = []  # "group name:" opens a group; its members follow
        else:
            buf.append(ch)
    items.append("".join(buf))
    problem = None
    if quoted:
        problem = "a quoted string is not closed"
    elif depth:
        problem = "a comment is not closed"
    elif angle:
        problem = "an angle bracket is not closed"
    mailboxes = tuple(_mailbox(item.strip()) for item in items if item.strip())
    return AddressList(mailboxes, problem)


def _mailbox(item: str) -> Mailbox:
    open_at = item.rfind("<")
    if open_at >= 0:
        close_at = item.find(">", open_at)
        addr = item[open_at + 1 : close_at if close_at >= 0 else len(item)].strip()
        if addr.startswith("@") and ":" in addr:
            addr = addr.split(":", 1)[1].strip()  # RFC 5322 4.4 obs-route
    else:
        addr = item
    local, domain = split_addr_spec(addr)
    return Mailbox(addr, local, domain)


def split_addr_spec(addr: str) -> tuple[str | None, str | None]:
    """(local-part, domain) of a syntactically valid addr-spec; (None, None) when the
    local part or the '@' is missing or wrong; (local, None) when only the domain
    part is not dot-atom / domain-literal syntax."""
    at = addr.rfind("@")
    if at <= 0:
        return None, None
    local, domain = addr[:at].strip(), addr[at + 1 :].strip()
    if not (_DOT_ATOM.fullmatch(local) or _QUOTED.fullmatch(local)):
        return None, None
    if _DOT_ATOM.fullmatch(domain) or (domain.startswith("[") and domain.endswith("]")):
        return local, domain
    return local, None


@memoise_short(max_len=998)
def host_name(domain: str) -> str | None:
    """``domain`` as a lower-case A-label host name, or None when it is not one.

    A host name (RFC 1123 2.1, RFC 5321 2.3.5) is at least two labels of letters, digits
    and hyphens, none longer than 63 octets, 253 in all, with a top-level label that is
    not all digits. U-labels are converted with Python's IDNA codec (IDNA 2003); a
    domain literal such as ``[192.0.2.1]`` is no host name. Memoised: the same From:
    domain comes back message after message.
    """
    if not domain or domain.startswith("["):
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    domain = domain.lower()
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253 or labels[-1].isdigit():
        return None
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return domain
