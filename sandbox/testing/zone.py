"""Build the DNS a test needs: BIND text, or one record at a time with small helpers.

A test usually states the few records its story is about (an SPF record, a DMARC
policy, a DKIM key) rather than a whole zone file, so the helpers take absolute names
and put each record in the zone that is authoritative for it: a zone the test gave as
BIND text, or else a root zone that holds every other name.
"""

from __future__ import annotations

import ipaddress
import textwrap
from typing import TYPE_CHECKING

import dns.name
import dns.reversename

from fake_dns import Zone, Zones

if TYPE_CHECKING:
    from sandbox.testing.keys import DkimKey


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


class ZoneBuilder:
    """The zones of one sandbox, added to in steps; every helper returns the builder so
    calls chain. ``zones`` is the live object the sandbox serves: records added while
    it runs are seen by the next lookup."""

    def __init__(self, zones: Zones | None = None) -> None:
        self.zones = zones if zones is not None else Zones()

    def bind(self, text: str, *, origin: str | None = None) -> "ZoneBuilder":
        """Add a zone written as BIND zone-file text (``$ORIGIN`` names it unless ``origin``
        does); the text may be indented as a whole, as in a triple-quoted string."""
        self.zones.add(Zone.from_text(textwrap.dedent(text).strip() + "\n", origin=origin, source="<test zone>"))
        return self

    def record(self, name: str, rdtype: str, value: str, *, ttl: int = 300) -> "ZoneBuilder":
        """One record in presentation format at the absolute ``name`` (TXT text unquoted)."""
        owner = dns.name.from_text(_absolute(name))
        zone = self.zones.find(owner) or self.zones.zone(".")
        zone.add(owner.to_text(), rdtype, value, ttl=ttl)
        return self

    def txt(self, name: str, text: str) -> "ZoneBuilder":
        return self.record(name, "TXT", text)

    def spf(self, domain: str, policy: str) -> "ZoneBuilder":
        """The SPF record of ``domain``: a whole record, or only its terms (``ip4:192.0.2.10 -all``)."""
        record = policy if policy.startswith("v=spf1") else f"v=spf1 {policy}"
        return self.txt(domain, record)

    def dmarc(self, domain: str, policy: str = "p=reject") -> "ZoneBuilder":
        """The DMARC record at ``_dmarc.<domain>``: a whole record, or only its tags (``p=quarantine``)."""
        record = policy if policy.startswith("v=DMARC1") else f"v=DMARC1; {policy}"
        return self.txt(f"_dmarc.{domain}", record)

    def mx(self, domain: str, host: str, preference: int = 10) -> "ZoneBuilder":
        return self.record(domain, "MX", f"{preference} {_absolute(host)}")

    def address(self, name: str, *ips: str) -> "ZoneBuilder":
        """A (IPv4) or AAAA (IPv6) records for ``name``, chosen by the form of each address."""
        for ip in ips:
            rdtype = "AAAA" if ipaddress.ip_address(ip).version == 6 else "A"
            self.record(name, rdtype, ip)
        return self

    def ptr(self, ip: str, name: str) -> "ZoneBuilder":
        """The reverse-DNS record of ``ip`` (in in-addr.arpa or ip6.arpa) pointing at ``name``."""
        return self.record(dns.reversename.from_address(ip).to_text(), "PTR", _absolute(name))

    def mail_host(self, name: str, ip: str) -> "ZoneBuilder":
        """A sending host with forward-confirmed reverse DNS: ``name -> ip`` and ``ip -> name``."""
        return self.address(name, ip).ptr(ip, name)

    def dkim(self, key: "DkimKey", *, record: str | None = None) -> "ZoneBuilder":
        """Publish ``key`` at ``<selector>._domainkey.<domain>`` (or ``record`` instead of its own text)."""
        return self.txt(key.dns_name, record if record is not None else key.record())
