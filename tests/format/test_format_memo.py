"""The memoised helpers answer exactly as the plain functions do, and long inputs stay out of the cache."""

from policies.format import check_format
from policies.format.memo import memoise_short


def test_short_inputs_are_answered_from_the_cache_and_long_ones_are_not() -> None:
    calls: list[str] = []

    @memoise_short(max_len=5, maxsize=4)
    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert [upper("abc"), upper("abc"), upper("abcdefg"), upper("abcdefg")] == ["ABC", "ABC", "ABCDEFG", "ABCDEFG"]
    assert calls == ["abc", "abcdefg", "abcdefg"]


def test_a_repeated_message_gets_the_same_verdict_each_time() -> None:
    message = (b"From: Sender <news@Example.ORG>\r\nTo: <u@example.com>\r\nDate: Mon, 23 Nov 2026 16:59:03 -0000\r\n"
               b"Message-ID: <a@example.org>\r\n\r\nbody\r\n")
    first, second = check_format(message), check_format(message)
    assert first == second and first.result == "pass" and first.from_domain == "example.org"
    bad = message.replace(b"Example.ORG", b"localhost")
    assert [issue.code for issue in check_format(bad).issues] == ["from-domain-invalid"]
    assert check_format(message).from_domain == "example.org"
