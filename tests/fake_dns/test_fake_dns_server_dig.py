"""The server as the real `dig` (ISC BIND's client, Debian package dnsutils) sees it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from fake_dns import Faults, Zone, Zones

Serve = Callable[..., Any]  # the `serve` fixture
Dig = Callable[..., str]  # the `dig` fixture

ZONE = """\
$ORIGIN example.com.
@    TXT   "v=spf1 ip4:192.0.2.0/24 " "-all"
mx1  A     192.0.2.25
www  CNAME mx1
sel._domainkey TXT "v=DKIM1; p=abc"
"""


def _zones() -> Zones:
    zone = Zone.from_text(ZONE)
    for index in range(15):
        zone.add("big", "TXT", f"record-{index:02d}-" + "y" * 190)
    return Zones([zone])


def _dig(dig: Dig, *args: str) -> Callable[[str, int], str]:
    return lambda host, port: dig(host, port, *args)


def _header(output: str) -> tuple[str, set[str]]:
    status = re.search(r"status: (\w+)", output)
    flags = re.search(r";; flags: ([a-z ]+);", output)
    assert status and flags, output
    return status.group(1), set(flags.group(1).split())


def test_txt_answer(serve: Serve, dig: Dig) -> None:
    output = serve(_zones(), _dig(dig, "example.com", "TXT"))
    status, flags = _header(output)
    assert status == "NOERROR" and {"qr", "aa"} <= flags
    assert re.search(r'^example\.com\.\s+300\s+IN\s+TXT\s+"v=spf1 ip4:192.0.2.0/24 " "-all"$', output, re.M), output


def test_over_tcp_and_through_a_cname(serve: Serve, dig: Dig) -> None:
    output = serve(_zones(), _dig(dig, "+tcp", "www.example.com", "A"))
    assert "(TCP)" in output, output
    assert re.search(r"^www\.example\.com\.\s+300\s+IN\s+CNAME\s+mx1\.example\.com\.$", output, re.M), output
    assert re.search(r"^mx1\.example\.com\.\s+300\s+IN\s+A\s+192\.0\.2\.25$", output, re.M), output


@pytest.mark.parametrize(
    ("name", "status", "authority"),
    [
        ("nope.example.com", "NXDOMAIN", 1),
        ("mx1.example.com", "NOERROR", 1),
        ("_domainkey.example.com", "NOERROR", 1),
        ("example.org", "REFUSED", 0),
    ],
    ids=["nxdomain", "nodata", "empty-non-terminal", "refused"],
)
def test_negative_answers(serve: Serve, dig: Dig, name: str, status: str, authority: int) -> None:
    output = serve(_zones(), _dig(dig, name, "TXT"))
    got_status, flags = _header(output)
    assert got_status == status
    assert ("aa" in flags) == (status != "REFUSED")
    assert f"ANSWER: 0, AUTHORITY: {authority}," in output
    if authority:
        assert re.search(r"^example\.com\.\s+\d+\s+IN\s+SOA\s", output, re.M), output


def test_truncated_udp_answer_then_dig_retries_over_tcp(serve: Serve, dig: Dig) -> None:
    def client(host: str, port: int) -> tuple[str, str]:
        truncated = _dig(dig, "+noedns", "+ignore", "big.example.com", "TXT")(host, port)
        retried = _dig(dig, "+noedns", "big.example.com", "TXT")(host, port)
        return truncated, retried

    truncated, retried = serve(_zones(), client)
    assert "tc" in _header(truncated)[1]
    assert "ANSWER: 0," in truncated
    assert "Truncated, retrying in TCP mode" in retried
    assert len(re.findall(r"^big\.example\.com\.\s+300\s+IN\s+TXT\s", retried, re.M)) == 15
    assert "(TCP)" in retried


def test_large_edns_buffer_fits_without_tcp(serve: Serve, dig: Dig) -> None:
    output = serve(_zones(), _dig(dig, "+bufsize=4096", "big.example.com", "TXT"))
    assert "tc" not in _header(output)[1]
    assert "(UDP)" in output and "Truncated" not in output
    assert len(re.findall(r"^big\.example\.com\.\s+300\s+IN\s+TXT\s", output, re.M)) == 15


def test_faults(serve: Serve, dig: Dig) -> None:
    faults = Faults(["example.com/TXT=servfail", "mx1.example.com=timeout"])

    def client(host: str, port: int) -> tuple[str, str]:
        return _dig(dig, "example.com", "TXT")(host, port), _dig(dig, "mx1.example.com", "A")(host, port)

    servfail, timeout = serve(_zones(), client, faults)
    assert _header(servfail)[0] == "SERVFAIL"
    assert "timed out" in timeout and "status:" not in timeout, timeout


def test_question_letter_case_is_kept(serve: Serve, dig: Dig) -> None:
    output = serve(_zones(), _dig(dig, "Mx1.ExAmPlE.cOm", "A"))
    assert re.search(r"^;Mx1\.ExAmPlE\.cOm\.\s+IN\s+A$", output, re.M), output
    assert "192.0.2.25" in output
