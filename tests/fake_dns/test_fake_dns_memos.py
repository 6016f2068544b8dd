"""The resolver's memos (parsed names, rendered text records) never change what a
lookup shows: spellings that DNS treats as equal are still shown as written."""

from __future__ import annotations

from fake_dns import Resolver, Zone, Zones


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
