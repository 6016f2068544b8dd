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

# RFC 5322 3.6.8: field-name = 1*ftext, printable US-ASCII except the colon.
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")
_HEADER_END = re.compile(rb"\n\r?\n")
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
    fields: list[Field] = []
    bad: list[BadLine] = []
    scan_controls = len(header.translate(None, _CONTROL_BYTES)) != len(header)
    control: list[int] = []
    name = key = ""
    in_bad_field = False  # continuation lines of a field already reported as bad
    parts: list[bytes] = []
    start = 0
    lines = header.split(b"\n")
    if lines and lines[-1] in (b"", b"\r"):
        lines.pop()  # the header ended with a line break (no body, no empty line)
    for number, line in enumerate(lines, 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if scan_controls and len(line.translate(None, _CONTROL_BYTES)) != len(line):
            control.append(number)
        if line[:1] in (b" ", b"\t"):
            if parts:
                parts.append(line)
            elif not in_bad_field:
                bad.append(BadLine(number, None, "a continuation line with no header field above it"))
            continue
        if parts:
            fields.append(Field(name, key, b"".join(parts), start))
            parts = []
        in_bad_field = True
        colon = line.find(b":")
        if colon < 0:
            bad.append(BadLine(number, None, "a line with no colon: neither a header field nor a continuation"))
            continue
        raw_name = line[:colon].rstrip(b" \t")  # RFC 5322 4.5.8 obs-optional allows WSP before ':'
        if not raw_name:
            bad.append(BadLine(number, None, "a header field with an empty name"))
            continue
        if not _FIELD_NAME.fullmatch(raw_name):
            shown = raw_name.decode("utf-8", "replace")
            bad.append(BadLine(number, shown, f"the field name {shown!r} holds characters a field name cannot have "
                                              "(only printable ASCII except ':' and no spaces)"))
            continue
        in_bad_field = False
        name = raw_name.decode("ascii")
        key = name.lower()
        start = number
        parts = [line[colon + 1 :]]
    if parts:
        fields.append(Field(name, key, b"".join(parts), start))
    return HeaderSection(tuple(fields), tuple(bad), len(header), b"\x00" in header, tuple(control))
