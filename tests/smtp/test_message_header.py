"""What the SMTP side reads from a message's header: the Message-ID for the store's
index, and where the header block ends (shared with DKIM and ARC; the format check reads
the header its own way, see policies/message.py); and how it folds the trace header
fields it writes."""

from __future__ import annotations

import random
import re

import pytest

from policies.message import header_section
from sandbox.smtp.message import FOLD_AT, fold, message_id

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


RECEIVED = ("from mail.example.org (mail.example.org. [198.51.100.25]) by mx.google.com with ESMTP id "
            "7b3333916d014-bc86c90881fsi808072970zs3.3888 for <user@gmail.com>; Tue, 08 Dec 2026 03:18:57 +0000")


def test_a_trace_field_folds_before_the_last_space_that_fits() -> None:
    assert fold("Received", RECEIVED).split("\r\n") == [
        "Received: from mail.example.org (mail.example.org. [198.51.100.25]) by",
        " mx.google.com with ESMTP id 7b3333916d014-bc86c90881fsi808072970zs3.3888 for",
        " <user@gmail.com>; Tue, 08 Dec 2026 03:18:57 +0000",
    ]
    assert fold("Subject", "short") == "Subject: short"
    assert fold("X", "a\r\n b" + " c" * 50) == "X: a\r\n b" + " c" * 50  # already folded: kept


def _words_greedily(line: str) -> list[str]:
    """The rule stated word by word: a word joins the line while the line stays within the limit."""
    lines = [""]
    for word in line.split(" "):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > FOLD_AT:
            lines.append(" " + word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return lines


def test_folding_agrees_with_greedy_word_packing_and_unfolds_to_the_line() -> None:
    """Generated values with words of every length around the limit, single spaces
    between them: each line is the greedy packing's, and removing the CRLFs gives the
    field back. Double spaces and over-long words too: every continuation line starts
    with a space, so the field stays one field."""
    rng = random.Random(7)
    for _ in range(20_000):
        words = ["w" * rng.choice([1, 2, 5, 13, 40, 76, 77, 78, 79, 120]) for _ in range(rng.randint(1, 25))]
        name = rng.choice(["Received", "X", "A" * 90])
        line = f"{name}: {' '.join(words)}"
        assert fold(name, " ".join(words)).split("\r\n") == _words_greedily(line)
        value = rng.choice([" ", "  ", "   "]).join(words)
        folded = fold(name, value)
        assert folded.replace("\r\n", "") == f"{name}: {value}"
        assert all(line.startswith(" ") for line in folded.split("\r\n")[1:]), folded
