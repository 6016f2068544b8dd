"""SPF macros (RFC 7208 section 7): parse a macro-string once, expand it per use.

A record is checked for syntax as a whole before anything is evaluated (RFC 7208 4.6),
so every macro-string is parsed when its record is parsed: a bad macro anywhere makes
the record a permerror even if evaluation would never reach it. Expansion then only
substitutes values; it cannot fail.

The grammar (RFC 7208 7.1)::

    macro-string = *( macro-expand / macro-literal )
    macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
    macro-literal = %x21-24 / %x26-7E          ; visible ASCII except "%"
    transformers = *DIGIT [ "r" ]
    delimiter = "." / "-" / "+" / "," / "/" / "_" / "="
    domain-spec = macro-string domain-end
    domain-end = ( "." toplabel [ "." ] ) / macro-expand
    explain-string = *( macro-string / SP )

Letters ``c``, ``r`` and ``t`` exist only in explanation text (7.1/8). An upper-case
letter expands like its lower-case form and is then URL-escaped (7.3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

LETTERS = frozenset("slodiphcrtv")
EXPLANATION_ONLY = frozenset("crt")
_ESCAPES = {"%": "%", "_": " ", "-": "%20"}
_MACRO_BODY = re.compile(r"\{(?P<letter>[A-Za-z])(?P<digits>[0-9]*)(?P<reverse>[rR]?)(?P<delims>[.\-+,/_=]*)\}")
_TOPLABEL_END = re.compile(
    r"\.(?:[0-9a-z]*[a-z][0-9a-z]*|[0-9a-z]+-[0-9a-z-]*[0-9a-z])\.?\Z", re.IGNORECASE
)


class MacroSyntaxError(ValueError):
    """A macro-string that breaks RFC 7208 7.1; the message says where and why."""


@dataclass(frozen=True)
class Macro:
    """One ``%{...}`` expansion: which value, and how to transform it."""

    letter: str  # lower case
    keep: int | None  # keep this many right-hand parts (None: all)
    reverse: bool
    delimiters: str  # characters to split on ("" means ".")
    escape: bool  # written upper case: URL-escape the result
    text: str  # as written, e.g. "%{l2r-}"

    def expand(self, value: str) -> str:
        """RFC 7208 7.3: split on the delimiters, reverse, keep the right-hand parts,
        join with dots; URL-escape afterwards when the letter was upper case."""
        if self.keep is not None or self.reverse or self.delimiters:
            parts = re.split("[" + re.escape(self.delimiters or ".") + "]", value)
            if self.reverse:
                parts.reverse()
            if self.keep is not None:
                parts = parts[-self.keep :]
            value = ".".join(parts)
        return quote(value, safe="") if self.escape else value


@dataclass(frozen=True)
class MacroString:
    """A parsed macro-string: literal text (escapes already resolved) and macros."""

    text: str
    pieces: tuple[str | Macro, ...]
    tail: str  # the literal characters after the last macro-expand ("" if it ends with one)

    @property
    def letters(self) -> frozenset[str]:
        """The macro letters used (lower case), so a caller computes only those values."""
        return frozenset(p.letter for p in self.pieces if isinstance(p, Macro))

    def expand(self, values: Mapping[str, str]) -> str:
        """The text with every macro replaced; ``values`` maps each used letter to its value."""
        return "".join(p if isinstance(p, str) else p.expand(values[p.letter]) for p in self.pieces)

    def is_domain_spec(self) -> bool:
        """True when the string ends as RFC 7208 requires of a domain-spec: with a macro-expand
        or with ``.toplabel`` (optionally followed by a dot), e.g. not ``museum`` or ``a.123``."""
        if not self.text:
            return False
        return not self.tail or _TOPLABEL_END.search(self.tail) is not None


def parse_macro_string(text: str, *, explanation: bool = False) -> MacroString:
    """Parse ``text``; ``explanation=True`` for exp= TXT text (spaces and c/r/t allowed).

    Raises :class:`MacroSyntaxError` for anything RFC 7208 7.1 does not allow.
    """
    pieces: list[str | Macro] = []
    literal: list[str] = []
    tail_start = 0  # index in ``literal`` where the trailing literal run starts
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char != "%":
            if not ("\x21" <= char <= "\x7e" or (explanation and char == " ")):
                raise MacroSyntaxError(f"character {_show(char)} is not allowed in `{text}`")
            literal.append(char)
            pos += 1
            continue
        following = text[pos + 1 : pos + 2]
        if following in _ESCAPES:
            literal.append(_ESCAPES[following])
            tail_start = len(literal)
            pos += 2
            continue
        if following != "{":
            where = f"`%{following}`" if following else "a `%` at the end"
            raise MacroSyntaxError(
                f"{where} in `{text}` is not a macro: `%` must be followed by `{{`, `%`, `_` or `-` "
                "(write %% for a literal %)"
            )
        match = _MACRO_BODY.match(text, pos + 1)
        if match is None:
            close = text.find("}", pos)
            shown = text[pos : close + 1] if close != -1 else text[pos:]
            raise MacroSyntaxError(f"`{shown}` in `{text}` is not a valid macro")
        macro = _macro(match, text[pos : match.end()], text, explanation)
        if literal:
            pieces.append("".join(literal))
            literal = []
        tail_start = 0
        pieces.append(macro)
        pos = match.end()
    tail = "".join(literal[tail_start:])
    if literal:
        pieces.append("".join(literal))
    return MacroString(text, tuple(pieces), tail)


def _macro(match: re.Match[str], written: str, text: str, explanation: bool) -> Macro:
    letter = match["letter"]
    lower = letter.lower()
    if lower not in LETTERS:
        raise MacroSyntaxError(f"`{written}` in `{text}`: {letter!r} is not a macro letter")
    if lower in EXPLANATION_ONLY and not explanation:
        raise MacroSyntaxError(f"`{written}` in `{text}`: %{{{lower}}} is allowed only in exp= explanation text")
    keep = int(match["digits"]) if match["digits"] else None
    if keep == 0:
        raise MacroSyntaxError(f"`{written}` in `{text}`: the number of parts to keep must be at least 1")
    return Macro(lower, keep, bool(match["reverse"]), match["delims"], letter != lower, written)


def _show(char: str) -> str:
    return f"U+{ord(char):04X}" if not char.isprintable() or char == " " else f"{char!r} (U+{ord(char):04X})"
