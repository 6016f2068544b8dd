"""Loading zones (BIND files and code) and what Zones.lookup says about names."""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdatatype
import pytest

from fake_dns import Kind, Zone, Zones
from fake_dns.zone import DEFAULT_TTL, txt_rdata

EXAMPLE_ZONE = """\
$ORIGIN example.com.
$TTL 3600
@        IN SOA ns1 hostmaster ( 2024010101 7200 900 1209600 300 )
@        IN NS   ns1
@        IN NS   ns2.example.net.
@        IN MX   10 mx1
@        IN MX   20 mx2.example.net.
@        IN TXT  "v=spf1 ip4:192.0.2.0/24 " "include:_spf.example.net -all"
@        IN SPF  "v=spf1 -all"
ns1      IN A    192.0.2.53
mx1  600 IN A    192.0.2.25
mx1      IN AAAA 2001:db8::25
www      IN CNAME mx1
sel._domainkey IN TXT ( "v=DKIM1; k=rsa; "
                        "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" )
"""

REVERSE_V4 = """\
$ORIGIN 2.0.192.in-addr.arpa.
25 IN PTR mx1.example.com.
"""

# 24 nibbles below an 8-nibble origin: the owner has 34 labels, as every reverse IPv6 name does.
REVERSE_V6 = """\
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR mx1.example.com.
"""


def _records(zones: Zones, name: str, rdtype: str) -> list[str]:
    found = zones.lookup(name, rdtype)
    assert found.kind is Kind.ANSWER, f"{name}/{rdtype}: {found.kind}"
    return sorted(rdata.to_text() for rdata in found.rdataset)


def test_bind_file_with_origin_ttl_relative_names_and_every_record_type(tmp_path: Path) -> None:
    path = tmp_path / "example.com.zone"
    path.write_text(EXAMPLE_ZONE)
    zones = Zones([Zone.from_file(path)])

    assert _records(zones, "example.com", "SOA") == [
        "ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300"
    ]
    assert _records(zones, "example.com", "NS") == ["ns1.example.com.", "ns2.example.net."]
    assert _records(zones, "example.com", "MX") == ["10 mx1.example.com.", "20 mx2.example.net."]
    assert _records(zones, "example.com", "TXT") == [
        '"v=spf1 ip4:192.0.2.0/24 " "include:_spf.example.net -all"'
    ]
    assert _records(zones, "example.com", "SPF") == ['"v=spf1 -all"']
    assert _records(zones, "example.com", "TYPE99") == ['"v=spf1 -all"']
    assert _records(zones, "mx1.example.com", "A") == ["192.0.2.25"]
    assert _records(zones, "mx1.example.com", "AAAA") == ["2001:db8::25"]
    assert zones.lookup("www.example.com", "CNAME").rdataset[0].target == dns.name.from_text("mx1.example.com")
    dkim = zones.lookup("sel._domainkey.example.com", "TXT").rdataset[0]
    assert dkim.strings == (b"v=DKIM1; k=rsa; ", b"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC")
    # $TTL is the default; a TTL on the line wins.
    assert zones.lookup("ns1.example.com", "A").rdataset.ttl == 3600
    assert zones.lookup("mx1.example.com", "A").rdataset.ttl == 600


def test_zone_without_soa_or_ns_gets_both_synthesized() -> None:
    zone = Zone.from_text('$ORIGIN example.org.\n@ TXT "v=spf1 -all"\n')
    zones = Zones([zone])
    soa = zones.lookup("example.org", "SOA")
    assert soa.kind is Kind.ANSWER and soa.rdataset[0].mname == dns.name.from_text("ns1.example.org")
    assert zone.soa() is soa.rdataset
    assert _records(zones, "example.org", "NS") == ["ns1.example.org."]
    # No $TTL in the file: the default applies.
    assert zones.lookup("example.org", "TXT").rdataset.ttl == DEFAULT_TTL


def test_origin_can_be_given_instead_of_an_origin_line() -> None:
    zone = Zone.from_text("www A 192.0.2.1\n", origin="example.net")
    assert Zones([zone]).lookup("www.example.net", "A").kind is Kind.ANSWER


def test_a_later_origin_line_moves_relative_names_within_the_zone() -> None:
    zone = Zone.from_text("$ORIGIN example.com.\n$ORIGIN sub.example.com.\nx TXT hello\n")
    assert zone.origin == dns.name.from_text("example.com")
    assert _records(Zones([zone]), "x.sub.example.com", "TXT") == ['"hello"']


def test_zone_built_in_code() -> None:
    zone = Zone.empty("example.com")
    zone.add("@", "TXT", "v=spf1 ip4:192.0.2.10 -all")
    zone.add("@", "SPF", "v=spf1 ip4:192.0.2.10 -all")
    zone.add("mail", "A", "192.0.2.10")
    zone.add("@", "MX", "10 mail")
    zone.add("multi", "TXT", '"one " "two"')
    key = "p=" + "A" * 600
    zone.add_rdata("sel._domainkey", txt_rdata(key))
    zones = Zones([zone])

    # Unquoted text is one string, spaces kept, for TXT and the SPF type alike.
    assert _records(zones, "example.com", "TXT") == ['"v=spf1 ip4:192.0.2.10 -all"']
    assert _records(zones, "example.com", "SPF") == ['"v=spf1 ip4:192.0.2.10 -all"']
    assert _records(zones, "example.com", "MX") == ["10 mail.example.com."]
    assert _records(zones, "mail.example.com", "A") == ["192.0.2.10"]
    assert _records(zones, "multi.example.com", "TXT") == ['"one " "two"']
    strings = zones.lookup("sel._domainkey.example.com", "TXT").rdataset[0].strings
    assert [len(s) for s in strings] == [255, 255, 92]
    assert b"".join(strings) == key.encode()
    # Synthesized apex records come with Zone.empty.
    assert zones.lookup("example.com", "SOA").kind is Kind.ANSWER


