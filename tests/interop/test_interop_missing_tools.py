"""Without the programs they drive, the interop tests FAIL with the reason.

Not skip (a green run would hide that nothing was tested), and not an ERROR at fixture
set-up either: the MTA fixtures are factories the test calls, so the missing program
is the test's own failure, with the install hint. This runs the interop tests in a
child pytest where Exim's private root is empty and PATH holds no mail program.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
MAKE_HINT = "(`make test` does it through `make sysdeps`)"
TESTS = (
    "test_interop_exim.py::test_exim_bounces_gmail_rejection_then_delivers_after_fix",
    "test_interop_postfix.py::test_postfix_bounces_gmail_rejection_then_delivers_after_fix",
    "test_interop_swaks.py::test_swaks_over_starttls_with_pipelining_sees_gmail_rejection_then_acceptance",
)


def test_missing_programs_fail_the_tests_with_the_reason(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "SMTP_SANDBOX_EXIM_ROOT": str(empty), "PATH": str(empty),
           "COLUMNS": "1000"}  # wide enough for the summary lines to carry the whole reason
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rfE",
         *(str(HERE / test) for test in TESTS)],
        capture_output=True, text=True, env=env, cwd=HERE.parent.parent, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    summary = output.split("short test summary info")[-1].splitlines()[1:]
    folder = HERE.relative_to(HERE.parent.parent)
    hint = "run `tools/interop/install.sh` as root"
    assert summary == [
        f"FAILED {folder / TESTS[0]} - Failed: Exim is not unpacked at {empty}/usr/sbin/exim4: {hint} {MAKE_HINT}",
        f"FAILED {folder / TESTS[1]} - Failed: opendkim (Debian package opendkim) is not installed: {hint} {MAKE_HINT}",
        f"FAILED {folder / TESTS[2]} - Failed: swaks (Debian package swaks) is not installed: {hint} {MAKE_HINT}",
        summary[-1],
    ], output
    assert re.fullmatch(r"=* ?3 failed in [\d.]+s ?=*", summary[-1]), output  # no error, no skip
