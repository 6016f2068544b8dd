"""Split a raw message into header fields, over bytes, once, without touching the body.

The format check runs on every received message, so this is a small hand-written
reader rather than :mod:`email.parser` (which builds a whole message object, decodes
every field and costs an order of magnitude more). It finds the end of the header
section (the first empty line, CRLF or bare LF), unfolds each field (RFC 5322 2.2.3:
a line that starts with a space or tab continues the field above it) and keeps the
raw value bytes, so later rules decide for themselves how to decode them. Lines that
are not fields (no colon, an empty or illegal field name, a continuation with no field
above it) are kept apart as :class:`BadLine` so the check can report them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from policies.format.memo import memoise_short

# RFC 5322 3.6.8: field-name = 1*ftext, printable US-ASCII except the colon.
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")
_HEADER_END = re.compile(rb"\n\r?\n")
_FIELD_START = re.compile(rb"\n(?![ \t])")  # a line break not followed by a continuation line
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])


class Field(NamedTuple):
    """One header field: its name as written, the name in lower case, and the unfolded
    raw value (the bytes after the colon, continuation lines joined without their CRLF).
    A named tuple rather than a dataclass: one is made per field of every message."""

    name: str
    key: str
    value: bytes
    line: int  # 1-based line number of the field's first line


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of the header section that is not part of a well-formed field."""

    line: int
    name: str | None  # the would-be field name, when the line has a colon
    problem: str


@dataclass(frozen=True, slots=True)
class HeaderSection:
    fields: tuple[Field, ...]
    bad_lines: tuple[BadLine, ...]
    size: int  # octets of the header section: its fields with their line ends, not the empty line
    has_nul: bool
    control_lines: tuple[int, ...]  # lines holding C0 control characters other than TAB


def read_header(message: bytes) -> HeaderSection:
    """The header section of ``message`` (all of it when there is no empty line)."""
    if message.startswith((b"\n", b"\r\n")):
        header = b""
    else:
        end = _HEADER_END.search(message)
        header = message[: end.start() + 1] if end else message
    # Line ends become bare LF once for the whole section rather than line by line, and
    # the section is cut into chunks of a line plus its continuation lines, so unfolding
    # a field is one bytes.replace instead of a Python step per line.
    text = header.replace(b"\r\n", b"\n").removesuffix(b"\r").removesuffix(b"\n")
    fields: list[Field] = []
    bad: list[BadLine] = []
    number = 1
    for chunk in _FIELD_START.split(text) if text else ():
        raw_name, colon, value = chunk.partition(b":")
        names = _field_name(raw_name.rstrip(b" \t")) if colon and b"\n" not in raw_name else None
        if names is None:
            bad.extend(_bad_lines(chunk, number))
        else:
            fields.append(Field(*names, value.replace(b"\n", b""), number))
        number += chunk.count(b"\n") + 1
    control: tuple[int, ...] = ()
    if len(text.translate(None, _CONTROL_BYTES)) != len(text):
        control = tuple(number for number, line in enumerate(text.split(b"\n"), 1)
                        if len(line.translate(None, _CONTROL_BYTES)) != len(line))
    return HeaderSection(tuple(fields), tuple(bad), len(header), b"\x00" in header, control)


@memoise_short(max_len=100)
def _field_name(raw_name: bytes) -> tuple[str, str] | None:
    """(name, lower-case key) of a legal field name (RFC 5322 2.2: WSP before the colon
    already removed, as RFC 5322 4.5.8 obs-optional allows), None for any other bytes.
    Memoised: nearly every field of every message starts with one of a few dozen names."""
    if not _FIELD_NAME.fullmatch(raw_name):
        return None
    name = raw_name.decode("ascii")
    return name, name.lower()


def _bad_lines(chunk: bytes, number: int) -> list[BadLine]:
    """Why ``chunk`` (a line at line ``number`` and its continuation lines, LF-separated)
    is no header field. The continuation lines of a bad line go unreported with it; the
    section's first chunk may instead be continuation lines with nothing above them,
    each of which is reported."""
    if chunk.startswith((b" ", b"\t")):
        return [BadLine(n, None, "a continuation line with no header field above it")
                for n in range(number, number + chunk.count(b"\n") + 1)]
    colon = chunk.partition(b"\n")[0].find(b":")
    if colon < 0:
        return [BadLine(number, None, "a line with no colon: neither a header field nor a continuation")]
    raw_name = chunk[:colon].rstrip(b" \t")
    if not raw_name:
        return [BadLine(number, None, "a header field with an empty name")]
    shown = raw_name.decode("utf-8", "replace")
    return [BadLine(number, shown, f"the field name {shown!r} holds characters a field name cannot have "
                                   "(only printable ASCII except ':' and no spaces)")]
