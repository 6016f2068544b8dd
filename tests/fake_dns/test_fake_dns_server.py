"""The authoritative server over real UDP and TCP sockets, queried with dnspython."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.update
import pytest

from fake_dns import Faults, Zone, Zones
from fake_dns.server import DnsServer

Serve = Callable[..., Any]  # the `serve` fixture

ZONE = """\
$ORIGIN example.com.
$TTL 3600
@          SOA   ns1 hostmaster 7 3600 600 86400 120
@          NS    ns1
@          TXT   "v=spf1 " "-all"
@          MX    10 mx1
ns1        A     192.0.2.53
mx1        A     192.0.2.25
www        CNAME web
web        CNAME mx1
dangling   CNAME gone
outside    CNAME host.example.org.
loop1      CNAME loop2
loop2      CNAME loop1
alias-slow CNAME slow
slow       A     192.0.2.99
sel._domainkey TXT "v=DKIM1; p=abc"
"""
BIG_TXT_COUNT = 15
BIG_TXT = "x" * 200
TIMEOUT = 2.0


def _zones() -> Zones:
    zone = Zone.from_text(ZONE)
    for index in range(BIG_TXT_COUNT):
        zone.add("big", "TXT", f"{index:02d}{BIG_TXT}")
    return Zones([zone])


def _udp(name: str, rdtype: str, **query_args: Any) -> Callable[[str, int], dns.message.Message]:
    return lambda host, port: dns.query.udp(
        dns.message.make_query(name, rdtype, **query_args), host, port=port, timeout=TIMEOUT
    )


def _tcp(name: str, rdtype: str, **query_args: Any) -> Callable[[str, int], dns.message.Message]:
    return lambda host, port: dns.query.tcp(
        dns.message.make_query(name, rdtype, **query_args), host, port=port, timeout=TIMEOUT
    )


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def _texts(response: dns.message.Message) -> list[str]:
    return [rdata.to_text() for rrset in response.answer for rdata in rrset]


def _soa_in_authority(response: dns.message.Message) -> bool:
    return [(r.name.to_text(), r.rdtype) for r in response.authority] == [("example.com.", dns.rdatatype.SOA)]


@pytest.mark.parametrize("query", [_udp, _tcp], ids=["udp", "tcp"])
@pytest.mark.parametrize("edns", [-1, 0], ids=["no-edns", "edns"])
def test_authoritative_answer(serve: Serve, query: Callable[..., Any], edns: int) -> None:
    response = serve(_zones(), query("example.com", "TXT", use_edns=edns))
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA and not response.flags & dns.flags.TC
    assert _texts(response) == ['"v=spf1 " "-all"']
    assert response.answer[0].ttl == 3600
    assert response.edns == edns  # EDNS in the reply exactly when the query had it


def test_nxdomain_carries_the_soa_with_the_negative_ttl(serve: Serve) -> None:
    response = serve(_zones(), _udp("nope.example.com", "A"))
    assert response.rcode() == dns.rcode.NXDOMAIN and response.flags & dns.flags.AA
    assert response.answer == [] and _soa_in_authority(response)
    assert response.authority[0].ttl == 120  # RFC 2308: min(SOA TTL 3600, MINIMUM 120)


def test_nodata_carries_the_soa(serve: Serve) -> None:
    response = serve(_zones(), _udp("mx1.example.com", "TXT"))
    assert response.rcode() == dns.rcode.NOERROR and response.flags & dns.flags.AA
    assert response.answer == [] and _soa_in_authority(response)


def test_empty_non_terminal_is_nodata_not_nxdomain(serve: Serve) -> None:
    response = serve(_zones(), _udp("_domainkey.example.com", "TXT"))
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == [] and _soa_in_authority(response)


def test_names_outside_every_zone_are_refused_not_recursed(serve: Serve) -> None:
    response = serve(_zones(), _udp("www.example.org", "A"))
    assert response.rcode() == dns.rcode.REFUSED
    assert not response.flags & dns.flags.AA and not response.flags & dns.flags.RA
    assert response.answer == [] and response.authority == []


def test_cname_chain_inside_the_zones_is_in_the_answer(serve: Serve) -> None:
    response = serve(_zones(), _udp("www.example.com", "A"))
    assert response.rcode() == dns.rcode.NOERROR
    assert [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype)) for r in response.answer] == [
        ("www.example.com.", "CNAME"),
        ("web.example.com.", "CNAME"),
        ("mx1.example.com.", "A"),
    ]
    assert _texts(response)[-1] == "192.0.2.25"


def test_cname_to_a_missing_name_is_nxdomain_with_the_cname(serve: Serve) -> None:
    response = serve(_zones(), _udp("dangling.example.com", "A"))
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert _texts(response) == ["gone.example.com."] and _soa_in_authority(response)


def test_cname_leaving_the_zones_ends_the_answer(serve: Serve) -> None:
    response = serve(_zones(), _udp("outside.example.com", "A"))
    assert response.rcode() == dns.rcode.NOERROR and response.flags & dns.flags.AA
    assert _texts(response) == ["host.example.org."] and response.authority == []


def test_cname_loop_is_servfail(serve: Serve) -> None:
    response = serve(_zones(), _udp("loop1.example.com", "A"))
    assert response.rcode() == dns.rcode.SERVFAIL and response.answer == []


def test_query_for_the_cname_type_is_not_chased(serve: Serve) -> None:
    response = serve(_zones(), _udp("www.example.com", "CNAME"))
    assert _texts(response) == ["web.example.com."]


def test_any_query_returns_every_record_set_of_the_name(serve: Serve) -> None:
    response = serve(_zones(), _udp("example.com", "ANY", use_edns=0))
    types = sorted(dns.rdatatype.to_text(r.rdtype) for r in response.answer)
    assert types == ["MX", "NS", "SOA", "TXT"]


def test_question_case_is_echoed_and_lookups_ignore_case(serve: Serve) -> None:
    asked = "MX1.eXaMpLe.CoM."
    response = serve(_zones(), _udp(asked, "A"))
    assert response.question[0].name.to_text() == asked  # 0x20: exact letters back
    assert response.answer[0].name.to_text() == asked
    assert _texts(response) == ["192.0.2.25"]


def test_truncation_over_udp_and_full_answer_over_tcp(serve: Serve) -> None:
    def client(host: str, port: int) -> dict[str, dns.message.Message]:
        return {
            "plain": _udp("big.example.com", "TXT", use_edns=-1)(host, port),
            "small-edns": _udp("big.example.com", "TXT", use_edns=0, payload=1232)(host, port),
            "large-edns": _udp("big.example.com", "TXT", use_edns=0, payload=4096)(host, port),
            "tcp": _tcp("big.example.com", "TXT")(host, port),
        }

    replies = serve(_zones(), client)
    for key in ("plain", "small-edns"):
        assert replies[key].flags & dns.flags.TC, key
        assert replies[key].answer == [], key
        assert len(replies[key].to_wire()) <= (512 if key == "plain" else 1232)
    assert replies["plain"].edns == -1 and replies["small-edns"].edns == 0
    for key in ("large-edns", "tcp"):
        assert not replies[key].flags & dns.flags.TC, key
        assert len(_texts(replies[key])) == BIG_TXT_COUNT, key
    assert len(replies["large-edns"].to_wire()) > 1232


def test_several_queries_on_one_tcp_connection(serve: Serve) -> None:
    queries = [dns.message.make_query(name, "A") for name in ("mx1.example.com", "ns1.example.com", "nope.example.com")]

    def client(host: str, port: int) -> list[dns.message.Message]:
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            # Pipelined: all three go out before any answer is read (RFC 7766 6.2.1.1).
            sock.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in queries)))
            return [dns.query.receive_tcp(sock, expiration=None)[0] for _ in queries]

    replies = serve(_zones(), client)
    assert [r.id for r in replies] == [q.id for q in queries]
    assert _texts(replies[0]) == ["192.0.2.25"] and _texts(replies[1]) == ["192.0.2.53"]
    assert replies[2].rcode() == dns.rcode.NXDOMAIN


@pytest.mark.parametrize("query", [_udp, _tcp], ids=["udp", "tcp"])
def test_servfail_fault(serve: Serve, query: Callable[..., Any]) -> None:
    response = serve(_zones(), query("example.com", "TXT"), Faults(["example.com/TXT=servfail"]))
    assert response.rcode() == dns.rcode.SERVFAIL
    assert response.answer == [] and not response.flags & dns.flags.AA


def test_timeout_fault_is_silence_and_other_types_still_answer(serve: Serve) -> None:
    def client(host: str, port: int) -> dns.message.Message:
        with pytest.raises(dns.exception.Timeout):
            dns.query.udp(dns.message.make_query("example.com", "TXT"), host, port=port, timeout=0.5)
        with pytest.raises(dns.exception.Timeout):
            dns.query.tcp(dns.message.make_query("example.com", "TXT"), host, port=port, timeout=0.5)
        return _udp("example.com", "MX")(host, port)

    response = serve(_zones(), client, Faults(["example.com/TXT=timeout"]))
    assert _texts(response) == ["10 mx1.example.com."]


def test_faults_apply_to_names_without_records_and_to_cname_targets(serve: Serve) -> None:
    def client(host: str, port: int) -> tuple[dns.message.Message, dns.message.Message]:
        with pytest.raises(dns.exception.Timeout):
            dns.query.udp(dns.message.make_query("alias-slow.example.com", "A"), host, port=port, timeout=0.5)
        return _udp("nothing.example.com", "A")(host, port), _udp("slow.example.com", "TXT")(host, port)

    faults = Faults(["slow.example.com/A=timeout", "nothing.example.com=servfail"])
    no_records, other_type = serve(_zones(), client, faults)
    assert no_records.rcode() == dns.rcode.SERVFAIL
    assert other_type.rcode() == dns.rcode.NOERROR and _soa_in_authority(other_type)


def test_reload_takes_effect_without_restart(serve: Serve) -> None:
    zones = _zones()

    def client(host: str, port: int) -> tuple[dns.message.Message, dns.message.Message]:
        before = _udp("example.com", "TXT")(host, port)
        zones.replace(Zones([Zone.from_text('$ORIGIN example.com.\n@ TXT "v=spf1 ip4:192.0.2.1 -all"\n')]))
        return before, _udp("example.com", "TXT")(host, port)

    before, after = serve(zones, client)
    assert _texts(before) == ['"v=spf1 " "-all"']
    assert _texts(after) == ['"v=spf1 ip4:192.0.2.1 -all"']


def test_garbage_over_udp_and_tcp_does_not_stop_the_server(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    # A query header (id 0x1234, RD, one question), then bytes that are no question.
    garbage = bytes.fromhex("1234 0100 0001 0000 0000 0000") + b"\xff" * 30

    def client(host: str, port: int) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(TIMEOUT)
            udp.sendto(b"\x01\x02\x03", (host, port))  # too short for a header: dropped
            udp.sendto(garbage, (host, port))
            seen["udp"] = udp.recv(65535)
        with socket.create_connection((host, port), timeout=TIMEOUT) as tcp:
            tcp.sendall(struct.pack("!H", len(garbage)) + garbage)
            (length,) = struct.unpack("!H", _recv_exactly(tcp, 2))
            seen["tcp"] = _recv_exactly(tcp, length)
        with socket.create_connection((host, port), timeout=TIMEOUT) as tcp:
            tcp.sendall(b"\x00\x40half a message, then the client hangs up")
        seen["after-udp"] = _udp("mx1.example.com", "A")(host, port)
        seen["after-tcp"] = _tcp("mx1.example.com", "A")(host, port)
        return seen

    with caplog.at_level(logging.INFO, logger="fake_dns.server"):
        seen = serve(_zones(), client)
    for transport in ("udp", "tcp"):
        reply_id, flags = struct.unpack("!HH", seen[transport][:4])
        assert reply_id == struct.unpack("!H", garbage[:2])[0]
        assert flags & dns.flags.QR and flags & 0xF == dns.rcode.FORMERR, transport
    assert _texts(seen["after-udp"]) == ["192.0.2.25"] and _texts(seen["after-tcp"]) == ["192.0.2.25"]
    logged = caplog.text
    assert "too short for a DNS header" in logged
    assert "FORMERR to a malformed query" in logged
    assert "truncated TCP message" in logged


def test_responses_sent_to_the_server_are_ignored(serve: Serve) -> None:
    def client(host: str, port: int) -> dns.message.Message:
        response = dns.message.make_response(dns.message.make_query("example.com", "A"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.5)
            udp.sendto(response.to_wire(), (host, port))
            with pytest.raises(TimeoutError):
                udp.recv(65535)
        return _udp("mx1.example.com", "A")(host, port)

    assert _texts(serve(_zones(), client)) == ["192.0.2.25"]


def test_unsupported_opcode_is_notimp(serve: Serve) -> None:
    def client(host: str, port: int) -> list[dns.message.Message]:
        update = dns.update.UpdateMessage("example.com")
        update.add("www", 300, "A", "192.0.2.9")
        notify = dns.message.make_query("example.com", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        return [dns.query.udp(m, host, port=port, timeout=TIMEOUT) for m in (update, notify)]

    for response in serve(_zones(), client):
        assert response.rcode() == dns.rcode.NOTIMP
    # The update did nothing.
    assert serve(_zones(), _udp("www.example.com", "A")).answer[0].rdtype == dns.rdatatype.CNAME


def test_multiple_questions_are_formerr(serve: Serve) -> None:
    def client(host: str, port: int) -> dns.message.Message:
        query = dns.message.make_query("example.com", "TXT")
        query.find_rrset(query.question, dns.name.from_text("mx1.example.com"), 1, 1, create=True)
        return dns.query.udp(query, host, port=port, timeout=TIMEOUT)

    assert serve(_zones(), client).rcode() == dns.rcode.FORMERR


def test_unknown_edns_version_is_badvers(serve: Serve) -> None:
    response = serve(_zones(), _udp("example.com", "TXT", use_edns=1))
    assert response.rcode() == dns.rcode.BADVERS and response.edns == 0


@pytest.mark.parametrize(("rdclass", "rdtype"), [("CH", "TXT"), ("IN", "AXFR")])
def test_other_classes_and_zone_transfers_are_refused(serve: Serve, rdclass: str, rdtype: str) -> None:
    def client(host: str, port: int) -> dns.message.Message:
        query = dns.message.make_query("example.com", rdtype, rdclass)
        return dns.query.tcp(query, host, port=port, timeout=TIMEOUT)

    assert serve(_zones(), client).rcode() == dns.rcode.REFUSED


def test_udp_and_tcp_share_one_port_and_stop_frees_it() -> None:
    async def scenario() -> tuple[tuple[str, int], tuple[str, int], tuple[str, int]]:
        first, second = DnsServer(_zones()), DnsServer(_zones())
        a = await first.start("127.0.0.1", 0)
        b = await second.start("localhost", 0)
        assert first.address == a
        for server, (host, port) in ((first, a), (second, b)):
            # Both protocols answer on the one port number start() returned.
            for ask in (_udp, _tcp):
                reply = await asyncio.to_thread(ask("mx1.example.com", "A"), host, port)
                assert _texts(reply) == ["192.0.2.25"]
        with pytest.raises(RuntimeError, match="already listens"):
            await first.start("127.0.0.1", 0)
        await first.stop()
        await first.stop()  # twice is harmless
        assert first.address is None
        # The port is free again: a new server can take it explicitly, on both protocols.
        third = DnsServer(_zones())
        again = await third.start("127.0.0.1", a[1])
        await third.stop()
        await second.stop()
        return a, b, again

    a, b, again = asyncio.run(scenario())
    assert a != b and again == a


def test_start_on_a_taken_port_raises() -> None:
    async def scenario() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            server = DnsServer(_zones())
            with pytest.raises(OSError):
                await server.start("127.0.0.1", taken.getsockname()[1])
            assert server.address is None

    asyncio.run(scenario())


def test_stop_closes_open_tcp_connections() -> None:
    async def scenario() -> bytes:
        server = DnsServer(_zones())
        host, port = await server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"\x00")  # half a length prefix: the server waits for more
        await writer.drain()
        await asyncio.wait_for(server.stop(), 5)
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return data

    assert asyncio.run(scenario()) == b""  # the server closed the connection
