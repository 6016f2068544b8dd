"""What the SMTP side reads from a message's header: the Message-ID for the store's
index, and where the header block ends (shared with DKIM and ARC; the format check reads
the header its own way, see policies/message.py)."""

from __future__ import annotations

import random
import re

import pytest

from policies.message import header_section
from sandbox.smtp.message import message_id

# The plain statement of both rules, which the implementations must agree with.
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(?P<value>.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def _by_regex(message: bytes) -> str | None:
    found = _MESSAGE_ID.search(_HEADER_END.split(message, 1)[0])
    if found is None:
        return None
    return b" ".join(found.group("value").split()).decode("utf-8", "replace") or None


@pytest.mark.parametrize("message, expected", [
    (b"Message-ID: <a@b>\r\n\r\nbody", "<a@b>"),
    (b"Subject: x\r\nmessage-id   :\r\n  <folded@b>\r\n\r\n", "<folded@b>"),
    (b"X-Message-ID: <not@this>\r\nMESSAGE-ID: <this@one>\r\n\r\n", "<this@one>"),
    (b"Subject: x\r\n\r\nMessage-ID: <in@body>\r\n", None),
    (b"Message-ID:\r\n\r\n", None),
    (b"Message-ID: <first@b>\r\nMessage-ID: <second@b>\r\n\r\n", "<first@b>"),
    (b"Message-ID: <a@b>\nSubject: bare LF\n\n", "<a@b>"),
    (b"Subject: no body at all\r\nMessage-Id: <end@b>", "<end@b>"),
    (b"Message-ID: <\xff@b>\r\n\r\n", "<\ufffd@b>"),
])
def test_message_id_cases(message: bytes, expected: str | None) -> None:
    assert message_id(message) == expected


def test_message_id_agrees_with_the_regular_expression_on_generated_headers() -> None:
    rng = random.Random(5)
    alphabet = [b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b"Message-ID", b"message-id", b"MESSAGE-ID", b"<a@b>",
                b"x", b"\r\n\r\n", b"Message-Id :", b"\xff"]
    for _ in range(100_000):
        message = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert message_id(message) == _by_regex(message), message


def test_header_section_agrees_with_the_regular_expression_on_generated_messages() -> None:
    rng = random.Random(6)
    for _ in range(50_000):
        message = b"".join(rng.choice([b"\r", b"\n", b"a", b"\r\n"]) for _ in range(rng.randint(0, 12)))
        assert header_section(message) == _HEADER_END.split(message, 1)[0], message
