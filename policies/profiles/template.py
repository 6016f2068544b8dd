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
from functools import cached_property
from typing import NamedTuple

FILTERS: dict[str, Callable[[str], str]] = {"upper": str.upper, "lower": str.lower, "title": str.title}

_TOKEN = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class TemplateError(ValueError):
    """A text that does not parse, or names a placeholder that does not exist there."""


@dataclass(frozen=True)
class Placeholder:
    name: str
    filter: Callable[[str], str] | None = None


class _Slot(NamedTuple):
    """One placeholder or optional group of a template, with the literal text before it."""

    literal: str
    name: str  # the placeholder's name ("" for a group)
    filter: Callable[[str], str] | None
    group: Template | None


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

    @cached_property
    def names(self) -> frozenset[str]:
        """Every placeholder name used, groups included (computed once: the template
        is immutable, and callers ask for it per reply to know which values to compute)."""
        found: set[str] = set()
        for part in self.parts:
            if isinstance(part, Placeholder):
                found.add(part.name)
            elif isinstance(part, Template):
                found |= part.names
        return frozenset(found)

    @cached_property
    def _slots(self) -> tuple[tuple[_Slot, ...], str]:
        """The parts as (literal, placeholder-or-group) slots and the literal after the
        last one: what :meth:`render` walks, one step per placeholder instead of one
        per part (templates are rendered several times per message)."""
        slots: list[_Slot] = []
        literal: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                literal.append(part)
            elif isinstance(part, Placeholder):
                slots.append(_Slot("".join(literal), part.name, part.filter, None))
                literal = []
            else:
                slots.append(_Slot("".join(literal), "", None, part))
                literal = []
        return tuple(slots), "".join(literal)

    def render(self, values: Mapping[str, str]) -> str:
        """The text with every placeholder filled; a missing value renders empty."""
        slots, tail = self._slots
        get = values.get
        out: list[str] = []
        for literal, name, text_filter, group in slots:
            out.append(literal)
            if group is None:
                value = get(name, "")
                out.append(text_filter(value) if text_filter else value)
            else:
                for group_name in group.names:
                    if not get(group_name):
                        break  # an optional group with an empty value is left out
                else:
                    out.append(group.render(values))
        out.append(tail)
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
