"""A signed message split into header fields and body, exactly as dkimpy splits it.

The signatures are verified against dkimpy's reading of the message (``rfc822_parse``:
header fields as ``[name, value]`` with every line ending CRLF, the body with every
line ending made CRLF), so that verdicts do not depend on which parser looked.
dkimpy's parser splits the *whole* message into lines only to find where the header
ends and to join the body back together, and looks up its regular expressions again
for every line. Here the usual message (field lines and folded continuations, then
a blank line) is read in one pass over the header block with compiled patterns and
its body taken as one slice, rewritten only when it has a bare LF. Anything else (no
blank line, a header block dkimpy refuses or reads its own way) is handed to dkimpy,
so it gives dkimpy's result or error.
"""

from __future__ import annotations

import re

import dkim

from policies.message import blank_line

#: A field line as dkimpy reads one: the name is everything up to the first colon.
_FIELD = re.compile(rb"([\x21-\x7e]+?):")


def split_message(message: bytes) -> tuple[list[list[bytes]], bytes]:
    """(header fields, body) as ``dkim.rfc822_parse(message)`` gives them.

    Raises what ``rfc822_parse`` raises on a header it cannot read (a
    ``dkim.MessageFormatError``, or an ``IndexError`` for a continuation line with no
    field before it).
    """
    blank = blank_line(message)
    if blank is None or message.startswith((b"\n", b"\r\n")):
        # No blank line, or one at the very top (no header at all).
        return dkim.rfc822_parse(message)
    header_end, body_start = blank
    fields: list[list[bytes]] = []
    for line in _lines(message[:header_end]):  # no line is empty before the blank one
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line + b"\r\n"
            continue
        field = _FIELD.match(line)
        if field is None:  # garbage, an mbox "From " line or a leading continuation
            return dkim.rfc822_parse(message)
        fields.append([field.group(1), line[field.end():] + b"\r\n"])
    body = message[body_start:]
    if body.count(b"\n") != body.count(b"\r\n"):  # a bare LF: end every line with CRLF
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return fields, body


def _lines(text: bytes) -> list[bytes]:
    """``text`` split at each CRLF or LF: what splitting at ``\\r?\\n`` gives, without a
    regular expression that steps through the text byte by byte."""
    return text.replace(b"\r\n", b"\n").split(b"\n")