def test_txt_rdata_of_the_spf_type() -> None:
    rdata = txt_rdata("v=spf1 -all", "SPF")
    assert rdata.rdtype == dns.rdatatype.SPF and rdata.strings == (b"v=spf1 -all",)


def test_remove_records_and_empty_non_terminals_go_with_them() -> None:
    zone = Zone.empty("example.com")
    zone.add("a.b", "TXT", "x")
    zone.add("a.b", "A", "192.0.2.1")
    zones = Zones([zone])
    zone.remove("a.b", "TXT")
    assert zones.lookup("a.b.example.com", "TXT").kind is Kind.NODATA
    zone.remove("a.b")
    assert zones.lookup("a.b.example.com", "A").kind is Kind.NXDOMAIN
    assert zones.lookup("b.example.com", "A").kind is Kind.NXDOMAIN


def test_nxdomain_nodata_empty_non_terminal_and_refused_are_distinct() -> None:
    zones = Zones([Zone.from_text(EXAMPLE_ZONE)])
    assert zones.lookup("nope.example.com", "A").kind is Kind.NXDOMAIN
    assert zones.lookup("ns1.example.com", "TXT").kind is Kind.NODATA
    # `sel._domainkey` exists, so `_domainkey` is an empty non-terminal: NODATA, not NXDOMAIN.
    assert zones.lookup("_domainkey.example.com", "TXT").kind is Kind.NODATA
    assert zones.lookup("www.example.com", "A").kind is Kind.CNAME
    assert zones.lookup("example.org", "A").kind is Kind.REFUSED
    assert zones.lookup("example.org", "A").zone is None


def test_lookups_ignore_letter_case() -> None:
    zones = Zones([Zone.from_text(EXAMPLE_ZONE)])
    assert _records(zones, "MX1.Example.COM", "a") == ["192.0.2.25"]


def test_several_zones_including_reverse_zones_with_34_label_owners() -> None:
    zones = Zones([Zone.from_text(text) for text in (EXAMPLE_ZONE, REVERSE_V4, REVERSE_V6)])
    assert len(zones) == 3
    assert _records(zones, "25.2.0.192.in-addr.arpa", "PTR") == ["mx1.example.com."]
    v6 = dns.name.from_text("5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
    assert len(v6.labels) == 35  # 34 labels plus the root
    assert _records(zones, v6, "PTR") == ["mx1.example.com."]
    # Every nibble above the owner is an empty non-terminal; a sibling is NXDOMAIN.
    assert zones.lookup(v6.parent().parent(), "PTR").kind is Kind.NODATA
    sibling = dns.name.Name((b"6",) + v6.labels[1:])
    assert zones.lookup(sibling, "PTR").kind is Kind.NXDOMAIN
    assert zones.find(v6).origin == dns.name.from_text("8.b.d.0.1.0.0.2.ip6.arpa")


def test_longest_origin_wins_and_same_origin_merges() -> None:
    parent = Zone.from_text('$ORIGIN example.com.\nsub TXT "in the parent"\n')
    child = Zone.from_text('$ORIGIN sub.example.com.\n@ TXT "in the child"\n')
    extra = Zone.from_text("$ORIGIN example.com.\nwww A 192.0.2.80\n")
    zones = Zones([parent, child, extra])
    assert len(zones) == 2
    assert _records(zones, "sub.example.com", "TXT") == ['"in the child"']
    assert _records(zones, "www.example.com", "A") == ["192.0.2.80"]
    assert zones.zone("example.com") is parent
    created = zones.zone("example.net")
    assert created.origin == dns.name.from_text("example.net") and len(zones) == 3


def test_root_zone_makes_every_name_inside() -> None:
    zones = Zones([Zone.from_text("$ORIGIN .\nexample.com. TXT x\n")])
    assert _records(zones, "example.com", "TXT") == ['"x"']
    assert zones.lookup("anything.example", "A").kind is Kind.NXDOMAIN


def test_wildcard_answers_below_its_closest_encloser_only() -> None:
    zones = Zones([Zone.from_text('$ORIGIN example.com.\n*.mail TXT "wild"\nreal.mail A 192.0.2.1\n')])
    assert _records(zones, "anything.mail.example.com", "TXT") == ['"wild"']
    assert _records(zones, "a.b.mail.example.com", "TXT") == ['"wild"']
    # An existing name is not covered by the wildcard (RFC 4592).
    assert zones.lookup("real.mail.example.com", "TXT").kind is Kind.NODATA
    assert zones.lookup("other.example.com", "TXT").kind is Kind.NXDOMAIN


def test_replace_swaps_every_zone_at_once() -> None:
    zones = Zones([Zone.from_text("$ORIGIN example.com.\nwww A 192.0.2.1\n")])
    zones.replace(Zones([Zone.from_text("$ORIGIN example.org.\nwww A 192.0.2.2\n")]))
    assert zones.lookup("www.example.com", "A").kind is Kind.REFUSED
    assert _records(zones, "www.example.org", "A") == ["192.0.2.2"]


@pytest.mark.parametrize("rdtype", ["SPF", "spf", "TYPE99", 99])
def test_record_types_by_name_or_number(rdtype: str | int) -> None:
    zone = Zone.empty("example.com")
    zone.add("@", "SPF", "v=spf1 -all")
    assert Zones([zone]).lookup("example.com", rdtype).kind is Kind.ANSWER
