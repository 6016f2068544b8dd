"""SMTP reply lines as a provider lays them out: codes, wrapping, the per-connection suffix.

Gmail's layout, derived from the wire blocks W-G1 (2023 and 2025 forms), W-G4, W-G5,
W-G6, W-G7, W-G8 and G68 of the reference, which this reproduces exactly:

* every line starts with the code and the enhanced code; ``-`` after the code on every
  line but the last (``550-5.7.26 ...`` ... ``550 5.7.26 ...``);
* each paragraph is filled greedily: a word joins the line while the whole line,
  code prefix included, stays within 79 characters (the per-connection suffix on the
  last line does not count);
* a URL always starts a new line, preceded by one extra space; words after it
  continue on its line while they fit;
* an empty paragraph is a line holding only the code prefix (``550-5.7.26 ``);
* a paragraph's leading spaces are kept on its first line only (the indented
  "Authentication results" lines; a wrapped continuation is not indented, as in the
  2023 Exim capture of W-G1).

W-G2 and W-G3 come from samples whose domains were replaced by longer ones, so no
width reproduces them; their profile rules give explicit lines instead, which this
module sends as they are. Yahoo and Outlook.com send one long line (``multiline:
false``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from policies.profiles.template import Template

URL_PREFIXES = ("http://", "https://")
_URL = re.compile("|".join(re.escape(prefix) for prefix in URL_PREFIXES))
_SPACES = re.compile(r"( +)")
_REPLY = re.compile(r"(?P<code>[2-5][0-9][0-9])(?: (?P<enhanced>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?= |\Z))?(?: (?P<text>.*))?\Z", re.DOTALL)
_ENHANCED = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}\Z")


@dataclass(frozen=True)
class ReplyStyle:
    """How one provider lays out its replies (the profile's ``session`` section)."""

    width: int | None  # greedy fill to this total line length; None: one line per paragraph
    multiline: bool  # False: the whole reply on one line (paragraphs joined by a space)
    suffix: Template | None  # appended to the last line (Gmail: " {id} - gsmtp")


@dataclass(frozen=True)
class ReplySpec:
    """One reply of a profile: code, enhanced code, and paragraphs or explicit lines."""

    code: int
    enhanced: str | None
    texts: tuple[Template, ...]
    explicit_lines: bool = False  # texts are physical lines, not paragraphs to fill
    suffix: bool = True  # False: this reply never carries the style's suffix

    @cached_property
    def names(self) -> frozenset[str]:
        """The placeholders of the texts (the style's suffix not included)."""
        return frozenset().union(*(text.names for text in self.texts))

    def render(self, style: ReplyStyle, values: Mapping[str, str]) -> list[str]:
        suffix = style.suffix.render(values) if self.suffix and style.suffix is not None else ""
        texts = [t.render(values) for t in self.texts]
        if self.explicit_lines:
            return prefix_lines(self.code, self.enhanced, texts, suffix)
        return layout(self.code, self.enhanced, texts, width=style.width, multiline=style.multiline, suffix=suffix)


def parse_reply_line(text: str) -> tuple[int, str | None, str] | None:
    """``"550 5.7.26 text"`` -> (550, "5.7.26", "text"); None when it does not start with a code."""
    match = _REPLY.match(text)
    if match is None:
        return None
    return int(match.group("code")), match.group("enhanced"), match.group("text") or ""


def is_enhanced_code(text: str) -> bool:
    return bool(_ENHANCED.match(text))


def layout(code: int, enhanced: str | None, paragraphs: Sequence[str], *, width: int | None,
           multiline: bool = True, suffix: str = "") -> list[str]:
    """The wire lines of one reply (see the module docstring for the rules)."""
    if not multiline:
        lines = [" ".join(p.strip() for p in paragraphs if p.strip())]
    elif width is None:
        lines = [p.rstrip() for p in paragraphs] or [""]
    else:
        lines = fill(paragraphs, width - len(_prefix(code, enhanced, last=False)))
    return prefix_lines(code, enhanced, lines, suffix)


def prefix_lines(code: int, enhanced: str | None, lines: Sequence[str], suffix: str = "") -> list[str]:
    """Put the code prefix on each line and the suffix on the last."""
    lines = list(lines) or [""]
    out = [_prefix(code, enhanced, last=False) + line for line in lines[:-1]]
    out.append(_prefix(code, enhanced, last=True) + lines[-1] + suffix)
    return out


def fill(paragraphs: Sequence[str], room: int) -> list[str]:
    """Greedy fill of each paragraph into lines of at most ``room`` characters (a word
    longer than that gets a line of its own); URLs start a new line after one space."""
    lines: list[str] = []
    for paragraph in paragraphs:
        paragraph = paragraph.rstrip()
        if not paragraph:
            lines.append("")
            continue
        if len(paragraph) <= room and _URL.search(paragraph) is None:
            lines.append(paragraph)  # fits and has no URL: the fill below would keep it whole
            continue
        body = paragraph.lstrip(" ")
        tokens = _SPACES.split(body)
        current = paragraph[: len(paragraph) - len(body)]  # the indent of the first line
        started = False
        for index in range(0, len(tokens), 2):
            word = tokens[index]
            if word.startswith(URL_PREFIXES):
                if started:
                    lines.append(current)
                current, started = " " + word, True
            elif not started:
                current, started = current + word, True
            elif len(current) + len(tokens[index - 1]) + len(word) <= room:
                current += tokens[index - 1] + word
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return lines


def _prefix(code: int, enhanced: str | None, *, last: bool) -> str:
    mark = " " if last else "-"
    return f"{code}{mark}{enhanced} " if enhanced else f"{code}{mark}"
