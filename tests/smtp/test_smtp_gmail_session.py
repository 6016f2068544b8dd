"""A Gmail session over a real socket, line for line as in the provider reference (1.1),
plus pipelining and STARTTLS with smtplib."""

from __future__ import annotations

import re
import smtplib

from smtp_helpers import DEMO_IP, RawClient, client_tls_context, message, running, session_id

EHLO_EXTENSIONS = ["SIZE 157286400", "8BITMIME", "STARTTLS", "ENHANCEDSTATUSCODES", "PIPELINING", "CHUNKING", "SMTPUTF8"]


def _ehlo(ip: str, extensions: list[str]) -> list[str]:
    lines = [f"250-mx.google.com at your service, [{ip}]"] + [f"250-{e}" for e in extensions]
    lines[-1] = "250 " + lines[-1][4:]
    return lines


def test_gmail_session_line_for_line():
    """Reference 1.1: greeting, EHLO, STARTTLS, EHLO again without STARTTLS, MAIL, RCPT,
    DATA, the two-space ``OK  <unix time>`` acceptance, QUIT; one id on every line."""
    with running(client_ips={None: DEMO_IP}) as sandbox, RawClient(sandbox.smtp_address) as client:
        greeting = client.reply()
        sid = session_id(greeting)
        assert greeting == [f"220 mx.google.com ESMTP {sid} - gsmtp"]
        assert re.fullmatch(r"[a-z0-9-]+si[0-9a-z]+\.\d+", sid), sid
        assert client.command("EHLO client.example") == _ehlo(DEMO_IP, EHLO_EXTENSIONS)
        assert client.command("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
        client.starttls()
        assert client.command("EHLO client.example") == _ehlo(DEMO_IP, [e for e in EHLO_EXTENSIONS if e != "STARTTLS"])
        assert client.command("MAIL FROM:<alice@example.com>") == [f"250 2.1.0 OK {sid} - gsmtp"]
        assert client.command("RCPT TO:<user@gmail.com>") == [f"250 2.1.5 OK {sid} - gsmtp"]
        assert client.command("DATA") == [f"354 Go ahead {sid} - gsmtp"]
        accepted = client.command(message() + b".")
        assert len(accepted) == 1
        assert re.fullmatch(rf"250 2\.0\.0 OK  \d{{10}} {re.escape(sid)} - gsmtp", accepted[0]), accepted
        assert client.command("QUIT") == [f"221 2.0.0 closing connection {sid} - gsmtp"]
        assert client.closed_by_server()


def test_each_connection_has_its_own_id():
    with running() as sandbox:
        ids = set()
        for _ in range(3):
            with RawClient(sandbox.smtp_address) as client:
                ids.add(session_id(client.reply()))
        assert len(ids) == 3


def test_protocol_replies_come_from_the_profile():
    """aiosmtpd's own texts (``250 OK``, ``503 Error: need MAIL command``) never appear."""
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        assert client.command("RCPT TO:<user@gmail.com>") == [f"503 5.5.1 EHLO/HELO first. {sid} - gsmtp"]
        client.command("EHLO client.example")
        assert client.command("RCPT TO:<user@gmail.com>") == [f"503 5.5.1 MAIL first. {sid} - gsmtp"]
        assert client.command("FOO") == [f"502 5.5.1 Unrecognized command. {sid} - gsmtp"]
        assert client.command("RSET") == [f"250 2.1.5 Flushed {sid} - gsmtp"]
        noop = client.command("NOOP")
        assert noop[-1].startswith("250 ") and noop[-1].endswith(f"{sid} - gsmtp")


def test_pipelined_commands_get_ordered_replies():
    """PIPELINING (RFC 2920): the whole envelope in one write, then body and QUIT in one."""
    with running(client_ips={None: DEMO_IP}, unknown_users=["nobody@gmail.com"]) as sandbox, \
            RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        client.send(b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<user@gmail.com>\r\n"
                    b"RCPT TO:<nobody@gmail.com>\r\nRCPT TO:<other@gmail.com>\r\nDATA\r\n")
        assert client.reply() == [f"250 2.1.0 OK {sid} - gsmtp"]
        assert client.reply() == [f"250 2.1.5 OK {sid} - gsmtp"]
        unknown = client.reply()
        assert unknown[0].startswith("550-5.1.1 The email account that you tried to reach does not exist.")
        assert unknown[-1].startswith("550 5.1.1 ") and unknown[-1].endswith(f"{sid} - gsmtp")
        assert client.reply() == [f"250 2.1.5 OK {sid} - gsmtp"]
        assert client.reply() == [f"354 Go ahead {sid} - gsmtp"]
        client.send(message() + b".\r\nQUIT\r\n")
        assert client.reply()[0].startswith("250 2.0.0 OK  ")
        assert client.reply() == [f"221 2.0.0 closing connection {sid} - gsmtp"]


def test_starttls_with_smtplib():
    """STARTTLS with the self-signed certificate; the EHLO after TLS no longer offers it;
    the stored delivery records the TLS version."""
    with running(client_ips={None: DEMO_IP}) as sandbox:
        host, port = sandbox.smtp_address
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.ehlo("client.example")
            assert client.has_extn("starttls")
            code, _ = client.starttls(context=client_tls_context())
            assert code == 220
            client.ehlo("client.example")
            assert not client.has_extn("starttls")
            assert client.has_extn("chunking") and client.has_extn("smtputf8")
            assert client.sendmail("alice@example.com", ["user@gmail.com"], message()) == {}
        deliveries = sandbox.deliveries()
    assert len(deliveries) == 1
    assert deliveries[0].tls["version"] in ("TLSv1.2", "TLSv1.3")
    assert deliveries[0].rcpt_to == ["user@gmail.com"]


def test_starttls_certificate_is_made_once_and_reused(tmp_path):
    with running(data_dir=tmp_path) as sandbox:
        host, port = sandbox.smtp_address
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.starttls(context=client_tls_context())
            first = client.sock.getpeercert(binary_form=True)
    with running(data_dir=tmp_path) as sandbox:
        host, port = sandbox.smtp_address
        with smtplib.SMTP(host, port, timeout=30) as client:
            client.starttls(context=client_tls_context())
            assert client.sock.getpeercert(binary_form=True) == first


def test_commands_pipelined_behind_starttls_are_discarded():
    """RFC 3207 4.2: plaintext sent after STARTTLS (before the handshake) is not executed."""
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            sid = session_id(client.reply())
            client.command("EHLO client.example")
            client.send(b"STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
            assert client.reply() == ["220 2.0.0 Ready to start TLS"]
            client.starttls()
            assert client.command("MAIL FROM:<alice@example.com>") == [f"503 5.5.1 EHLO/HELO first. {sid} - gsmtp"]
            client.command("EHLO client.example")
            assert client.command("MAIL FROM:<alice@example.com>") == [f"250 2.1.0 OK {sid} - gsmtp"]


def test_failed_tls_handshake_costs_one_connection():
    with running() as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            assert client.command("STARTTLS")[0].startswith("220 ")
            client.send(b"this is not a TLS ClientHello\r\n" * 10)
            assert client.closed_by_server()
        with RawClient(sandbox.smtp_address) as client:
            assert client.reply()[0].startswith("220 mx.google.com ESMTP ")
            assert client.command("STARTTLS")[0].startswith("503 ")  # EHLO first
