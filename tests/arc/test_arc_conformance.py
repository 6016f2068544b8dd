"""check_arc against ARC test data written by others (copied into tests/data/, see
tests/data/README.md): the ValiMail ARC validation suite and Stalwart's ARC messages.

All 175 ValiMail validation tests agree with RFC 8617 as dkimpy implements it, so no
expected result is overridden. One Stalwart message is a known deviation of dkimpy
(see test_stalwart_ed25519_arc_set_is_a_known_dkimpy_deviation).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from fake_dns import Resolver, Zone, Zones
from fake_dns.zone import txt_rdata
from policies.arc import check_arc
from policies.dkim import check_dkim

DATA = Path(__file__).resolve().parent.parent / "data"
VALIDATION = DATA / "arc_test_suite" / "arc-draft-validation-tests.yml"
STALWART = DATA / "stalwart-mail-auth" / "arc"
DUPLICATED = {"as_fields_b_head_case", "as_fields_b_head_unfold", "as_fields_b_eol_wsp", "as_fields_b_inl_wsp"}


class KeepDuplicatesLoader(yaml.SafeLoader):
    """A YAML loader that keeps a mapping key seen twice, renamed ``key#2``.

    Four test names occur twice in the suite with different messages; a plain loader
    silently keeps only the later one (171 instead of 175 tests)."""


def _mapping_keeping_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        name, copy = key, 1
        while name in out:
            copy += 1
            name = f"{key}#{copy}"
        out[name] = loader.construct_object(value_node, deep=True)
    return out


KeepDuplicatesLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_keeping_duplicates)


def validation_cases() -> list[tuple[str, str, dict, dict]]:
    """(scenario, test name, test, txt-records) for every test in the suite."""
    cases = []
    for scenario in yaml.load_all(VALIDATION.read_text(), Loader=KeepDuplicatesLoader):
        for name, test in scenario["tests"].items():
            cases.append((scenario["description"].strip(), name, test, scenario["txt-records"]))
    return cases


def expected_cv(test: dict) -> str:
    """The suite's cv (Pass / Fail / None); three tests leave it empty (a block scalar
    with nothing in it) for a chain that already carries cv=fail, which is a fail."""
    return (test["cv"] or "").strip().lower() or "fail"


def resolver_for(records: dict[str, str]) -> Resolver:
    zone = Zone.empty(".")
    for name, text in records.items():
        zone.add_rdata(name, txt_rdata(text))
    return Resolver(Zones([zone]))


def crlf(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_validation_suite_has_175_tests_including_the_duplicates():
    cases = validation_cases()
    assert len(cases) == 175
    names = [name for _, name, _, _ in cases]
    assert {name.split("#")[0] for name in names if "#" in name} == DUPLICATED
    expected = [expected_cv(test) for _, _, test, _ in cases]
    assert (expected.count("pass"), expected.count("fail"), expected.count("none")) == (58, 112, 5)


@pytest.mark.parametrize(
    ("scenario", "name", "test", "records"), validation_cases(), ids=[f"{c[0]}-{c[1]}" for c in validation_cases()]
)
def test_valimail_validation(scenario, name, test, records):
    result = asyncio.run(check_arc(crlf(test["message"]), resolver_for(records)))
    assert result.result == expected_cv(test), f"{test.get('description')}: {result.reason}"
    if result.result == "fail":
        assert result.reason and result.failed_instance is not None
    if result.result == "pass":
        assert result.failed_instance is None and result.oldest_pass is not None


# --- Stalwart mail-auth -----------------------------------------------------------------------


def stalwart_case(path: Path) -> tuple[bytes, Resolver]:
    """Key lines (`name record`), a blank line, then the message with LF endings."""
    keys, message = path.read_bytes().split(b"\n\n", 1)
    zone = Zone.empty(".")
    for line in keys.decode().splitlines():
        name, record = line.split(" ", 1)
        zone.add_rdata(name, txt_rdata(record))
    return crlf(message), Resolver(Zones([zone]))


def test_stalwart_google_chain_passes_and_a_dkim_signature_passes():
    """Upstream expectation: the chain passes and at least one DKIM signature passes."""
    message, resolver = stalwart_case(STALWART / "001.txt")
    arc = asyncio.run(check_arc(message, resolver))
    assert (arc.result, arc.sets, arc.first_hop_authserv_id) == ("pass", 1, "mx.google.com")
    assert arc.first_hop_results == {"dkim": "pass", "spf": "pass", "dmarc": "fail"}
    dkim_results = asyncio.run(check_dkim(message, resolver, now=1667893878))
    assert "pass" in [d.result for d in dkim_results]


def test_stalwart_ed25519_arc_set_is_a_known_dkimpy_deviation():
    """KNOWN DEVIATION (upstream expects pass). 002 has an ed25519-sha256 ARC set at
    i=1. RFC 8617 defines the a= tag of ARC-Seal and ARC-Message-Signature like DKIM's,
    whose algorithm registry holds ed25519-sha256 (RFC 8463), but dkimpy's ARC verifier
    accepts only rsa-sha256 (its table of ARC algorithms is module-level state we must
    not change), so the chain fails at i=1. mailauth fails it too. The DKIM signature
    of the same message passes."""
    message, resolver = stalwart_case(STALWART / "002.txt")
    arc = asyncio.run(check_arc(message, resolver))
    assert (arc.result, arc.sets, arc.failed_instance) == ("fail", 2, 1)
    assert arc.reason == "unknown signature algorithm: ed25519-sha256"
    dkim_results = asyncio.run(check_dkim(message, resolver, now=1674137914))
    assert [d.result for d in dkim_results] == ["pass"]
