"""Fault specs: parsing, per-name and per-type rules, and the `ok` exemption."""

from __future__ import annotations

import dns.name
import dns.rdatatype
import pytest

from fake_dns import Fault, FaultKind, Faults, FaultSpecError

NAME = dns.name.from_text("example.com")
TXT, MX = dns.rdatatype.TXT, dns.rdatatype.MX


def test_no_faults_by_default() -> None:
    faults = Faults()
    assert not faults
    assert faults.for_query(NAME, TXT) is None


def test_name_wide_fault_applies_to_every_type() -> None:
    faults = Faults(["example.com=timeout"])
    assert faults.for_query(NAME, TXT) is FaultKind.TIMEOUT
    assert faults.for_query(NAME, MX) is FaultKind.TIMEOUT
    assert faults.for_query(dns.name.from_text("www.example.com"), TXT) is None


def test_type_specific_fault_and_ok_exemption() -> None:
    faults = Faults(["example.com=timeout", "example.com/TXT=ok", "example.com/MX=servfail"])
    assert faults.for_query(NAME, TXT) is None
    assert faults.for_query(NAME, MX) is FaultKind.SERVFAIL
    assert faults.for_query(NAME, dns.rdatatype.A) is FaultKind.TIMEOUT


def test_names_and_kinds_ignore_case_and_round_trip() -> None:
    fault = Fault.parse(" Mail.Example.COM / spf = SERVFAIL ")
    assert fault == Fault(dns.name.from_text("mail.example.com"), dns.rdatatype.SPF, FaultKind.SERVFAIL)
    assert str(fault) == "Mail.Example.COM/SPF=servfail"
    faults = Faults([fault])
    assert faults.for_query(dns.name.from_text("MAIL.example.com"), dns.rdatatype.SPF) is FaultKind.SERVFAIL
    assert [str(f) for f in faults] == ["Mail.Example.COM/SPF=servfail"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("example.com", "expected NAME=timeout"),
        ("=timeout", "expected NAME=timeout"),
        ("/TXT=timeout", "expected NAME=timeout"),
        ("example.com=slow", "unknown kind 'slow'; use timeout, servfail or ok"),
        ("a..b=timeout", "'a..b' is not a domain name"),
        ("example.com/FOO=timeout", "'FOO' is not a record type"),
        ("example.com/TYPE99999=timeout", "'TYPE99999' is not a record type"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        Faults([spec])
    assert message in str(caught.value)
    assert repr(spec) in str(caught.value)
