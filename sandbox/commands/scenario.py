"""``smtp-sandbox scenario run PATH...``: replay scenario files, each on its own
in-process sandbox, and say which ones behave as their ``expect`` section says.

Exit status 0 when every scenario passed, 1 when one did not, 2 when a scenario file
is wrong (one line on stderr per wrong file, naming the file, the place in it and what
was expected). A wrong file does not stop the others: a directory with one typo still
reports on every other scenario, and on every wrong file at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.scenario import ScenarioOutcome


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_parser = actions.add_parser("run", help="run scenario files (a directory means its *.yaml files)")
    run_parser.add_argument("paths", nargs="+", metavar="PATH", help="scenario file or directory")
    run_parser.add_argument("--json", action="store_true",
                            help="print one JSON list: file, name, passed, failures, reply, action, folder, rule, checks")
    run_parser.add_argument("--transcript", action="store_true",
                            help="print the SMTP transcript and the check explanations of each scenario")


def run(args: argparse.Namespace) -> int:
    import json

    from sandbox.commands.common import UsageError
    from sandbox.scenario import ScenarioError, load_scenario, run_scenario, scenario_files
    from sandbox.testing import ProfileCache

    files = scenario_files(args.paths)
    if not files:
        raise UsageError(f"no scenario files (*.yaml) in {' '.join(args.paths)}")
    profiles = ProfileCache()
    outcomes = []
    wrong = 0
    for path in files:
        try:
            outcome = run_scenario(load_scenario(path), file=str(path), profiles=profiles)
        except ScenarioError as exc:
            wrong += 1
            print(f"smtp-sandbox scenario: error: {exc}", file=sys.stderr, flush=True)
            continue
        outcomes.append(outcome)
        if not args.json:
            _print(outcome, transcript=args.transcript)
    if args.json:
        json.dump([outcome.as_dict() for outcome in outcomes], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        passed = sum(outcome.passed for outcome in outcomes)
        print(f"{passed} of {len(outcomes)} scenarios passed"
              + (f"; {wrong} scenario file{'s' if wrong > 1 else ''} could not be run (see above)" if wrong else ""))
    if wrong:
        return 2
    return 0 if all(outcome.passed for outcome in outcomes) else 1


def _print(outcome: "ScenarioOutcome", *, transcript: bool) -> None:
    reply = outcome.result.reply
    status = "PASS" if outcome.passed else "FAIL"
    print(f"{status} {outcome.file}: {outcome.name} -> {reply.code} {reply.enhanced_code or ''} at {reply.stage}"
          f"{' (' + outcome.result.folder + ')' if outcome.result.folder else ''}")
    for failure in outcome.failures:
        print(f"    {failure}")
    if transcript:
        print("\n".join(f"    {line}" for line in outcome.result.describe().splitlines()))
