"""Malformed and unusual DMARC records, t=y testing mode and RFC 7489 pct= sampling."""

from __future__ import annotations

import asyncio

import pytest

from dmarc_helpers import Dkim, Spf, dmarc
from fake_dns import Resolver, Zone, Zones
from policies.dmarc import check_dmarc
from policies.dmarc.record import interpret, parse_record

NOTHING_PASSES = (Spf("fail", "example.com"), [])


def record_zone(record: str) -> str:
    return f'_dmarc.example.com. TXT "{record}"\nexample.com. A 192.0.2.1\nnews.example.com. A 192.0.2.2\n'


def failing(record: str, mode: str = "rfc9989", from_domain: str = "example.com", **options: object):
    return dmarc(record_zone(record), from_domain, *NOTHING_PASSES, mode=mode, **options)


# -- recognising records ---------------------------------------------------------------------


def test_parse_reads_tags_case_insensitively_and_keeps_the_first_duplicate() -> None:
    record = parse_record("v=DMARC1 ; P = Reject;adkim=s; p=none; ")
    assert record is not None
    assert record.tags == (("v", "DMARC1"), ("p", "Reject"), ("adkim", "s"))
    assert record.problems == ("p= appears more than once; the first one counts",)


@pytest.mark.parametrize("text", ["v=DMARC2; p=reject", "v=dmarc1; p=reject", "p=reject; v=DMARC1",
                                  "v=DMARC1 p=reject", "spf1 -all", ""])
def test_text_that_does_not_start_with_v_dmarc1_is_no_record(text: str) -> None:
    assert parse_record(text) is None


def test_wrong_version_is_ignored_with_a_warning() -> None:
    result = failing("v=dmarc1; p=reject")
    assert (result.result, result.policy) == ("none", None)
    assert result.warnings == ('_dmarc.example.com: "v=dmarc1; p=reject" is not a DMARC record (it must start with '
                               "v=DMARC1); ignored",)


# -- bad values fall back to defaults --------------------------------------------------------


@pytest.mark.parametrize("mode", ["rfc9989", "rfc7489"])
def test_unknown_tags_are_ignored_with_a_warning(mode: str) -> None:
    result = failing("v=DMARC1; p=reject; foo=bar", mode)
    assert (result.result, result.policy, result.disposition) == ("fail", "reject", "reject")
    assert "_dmarc.example.com: unknown tag foo= ignored" in result.warnings


@pytest.mark.parametrize("mode", ["rfc9989", "rfc7489"])
def test_bad_alignment_mode_falls_back_to_relaxed(mode: str) -> None:
    result = dmarc(record_zone("v=DMARC1; p=reject; aspf=x"), "example.com", Spf("pass", "bounce.example.com"),
                   mode=mode)
    assert (result.result, result.aspf) == ("pass", "r")
    assert ("_dmarc.example.com: aspf=x is not valid (r or s); the default aspf=r applies") in result.warnings


def test_bad_t_and_psd_values_fall_back_to_defaults() -> None:
    result = failing("v=DMARC1; p=reject; t=maybe; psd=perhaps")
    assert (result.disposition, result.testing) == ("reject", False)
    assert any("t=maybe is not valid" in w for w in result.warnings)
    assert any("psd=perhaps is not valid" in w for w in result.warnings)


def test_segments_without_equals_are_reported() -> None:
    result = failing("v=DMARC1; p=reject; garbage")
    assert result.policy == "reject"
    assert "_dmarc.example.com: 'garbage' is not a tag=value pair; ignored" in result.warnings


# -- bad or missing policies -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["rfc9989", "rfc7489"])
def test_bad_p_without_rua_means_no_dmarc_processing(mode: str) -> None:
    result = failing("v=DMARC1; p=rejct", mode)
    assert (result.result, result.policy, result.disposition) == ("none", None, "none")
    assert result.record == "v=DMARC1; p=rejct"
    assert ("_dmarc.example.com: p=rejct is not none, quarantine or reject and there is no usable rua=, so no DMARC "
            "processing applies") in result.warnings
    assert any("correct the DMARC record" in fix for fix in result.fixes())


@pytest.mark.parametrize("mode", ["rfc9989", "rfc7489"])
def test_bad_p_with_rua_acts_as_p_none(mode: str) -> None:
    result = failing("v=DMARC1; p=rejct; rua=mailto:agg@example.com", mode)
    assert (result.result, result.policy, result.disposition) == ("fail", "none", "none")
    assert any("because rua= is usable, the record acts as p=none" in w for w in result.warnings)


