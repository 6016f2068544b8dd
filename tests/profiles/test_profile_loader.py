"""Loading profiles: built-ins by name, user copies by path, and one clear error per
mistake (file, place, what is expected)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from policies.profiles import BUILTIN, Facts, ProfileError, load_profile, parse_profile
from profile_helpers import PROFILE_DIR, clean, dump, profile_data, rule_data, session


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_profiles_load_by_name_and_by_path(name):
    by_name = load_profile(name)
    by_path = load_profile(PROFILE_DIR / f"{name}.yaml")
    assert by_name.name == by_path.name == name
    assert [r.id for r in by_name.rules] == [r.id for r in by_path.rules]
    assert by_name.dmarc_mode == "rfc9989" and by_name.require_tls is False and by_name.max_size > 0


def test_domains_of_each_provider():
    assert load_profile("gmail").domains == {"gmail.com", "googlemail.com"}
    assert load_profile("outlook").domains == {"outlook.com", "hotmail.com", "live.com", "msn.com"}
    assert {"yahoo.com", "aol.com"} <= load_profile("yahoo").domains


def test_every_inferred_rule_says_why():
    for name in BUILTIN:
        for rule in load_profile(name).rules:
            assert not rule.inferred or rule.note, rule.label
            assert not rule.id.startswith("X-") or rule.inferred, rule.label


def test_user_copy_with_an_edited_rule_changes_the_decision(tmp_path):
    """Copy gmail.yaml, make G1 a temporary 451 with other words: the copy loads and decides so."""
    copy = tmp_path / "my-gmail.yaml"
    shutil.copy(PROFILE_DIR / "gmail.yaml", copy)
    text = copy.read_text(encoding="utf-8")
    start = text.index("  - id: G1\n")
    end = text.index("  - id: G7\n")
    edited = (
        "  - id: G1\n"
        "    stage: data\n"
        "    action: defer\n"
        "    when: {spf: {not: pass}, dkim: {not: pass}}\n"
        "    reply: \"451 4.7.26 Try again once {spf_domain} authenticates its mail.\"\n"
        "    reason: \"edited by the trainer\"\n"
    )
    copy.write_text(text[:start] + edited + text[end:], encoding="utf-8")
    facts = clean(spf="softfail", spf_all="~", dkim="none", dmarc="fail", dmarc_policy="none", aligned=False)

    builtin = session("gmail").decide("data", facts)
    conn = session(load_profile(copy))
    mine = conn.decide("data", facts)
    assert builtin is not None and builtin.code == 550
    assert mine is not None and mine.action == "defer" and mine.rule_id == "G1"
    assert mine.lines == (f"451 4.7.26 Try again once example.com authenticates its mail. {conn.id} - gsmtp",)
    assert mine.reason == "edited by the trainer"
    assert load_profile(copy).source == str(copy)


def test_a_rule_can_be_added_in_a_copy():
    data = profile_data("gmail")
    data["rules"].insert(0, {
        "id": "X-no-helo-literal", "stage": "ehlo", "action": "reject", "when": {"helo": "[192.0.2.10]"},
        "reply": "550 5.7.1 No address literals here.", "inferred": True, "note": "a trainer's own rule",
    })
    profile = parse_profile(dump(data), source="mine.yaml")
    conn = session(profile)
    decision = conn.decide("ehlo", Facts(client_ip="192.0.2.10", helo="[192.0.2.10]"))
    assert decision is not None and decision.lines == (f"550 5.7.1 No address literals here. {conn.id} - gsmtp",)
    assert decision.inferred and decision.note == "a trainer's own rule"


# -- errors ----------------------------------------------------------------------------------------


LABEL = {rule.id: rule.label for rule in load_profile("gmail").rules}


def _error(data: Any, source: str = "broken.yaml") -> str:
    with pytest.raises(ProfileError) as caught:
        parse_profile(data if isinstance(data, str) else dump(data), source=source)
    message = str(caught.value)
    assert message.startswith(f"{source}: "), message
    return message


def _broken_rule(rule_id: str, **changes: Any) -> dict[str, Any]:
    data = profile_data("gmail")
    rule = rule_data(data, rule_id)
    for key, value in changes.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return data


def test_unknown_fact():
    message = _error(_broken_rule("G1", when={"spff": "fail"}))
    assert LABEL["G1"] in message and "unknown fact 'spff'" in message and "known facts: client_ip" in message


def test_unknown_fact_in_a_nested_clause():
    message = _error(_broken_rule("G1", when={"any": [{"spf": "fail"}, {"dkm": "fail"}]}))
    assert LABEL["G1"] + ": when.any[1].dkm: unknown fact 'dkm'" in message


def test_unknown_value_of_a_fact():
    message = _error(_broken_rule("G1", when={"spf": "failed"}))
    assert "'failed' is not a value of fact 'spf'; values: fail, neutral, none, pass" in message


def test_fact_not_known_at_the_stage():
    message = _error(_broken_rule("G68", when={"spf": "fail"}))
    assert LABEL["G68"] in message and "fact 'spf' is known from data, not at stage 'rcpt'" in message


def test_unknown_action():
    message = _error(_broken_rule("G1", action="bounce"))
    assert LABEL["G1"] + ": unknown action 'bounce'; actions are accept, spam, defer, reject" in message


def test_unknown_stage():
    message = _error(_broken_rule("G1", stage="end-of-data"))
    assert "unknown stage 'end-of-data'; stages are connect, ehlo, mail, rcpt, data" in message


def test_bad_code():
    assert "a reject rule needs a 5xx code, got 450" in _error(_broken_rule("G1", reply="450 4.7.26 text"))
    assert "bad code 99" in _error(_broken_rule("G1", reply={"code": 99, "text": "x"}))
    assert "enhanced code 4.7.26 does not match reply code 550" in _error(
        _broken_rule("G1", reply={"code": 550, "enhanced": "4.7.26", "text": "x"}))
    assert "bad enhanced code '5.7'" in _error(_broken_rule("G1", reply={"code": 550, "enhanced": "5.7", "text": "x"}))
    assert "expected 'CODE [ENHANCED] text'" in _error(_broken_rule("G1", reply="blocked"))


def test_missing_text():
    message = _error(_broken_rule("G1", reply={"code": 550, "enhanced": "5.7.26"}))
    assert LABEL["G1"] + ": reply: missing text" in message


def test_missing_reply():
    assert "a reject rule needs a reply:" in _error(_broken_rule("G1", reply=None))


def test_accepting_rules_take_no_reply_and_only_at_data():
    assert "remove reply:" in _error(_broken_rule("G6", reply="250 2.0.0 OK"))
    assert "spam is only possible at stage data" in _error(_broken_rule("G6", stage="rcpt", when=None))


def test_unknown_placeholder():
    message = _error(_broken_rule("G4", reply={"code": 550, "enhanced": "5.7.26", "text": "from {domain}"}))
    assert LABEL["G4"] + ": reply[0]: unknown placeholder {domain}" in message and "from_domain" in message


def test_inferred_rule_needs_a_note():
    assert "an inferred rule needs a note:" in _error(_broken_rule("G5", note=None))
    assert "an X- rule is not from the reference" in _error(_broken_rule("X-relay", inferred=False, note=None))


def test_duplicate_and_missing_ids():
    data = profile_data("gmail")
    data["rules"][1]["id"] = "G53"
    assert "rule 2 (G53): id 'G53' is already used by rule 1" in _error(data)
    assert "rule 1: needs an id" in _error(_broken_rule("G53", id="gmail rule"))


def test_unknown_rule_key():
    assert LABEL["G1"] + ": unknown key 'whenn'" in _error(_broken_rule("G1", whenn={"spf": "fail"}))


def test_rule_options_must_exist_and_be_valid():
    assert "the profile has no option 'strict'" in _error(_broken_rule("G1", options={"strict": True}))
    assert "auth_enforcement is one of temporary, permanent" in _error(
        _broken_rule("G1", options={"auth_enforcement": "always"}))


def test_bad_profile_options():
    data = profile_data("gmail")
    data["options"]["dmarc_mode"] = "rfc7489bis"
    assert "options.dmarc_mode: dmarc_mode is one of rfc9989, rfc7489" in _error(data)
    data = profile_data("gmail")
    del data["options"]["max_size"]
    assert "missing option 'max_size'" in _error(data)


def test_missing_reply_kind_and_bad_rule_reference():
    data = profile_data("gmail")
    del data["replies"]["quit"]
    assert "replies: missing replies: quit" in _error(data)
    data = profile_data("gmail")
    data["replies"]["bad_sender"] = {"rule": "G99"}
    assert "replies.bad_sender: rule 'G99' is not a refusing rule" in _error(data)
    data = profile_data("gmail")
    data["replies"]["helo_syntax"] = {"rule": "G53/invalid"}
    assert "uses {helo}, which this reply does not have" in _error(data)


def test_bad_token_pattern():
    data = profile_data("gmail")
    data["session"]["tokens"]["id"] = "{hexx:13}"
    assert "session.tokens.id: unknown field {hexx:...}" in _error(data)
    data = profile_data("gmail")
    del data["session"]["tokens"]["id"]
    assert "missing the per-connection token 'id'" in _error(data)


def test_yaml_syntax_error_names_the_line():
    assert "broken.yaml: line 4: not valid YAML" in _error("name: x\nhostname: y\nrules: [\n  - {a: b\n")


def test_not_a_mapping_and_unknown_top_level_key():
    assert "the profile must be a mapping" in _error("- just\n- a list\n")
    data = profile_data("gmail")
    data["rulez"] = []
    assert "top level: unknown key 'rulez'" in _error(data)


def test_unknown_profile_name_or_missing_file(tmp_path: Path):
    with pytest.raises(ProfileError, match="no such profile file; built-in profiles are gmail, yahoo, outlook"):
        load_profile("hotmail")
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(tmp_path / "absent.yaml")


def test_profile_error_is_a_value_error():
    """The sandbox reports ValueError as one line without a traceback."""
    assert issubclass(ProfileError, ValueError)
