"""Who the client is, for the checks: the socket peer, or the address it stands for.

A staging MTA usually connects from a loopback or private address, but SPF, reverse
DNS and the provider's rules must judge the production address it will send from.
Three ways to say which one, in this order of precedence:

1. XCLIENT ``ADDR=`` (Postfix syntax) names the client for the rest of the connection;
   a test harness uses it to play any client from one socket.
2. ``--client-ip SRC=IP`` maps one source address (the socket peer, or the address a
   PROXY header carried) to ``IP``; ``--client-ip IP`` maps every other source.
3. Otherwise the source address itself.

The transcript and the store keep both the original and the mapped address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace


def normalize_ip(text: str) -> str:
    """Canonical text of an address; IPv4-mapped IPv6 (``::ffff:192.0.2.1``) becomes IPv4.

    Raises ValueError for anything that is not an IPv4 or IPv6 address.
    """
    address = ipaddress.ip_address(text.strip().strip("[]"))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@dataclass(frozen=True)
class ClientIpMap:
    """The ``--client-ip`` mapping: source address (None = any source) to production address."""

    mapping: Mapping[str | None, str]

    @classmethod
    def build(cls, mapping: Mapping[str | None, str] | None) -> "ClientIpMap":
        """Validate and normalise a mapping; raises ValueError naming the bad address."""
        clean: dict[str | None, str] = {}
        for source, target in (mapping or {}).items():
            key = None if source in (None, "") else normalize_ip(source)
            clean[key] = normalize_ip(target)
        return cls(clean)

    @staticmethod
    def parse_spec(spec: str) -> tuple[str | None, str]:
        """One ``--client-ip`` value: ``IP`` or ``SRC=IP``; raises ValueError."""
        source, sep, target = spec.partition("=")
        if not sep:
            return None, normalize_ip(spec)
        return normalize_ip(source), normalize_ip(target)

    def map(self, source: str) -> str:
        return self.mapping.get(source) or self.mapping.get(None) or source


@dataclass(frozen=True)
class ClientIdentity:
    """The client as the checks see it (``ip``), the address it connected for
    (``original_ip``: the socket peer, or the source a PROXY header named) and the socket
    peer itself. ``name`` and ``helo`` are what XCLIENT said about the client's host name
    and HELO, when it said so (the reverse DNS check still asks the zone)."""

    ip: str
    original_ip: str
    peer_ip: str
    name: str | None = None
    helo: str | None = None

    @classmethod
    def from_source(cls, source_ip: str, peer_ip: str, ip_map: ClientIpMap) -> "ClientIdentity":
        """The identity of a connection from ``source_ip`` (the peer, or a PROXY source)."""
        return cls(ip=ip_map.map(source_ip), original_ip=source_ip, peer_ip=peer_ip)

    def with_xclient(self, *, addr: str | None = None, name: str | None = None,
                     helo: str | None = None) -> "ClientIdentity":
        """The identity after an XCLIENT command (unset attributes keep their value)."""
        identity = self
        if addr is not None:
            identity = replace(identity, ip=addr)
        if name is not None:
            identity = replace(identity, name=name)
        if helo is not None:
            identity = replace(identity, helo=helo)
        return identity
