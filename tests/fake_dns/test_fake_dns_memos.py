"""The resolver's memos (parsed names, rendered text records, whole answers) never
change what a lookup shows: spellings that DNS treats as equal are still shown as
written, and no answer outlives a change to the zones (a reload, a record added or
removed, a zone added) or hides a fault."""

from __future__ import annotations

import dns.name

from fake_dns import Faults, Outcome, Resolver, Zone, Zones
from fake_dns.resolver import MEMO_SIZE

SPF_ZONE = '$ORIGIN example.org.\n@ TXT "v=spf1 -all"\n'


def test_a_name_is_shown_as_the_caller_spelled_it_every_time() -> None:
    resolver = Resolver(Zones([Zone.from_text("$ORIGIN example.org.\n@ TXT \"v=spf1 -all\"\n")]))
    for _ in range(2):
        lower = resolver.resolve_now("example.org", "TXT")
        upper = resolver.resolve_now("Example.ORG", "TXT")
        assert lower.describe() == 'TXT example.org -> "v=spf1 -all"'
        assert upper.describe() == 'TXT Example.ORG -> "v=spf1 -all"'


def test_records_equal_across_letter_case_keep_their_own_spelling() -> None:
    # dnspython compares MX targets without regard to case; each zone's spelling must show.
    zones = Zones([
        Zone.from_text("$ORIGIN example.org.\n@ MX 10 MAIL.example.net.\n"),
        Zone.from_text("$ORIGIN example.com.\n@ MX 10 mail.example.net.\n"),
    ])
    resolver = Resolver(zones)
    for _ in range(2):
        assert resolver.resolve_now("example.org", "MX").describe() == "MX example.org -> 10 MAIL.example.net."
        assert resolver.resolve_now("example.com", "MX").describe() == "MX example.com -> 10 mail.example.net."


def test_text_records_differing_only_in_case_are_shown_apart() -> None:
    zone = Zone.from_text('$ORIGIN example.org.\na TXT "v=DKIM1; p=AbC"\nb TXT "v=DKIM1; p=aBc"\n')
    resolver = Resolver(Zones([zone]))
    for _ in range(2):
        assert resolver.resolve_now("a.example.org", "TXT").describe().endswith('"v=DKIM1; p=AbC"')
        assert resolver.resolve_now("b.example.org", "TXT").describe().endswith('"v=DKIM1; p=aBc"')


def test_an_invalid_name_is_nxdomain_every_time() -> None:
    resolver = Resolver(Zones([Zone.from_text("$ORIGIN example.org.\n@ A 192.0.2.1\n")]))
    for _ in range(2):
        assert resolver.resolve_now("a..example.org", "A").describe() == "A a..example.org -> NXDOMAIN"


def test_a_name_given_as_a_dns_name_is_shown_as_spelled_every_time() -> None:
    resolver = Resolver(Zones([Zone.from_text(SPF_ZONE)]))
    for _ in range(2):
        assert resolver.resolve_now(dns.name.from_text("Example.ORG"), "TXT").name == "Example.ORG"
        assert resolver.resolve_now(dns.name.from_text("example.org"), "TXT").name == "example.org"


def test_an_answer_seen_before_a_reload_is_not_served_after_it() -> None:
    zones = Zones([Zone.from_text(SPF_ZONE)])
    resolver = Resolver(zones)
    assert resolver.resolve_now("example.org", "TXT").texts() == ["v=spf1 -all"]
    zones.replace(Zones([Zone.from_text('$ORIGIN example.org.\n@ TXT "v=spf1 mx -all"\n')]))
    assert resolver.fork().resolve_now("example.org", "TXT").texts() == ["v=spf1 mx -all"]
    assert resolver.resolve_now("example.org", "TXT").describe() == 'TXT example.org -> "v=spf1 mx -all"'


def test_records_added_or_removed_while_serving_are_seen() -> None:
    zone = Zone.from_text(SPF_ZONE)
    zones = Zones([zone])
    resolver = Resolver(zones)
    assert resolver.resolve_now("mail.example.org", "A").outcome is Outcome.NXDOMAIN
    zone.add("mail", "A", "192.0.2.1")
    assert resolver.resolve_now("mail.example.org", "A").addresses() == ["192.0.2.1"]
    zone.remove("mail", "A")
    assert resolver.resolve_now("mail.example.org", "A").outcome is Outcome.NXDOMAIN
    zones.add(Zone.from_text('$ORIGIN example.org.\nmail A 192.0.2.2\n'))  # merged into the zone served
    assert resolver.resolve_now("mail.example.org", "A").addresses() == ["192.0.2.2"]


