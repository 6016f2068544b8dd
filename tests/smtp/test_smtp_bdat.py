"""CHUNKING / BDAT (RFC 3030) over a raw socket: chunks, LAST, BDAT 0 LAST, the rules
for mixing BDAT and DATA, and the size limit across chunks."""

from __future__ import annotations

from smtp_helpers import DEMO_IP, RawClient, message, running, session_id


def _envelope(client: RawClient) -> str:
    sid = session_id(client.reply())
    client.command("EHLO client.example")
    assert client.command("MAIL FROM:<alice@example.com>")[0].startswith("250 ")
    assert client.command("RCPT TO:<user@gmail.com>")[0].startswith("250 ")
    return sid


def test_chunks_then_last_make_one_message():
    body = message()
    first, second, third = body[:40], body[40:90], body[90:]
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            sid = _envelope(client)
            client.send(b"BDAT %d\r\n" % len(first) + first)
            client.send(b"BDAT %d\r\n" % len(second) + second + b"BDAT %d LAST\r\n" % len(third) + third)
            assert client.reply() == [f"250 2.0.0 OK {sid} - gsmtp"]
            assert client.reply() == [f"250 2.0.0 OK {sid} - gsmtp"]
            assert client.reply()[0].startswith("250 2.0.0 OK  ")
        deliveries = sandbox.deliveries()
    assert len(deliveries) == 1
    assert deliveries[0].message.endswith(body)  # after the headers Gmail prepends


def test_bdat_zero_last_ends_the_message():
    body = message()
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            _envelope(client)
            client.send(b"BDAT %d\r\n" % len(body) + body + b"BDAT 0 LAST\r\n")
            assert client.reply()[0].startswith("250 ")
            assert client.reply()[0].startswith("250 2.0.0 OK  ")
        assert sandbox.deliveries()[0].message.endswith(body)


def test_bdat_chunk_bytes_are_not_commands():
    """A chunk whose content looks like SMTP commands (and has no CRLF at the end) is data."""
    body = message(body="QUIT\r\nRSET\r\n.\r\nMAIL FROM:<x@y.z>")
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            _envelope(client)
            client.send(b"BDAT %d LAST\r\n" % len(body) + body)
            assert client.reply()[0].startswith("250 2.0.0 OK  ")
            assert client.command("NOOP")[0].startswith("250 ")
        assert sandbox.deliveries()[0].message.endswith(body)


def test_data_after_bdat_in_one_transaction_is_refused():
    with running(client_ips={None: DEMO_IP}) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = _envelope(client)
        client.send(b"BDAT 5\r\nHello")
        assert client.reply()[0].startswith("250 ")
        refused = client.command("DATA")
        assert refused[-1].startswith("503 5.5.1 ") and refused[-1].endswith(f"{sid} - gsmtp")


def test_bdat_after_data_in_the_same_session():
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            _envelope(client)
            assert client.command("DATA")[0].startswith("354 ")
            assert client.command(message(subject="by DATA") + b".")[0].startswith("250 2.0.0 OK  ")
            assert client.command("MAIL FROM:<alice@example.com>")[0].startswith("250 ")
            assert client.command("RCPT TO:<user@gmail.com>")[0].startswith("250 ")
            body = message(subject="by BDAT")
            client.send(b"BDAT %d LAST\r\n" % len(body) + body)
            assert client.reply()[0].startswith("250 2.0.0 OK  ")
        subjects = [b"by DATA" in d.message for d in sandbox.deliveries()]
    assert sorted(subjects) == [False, True]


def test_bdat_without_envelope_is_refused_and_its_bytes_skipped():
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        client.send(b"BDAT 6 LAST\r\nNOOP\r\n")
        assert client.reply() == [f"503 5.5.1 MAIL first. {sid} - gsmtp"]
        client.command("MAIL FROM:<alice@example.com>")
        client.send(b"BDAT 6 LAST\r\nNOOP\r\n")
        refused = client.reply()
        assert refused[-1].startswith("503 5.5.1 ") and refused[-1].endswith(f"{sid} - gsmtp")
        assert client.command("NOOP")[0].startswith("250 ")


def test_chunks_over_the_size_limit_are_refused_with_552():
    chunk = b"x" * (1 << 20)
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = _envelope(client)
        limit = 157286400
        sent = 0
        replies = []
        while sent <= limit:
            client.send(b"BDAT %d\r\n" % len(chunk) + chunk)
            sent += len(chunk)
            replies.append(client.reply())
        assert all(r[0].startswith("250 ") for r in replies[:-1])
        assert all(line.startswith(("552-5.3.4 ", "552 5.3.4 ")) for line in replies[-1])
        assert replies[-1][-1].endswith(f"{sid} - gsmtp")
        # The transaction is over; the session goes on.
        assert client.command("MAIL FROM:<alice@example.com>")[0].startswith("250 ")
