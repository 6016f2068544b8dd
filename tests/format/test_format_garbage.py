"""Garbage in: the format check says ``unparseable`` (or names what is malformed) and
never raises, whatever the bytes; and it stays fast on big messages."""

from __future__ import annotations

import json
import random
import statistics
import time

import pytest

from policies.format import ISSUE_CODES, check_format

GOOD = (
    b"Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n"
    b"\tby mx.example.net with ESMTPS id 4Xk2; Mon, 01 Jan 2024 12:00:01 +0000\r\n"
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: Hello\r\n"
    b"Date: Mon, 01 Jan 2024 12:00:00 +0000\r\n"
    b"Message-ID: <20240101.abc@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
)


@pytest.mark.parametrize("message", [
    b"",
    b"   \r\n\t\r\n",
    b"\r\n\r\nFrom: alice@example.com\r\n",
    b"\nbody without any header\n",
    b"Hello Bob, this is just text\r\nwith no header fields at all\r\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
    b"From: alice@example.com\r\nSubject: a\x00b\r\n\r\n",
    bytes(range(1, 256)) * 8,
])
def test_unreadable_messages_are_unparseable(message: bytes) -> None:
    result = check_format(message)
    assert [issue.code for issue in result.issues] == ["unparseable"]
    assert (result.result, result.from_domain, result.message_id) == ("fail", None, None)
    assert result.fixes()[0].startswith("send a message that starts with RFC 5322 header fields")


def test_unparseable_says_why() -> None:
    assert check_format(b"").issues[0].detail == "the message is empty"
    assert "NUL" in check_format(b"Subject: \x00\r\n\r\n").issues[0].detail
    assert "starts with an empty line" in check_format(b"\r\nbody").issues[0].detail


def test_a_stray_first_line_before_real_headers_is_only_malformed() -> None:
    mbox = b"From alice@example.com Mon Jan  1 12:00:00 2024\r\n" + GOOD
    assert [issue.code for issue in check_format(mbox).issues] == ["malformed-header"]
    continuation_first = b"  folded nothing\r\n" + GOOD
    result = check_format(continuation_first)
    assert [(i.code, i.header) for i in result.issues] == [("malformed-header", None)]
    assert "continuation line with no header field above it" in result.issues[0].detail


def test_nul_in_the_body_is_not_the_header_checks_business() -> None:
    # BINARYMIME bodies may carry any octet; the format check reads the header only.
    assert check_format(GOOD + b"\x00\x01\x02 binary body").issues == ()


def test_invalid_utf8_everywhere_never_raises() -> None:
    message = (b"From: \xff\xfe <al\xe9ice@ex\xe4mple.com>\r\nTo: \xc3\x28@example.net\r\nSubject: \xed\xa0\x80\r\n"
               b"Message-ID: <\xff@\xfe>\r\nDate: \xff\r\n\r\n\xff\xfe")
    for smtputf8 in (False, True):
        result = check_format(message, smtputf8=smtputf8)
        found = {issue.code for issue in result.issues}
        assert {"non-ascii-header", "from-domain-invalid", "malformed-header"} <= found
        json.dumps(result.as_dict())


def test_random_bytes_and_mutations_never_raise() -> None:
    rng = random.Random(5322)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(300)]
    for _ in range(700):
        message = bytearray(GOOD + b"body\r\n")
        for _ in range(rng.randrange(1, 6)):
            at = rng.randrange(len(message))
            message[at:at + rng.randrange(0, 4)] = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 4)))
        samples.append(bytes(message))
    for message in samples:
        for smtputf8 in (False, True):
            result = check_format(message, smtputf8=smtputf8)
            assert result.result == ("fail" if result.issues else "pass")
            assert {issue.code for issue in result.issues} <= set(ISSUE_CODES)
            assert result.explain() and json.dumps(result.as_dict())


def _median_seconds(message: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        check_format(message)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_a_3kb_message_is_checked_in_well_under_a_millisecond() -> None:
    dkim = (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=mail;\r\n"
            b"\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb="
            + b"A" * 344 + b"\r\n")
    message = dkim + GOOD + b"Hello Bob, here is the news.\r\n" * 70
    assert 2800 <= len(message) <= 3300
    assert check_format(message).issues == ()
    # Typically ~40-60 us here; the bound leaves room for a loaded CI machine (pytest -n auto)
    # but catches a slow parser (the stdlib email package with policy.default takes ~250 us).
    assert _median_seconds(message, 300) < 0.0005


def test_a_10mb_body_costs_nothing_extra() -> None:
    big = GOOD + b"x" * 10_000_000
    assert check_format(big).issues == ()
    assert _median_seconds(big, 5) < 0.02


def test_10mb_without_an_empty_line_is_judged_in_reasonable_time() -> None:
    garbage = b"no header here " * 700_000
    start = time.perf_counter()
    result = check_format(garbage)
    assert [issue.code for issue in result.issues] == ["unparseable"]
    assert time.perf_counter() - start < 2.0
