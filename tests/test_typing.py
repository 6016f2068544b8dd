"""The code is typed throughout, and mypy agrees with every annotation.

Type hints are part of the project's style; unchecked, they drift from what the code
does and then mislead more than they help. This runs mypy as configured in
pyproject.toml (``[tool.mypy]``: the packages to check and how), so a change that
makes an annotation untrue fails the suite with mypy's report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_mypy_finds_no_type_errors() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