@pytest.mark.parametrize("mode", ["rfc9989", "rfc7489"])
def test_bad_sp_has_the_same_effect_as_bad_p(mode: str) -> None:
    result = failing("v=DMARC1; p=reject; sp=bogus; rua=mailto:agg@example.com", mode)
    assert (result.policy, result.disposition) == ("none", "none")
    assert any("sp=bogus is not none, quarantine or reject" in w for w in result.warnings)


def test_rua_without_a_valid_uri_does_not_rescue_a_bad_p() -> None:
    result = failing("v=DMARC1; p=bogus; rua=agg@example.com")
    assert (result.result, result.policy) == ("none", None)
    assert any("rua=agg@example.com holds no valid URI" in w for w in result.warnings)


def test_missing_p_is_p_none_in_rfc9989_but_invalid_in_rfc7489() -> None:
    bis = failing("v=DMARC1; sp=reject")
    assert (bis.result, bis.policy) == ("fail", "none")
    assert "_dmarc.example.com: no p= tag; RFC 9989 treats the record as p=none" in bis.warnings
    old = failing("v=DMARC1; sp=reject", "rfc7489")
    assert (old.result, old.policy) == ("none", None)
    assert any("there is no p= tag (RFC 7489 requires one)" in w for w in old.warnings)
    old_with_rua = failing("v=DMARC1; sp=reject; rua=mailto:a@example.com", "rfc7489")
    assert (old_with_rua.result, old_with_rua.policy) == ("fail", "none")


def test_bad_np_matters_only_in_rfc9989() -> None:
    bis = failing("v=DMARC1; p=reject; np=nope")
    assert (bis.result, bis.policy) == ("none", None)
    old = failing("v=DMARC1; p=reject; np=nope", "rfc7489")
    assert (old.result, old.policy) == ("fail", "reject")
    assert "_dmarc.example.com: np= is an RFC 9989 tag; RFC 7489 ignores it" in old.warnings


def test_rfc7489_wants_p_right_after_v() -> None:
    result = failing("v=DMARC1; rua=mailto:a@example.com; p=reject", "rfc7489")
    assert result.policy == "reject"
    assert "_dmarc.example.com: RFC 7489 expects p= right after v=DMARC1" in result.warnings
    assert not any("expects p=" in w for w in failing("v=DMARC1; rua=mailto:a@example.com; p=reject").warnings)


def test_interpret_policy_fallbacks() -> None:
    record = parse_record("v=DMARC1; p=reject; sp=quarantine")
    rules = interpret(record, "rfc9989", "_dmarc.example.com")
    assert rules.policy_for("p") == ("reject", "p")
    assert rules.policy_for("sp") == ("quarantine", "sp")
    assert rules.policy_for("np") == ("quarantine", "sp")
    only_p = interpret(parse_record("v=DMARC1; p=quarantine"), "rfc9989", "_dmarc.example.com")
    assert only_p.policy_for("np") == ("quarantine", "p")


# -- t=y -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "disposition"), [("reject", "quarantine"), ("quarantine", "none"),
                                                     ("none", "none")])
def test_testing_flag_applies_the_policy_one_step_softer(policy: str, disposition: str) -> None:
    result = failing(f"v=DMARC1; p={policy}; t=y")
    assert (result.result, result.policy, result.disposition, result.testing) == ("fail", policy, disposition, True)
    assert str(result.auth_result()) == f"dmarc=fail (p={policy} dis={disposition}) header.from=example.com"
    if policy != "none":
        assert any("t=y (testing)" in line for line in result.explain())


def test_testing_flag_is_not_an_rfc7489_tag() -> None:
    result = failing("v=DMARC1; p=reject; t=y", "rfc7489")
    assert (result.disposition, result.testing) == ("reject", False)
    assert "_dmarc.example.com: t= is an RFC 9989 tag; RFC 7489 ignores it" in result.warnings


def test_testing_flag_does_not_touch_a_pass() -> None:
    result = dmarc(record_zone("v=DMARC1; p=reject; t=y"), "example.com", Spf("pass", "example.com"))
    assert (result.result, result.disposition) == ("pass", "none")


# -- pct= (RFC 7489) -------------------------------------------------------------------------


