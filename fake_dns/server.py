"""An authoritative DNS server over UDP and TCP for the sandbox's zones.

It exists so that ``dig`` and a staging MTA's own lookups see exactly what the checks
see: it answers from the same :class:`~fake_dns.zone.Zones` object (a later
``zones.replace(...)`` reload takes effect on the next query) and honours the same
:class:`~fake_dns.faults.Faults`, a timeout fault being served as silence and a
servfail fault as SERVFAIL.

It behaves like a real authoritative server: AA on its own data, the zone's SOA in
the authority section of NXDOMAIN and NODATA answers (RFC 2308), CNAME chains inside
the served zones followed into the answer, REFUSED for names outside every zone (it
never recurses), TC over UDP when the answer does not fit (512 bytes, or the EDNS
payload the client offers) with the full answer over TCP. A CNAME loop or an
over-long chain is SERVFAIL, as the in-process resolver reports it.

It never crashes on what a client sends: a packet too short to hold a header, or a
response, is dropped; an unparseable query is answered FORMERR; an opcode other than
QUERY is answered NOTIMP. Every such problem is logged on the ``fake_dns.server`` logger.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset

from fake_dns.faults import FaultKind, Faults
from fake_dns.resolver import MAX_CNAME_CHAIN
from fake_dns.zone import Kind, Zone, Zones

log = logging.getLogger(__name__)

HEADER = struct.Struct("!HHHHHH")
UDP_PLAIN_LIMIT = 512  # RFC 1035: the most a client without EDNS accepts over UDP
OUR_EDNS_PAYLOAD = 4096  # what we advertise we can receive
TCP_LIMIT = 65535  # the 2-byte length prefix bounds a TCP message
TCP_IDLE_SECONDS = 30.0  # RFC 7766 idle timeout: a silent client does not hold a connection forever
BIND_ATTEMPTS = 20  # port 0: tries at finding a port number free for both UDP and TCP
_ZONE_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)


class DnsServer:
    """Serve ``zones`` with ``faults`` over UDP and TCP on one port.

    Usable standalone (``smtp-sandbox dns serve``) and inside another asyncio program:
    ``await server.start(host, port)`` binds on the running loop, ``await server.stop()``
    closes every socket and connection.
    """

    def __init__(self, zones: Zones, faults: Faults | None = None) -> None:
        self.zones = zones
        self.faults = faults if faults is not None else Faults()
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._address: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound (host, port), or None while not running."""
        return self._address

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host``:``port`` over TCP and UDP and return the bound (host, port).

        Port 0 picks a port free for both protocols: TCP is bound first on a free port,
        then UDP on the same number, trying again when that UDP port is taken.
        Raises OSError when the address cannot be bound.
        """
        if self._tcp is not None:
            raise RuntimeError(f"the DNS server already listens on {self._address}")
        loop = asyncio.get_running_loop()
        # Bind one address only: a name such as "localhost" could otherwise give TCP
        # sockets on 127.0.0.1 and ::1 with two different free ports.
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        address = infos[0][4][0]
        assert isinstance(address, str)  # an AF_INET / AF_INET6 socket address is (host, port, ...)
        for _ in range(BIND_ATTEMPTS):
            tcp = await asyncio.start_server(self._serve_tcp, address, port)
            bound = tcp.sockets[0].getsockname()
            try:
                udp, _protocol = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(bound[0], bound[1])
                )
            except OSError as exc:
                tcp.close()
                await tcp.wait_closed()
                if port != 0 or exc.errno != errno.EADDRINUSE:
                    raise
                continue
            self._tcp, self._udp = tcp, udp
            self._address = (bound[0], bound[1])
            log.info("DNS server listening on %s port %d (UDP and TCP)", *self._address)
            return self._address
        raise OSError(errno.EADDRINUSE, f"no port on {address} was free for both UDP and TCP")

    async def stop(self) -> None:
        """Stop listening and close open TCP connections; safe to call twice."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._tcp.wait_closed()
            self._tcp = None
        self._address = None

    # -- transports ---------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One TCP connection: 2-byte length-prefixed queries (RFC 1035 4.2.2), any number."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = _peer("tcp", writer.get_extra_info("peername"))
        try:
            while True:
                try:
                    prefix = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_SECONDS)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                try:
                    wire = await asyncio.wait_for(reader.readexactly(int.from_bytes(prefix, "big")), TCP_IDLE_SECONDS)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    log.warning("dropped a truncated TCP message from %s", peer)
                    return
                reply = self.respond(wire, peer=peer, limit=TCP_LIMIT)
                if reply is not None:
                    writer.write(len(reply).to_bytes(2, "big") + reply)
                    await writer.drain()
        except ConnectionError as exc:
            log.info("TCP connection from %s ended: %s", peer, exc)
        finally:
            self._connections.discard(task)
            writer.close()

    # -- answering ----------------------------------------------------------------------

    def respond(self, wire: bytes, *, peer: str = "-", limit: int | None = None) -> bytes | None:
        """The wire reply to one query, or None when nothing must be sent back.

        ``peer`` names the sender in log lines. ``limit`` is the transport's size limit
        (TCP); None means UDP, where it is 512 bytes or the EDNS payload the query offers.
        """
        try:
            return self._respond(wire, peer, limit)
        except Exception:  # a bug here must cost one answer, never the server
            log.exception("internal error answering a query from %s", peer)
            return _header_reply(wire, dns.rcode.SERVFAIL) if len(wire) >= HEADER.size else None

    def _respond(self, wire: bytes, peer: str, limit: int | None) -> bytes | None:
        if len(wire) < HEADER.size:
            log.warning("dropped a %d-byte packet from %s: too short for a DNS header", len(wire), peer)
            return None
        flags = HEADER.unpack_from(wire)[1]
        if flags & dns.flags.QR:
            log.warning("dropped a DNS response sent to us by %s", peer)
            return None
        opcode = dns.opcode.from_flags(flags)
        if opcode != dns.opcode.QUERY:
            log.warning("answered NOTIMP to opcode %s from %s", dns.opcode.to_text(opcode), peer)
            return _header_reply(wire, dns.rcode.NOTIMP)
        try:
            query = dns.message.from_wire(wire)
        except Exception as exc:  # dnspython raises many kinds for malformed input
            log.warning("answered FORMERR to a malformed query from %s: %s", peer, exc or type(exc).__name__)
            return _header_reply(wire, dns.rcode.FORMERR)
        response = self._answer(query, peer)
        if response is None:
            return None
        if limit is None:
            limit = max(UDP_PLAIN_LIMIT, query.payload) if query.edns >= 0 else UDP_PLAIN_LIMIT
        return _to_wire(response, min(limit, TCP_LIMIT))

    def _answer(self, query: dns.message.Message, peer: str) -> dns.message.Message | None:
        """The response message, or None for a timeout fault (silence)."""
        response = dns.message.make_response(query, our_payload=OUR_EDNS_PAYLOAD)
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)  # RFC 6891 6.1.3: we speak EDNS version 0
            return response
        if len(query.question) != 1:
            log.warning("answered FORMERR to a query with %d questions from %s", len(query.question), peer)
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        if question.rdclass != dns.rdataclass.IN or question.rdtype in _ZONE_TRANSFERS:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        return self._fill(response, question.name, question.rdtype)

    def _fill(
        self, response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> dns.message.Message | None:
        """Answer ``qname``/``qtype`` into ``response``, following CNAMEs inside our zones.

        The first owner is ``qname`` exactly as asked, so the reply keeps its letter case.
        """
        current = qname
        for hop in range(MAX_CNAME_CHAIN + 1):
            fault = self.faults.for_query(current, qtype)
            if fault is FaultKind.TIMEOUT:
                return None
            if fault is FaultKind.SERVFAIL:
                return _failure(response, dns.rcode.SERVFAIL)
            found = self.zones.lookup(current, qtype)
            if found.kind is Kind.REFUSED:
                # Outside every zone: refuse the question; a CNAME leading out of our zones
                # ends the answer there (the client's resolver follows it elsewhere).
                return _failure(response, dns.rcode.REFUSED) if hop == 0 else response
            response.flags |= dns.flags.AA
            if qtype == dns.rdatatype.ANY and found.kind is not Kind.NXDOMAIN:
                return _fill_any(response, current, found.zone)
            if found.kind is Kind.ANSWER:
                response.answer.append(_rrset(current, found.records))
                return response
            if found.kind is Kind.CNAME:
                response.answer.append(_rrset(current, found.records))
                current = next(iter(found.records)).target
                continue
            if found.kind is Kind.NXDOMAIN:
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(_negative_soa(found.zone))
            return response
        # A CNAME loop or an over-long chain: what a resolver would make of it.
        return _failure(response, dns.rcode.SERVFAIL)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self._server.respond(data, peer=_peer("udp", addr))
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # E.g. ICMP port unreachable after a client gave up; nothing to do but note it.
        log.info("UDP error: %s", exc)


def _rrset(owner: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, rdataset.rdclass, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset


def _negative_soa(zone: Zone | None) -> dns.rrset.RRset:
    """The apex SOA for a negative answer, with the TTL RFC 2308 section 3 asks for:
    the lesser of the SOA's own TTL and its MINIMUM field."""
    assert zone is not None
    soa = zone.soa()
    assert soa is not None  # every loaded zone has one, synthesized if need be
    rrset = _rrset(zone.origin, soa)
    rrset.ttl = min(soa.ttl, next(iter(soa)).minimum)
    return rrset


def _fill_any(response: dns.message.Message, owner: dns.name.Name, zone: Zone | None) -> dns.message.Message:
    """An ANY query: every record set the owner holds, or NODATA when it holds none."""
    assert zone is not None
    held = [_rrset(owner, rdataset) for name, rdataset in zone.rdatasets() if name == owner]
    if held:
        response.answer.extend(held)
    else:
        response.authority.append(_negative_soa(zone))
    return response


def _failure(response: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    """Turn ``response`` into a bare error: no records, not authoritative."""
    response.answer.clear()
    response.authority.clear()
    response.flags &= ~dns.flags.AA
    response.set_rcode(rcode)
    return response


def _to_wire(response: dns.message.Message, limit: int) -> bytes:
    """Render within ``limit`` bytes; an answer that does not fit goes out empty with TC set,
    telling the client to ask again over TCP (RFC 1035 4.2.1, RFC 7766)."""
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.additional.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit)


def _header_reply(wire: bytes, rcode: dns.rcode.Rcode) -> bytes:
    """A reply made of the query's header alone (same id, opcode and RD; empty sections),
    for queries too broken, or too foreign, to parse further."""
    query_id, flags = HEADER.unpack_from(wire)[:2]
    reply_flags = dns.flags.QR | (flags & (dns.flags.RD | dns.opcode.to_flags(dns.opcode.from_flags(flags))))
    return HEADER.pack(query_id, reply_flags | (rcode & 0xF), 0, 0, 0, 0)


def _peer(transport: str, address: object) -> str:
    """``127.0.0.1:40000/udp``: who sent a query, for log lines."""
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}/{transport}"
    return f"{address}/{transport}"
