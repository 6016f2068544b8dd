"""Who the client is: the socket peer, a --client-ip mapping, a PROXY header (v1, v2) or
XCLIENT. SPF and the provider's replies use the mapped address; the store keeps both."""

from __future__ import annotations

import socket
import struct

from smtp_helpers import DEMO_IP, RawClient, message, running, session_id

PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def _deliver(client: RawClient, sender: str = "alice@example.com") -> list[str]:
    assert client.command(f"MAIL FROM:<{sender}>")[0].startswith("250 ")
    assert client.command("RCPT TO:<user@gmail.com>")[0].startswith("250 ")
    assert client.command("DATA")[0].startswith("354 ")
    return client.command(message(sender) + b".")


def _ehlo_address(lines: list[str]) -> str:
    return lines[0].rsplit("[", 1)[1].rstrip("]")


def test_socket_peer_by_default():
    with running() as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == "127.0.0.1"
            verdict = _deliver(client)
        stored = sandbox.deliveries()[0]
    # 127.0.0.1 itself is judged: it has no PTR record (Gmail refuses first for that) and
    # is not in example.com's SPF record.
    assert verdict[0].startswith("550-5.7.25 [127.0.0.1] ")
    assert stored.client_ip == stored.original_ip == "127.0.0.1"
    assert stored.checks["spf"]["result"] == "fail"


def test_one_address_for_every_client():
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == DEMO_IP
            assert _deliver(client)[0].startswith("250 2.0.0 OK  ")
        stored = sandbox.deliveries()[0]
    assert (stored.client_ip, stored.original_ip) == (DEMO_IP, "127.0.0.1")
    assert stored.checks["spf"]["result"] == "pass"


def test_mapping_by_source_address():
    """``--client-ip 127.0.0.10=192.0.2.10``: only connections from 127.0.0.10 are mapped."""
    with running(client_ips={"127.0.0.10": DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address, source="127.0.0.10") as client:
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == DEMO_IP
            assert _deliver(client)[0].startswith("250 2.0.0 OK  ")
        with RawClient(sandbox.smtp_address, source="127.0.0.1") as client:
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == "127.0.0.1"
        stored = sandbox.deliveries()[0]
    assert (stored.client_ip, stored.original_ip) == (DEMO_IP, "127.0.0.10")
    transcript = "\n".join(entry["line"] for entry in stored.transcript)
    assert f"[{DEMO_IP}]" in transcript


def test_proxy_protocol_v1():
    with running(proxy_protocol=True) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.send(f"PROXY TCP4 {DEMO_IP} 192.0.2.1 40000 25\r\n".encode())
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == DEMO_IP
            assert _deliver(client)[0].startswith("250 2.0.0 OK  ")
        stored = sandbox.deliveries()[0]
    assert stored.client_ip == stored.original_ip == DEMO_IP


def test_proxy_protocol_v2_ipv4_and_ipv6():
    def header_v4(source: str) -> bytes:
        addresses = socket.inet_aton(source) + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 40000, 25)
        return PROXY_V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) + addresses

    def header_v6(source: str) -> bytes:
        addresses = (socket.inet_pton(socket.AF_INET6, source) + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
                     + struct.pack("!HH", 40000, 25))
        return PROXY_V2_SIGNATURE + bytes([0x21, 0x21]) + struct.pack("!H", len(addresses)) + addresses

    with running(proxy_protocol=True) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.send(header_v4(DEMO_IP))
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == DEMO_IP
        with RawClient(sandbox.smtp_address) as client:
            client.send(header_v6("2001:db8::25"))
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == "2001:db8::25"


def test_proxy_header_without_a_source_ip_judges_the_proxy():
    """PROXY v1 UNKNOWN, v2 LOCAL (a proxy's health check) and a v2 Unix socket carry no
    client IP: the proxy is judged, and the transcript says so (not "source None" or the
    socket path's padded bytes)."""
    local_v2 = PROXY_V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    paths = b"/run/client.sock".ljust(108, b"\0") + b"/run/smtp.sock".ljust(108, b"\0")
    unix_v2 = PROXY_V2_SIGNATURE + bytes([0x21, 0x31]) + struct.pack("!H", len(paths)) + paths
    with running(proxy_protocol=True) as sandbox:
        for header in (b"PROXY UNKNOWN\r\n", local_v2, unix_v2):
            with RawClient(sandbox.smtp_address) as client:
                client.send(header)
                client.reply()
                assert _ehlo_address(client.command("EHLO client.example")) == "127.0.0.1"
                _deliver(client)
        stored = sandbox.deliveries()
    assert [delivery.client_ip for delivery in stored] == ["127.0.0.1"] * 3
    notes = [[entry["line"] for entry in delivery.transcript if entry["dir"] == "*"][0] for delivery in stored]
    assert notes == ["PROXY v1 header: no source IP address"] + ["PROXY v2 header: no source IP address"] * 2


def test_proxy_protocol_required_when_enabled():
    with running(proxy_protocol=True) as sandbox, RawClient(sandbox.smtp_address) as client:
        client.send(b"EHLO client.example\r\n")
        assert client.closed_by_server()


def test_proxy_source_can_be_mapped():
    with running(proxy_protocol=True, client_ips={"10.0.0.5": DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.send(b"PROXY TCP4 10.0.0.5 10.0.0.1 40000 25\r\n")
            client.reply()
            assert _ehlo_address(client.command("EHLO client.example")) == DEMO_IP
            _deliver(client)
        stored = sandbox.deliveries()[0]
    assert (stored.client_ip, stored.original_ip) == (DEMO_IP, "10.0.0.5")
    notes = [entry["line"] for entry in stored.transcript if entry["dir"] == "*"]
    assert "connection from 127.0.0.1 for 10.0.0.5 (PROXY header), judged as 192.0.2.10 (--client-ip)" in notes


def test_xclient():
    with running(xclient=True) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            ehlo = client.command("EHLO client.example")
            assert ehlo[-1] == "250 XCLIENT ADDR NAME HELO"
            greeting = client.command(f"XCLIENT ADDR={DEMO_IP} NAME=mail.example.com HELO=mail.example.com")
            sid = session_id(greeting)
            assert greeting == [f"220 mx.google.com ESMTP {sid} - gsmtp"]
            assert _ehlo_address(client.command("EHLO client.example")) == DEMO_IP
            assert _deliver(client)[0].startswith("250 2.0.0 OK  ")
            client.command("XCLIENT ADDR=[UNAVAILABLE]")
            assert _ehlo_address(client.command("EHLO client.example")) == "127.0.0.1"
        stored = sandbox.deliveries()[0]
    assert (stored.client_ip, stored.original_ip) == (DEMO_IP, "127.0.0.1")
    assert stored.helo == "mail.example.com"
    assert stored.checks["spf"]["result"] == "pass"


def test_xclient_refused_inside_a_transaction_and_when_disabled():
    with running(xclient=True) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        client.command("MAIL FROM:<alice@example.com>")
        refused = client.command(f"XCLIENT ADDR={DEMO_IP}")
        assert refused[-1].startswith("503 5.5.1 ") and refused[-1].endswith(f"{sid} - gsmtp")
        client.command("RSET")
        bad = client.command("XCLIENT ADDR=not-an-address")
        assert bad[-1][:1] == "5" and bad[-1].endswith(f"{sid} - gsmtp")
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        assert "XCLIENT" not in " ".join(client.command("EHLO client.example"))
        assert client.command(f"XCLIENT ADDR={DEMO_IP}") == [f"502 5.5.1 Unrecognized command. {sid} - gsmtp"]
