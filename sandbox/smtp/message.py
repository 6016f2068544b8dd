"""The two things the SMTP side reads from or writes to a message itself.

The Message-ID is read for the store's index (the format check judges the header
properly); the provider's trace headers are written on top of accepted mail, as the
provider would add them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(?P<value>.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
FOLD_AT = 78


def message_id(message: bytes) -> str | None:
    """The first Message-ID field's value (unfolded, without spaces), or None."""
    end = _HEADER_END.search(message)
    header = message[: end.start()] if end else message
    match = _MESSAGE_ID.search(header)
    if match is None:
        return None
    value = b" ".join(match.group("value").split()).decode("utf-8", "replace")
    return value or None


def prepend_headers(message: bytes, headers: Iterable[tuple[str, str]]) -> bytes:
    """``message`` with ``headers`` (name, value) added in front, in the order given."""
    fields = b"".join(fold(name, value).encode("utf-8") + b"\r\n" for name, value in headers)
    return fields + message


def fold(name: str, value: str) -> str:
    """``name: value``, folded at spaces to lines of at most 78 characters where possible
    (RFC 5322 2.2.3); a value that already contains line breaks is kept as it is."""
    line = f"{name}: {value}"
    if len(line) <= FOLD_AT or "\n" in value:
        return line
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > FOLD_AT:
            out.append(current)
            current = " " + word if word else ""
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\r\n".join(out)
