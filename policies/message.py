"""Where a message's header section ends, for DKIM, ARC and the store's Message-ID.

The regular expression ``\\r?\\n\\r?\\n`` says where it ends, but has no literal to
search for and steps through the text byte by byte (about 10 µs on a 3 KB message);
two ``bytes.find`` calls give the same answer. (The format check keeps its own
``\\n\\r?\\n`` search: it reads the header with its last line break, and that
expression starts with a literal.)
"""

from __future__ import annotations


def blank_line(message: bytes) -> tuple[int, int] | None:
    """Where the first blank line is, as (end of the header block, start of the body):
    where a line break (CRLF or LF) is followed at once by another one. None when
    there is none: the span ``re.search(rb"\\r?\\n\\r?\\n", message)`` would give."""
    crlf = message.find(b"\n\r\n")
    lf = message.find(b"\n\n", 0, None if crlf < 0 else crlf + 1)
    second = lf if lf >= 0 else crlf
    if second < 0:
        return None
    start = second - 1 if second > 0 and message[second - 1] == 0x0D else second
    return start, second + (2 if second == lf else 3)


def header_section(message: bytes) -> bytes:
    """The header block of ``message``: everything before the first blank line (all of
    it when there is none), as ``re.split(rb"\\r?\\n\\r?\\n", message, 1)[0]`` gives it."""
    blank = blank_line(message)
    return message if blank is None else message[: blank[0]]