def test_pct_sampled_in_applies_the_policy() -> None:
    result = failing("v=DMARC1; p=reject; pct=50", "rfc7489", sample=0.2)
    assert (result.disposition, result.pct, result.pct_downgraded) == ("reject", 50, False)


def test_pct_sampled_out_applies_the_next_softer_policy() -> None:
    result = failing("v=DMARC1; p=reject; pct=50", "rfc7489", sample=0.7)
    assert (result.policy, result.disposition, result.pct_downgraded) == ("reject", "quarantine", True)
    assert any("pct=50: this message fell outside the sampled 50%" in line for line in result.explain())
    quarantine = failing("v=DMARC1; p=quarantine; pct=10", "rfc7489", sample=0.5)
    assert (quarantine.disposition, quarantine.pct_downgraded) == ("none", True)


def test_pct_zero_always_downgrades_and_pct_100_never() -> None:
    assert failing("v=DMARC1; p=reject; pct=0", "rfc7489", sample=0.0).disposition == "quarantine"
    assert failing("v=DMARC1; p=reject; pct=100", "rfc7489", sample=0.999).disposition == "reject"


def test_pct_without_a_sample_uses_a_random_draw() -> None:
    dispositions = {failing("v=DMARC1; p=reject; pct=50", "rfc7489").disposition for _ in range(60)}
    assert dispositions == {"reject", "quarantine"}  # (0.5 ** 60 chance of a false failure)


def test_invalid_pct_means_100_with_a_warning() -> None:
    result = failing("v=DMARC1; p=reject; pct=150", "rfc7489", sample=0.99)
    assert (result.disposition, result.pct) == ("reject", 100)
    assert "_dmarc.example.com: pct=150 is not a number from 0 to 100; pct=100 applies" in result.warnings


def test_pct_is_ignored_by_rfc9989() -> None:
    result = failing("v=DMARC1; p=reject; pct=0", "rfc9989", sample=0.99)
    assert (result.disposition, result.pct, result.pct_downgraded) == ("reject", None, False)
    assert "_dmarc.example.com: pct= was removed in RFC 9989 and is ignored" in result.warnings


def test_pct_does_not_apply_to_a_pass_or_a_none_policy() -> None:
    passed = dmarc(record_zone("v=DMARC1; p=reject; pct=0"), "example.com", Spf("pass", "example.com"),
                   mode="rfc7489", sample=0.5)
    assert (passed.result, passed.disposition, passed.pct_downgraded) == ("pass", "none", False)
    monitoring = failing("v=DMARC1; p=none; pct=0", "rfc7489", sample=0.5)
    assert (monitoring.disposition, monitoring.pct_downgraded) == ("none", False)


def test_sampling_decides_only_the_disposition_never_the_result() -> None:
    for sample in (0.0, 0.49, 0.5, 0.99):
        result = dmarc(record_zone("v=DMARC1; p=reject; pct=50"), "example.com", Spf("softfail", "example.com"),
                       [Dkim("fail", "example.com")], mode="rfc7489", sample=sample)
        assert result.result == "fail"
        assert result.disposition == ("reject" if sample < 0.5 else "quarantine")


def test_a_record_changed_by_a_zone_reload_applies_to_the_next_message() -> None:
    zones = Zones([Zone.from_text('$ORIGIN .\n_dmarc.example.com. TXT "v=DMARC1; p=reject"\n')])
    resolver = Resolver(zones)
    fail = Spf("fail", "example.com")
    first = asyncio.run(check_dmarc(resolver, "example.com", fail, []))
    assert (first.policy, first.disposition) == ("reject", "reject")
    zones.replace(Zones([Zone.from_text('$ORIGIN .\n_dmarc.example.com. TXT "v=DMARC1; p=quarantine; x=1"\n')]))
    again = asyncio.run(check_dmarc(resolver, "example.com", fail, []))
    assert (again.policy, again.disposition) == ("quarantine", "quarantine")
    assert again.record == "v=DMARC1; p=quarantine; x=1"
    assert again.warnings == ("_dmarc.example.com: unknown tag x= ignored",)


def test_the_same_record_at_two_places_is_reported_for_each() -> None:
    zone = '_dmarc.a.example. TXT "v=DMARC1; p=none; x=1"\n_dmarc.b.example. TXT "v=DMARC1; p=none; x=1"\n'
    for place in ("a.example", "b.example"):
        result = dmarc(zone, place, Spf("pass", place))
        assert result.warnings == (f"_dmarc.{place}: unknown tag x= ignored",)
