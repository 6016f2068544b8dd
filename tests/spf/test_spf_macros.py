"""SPF macros: the RFC 7208 section 7.4 examples, exp-only letters, URL escaping, syntax errors.

The letter-and-transformer table of 7.4 is checked on the parsed macro-strings; the
examples that need the client address (%{i}, %{v}) run through check_host(): an
``exists:`` term queries the expanded name, and the lookup log shows what was asked.
"""

from __future__ import annotations

import asyncio

import dns.name
import pytest

from fake_dns import Resolver, Zone, Zones
from policies.spf import check_host, check_spf
from policies.spf.macros import MacroSyntaxError, parse_macro_string

# RFC 7208 7.4: <sender> strong-bad@email.example.com, <domain> email.example.com.
RFC_VALUES = {"s": "strong-bad@email.example.com", "l": "strong-bad", "o": "email.example.com",
              "d": "email.example.com"}


@pytest.mark.parametrize(("macro", "expansion"), [
    ("%{s}", "strong-bad@email.example.com"),
    ("%{o}", "email.example.com"),
    ("%{d}", "email.example.com"),
    ("%{d4}", "email.example.com"),
    ("%{d3}", "email.example.com"),
    ("%{d2}", "example.com"),
    ("%{d1}", "com"),
    ("%{dr}", "com.example.email"),
    ("%{d2r}", "example.email"),
    ("%{l}", "strong-bad"),
    ("%{l-}", "strong.bad"),
    ("%{lr}", "strong-bad"),
    ("%{lr-}", "bad.strong"),
    ("%{l1r-}", "strong"),
    ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
    ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
])
def test_rfc7208_section_7_4_letters_and_transformers(macro: str, expansion: str) -> None:
    assert parse_macro_string(macro).expand(RFC_VALUES) == expansion


def _queried(ip: str, macro: str) -> list[str]:
    """The names check_host() looked up for `exists:<macro>` in email.example.com's record."""
    zone = Zone.empty("example.com")
    zone.add("email", "TXT", f"v=spf1 exists:{macro} -all")
    result = asyncio.run(check_host(Resolver(Zones([zone])), ip, "email.example.com",
                                    "strong-bad@email.example.com", helo="mx.example.org"))
    assert result.result == "fail"  # the expanded name does not exist
    return [answer.name for answer in result.lookups[1:]]


@pytest.mark.parametrize(("macro", "name"), [
    ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
    ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
    ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
])
def test_rfc7208_section_7_4_ipv4_examples(macro: str, name: str) -> None:
    assert _queried("192.0.2.3", macro) == [name]


def test_rfc7208_section_7_4_ipv6_example() -> None:
    (queried,) = _queried("2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}")
    expected = "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    # A domain name: compared as DNS compares names (case-insensitively). The nibbles are
    # upper case because the openspf suite's v-macro-ip6 test expects them so in exp text.
    assert dns.name.from_text(queried) == dns.name.from_text(expected)
    assert queried.startswith("1.0.B.C.0.0.")


def _explain(text: str, ip: str = "192.0.2.3", mail_from: str = "strong-bad@email.example.com") -> str | None:
    zone = Zone.empty("example.com")
    zone.add("email", "TXT", "v=spf1 -all exp=why.%{d}")
    zone.add("why.email", "TXT", text)
    result = asyncio.run(check_spf(Resolver(Zones([zone])), ip, mail_from, "mx.example.org",
                                   receiver="mx.receiver.example", now=1_700_000_000))
    assert result.result == "fail"
    return result.explanation


def test_explanation_only_letters_c_r_t() -> None:
    assert _explain("%{c} via %{r} at %{t}") == "192.0.2.3 via mx.receiver.example at 1700000000"
    # %{c} is the readable address (RFC 5952 for IPv6), %{i} the dotted nibbles.
    assert _explain("%{c}", ip="2001:DB8::CB01") == "2001:db8::cb01"


def test_upper_case_letters_are_url_escaped() -> None:
    assert _explain("%{L} %{l}", mail_from="jack&jill=up@email.example.com") == "jack%26jill%3Dup jack&jill=up"
    assert _explain("%{S}") == "strong-bad%40email.example.com"


def test_escapes() -> None:
    assert _explain("100%% sure%_%-") == "100% sure %20"


def test_explanation_with_a_bad_macro_falls_back_to_the_default() -> None:
    assert _explain("The %{x}-files.") is None


@pytest.mark.parametrize("text", ["%{c}.example.com", "%{r}.example.com", "%{t}.example.com"])
def test_explanation_only_letters_are_syntax_errors_elsewhere(text: str) -> None:
    with pytest.raises(MacroSyntaxError, match="only in exp="):
        parse_macro_string(text)
    zone = Zone.empty("example.com")
    zone.add("@", "TXT", f"v=spf1 a:{text} -all")
    result = asyncio.run(check_spf(Resolver(Zones([zone])), "192.0.2.3", "a@example.com", "mx.example.org"))
    assert result.result == "permerror"
    assert result.problem is not None and result.problem.code == "syntax"


@pytest.mark.parametrize("text", ["%", "foo%", "%(ir)", "%{a}", "%{d0}", "%{d", "a b"])
def test_macro_syntax_errors(text: str) -> None:
    with pytest.raises(MacroSyntaxError):
        parse_macro_string(text)


@pytest.mark.parametrize(("spec", "valid"), [
    ("example.com", True), ("example.com.", True), ("%{d}", True), ("foo.%{d}", True),
    ("%{d}.xn--zckzah", True), ("museum", False), ("museum.", False), ("abc.123", False),
    ("example.-com", False), ("example.com:8080", False), ("foo.%%", True),
])
def test_domain_spec_must_end_in_a_top_label_or_a_macro(spec: str, valid: bool) -> None:
    assert parse_macro_string(spec).is_domain_spec() is valid
