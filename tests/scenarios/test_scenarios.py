"""Every scenario file under scenarios/ runs as a test, and a wrong scenario file is
reported with the file, the place in it and what was expected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.scenario import ScenarioError, load_scenario, run_scenario
from sandbox.scenario.loader import SCHEMA_PATH

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))

VALID = """\
name: minimal
story: a message from a domain with SPF for the sending server
client_ip: 192.0.2.10
zone: |
  $ORIGIN shop.example.
  @ TXT "v=spf1 ip4:192.0.2.10 -all"
  mail A 192.0.2.10
zones:
  - |
    $ORIGIN 2.0.192.in-addr.arpa.
    10 PTR mail.shop.example.
send: {from: orders@shop.example, to: customer@gmail.com}
expect: {checks: {spf: pass}}
"""


def test_the_scenario_folder_holds_the_stories_of_the_issue():
    assert len(SCENARIOS) >= 20


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_scenario(path, smtp_sandbox_profiles):
    outcome = run_scenario(load_scenario(path), file=str(path), profiles=smtp_sandbox_profiles)
    assert outcome.passed, "\n".join([*outcome.failures, outcome.result.describe()])


def test_the_schema_in_scenarios_is_the_one_the_loader_uses():
    assert (SCENARIO_DIR / "schema.json").read_bytes() == SCHEMA_PATH.read_bytes()


@pytest.mark.parametrize(("change", "where", "words"), [
    (("send: {from: orders@shop.example, to: customer@gmail.com}", "send: {from: orders@shop.example, to: [nobody]}"),
     "send.to[0]", "'nobody' does not match '@' (a recipient address)"),
    (("expect: {checks: {spf: pass}}", "expect: {code: 250, folder: trash}"), "expect.folder", "'inbox'"),
    (("name: minimal\n", ""), "(top level)", "'name' is a required property"),
    (("send: {", "send: {helo_name: x, "), "send", "'helo_name' was unexpected"),
])
def test_a_wrong_scenario_names_the_file_the_place_and_what_is_expected(tmp_path, change, where, words):
    path = tmp_path / "wrong.yaml"
    path.write_text(VALID.replace(*change))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.file == str(path) and caught.value.where == where
    assert words in caught.value.problem


def test_bad_zone_text_and_an_unknown_signing_key_are_reported_as_scenario_mistakes(tmp_path):
    path = tmp_path / "zone.yaml"
    path.write_text(VALID.replace('@ TXT "v=spf1', '@ TXTX "v=spf1'))
    with pytest.raises(ScenarioError) as caught:
        run_scenario(load_scenario(path), file=str(path))
    assert caught.value.where == "zone" and "TXTX" in caught.value.problem
    path.write_text(VALID.replace("to: customer@gmail.com}", "to: customer@gmail.com, sign: [x._domainkey.shop.example]}"))
    with pytest.raises(ScenarioError) as caught:
        run_scenario(load_scenario(path), file=str(path))
    assert caught.value.where == "send.sign[0]" and "x._domainkey.shop.example" in caught.value.problem


def test_a_missed_expectation_is_listed(tmp_path):
    path = tmp_path / "miss.yaml"
    path.write_text(VALID.replace("expect: {checks: {spf: pass}}", "expect: {code: 250, checks: {spf: fail}}"))
    outcome = run_scenario(load_scenario(path), file=str(path))
    assert not outcome.passed
    assert "checks.spf: expected 'fail', got 'pass'" in outcome.failures


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox.cli", "scenario", "run", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_runs_scenarios_and_prints_json(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    done = _cli(str(SCENARIO_DIR / "unknown-user.yaml"), str(good), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [item["passed"] for item in report] == [True, True]
    assert report[0]["reply"]["code"] == 550 and report[0]["reply"]["stage"] == "rcpt"


def test_cli_transcript_and_exit_status_of_a_failing_scenario(tmp_path):
    path = tmp_path / "miss.yaml"
    path.write_text(VALID.replace("expect: {checks: {spf: pass}}", "expect: {folder: spam}"))
    done = _cli(str(path), "--transcript")
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "folder: expected 'spam', got 'inbox'" in done.stdout
    assert "C: mail FROM:<orders@shop.example>" in done.stdout  # the transcript


def test_cli_reports_a_wrong_file_in_one_line(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(VALID.replace("expect: {checks: {spf: pass}}", "expect: {code: 99}"))
    done = _cli(str(path))
    assert done.returncode == 2
    assert f"{path}: expect.code: 99 is less than the minimum of 200" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_reports_every_wrong_file_and_still_runs_the_others(tmp_path):
    """A directory with a typo in one file (and a broken zone in another) still runs every
    other scenario; each wrong file gets its own line on stderr; the exit status says 2."""
    (tmp_path / "a-wrong.yaml").write_text(VALID.replace("expect: {checks: {spf: pass}}", "expect: {code: 99}"))
    (tmp_path / "b-good.yaml").write_text(VALID)
    (tmp_path / "c-zone.yaml").write_text(VALID.replace('@ TXT "v=spf1', '@ TXTX "v=spf1'))
    done = _cli(str(tmp_path))
    assert done.returncode == 2
    assert f"{tmp_path / 'a-wrong.yaml'}: expect.code: 99 is less than the minimum of 200" in done.stderr
    assert f"{tmp_path / 'c-zone.yaml'}" in done.stderr and "TXTX" in done.stderr
    assert f"PASS {tmp_path / 'b-good.yaml'}" in done.stdout
    assert "1 of 1 scenarios passed; 2 scenario files could not be run (see above)" in done.stdout
    assert "Traceback" not in done.stderr