def test_a_zone_added_while_serving_is_seen() -> None:
    zones = Zones([Zone.from_text(SPF_ZONE)])
    resolver = Resolver(zones)
    assert resolver.resolve_now("example.net", "TXT").outcome is Outcome.NXDOMAIN
    zones.zone("example.net").add("@", "TXT", "v=spf1 a -all")
    assert resolver.resolve_now("example.net", "TXT").texts() == ["v=spf1 a -all"]


def test_zones_swapped_in_by_a_reload_are_watched_for_changes() -> None:
    zones = Zones([Zone.from_text(SPF_ZONE)])
    reloaded = Zone.from_text(SPF_ZONE)
    zones.replace(Zones([reloaded]))
    resolver = Resolver(zones)
    assert resolver.resolve_now("example.org", "TXT").texts() == ["v=spf1 -all"]
    reloaded.remove("@", "TXT")
    assert resolver.resolve_now("example.org", "TXT").outcome is Outcome.NODATA


def test_an_answer_computed_during_a_change_is_not_served_after_it() -> None:
    # A check in another thread may finish a lookup it began before a reload and store
    # it afterwards: it stores into the memo it started with, which the reload dropped.
    zones = Zones([Zone.from_text(SPF_ZONE)])
    resolver = Resolver(zones)
    entries_before = zones.memo.entries
    stale = resolver.resolve_now("example.org", "TXT")
    zones.replace(Zones([Zone.from_text('$ORIGIN example.org.\n@ TXT "v=spf1 a -all"\n')]))
    entries_before[("example.org", "TXT")] = stale
    assert resolver.resolve_now("example.org", "TXT").texts() == ["v=spf1 a -all"]


def test_a_fault_added_after_a_lookup_applies_to_the_next_one() -> None:
    faults = Faults()
    resolver = Resolver(Zones([Zone.from_text(SPF_ZONE)]), faults)
    assert resolver.resolve_now("example.org", "TXT").outcome is Outcome.ANSWER
    faults.add("example.org/TXT=timeout")
    assert resolver.resolve_now("example.org", "TXT").outcome is Outcome.TIMEOUT


def test_every_lookup_is_logged_even_when_the_answer_is_remembered() -> None:
    resolver = Resolver(Zones([Zone.from_text(SPF_ZONE)]))
    first = resolver.fork()
    second = resolver.fork()
    for fork in (first, second, first):
        fork.resolve_now("example.org", "TXT")
    assert [a.describe() for a in first.log] == ['TXT example.org -> "v=spf1 -all"'] * 2
    assert [a.describe() for a in second.log] == ['TXT example.org -> "v=spf1 -all"']
    assert resolver.log == []


def test_the_lists_an_answer_hands_out_are_the_callers_own() -> None:
    resolver = Resolver(Zones([Zone.from_text(SPF_ZONE + "mail A 192.0.2.1\n@ MX 10 mail\n")]))
    resolver.resolve_now("example.org", "TXT").texts().append("v=spf1 +all")
    resolver.resolve_now("example.org", "TXT").txt().clear()
    resolver.resolve_now("mail.example.org", "A").addresses().append("192.0.2.99")
    resolver.resolve_now("example.org", "MX").targets().clear()
    assert resolver.resolve_now("example.org", "TXT").texts() == ["v=spf1 -all"]
    assert resolver.resolve_now("example.org", "TXT").txt() == [b"v=spf1 -all"]
    assert resolver.resolve_now("mail.example.org", "A").addresses() == ["192.0.2.1"]
    assert resolver.resolve_now("example.org", "MX").targets() == ["mail.example.org"]


def test_the_answer_memo_is_bounded() -> None:
    zones = Zones([Zone.from_text(SPF_ZONE)])
    resolver = Resolver(zones)
    for number in range(MEMO_SIZE + 10):
        resolver.resolve_now(f"h{number}.example.org", "A")
    assert len(zones.memo.entries) <= MEMO_SIZE
    assert resolver.resolve_now("example.org", "TXT").texts() == ["v=spf1 -all"]
