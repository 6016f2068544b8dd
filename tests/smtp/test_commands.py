"""Parsing of MAIL/RCPT paths and parameters, BDAT and XCLIENT arguments."""

from __future__ import annotations

import pytest

from sandbox.smtp.commands import (
    BdatCommand, PathCommand, PathError, PathProblem, XclientCommand, parse_bdat, parse_path, parse_xclient,
)


@pytest.mark.parametrize("arg, expected", [
    ("FROM:<alice@example.com>", PathCommand("alice@example.com", {})),
    ("from: <alice@example.com> SIZE=100 BODY=8BITMIME", PathCommand("alice@example.com", {"SIZE": "100", "BODY": "8BITMIME"})),
    ("FROM:<>", PathCommand("", {})),
    ('FROM:<"john doe"@example.com>', PathCommand('"john doe"@example.com', {})),
    ("FROM:<@relay.example,@b.example:alice@example.com>", PathCommand("alice@example.com", {})),
    ("FROM:<alice@[192.0.2.1]>", PathCommand("alice@[192.0.2.1]", {})),
    ("FROM:<jörg@bücher.example> SMTPUTF8", PathCommand("jörg@bücher.example", {"SMTPUTF8": None})),
])
def test_valid_paths(arg, expected):
    assert parse_path(arg, "FROM", allow_null=True) == expected


@pytest.mark.parametrize("arg, error", [
    ("alice@example.com", PathError.SYNTAX),
    ("FROM alice@example.com", PathError.SYNTAX),
    ("FROM:alice@example.com", PathError.SYNTAX),
    ("FROM:<alice@example.com", PathError.SYNTAX),
    ("FROM:<(any@instagram.com>", PathError.ADDRESS),
    ("FROM:<alice>", PathError.ADDRESS),
    ("FROM:<alice@-bad-.example>", PathError.ADDRESS),
    ("FROM:<a..b@example.com>", PathError.ADDRESS),
    ("FROM:<alice@[300.1.1.1]>", PathError.ADDRESS),
    ("FROM:<jörg@example.com>", PathError.NON_ASCII),
    ("FROM:<alice@example.com> SIZE=", PathError.PARAMETER),
    ("FROM:<alice@example.com> SIZE=1 SIZE=2", PathError.PARAMETER),
    ("FROM:<alice@example.com>SIZE=1", PathError.PARAMETER),
])
def test_invalid_paths(arg, error):
    result = parse_path(arg, "FROM", allow_null=True)
    assert isinstance(result, PathProblem) and result.error is error


def test_null_path_only_for_mail():
    assert parse_path("TO:<>", "TO", allow_null=False) == PathProblem(PathError.ADDRESS, "")


@pytest.mark.parametrize("arg, expected", [
    ("1000", BdatCommand(1000, False)),
    ("0 LAST", BdatCommand(0, True)),
    ("12 last", BdatCommand(12, True)),
    ("", None), (None, None), ("x", None), ("-1", None), ("5 FIRST", None),
])
def test_bdat(arg, expected):
    assert parse_bdat(arg) == expected


def test_xclient():
    assert parse_xclient("ADDR=192.0.2.10 NAME=mail.example.com HELO=mail.example.com") == XclientCommand(
        "192.0.2.10", "mail.example.com", "mail.example.com")
    assert parse_xclient("ADDR=IPV6:2001:db8::1") == XclientCommand(addr="2001:db8::1")
    assert parse_xclient("NAME=[UNAVAILABLE]") == XclientCommand(name="")
    assert parse_xclient("HELO=a+20b") == XclientCommand(helo="a b")
    for bad in ("", "ADDR=nonsense", "LOGIN=x", "ADDR"):
        assert isinstance(parse_xclient(bad), str)
