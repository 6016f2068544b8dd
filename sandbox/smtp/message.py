"""The two things the SMTP side reads from or writes to a message itself.

The Message-ID is read for the store's index (the format check judges the header
properly); the provider's trace headers are written on top of accepted mail, as the
provider would add them.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.message import header_section

FOLD_AT = 78
_NAME = b"message-id"


def message_id(message: bytes) -> str | None:
    """The first Message-ID field's value (unfolded, without spaces), or None.

    What ``(?im)^message-id[ \\t]*:(.*(?:\\r?\\n[ \\t].*)*)`` finds in the header block,
    by searching for the name in a lower-cased copy: the regular expression, with no
    literal it can search for case-insensitively, costs four times as much."""
    header = header_section(message)
    lowered = header.lower()
    found = lowered.find(_NAME)
    while found >= 0:
        if found == 0 or header[found - 1] == 0x0A:  # at the start of a line
            colon = found + len(_NAME)
            while header[colon:colon + 1] in (b" ", b"\t"):
                colon += 1
            if header[colon:colon + 1] == b":":
                value = b" ".join(header[colon + 1:_field_end(header, colon)].split())
                return value.decode("utf-8", "replace") or None
        found = lowered.find(_NAME, found + 1)
    return None


def _field_end(header: bytes, start: int) -> int:
    """Where the field whose line holds ``start`` ends: before the line break that is
    not followed by a continuation line (space or tab), or at the end of ``header``."""
    end = header.find(b"\n", start)
    while end >= 0 and header[end + 1:end + 2] in (b" ", b"\t"):
        end = header.find(b"\n", end + 1)
    return len(header) if end < 0 else end


def prepend_headers(message: bytes, headers: Iterable[tuple[str, str]]) -> bytes:
    """``message`` with ``headers`` (name, value) added in front, in the order given."""
    fields = b"".join(fold(name, value).encode("utf-8") + b"\r\n" for name, value in headers)
    return fields + message


def fold(name: str, value: str) -> str:
    """``name: value``, folded at spaces to lines of at most 78 characters where possible
    (RFC 5322 2.2.3); a value that already contains line breaks is kept as it is.

    Each break goes before the last space that keeps its line within the limit (a
    word longer than the limit stays whole), so every continuation line starts with
    that space and unfolding gives the line back. Found with ``str.rfind``, one step
    per line rather than one per word: four trace headers are folded per message."""
    line = f"{name}: {value}"
    if len(line) <= FOLD_AT or "\n" in value:
        return line
    out: list[str] = []
    start = 0
    while len(line) - start > FOLD_AT:
        cut = line.rfind(" ", start + 1, start + FOLD_AT + 1)
        if cut < 0:  # no space within the limit: break after the long word
            cut = line.find(" ", start + FOLD_AT + 1)
            if cut < 0:
                break
        out.append(line[start:cut])
        start = cut
    out.append(line[start:])
    return "\r\n".join(out)
