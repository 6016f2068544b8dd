"""The placeholder language of profile texts: ``{name}``, ``{name|upper}``, ``[[ ... ]]``.

Profiles are files users copy and edit, so their texts must be safe to render: no
attribute access, no format specs, no evaluation, only names from a set fixed when
the profile loads (an unknown name is a load error, not a surprise at the first
message). ``[[ ... ]]`` is an optional group, rendered only when every placeholder
in it has a non-empty value; trace headers need it ("for <rcpt>" only when there is
one recipient). ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

FILTERS: dict[str, Callable[[str], str]] = {"upper": str.upper, "lower": str.lower, "title": str.title}

_TOKEN = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class TemplateError(ValueError):
    """A text that does not parse, or names a placeholder that does not exist there."""


@dataclass(frozen=True)
class Placeholder:
    name: str
    filter: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Template:
    """A parsed text: literal strings, placeholders and optional groups, in order."""

    source: str
    parts: tuple[str | Placeholder | Template, ...]

    @classmethod
    def parse(cls, text: str, known: Collection[str]) -> Template:
        """Parse ``text``; raise :class:`TemplateError` for bad syntax or unknown names."""
        if not isinstance(text, str):
            raise TemplateError(f"expected a text, got {type(text).__name__} {text!r}")
        stack: list[list[str | Placeholder | Template]] = [[]]
        group_start: list[int] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() > pos:
                stack[-1].append(text[pos : match.start()])
            pos = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                stack[-1].append(token[0])
            elif token == "[[":
                if len(stack) > 1:
                    raise TemplateError(f"optional groups [[ ]] cannot nest in {text!r}")
                stack.append([])
                group_start.append(match.start())
            elif token == "]]":
                if len(stack) == 1:
                    raise TemplateError(f"']]' without '[[' in {text!r}")
                inner = stack.pop()
                stack[-1].append(cls(text[group_start.pop() : match.end()], tuple(inner)))
            elif match.group(1) is not None:
                stack[-1].append(_placeholder(match.group(1), known, text))
            else:
                raise TemplateError(f"lone {token!r} in {text!r} (write {token * 2} for a literal brace)")
        if len(stack) > 1:
            raise TemplateError(f"'[[' without ']]' in {text!r}")
        if pos < len(text):
            stack[0].append(text[pos:])
        return cls(text, tuple(stack[0]))

    @property
    def names(self) -> frozenset[str]:
        """Every placeholder name used, groups included."""
        found: set[str] = set()
        for part in self.parts:
            if isinstance(part, Placeholder):
                found.add(part.name)
            elif isinstance(part, Template):
                found |= part.names
        return frozenset(found)

    def render(self, values: Mapping[str, str]) -> str:
        """The text with every placeholder filled; a missing value renders empty."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Placeholder):
                value = values.get(part.name, "")
                out.append(part.filter(value) if part.filter else value)
            elif all(values.get(name) for name in part.names):
                out.append(part.render(values))
        return "".join(out)


def _placeholder(body: str, known: Collection[str], text: str) -> Placeholder:
    name, bar, filter_name = body.strip().partition("|")
    if not _NAME.match(name):
        raise TemplateError(f"bad placeholder {{{body}}} in {text!r}")
    if name not in known:
        raise TemplateError(f"unknown placeholder {{{name}}} in {text!r}; known here: {', '.join(sorted(known))}")
    if not bar:
        return Placeholder(name)
    if filter_name not in FILTERS:
        raise TemplateError(f"unknown filter |{filter_name} in {text!r}; use one of {', '.join(FILTERS)}")
    return Placeholder(name, FILTERS[filter_name])
