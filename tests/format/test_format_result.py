"""FormatResult as the rest of the sandbox sees it: no Authentication-Results clause,
an explanation, sender-side fixes, JSON."""

from __future__ import annotations

import json

from policies.format import FormatIssue, check_format
from policies.result import CheckResult

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"Subject: one\r\n"
    b"Subject: two\r\n"
    b"Message-ID: 12345@example.com\r\n"
    b"\r\n"
)


def test_result_is_a_check_result_without_an_auth_result() -> None:
    result = check_format(MESSAGE)
    assert isinstance(result, CheckResult)
    assert result.auth_result() is None


def test_issues_come_in_a_stable_order_with_headers_and_details() -> None:
    assert check_format(MESSAGE).issues == (
        FormatIssue("invalid-message-id", "Message-ID",
                    "Message-ID: '12345@example.com': it is not of the form <left@right>"),
        FormatIssue("missing-date", "Date", "there is no Date: header (RFC 5322 3.6 requires one)"),
        FormatIssue("duplicate-header", "Subject", "Subject: appears 2 times; RFC 5322 3.6 allows it once"),
    )


def test_explain_names_the_fields_the_from_address_and_each_issue() -> None:
    lines = check_format(MESSAGE).explain()
    assert lines[0] == "read the header section (92 octets): 4 fields (From, Subject, Subject, Message-ID)"
    assert lines[1] == "From: alice@example.com (From domain example.com)"
    assert "duplicate-header (G47): Subject: appears 2 times; RFC 5322 3.6 allows it once" in lines
    assert lines[-1] == "format=fail: 3 issues"
    clean = b"From: a@example.com\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <a@b>\r\n\r\n"
    assert check_format(clean).explain()[-1] == "format=pass: nothing a receiver refuses was found"


def test_fixes_are_concrete_and_name_the_header() -> None:
    assert check_format(MESSAGE).fixes() == [
        "write Message-ID as `<left@right>` with angle brackets, e.g. `Message-ID: <20240101.abc123@example.com>`",
        "add a Date header, e.g. `Date: Mon, 01 Jan 2024 12:00:00 +0000` (RFC 5322 requires it)",
        "send the Subject: header only once (RFC 5322 3.6 allows one)",
    ]


def test_as_dict_is_json() -> None:
    data = json.loads(json.dumps(check_format(MESSAGE).as_dict()))
    assert data["result"] == "fail"
    assert data["issues"][0] == {"code": "invalid-message-id", "header": "Message-ID",
                                 "detail": "Message-ID: '12345@example.com': it is not of the form <left@right>"}
    assert (data["from_domain"], data["message_id"]) == ("example.com", "12345@example.com")
    assert data["headers_seen"] == ["From", "Subject", "Subject", "Message-ID"]
