"""Each format issue code: a minimal message that triggers it, and a near miss that does not."""

from __future__ import annotations

import pytest

from policies.format import ISSUE_CODES, FormatResult, check_format

GOOD = (
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: Hello\r\n"
    b"Date: Mon, 01 Jan 2024 12:00:00 +0000\r\n"
    b"Message-ID: <20240101.abc@example.com>\r\n"
    b"\r\n"
    b"Hello Bob.\r\n"
)


def edit(old: bytes, new: bytes, message: bytes = GOOD) -> bytes:
    assert old in message
    return message.replace(old, new, 1)


def codes(message: bytes, **options: bool) -> list[tuple[str, str | None]]:
    return [(issue.code, issue.header) for issue in check_format(message, **options).issues]


def test_a_good_message_passes() -> None:
    result = check_format(GOOD)
    assert (result.result, result.issues) == ("pass", ())
    assert (result.from_addresses, result.from_domain, result.message_id) == (
        ("alice@example.com",), "example.com", "<20240101.abc@example.com>")
    assert result.headers_seen == ("From", "To", "Subject", "Date", "Message-ID")


# Every case: (code, message that triggers it, the issue's header, a near miss that passes).
CASES = [
    ("missing-from", edit(b"From: Alice Example <alice@example.com>\r\n", b""), "From",
     edit(b"From: Alice Example <alice@example.com>\r\n", b"FROM: alice@example.com\r\n")),
    ("from-no-valid-address", edit(b"Alice Example <alice@example.com>", b"Alice Example"), "From",
     edit(b"Alice Example <alice@example.com>", b"alice@example.com (Alice Example)")),
    ("from-no-valid-address", edit(b"Alice Example <alice@example.com>", b""), "From",
     edit(b"Alice Example <alice@example.com>", b'"Example, Alice" <alice@example.com>')),
    ("from-no-valid-address", edit(b"Alice Example <alice@example.com>", b"undisclosed-recipients:;"), "From",
     edit(b"Alice Example <alice@example.com>", b'"Alice: Example" <alice@example.com>')),
    ("from-no-valid-address", edit(b"Alice Example <alice@example.com>", b"<alice.@example.com>"), "From",
     edit(b"Alice Example <alice@example.com>", b'<"alice."@example.com>')),
    ("multiple-from-addresses", edit(b"Alice Example <alice@example.com>", b"alice@example.com, bob@example.com"),
     "From", edit(b"Alice Example <alice@example.com>", b"alice@example.com (bob@example.com, carol)")),
    ("multiple-from-headers", edit(b"To:", b"From: carol@example.org\r\nTo:"), "From",
     edit(b"To:", b"Sender: carol@example.org\r\nTo:")),
    ("from-domain-invalid", edit(b"alice@example.com", b"alice@exa_mple.com"), "From",
     edit(b"alice@example.com", b"alice@exa-mple.com")),
    ("from-domain-invalid", edit(b"alice@example.com", b"alice@localhost"), "From",
     edit(b"alice@example.com", b"alice@mail.localhost")),
    ("from-domain-invalid", edit(b"alice@example.com", b"alice@[192.0.2.1]"), "From",
     edit(b"alice@example.com", b"alice@example.co.uk")),
    ("from-domain-invalid", edit(b"alice@example.com", b"alice@example.com."), "From",
     edit(b"alice@example.com", b"alice@EXAMPLE.com")),
    ("from-domain-invalid", edit(b"alice@example.com", b"alice@-example.com"), "From",
     edit(b"alice@example.com", b"alice@xn--bcher-kva.example")),
    ("missing-message-id", edit(b"Message-ID: <20240101.abc@example.com>\r\n", b""), "Message-ID",
     edit(b"Message-ID:", b"Message-Id:")),
    ("invalid-message-id", edit(b"<20240101.abc@example.com>", b"20240101.abc@example.com"), "Message-ID",
     edit(b"<20240101.abc@example.com>", b" <20240101.abc@example.com> (generated)")),
    ("invalid-message-id", edit(b"<20240101.abc@example.com>", b"<20240101.abc>"), "Message-ID",
     edit(b"<20240101.abc@example.com>", b"<20240101.abc@[192.0.2.1]>")),
    ("invalid-message-id", edit(b"<20240101.abc@example.com>", b""), "Message-ID",
     edit(b"<20240101.abc@example.com>", b'<"quoted left"@example.com>')),
    ("missing-date", edit(b"Date: Mon, 01 Jan 2024 12:00:00 +0000\r\n", b""), "Date",
     edit(b"Date: Mon, 01 Jan 2024 12:00:00 +0000", b"Date: 1 Jan 24 12:00 GMT")),
    ("duplicate-header", edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nSubject: Again\r\n"), "Subject",
     edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nComments: a\r\nComments: b\r\n")),
    ("duplicate-header", edit(b"Message-ID: <20240101.abc@example.com>\r\n",
                              b"Message-ID: <20240101.abc@example.com>\r\nmessage-id: <x@example.com>\r\n"),
     "Message-ID", edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nResent-Message-ID: <y@example.com>\r\n")),
    ("duplicate-header", edit(b"To: Bob <bob@example.net>\r\n", b"To: Bob <bob@example.net>\r\nTo: c@example.net\r\n"),
     "To", edit(b"To: Bob <bob@example.net>\r\n", b"To: Bob <bob@example.net>,\r\n c@example.net\r\n")),
    ("malformed-header", edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nThis line has no colon\r\n"), None,
     edit(b"Subject: Hello\r\n", b"Subject: Hello\r\n this line continues the subject\r\n")),
    ("malformed-header", edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nX Mailer: me\r\n"), "X Mailer",
     edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nX-Mailer : me\r\n")),
    ("malformed-header", edit(b"Subject: Hello\r\n", b"Subject: Hello\r\n: empty name\r\n"), None,
     edit(b"Subject: Hello\r\n", b"Subject: Hello\r\nX-Empty:\r\n")),
    ("malformed-header", edit(b"Mon, 01 Jan 2024 12:00:00 +0000", b"yesterday at noon"), "Date",
     edit(b"Mon, 01 Jan 2024 12:00:00 +0000", b"Mon,  1 Jan 2024 12:00:00 +0000 (UTC)")),
    ("malformed-header", edit(b"Mon, 01 Jan 2024 12:00:00 +0000", b"Thu, 31 Feb 2024 12:00:00 +0000"), "Date",
     edit(b"Mon, 01 Jan 2024 12:00:00 +0000", b"Thu, 29 Feb 2024 23:59:60 -0800")),
    ("malformed-header", edit(b"12:00:00 +0000", b"12:00:00"), "Date", edit(b"12:00:00 +0000", b"12:00:00 UTC")),
    ("malformed-header", edit(b"Alice Example <alice@example.com>", b'"Alice <alice@example.com>'), "From",
     edit(b"Alice Example <alice@example.com>", b'"Alice \\" Example" <alice@example.com>')),
    ("malformed-header", edit(b"Subject: Hello", b"Subject: Hel\x1blo"), "Subject",
     edit(b"Subject: Hello", b"Subject: Hel\tlo")),
    ("encoded-word-not-allowed", edit(b"alice@example.com", b"=?utf-8?q?alice?=@example.com"), "From",
     edit(b"Alice Example", b"=?utf-8?q?Alice_J=C3=B6rg?=")),
    ("encoded-word-not-allowed", edit(b"<20240101.abc@example.com>", b"<=?utf-8?q?abc?=@example.com>"),
     "Message-ID", edit(b"Subject: Hello", b"Subject: =?utf-8?q?Hello_J=C3=B6rg?=")),
    ("encoded-word-not-allowed", edit(b"<bob@example.net>", b"<=?utf-8?b?Ym9i?=@example.net>"), "To",
     edit(b"Bob <bob@example.net>", b"=?utf-8?b?Qm9i?= <bob@example.net> (=?utf-8?q?note?=)")),
    ("non-ascii-header", edit(b"Subject: Hello", "Subject: Grüße".encode()), "Subject",
     edit(b"Subject: Hello", b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=")),
]


@pytest.mark.parametrize(("code", "message", "header", "near_miss"), CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)])
def test_issue_and_near_miss(code: str, message: bytes, header: str | None, near_miss: bytes) -> None:
    found = codes(message)
    assert (code, header) in found, check_format(message).explain()
    assert check_format(message).result == "fail"
    assert check_format(near_miss).issues == (), check_format(near_miss).explain()


def test_every_issue_code_is_covered() -> None:
    covered = {case[0] for case in CASES} | {"unparseable"}
    assert covered == set(ISSUE_CODES)


def test_two_from_headers_give_no_from_domain() -> None:
    result = check_format(edit(b"To:", b"From: carol@example.org\r\nTo:"))
    assert result.from_domain is None
    assert result.from_addresses == ("alice@example.com", "carol@example.org")
    assert ("duplicate-header", "From") not in codes(edit(b"To:", b"From: carol@example.org\r\nTo:"))


def test_two_from_addresses_of_one_domain_keep_the_domain() -> None:
    result = check_format(edit(b"Alice Example <alice@example.com>", b"a@example.com, b@Example.com"))
    assert result.from_domain == "example.com"  # RFC 9989 5.3.1: one Author Domain


def test_from_domain_is_lower_case_a_labels() -> None:
    message = edit(b"alice@example.com", "alice@Bücher.Example".encode())
    result = check_format(message, smtputf8=True)
    assert (result.issues, result.from_domain) == ((), "xn--bcher-kva.example")
    assert codes(message) == [("non-ascii-header", "From")]


def test_group_in_from_contributes_its_members() -> None:
    result = check_format(edit(b"Alice Example <alice@example.com>", b"Team: alice@example.com;"))
    assert (result.issues, result.from_addresses) == ((), ("alice@example.com",))


def test_smtputf8_allows_utf8_but_not_invalid_utf8() -> None:
    utf8 = edit(b"Subject: Hello", "Subject: Grüße".encode())
    assert check_format(utf8, smtputf8=True).issues == ()
    invalid = edit(b"Subject: Hello", b"Subject: Gr\xfc\xdfe")
    for smtputf8 in (False, True):
        issues = check_format(invalid, smtputf8=smtputf8).issues
        assert [(i.code, i.header) for i in issues] == [("non-ascii-header", "Subject")]
    assert "not valid UTF-8" in check_format(invalid, smtputf8=True).issues[0].detail


def test_non_ascii_is_reported_once_per_field_name() -> None:
    message = edit(b"Subject: Hello\r\n", "Subject: Grüße\r\nComments: é\r\nComments: è\r\n".encode())
    assert codes(message) == [("non-ascii-header", "Subject"), ("non-ascii-header", "Comments")]


def test_header_only_message_without_body_passes() -> None:
    header_only = GOOD.split(b"\r\n\r\n")[0] + b"\r\n"
    assert check_format(header_only).issues == ()
    assert check_format(header_only.rstrip(b"\r\n")).issues == ()


def test_bare_lf_line_ends_are_read_too() -> None:
    assert check_format(GOOD.replace(b"\r\n", b"\n")).issues == ()


def test_folded_from_is_unfolded() -> None:
    result = check_format(edit(b"Alice Example <alice@example.com>", b"Alice Example\r\n\t<alice@example.com>"))
    assert (result.issues, result.from_addresses) == ((), ("alice@example.com",))


def test_an_issue_per_duplicated_field_and_message_id_of_the_first() -> None:
    message = edit(b"Message-ID: <20240101.abc@example.com>\r\n",
                   b"Message-ID: <first@example.com>\r\nMessage-ID: <second@example.com>\r\n")
    result: FormatResult = check_format(message)
    assert result.message_id == "<first@example.com>"
    assert [issue.detail for issue in result.issues] == ["Message-ID: appears 2 times; RFC 5322 3.6 allows it once"]
