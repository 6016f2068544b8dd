"""A broken zone file is an error that names the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_dns import Zone, ZoneError

GOOD_HEAD = '$ORIGIN example.com.\n$TTL 300\n@ TXT "v=spf1 -all"\n'


@pytest.mark.parametrize(
    ("text", "line", "problem", "shown"),
    [
        pytest.param(GOOD_HEAD + "www A 192.0.2.300\nmail A 192.0.2.1\n", 4, "malformed", "www A 192.0.2.300", id="bad-ipv4"),
        pytest.param(GOOD_HEAD + "www A 192.0.2.300", 4, "malformed", "www A 192.0.2.300", id="bad-ipv4-last-line-no-newline"),
        pytest.param(GOOD_HEAD + "\nwww AAAA 2001:db8::zz\n", 5, "malformed", "2001:db8::zz", id="bad-ipv6"),
        pytest.param(GOOD_HEAD + "www FOO bar\n", 4, "unknown rdatatype 'FOO'", "www FOO bar", id="unknown-type"),
        pytest.param(GOOD_HEAD + 'www TXT "abc\nmail A 192.0.2.1\n', 4, "quoted string", 'www TXT "abc', id="unterminated-quote"),
        pytest.param(
            GOOD_HEAD + "www.example.org. A 192.0.2.1\nmail A 192.0.2.1\n", 4,
            "www.example.org. is outside the zone example.com.", "www.example.org.", id="name-outside-origin",
        ),
        pytest.param(
            GOOD_HEAD + "$ORIGIN example.net.\nwww A 192.0.2.1\n", 5,
            "www.example.net. is outside the zone example.com.", "www A 192.0.2.1", id="second-origin-outside",
        ),
        pytest.param(GOOD_HEAD + "@ MX mail\n", 4, "expecting an integer", "@ MX mail", id="mx-without-preference"),
        pytest.param(GOOD_HEAD + "@ SOA ns1 host ( 1 2 3 4\n", 4, "unbalanced parentheses", "@ SOA", id="open-parenthesis"),
        pytest.param("$ORIGIN example.com.\n$TTL soon\n", 2, "TTL", "$TTL soon", id="bad-ttl"),
        pytest.param(GOOD_HEAD + "$INCLUDE /etc/hosts\n", 4, "$INCLUDE", "$INCLUDE", id="include-refused"),
        pytest.param(GOOD_HEAD + "foo..bar A 192.0.2.1\n", 4, "label is empty", "foo..bar", id="empty-label"),
    ],
)
def test_syntax_errors_name_file_line_and_problem(
    tmp_path: Path, text: str, line: int, problem: str, shown: str
) -> None:
    path = tmp_path / "broken.zone"
    path.write_text(text)
    with pytest.raises(ZoneError) as caught:
        Zone.from_file(path)
    error = caught.value
    assert error.source == str(path)
    assert error.line == line
    assert str(error).startswith(f"{path}:{line}: ")
    assert problem in error.problem
    assert shown in error.problem  # the offending line is quoted


def test_missing_origin_says_how_to_fix_it(tmp_path: Path) -> None:
    path = tmp_path / "no-origin.zone"
    path.write_text('@ TXT "v=spf1 -all"\n')
    with pytest.raises(ZoneError) as caught:
        Zone.from_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "$ORIGIN" in caught.value.problem and "`$ORIGIN example.com.`" in caught.value.problem


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.zone"
    path.write_bytes(GOOD_HEAD.encode() + 'www TXT "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ZoneError) as caught:
        Zone.from_file(path)
    assert caught.value.line == 4
    assert str(caught.value).startswith(f"{path}:4: not UTF-8 text")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ZoneError) as caught:
        Zone.from_file(tmp_path)  # a directory cannot be read as a zone file
    assert str(caught.value) == f"{tmp_path}: Is a directory"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.zone"
    with pytest.raises(ZoneError) as caught:
        Zone.from_file(path)
    assert str(caught.value) == f"{path}: no such zone file"


def test_soa_below_the_apex_is_refused_with_the_reason() -> None:
    with pytest.raises(ZoneError) as caught:
        Zone.from_text("$ORIGIN example.com.\nsub SOA ns1 host 1 2 3 4 5\n", source="sub.zone")
    assert str(caught.value).startswith("sub.zone: ")
    assert "SOA record belongs at the zone origin example.com." in caught.value.problem


def test_invalid_origin_argument() -> None:
    with pytest.raises(ZoneError) as caught:
        Zone.from_text("www A 192.0.2.1\n", origin="a..b", source="code")
    assert "not a valid domain name" in str(caught.value)


def test_line_numbers_count_from_the_files_own_first_line_when_ttl_and_origin_are_added() -> None:
    # No $TTL and no $ORIGIN line: the loader prepends both; line numbers must not shift.
    with pytest.raises(ZoneError) as caught:
        Zone.from_text("www A 192.0.2.1\nmail A 999.0.0.1\n", origin="example.com", source="t")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("rdtype", "text", "problem"),
    [("A", "192.0.2.300", "bad A record"), ("MX", "mail", "bad MX record"), ("TYPE99999", "x", "not a record type")],
)
def test_bad_records_added_in_code(rdtype: str, text: str, problem: str) -> None:
    zone = Zone.empty("example.com")
    with pytest.raises(ZoneError) as caught:
        zone.add("www", rdtype, text)
    assert problem in str(caught.value)


def test_record_outside_the_zone_added_in_code() -> None:
    zone = Zone.empty("example.com")
    with pytest.raises(ZoneError, match="www.example.org. is outside the zone example.com."):
        zone.add("www.example.org.", "A", "192.0.2.1")
