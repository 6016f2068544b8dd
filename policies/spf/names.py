"""Domain-name rules SPF applies before it asks DNS anything.

SPF handles names as text that may come from a sender (MAIL FROM, HELO) or from macro
expansion, so a name can be something DNS cannot carry at all: an address literal, an
empty label, a label over 63 octets. RFC 7208 says what to do with each: an identity
that is not a usable domain gives ``none`` (4.3), an expanded name longer than 253
characters loses labels on the left until it fits (7.3), and a target that still cannot
be a DNS name simply does not exist. The names are built label by label (never through
zone-file syntax) so that characters such as ``\\`` or ``"`` in a local-part stay literal.
"""

from __future__ import annotations

import functools

import dns.exception
import dns.name

MAX_NAME_LENGTH = 253  # RFC 7208 7.3: the longest domain name in dotted text form


def strip_root(domain: str) -> str:
    """The name without its one optional trailing dot (``example.com.`` is ``example.com``)."""
    return domain[:-1] if domain.endswith(".") else domain


def truncate(domain: str) -> str:
    """RFC 7208 7.3: drop leading labels until an expanded name fits in 253 characters."""
    name = strip_root(domain)
    while len(name) > MAX_NAME_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name


@functools.lru_cache(maxsize=4096)
def to_query_name(domain: str) -> dns.name.Name | None:
    """The DNS name to query for ``domain``, or None when no DNS name can be that text
    (empty label, label over 63 octets, name over 255 octets, unencodable Unicode).

    Non-ASCII labels are converted to A-labels (IDNA), as RFC 7208 4.3 requires.
    Memoised (bounded, stateless: immutable text to an immutable Name): every message
    makes SPF look up the same few names, and building a Name is much of a lookup's cost.
    """
    text = strip_root(domain)
    if not text:
        return None
    labels: list[bytes] = []
    for label in text.split("."):
        if not label:
            return None
        if label.isascii():
            labels.append(label.encode("ascii"))
            continue
        try:
            labels.append(dns.name.from_unicode(label, origin=None).labels[0])
        except (dns.exception.DNSException, UnicodeError, IndexError):
            return None
    try:
        return dns.name.Name([*labels, b""])
    except dns.exception.DNSException:
        return None


@functools.lru_cache(maxsize=4096)
def identity_problem(domain: str) -> str | None:
    """Why ``domain`` cannot be checked at all (RFC 7208 4.3: check_host() then returns
    ``none``), or None when it is a usable fully qualified domain name. Memoised like
    :func:`to_query_name` (a pure function of the text), as it runs for every message."""
    if not domain:
        return "is empty"
    if domain.startswith("["):
        return "is an address literal, not a domain name"
    text = strip_root(domain)
    labels = text.split(".")
    if any(not label for label in labels):
        return "has an empty label"
    name = to_query_name(text)
    if name is None:
        if any(len(label.encode()) > 63 for label in labels):
            return "has a label longer than 63 octets"
        if len(text) > MAX_NAME_LENGTH:
            return f"is longer than {MAX_NAME_LENGTH} characters"
        return "is not a valid domain name"
    if len(name.labels) < 3:  # one label plus the root
        return "is not a fully qualified (multi-label) domain name"
    return None
