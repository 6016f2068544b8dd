"""Read and validate a scenario file against the JSON Schema.

Scenario files are written by hand, so every mistake comes back as one line naming the
file, the place inside it (``send.to[0]``) and what was expected, never as a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.json")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ScenarioError(ValueError):
    """A scenario that cannot run: ``file: where: problem``."""

    def __init__(self, file: str, where: str, problem: str) -> None:
        super().__init__(f"{file}: {where}: {problem}" if where else f"{file}: {problem}")
        self.file, self.where, self.problem = file, where, problem


@cache
def _validator() -> Any:
    """The compiled schema validator; built once per process (the schema never changes)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def location(path: Iterable[str | int]) -> str:
    """A JSON path as written in the file: ``send.to[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_scenario(path: str | Path) -> dict[str, Any]:
    """The scenario in ``path`` as plain data, validated; raises :class:`ScenarioError`."""
    import jsonschema

    source = str(path)
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except OSError as exc:
        raise ScenarioError(source, "", f"cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(source, where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where = location(error.absolute_path) or "(top level)"
        raise ScenarioError(source, where, _expectation(error))
    return data


def _expectation(error: Any) -> str:
    """jsonschema's message, with the part of the schema that says what is expected."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("enum", "type", "pattern", "minimum", "maximum", "minLength") and description:
        return f"{error.message} ({description})"
    return error.message


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The scenario files named: files as given, directories searched for ``*.yaml``."""
    found: list[Path] = []
    for path in map(Path, paths):
        found.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return found
