"""check_dkim against DKIM test data written by others (copied into tests/data/, see
tests/data/README.md): the Mail::DKIM verifier corpus, dkimpy's static vectors and
negative key records, and Stalwart's mail-auth DKIM messages.

Where the Mail::DKIM corpus expects what RFC 6376 (as updated by RFC 8301) does not,
the RFC wins and the case is listed in OVERRIDES below with the reason; nothing is
skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from dkim_testkeys import KeyPair, check, resolver_for, sign

from fake_dns import Faults, Resolver, Zone, Zones
from fake_dns.zone import txt_rdata
from policies.dkim import DkimResult

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "mail-dkim-corpus"
DKIMPY = DATA / "dkimpy"
STALWART = DATA / "stalwart-mail-auth" / "dkim"

# --- Mail::DKIM corpus ----------------------------------------------------------------------

#: The corpus vocabulary mapped to RFC 8601 results.
VOCABULARY = {
    "pass": {"pass"},
    "fail": {"fail"},
    "invalid": {"neutral", "permerror", "temperror", "policy"},
}


@dataclass(frozen=True)
class Override:
    """What RFC 6376 / RFC 8301 expect instead of the corpus: one (result, problem)
    per signature, and why."""

    expected: tuple[tuple[str, str], ...]
    why: str


NO_VERSION = "no v= tag: pre-RFC 4871 draft signature; RFC 6376 3.5 makes v= REQUIRED, so it cannot be verified"
DRAFT_00 = "draft-ietf-dkim-base-00 signature without v= and bh= (both REQUIRED by RFC 6376 3.5); upstream skips it"
VERSION_05 = "v=0.5 (a draft version); RFC 6376 6.1.1: an incompatible v= is not verified"
SHA1 = ("a=rsa-sha1: RFC 8301 3.1 says verifiers must not consider rsa-sha1 signatures valid; "
        "the signature verifies cryptographically (asserted) and is refused by policy")
G_TAG = ("the key's g= tag was removed by RFC 6376 (unknown key tags MUST be ignored), so the "
         "signature verifies; refused only because it is rsa-sha1 (RFC 8301)")

NEUTRAL_MISSING = ("neutral", "missing_tags")
NEUTRAL_VERSION = ("neutral", "bad_version")
POLICY_SHA1 = ("policy", "rsa_sha1")

OVERRIDES: dict[str, Override] = {
    **{f"good_ietf00_{n}.txt": Override((NEUTRAL_MISSING,), DRAFT_00) for n in range(1, 6)},
    **{f"mine_ietf01_{n}.txt": Override((NEUTRAL_MISSING,), NO_VERSION) for n in range(1, 5)},
    "good_ietf01_1.txt": Override((NEUTRAL_MISSING,), NO_VERSION),
    "good_ietf01_2.txt": Override((NEUTRAL_MISSING,), NO_VERSION),
    "bad_ietf01_1.txt": Override((NEUTRAL_MISSING,), NO_VERSION + " (the corpus expects fail)"),
    "bad_ietf01_2.txt": Override((NEUTRAL_MISSING,), NO_VERSION + " (the corpus expects fail)"),
    "bad_ietf01_3.txt": Override((NEUTRAL_MISSING,), NO_VERSION + " (the corpus expects fail)"),
    "bad_1.txt": Override((NEUTRAL_MISSING,), NO_VERSION + " (the corpus expects fail)"),
    "multiple_1.txt": Override((NEUTRAL_MISSING,) * 4, NO_VERSION + " (all four signatures)"),
    "mine_ietf05_1.txt": Override((NEUTRAL_VERSION,), VERSION_05),
    **{f"no_body_{n}.txt": Override((NEUTRAL_VERSION,), VERSION_05) for n in range(1, 4)},
    **{name: Override((POLICY_SHA1,), SHA1) for name in (
        "good_rfc4871_3.txt", "good_rfc4871_4.txt", "good_1878523.txt", "good_83176.txt",
        "good_qp_1.txt", "good_qp_2.txt", "good_qp_3.txt",
        "goodkey_1.txt", "goodkey_2.txt", "goodkey_3.txt", "goodkey_4.txt",
    )},
    **{f"badkey_{n}.txt": Override((POLICY_SHA1,), G_TAG) for n in (8, 9, 12, 13)},
    "multiple_2.txt": Override(
        (("neutral", "bad_canonicalization"), POLICY_SHA1, ("fail", "signature_mismatch"), ("neutral", "malformed_tags")),
        "per signature [invalid, pass, fail] upstream; the second is rsa-sha1 (RFC 8301 policy), and the "
        "fourth field ('DKIM-Signature: synerr', not listed upstream) is unparseable",
    ),
}

#: Corpus cases whose note names the reason; the problem code must say the same.
NOTED_PROBLEMS = {
    "ignore_5.txt": "unsupported_query_method",
    "ignore_6.txt": "unsupported_query_method",
    "ignore_7.txt": "expired",
    "ignore_8.txt": "identity_outside_domain",
    "badkey_10.txt": "key_strict_identity",
    "badkey_11.txt": "key_hash_not_allowed",
    "badkey_14.txt": "dns_error",
    "badkey_15.txt": "dns_error",
    "badkey1_ed25519.txt": "key_invalid",
    "badkey2_ed25519.txt": "signature_mismatch",
    "badkey3_ed25519.txt": "body_hash_mismatch",
    "badkey4_ed25519.txt": "no_key",
    "badkey5_ed25519.txt": "key_syntax",
}
# Not overrides, but worth knowing: ignore_1..4 and badkey_1..7 carry v=0.5 or v=5, so
# they are judged `invalid` (neutral, bad_version) before their key is even fetched.


def corpus_cases() -> list[dict]:
    cases = json.loads((CORPUS / "expected.json").read_text())["cases"]
    return [case for case in cases if case["kind"] == "dkim"]


def corpus_resolver() -> Resolver:
    """FAKE_DNS.dat as a zone: `name record`; NXDOMAIN lines are simply absent, the
    timeout / SERVFAIL markers become faults, `""` is an empty record."""
    zone, faults = Zone.empty("."), []
    for line in (CORPUS / "FAKE_DNS.dat").read_bytes().decode("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, record = re.split(r"\s+", line, maxsplit=1)
        if record == "NXDOMAIN":
            continue
        if record in ("~~Query timed out~~", "~~SERVFAIL~~"):
            faults.append(f"{name}=" + ("timeout" if "timed out" in record else "servfail"))
            continue
        zone.add_rdata(name, txt_rdata(b"" if record == '""' else record.encode()))
    return Resolver(Zones([zone]), Faults(faults))


def test_corpus_has_the_documented_dkim_cases():
    cases = corpus_cases()
    assert len(cases) == 62
    assert sum(1 for c in cases if c.get("skipped_upstream")) == 5
    assert set(OVERRIDES) | set(NOTED_PROBLEMS) <= {Path(c["file"]).name for c in cases}


@pytest.mark.parametrize("case", corpus_cases(), ids=lambda c: Path(c["file"]).name)
def test_mail_dkim_corpus(case):
    name = Path(case["file"]).name
    results = check((CORPUS / case["file"]).read_bytes(), corpus_resolver(), min_key_bits=512)
    override = OVERRIDES.get(name)
    if override is not None:
        assert [(r.result, r.problem) for r in results] == list(override.expected), override.why
        for result in results:
            if result.problem == "rsa_sha1":
                assert result.verified, "the rsa-sha1 signature must verify before policy refuses it"
        return
    expected = case.get("per_signature") or [case["expected"]] * len(results)
    assert len(results) == len(expected) >= 1
    for result, wanted in zip(results, expected):
        assert result.result in VOCABULARY[wanted], (result.result, result.reason)
        assert result.reason or result.result == "pass"
    if name in NOTED_PROBLEMS:
        assert results[0].problem == NOTED_PROBLEMS[name], results[0].reason


# --- dkimpy vectors -------------------------------------------------------------------------


def dkimpy_resolver() -> Resolver:
    zone = Zone.empty(".")
    for name, types in json.loads((DKIMPY / "zone.json").read_text()).items():
        for strings in types["TXT"]:
            zone.add_rdata(name, txt_rdata("".join(strings)))
    return Resolver(Zones([zone]))


@pytest.mark.parametrize("case", json.loads((DKIMPY / "expected.json").read_text())["cases"], ids=lambda c: c["file"])
def test_dkimpy_static_vectors(case):
    results = check((DKIMPY / case["file"]).read_bytes(), dkimpy_resolver())
    assert [r.result for r in results] == case["expected"]
    described = [f"{r.algorithm} d={r.domain} s={r.selector}" for r in results]
    assert described == case["signatures"]


def test_rfc8463_example_verifies_both_signatures():
    ed, rsa = check((DKIMPY / "rfc6376.signed.msg").read_bytes(), dkimpy_resolver())
    assert (ed.result, ed.algorithm, ed.key_bits, ed.selector) == ("pass", "ed25519-sha256", 256, "brisbane")
    assert (rsa.result, rsa.algorithm, rsa.key_bits, rsa.selector) == ("pass", "rsa-sha256", 1024, "test")
    assert ed.canonicalization == rsa.canonicalization == "simple/simple"


@pytest.mark.parametrize(
    ("record_file", "result", "problem"),
    [
        ("test.txt", "pass", None),
        ("badk.txt", "permerror", "key_type_unknown"),  # k=ed25519-sha256 is no key type
        ("badversion.txt", "permerror", "key_version"),  # v=DKIM1: with a colon
        ("test_bad.txt", "permerror", "key_invalid"),  # corrupted p=
    ],
)
def test_dkimpy_key_records(record_file, result, problem):
    """dkimpy's test.message signed with its test.private, verified against its key records."""
    public = re.search(r"p=(\S+)", (DKIMPY / "test.txt").read_text()).group(1)
    key = KeyPair("rsa", 1024, (DKIMPY / "test.private").read_bytes(), public)
    signed = sign((DKIMPY / "test.message").read_bytes(), key, domain="example.com", selector="test")
    record = (DKIMPY / record_file).read_text().strip()
    (verdict,) = check(signed, resolver_for({"test._domainkey.example.com": record}))
    assert (verdict.result, verdict.problem) == (result, problem)


# --- Stalwart mail-auth -----------------------------------------------------------------------

STALWART_NOW = 1667843664


def stalwart_case(path: Path) -> tuple[bytes, Resolver]:
    """Key lines (`name record`), a blank line, then the message with LF endings."""
    keys, message = path.read_bytes().split(b"\n\n", 1)
    zone = Zone.empty(".")
    for line in keys.decode().splitlines():
        name, record = line.split(" ", 1)
        zone.add_rdata(name, txt_rdata(record))
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), Resolver(Zones([zone]))


@pytest.mark.parametrize("path", sorted(STALWART.glob("*.txt")), ids=lambda p: p.name)
def test_stalwart_last_signature_passes(path):
    message, resolver = stalwart_case(path)
    results = check(message, resolver, now=STALWART_NOW)
    assert results[-1].result == "pass", results[-1].reason
    # Every signature in these files is genuine, so all of them pass here.
    assert all(r.result == "pass" for r in results)


def test_stalwart_bare_pkcs1_key_is_accepted_by_dkimpy():
    """002 publishes p= as a bare RSAPublicKey (RFC 6376 Appendix C form) instead of a
    SubjectPublicKeyInfo; dkimpy's parser accepts both, so it passes (mailauth rejects it)."""
    message, resolver = stalwart_case(STALWART / "002.txt")
    (result,) = check(message, resolver, now=STALWART_NOW)
    assert result.key_record.startswith("v=DKIM1; p=MIGJAoGB")
    assert (result.result, result.key_bits) == ("pass", 1024)


def test_stalwart_expired_signature_depends_on_the_clock():
    message, resolver = stalwart_case(STALWART / "005.txt")
    (at_signing,) = check(message, resolver, now=STALWART_NOW)
    (a_day_later,) = check(message, resolver, now=1667930065)
    (today,) = check(message, resolver)
    assert at_signing.result == "pass"
    assert (a_day_later.result, a_day_later.problem) == ("permerror", "expired")
    assert isinstance(today, DkimResult) and today.problem == "expired"
