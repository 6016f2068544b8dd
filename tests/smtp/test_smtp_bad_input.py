"""Clients that misbehave: malformed commands, over-long lines, invalid UTF-8, a 200 MB
message, a disconnect in the middle of DATA, 1,000 connections opened and dropped.
The server answers each with a clear reply, stays up, and the store stays consistent."""

from __future__ import annotations

import asyncio
import re
import time
import tracemalloc

import pytest
from smtp_helpers import (
    DEMO_IP, RawClient, demo_zones, message, read_reply, running, session_id, wait_for_deliveries,
)

from policies.profiles import Session, load_profile
from sandbox.app import Sandbox

CODE = re.compile(r"^(\d{3})[ -](\d\.\d{1,3}\.\d{1,3}) ")


def _code(reply: list[str]) -> tuple[str, str]:
    match = CODE.match(reply[-1])
    assert match, reply
    return match.group(1), match.group(2)


def test_malformed_commands_get_the_profiles_reply_and_the_session_goes_on():
    """Each kind of mistake gets the reply the profile has for it (with this connection's
    id), never aiosmtpd's built-in text, and the session carries on."""
    profile = load_profile("gmail")
    with running(profile=profile) as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        voice = Session(profile, "127.0.0.1", {"id": sid}, time.time)
        client.command("EHLO client.example")
        cases = {
            b"": "unrecognized",
            b"FOO bar": "unrecognized",
            b"\xff\xfe": "unrecognized",
            b"MAIL": "syntax",
            b"MAIL TO:<alice@example.com>": "syntax",
            b"MAIL FROM:alice@example.com": "syntax",
            b"MAIL FROM:<alice@example.com> NOTAPARAM=1": "unknown_parameter",
            b"MAIL FROM:<alice@example.com> SIZE=abc": "syntax",
            b"MAIL FROM:<\xff@example.com>": "invalid_utf8",
            b"MAIL FROM:<j\xc3\xb6rg@example.com>": "non_ascii_address",
            b"RCPT TO:<user@gmail.com>": "mail_first",
            b"DATA": "mail_first",
            b"BDAT x": "syntax",
            b"STARTTLS now": "syntax",
        }
        for line, kind in cases.items():
            values = {"address": "j\xf6rg@example.com"} if kind == "non_ascii_address" else {}
            assert client.command(line) == voice.reply(kind, **values), line
        assert client.command("MAIL FROM:<alice@example.com>")[0].startswith("250 ")
        assert client.command("MAIL FROM:<alice@example.com>") == voice.reply("nested_mail")
        assert client.command("DATA") == voice.reply("rcpt_first")
        assert client.command("RCPT TO:<user@gmail.com>")[0].startswith("250 ")
        assert client.command("DATA x") == voice.reply("syntax")
        assert client.command("MAIL FROM:<a@b.c> SIZE=999999999999") == voice.reply("nested_mail")
        assert client.command("RSET") == voice.reply("rset")
        assert client.command("MAIL FROM:<a@b.c> SIZE=999999999999") == voice.reply("size_exceeded", size=999999999999)


def test_utf8_address_needs_smtputf8():
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        client.reply()
        client.command("EHLO client.example")
        refused = client.command("MAIL FROM:<jörg@example.com>")
        assert _code(refused)[0] in ("553", "555", "501")
        assert client.command("MAIL FROM:<jörg@example.com> SMTPUTF8")[0].startswith("250 ")
        assert client.command("RCPT TO:<jürgen@gmail.com>")[0].startswith("250 ")


def test_over_long_command_line():
    with running() as sandbox, RawClient(sandbox.smtp_address) as client:
        sid = session_id(client.reply())
        reply = client.command(b"NOOP " + b"x" * 100_000)
        assert _code(reply)[0] == "500" and _code(reply)[1].startswith("5.5.")
        assert reply[-1].endswith(f"{sid} - gsmtp")
        assert client.command("NOOP")[0].startswith("250 ")


def test_invalid_utf8_in_headers_is_judged_not_a_crash():
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            client.command("MAIL FROM:<alice@example.com>")
            client.command("RCPT TO:<user@gmail.com>")
            client.command("DATA")
            bad = message(subject="cafe").replace(b"Subject: cafe", b"Subject: caf\xe9 \xff\xfe")
            verdict = client.command(bad + b".")
            assert verdict[-1][:1] in "245"
            assert client.command("NOOP")[0].startswith("250 ")
        assert len(sandbox.deliveries()) == 1


def _stream_data(client: RawClient, size: int) -> None:
    line = b"y" * 998 + b"\r\n"
    block = line * 1024
    sent = 0
    while sent < size:
        client.send(block)
        sent += len(block)
    client.send(b".\r\n")


def test_200_mb_message_is_refused_with_552_without_being_buffered():
    """The server holds a message up to the SIZE it advertises (it must, to judge and
    store one that fits) and not a byte further: past the limit it only counts.

    Measured with tracemalloc, which counts what Python holds, allocation by allocation.
    The process's peak RSS, measured before, also moved with the allocator and with
    whatever else the test process had done: under a parallel run it once grew 194 MB
    here where alone it grows 151."""
    limit = load_profile("gmail").max_size
    with running() as sandbox, RawClient(sandbox.smtp_address, timeout=120) as client:
        sid = session_id(client.reply())
        client.command("EHLO client.example")
        client.command("MAIL FROM:<alice@example.com>")
        client.command("RCPT TO:<user@gmail.com>")
        assert client.command("DATA")[0].startswith("354 ")
        tracemalloc.start()
        try:
            _stream_data(client, 200 * 1024 * 1024)
            refused = client.reply()
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert _code(refused) == ("552", "5.3.4")
        assert refused[-1].endswith(f"{sid} - gsmtp")
        # The limit, plus the read buffers and the client's 1 MB block: nowhere near the 200 MB sent.
        assert peak < limit + 4 * 1024 * 1024, f"the server kept more than SIZE allows: {peak} bytes at the peak"
        assert client.command("RSET")[0].startswith("250 ")
        stored = sandbox.deliveries()
    assert len(stored) == 1
    assert stored[0].stage == "data" and stored[0].decision["code"] == 552
    assert stored[0].message == b""


def test_disconnect_in_the_middle_of_data():
    with running(client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            client.command("MAIL FROM:<alice@example.com>")
            client.command("RCPT TO:<user@gmail.com>")
            client.command("DATA")
            client.send(b"Subject: cut short\r\n\r\nthe first half of")
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            client.command("MAIL FROM:<alice@example.com>")
            client.command("RCPT TO:<user@gmail.com>")
            client.command("DATA")
            assert client.command(message() + b".")[0].startswith("250 2.0.0 OK  ")
        stored = wait_for_deliveries(sandbox, 2)
    assert len(stored) == 2
    cut = next(d for d in stored if not d.decision)
    assert cut.stage == "data" and cut.message.startswith(b"Subject: cut short")
    assert any("connection lost" in entry["line"] for entry in cut.transcript)


def test_a_thousand_dropped_connections_then_a_normal_delivery():
    async def scenario() -> tuple[list[str], int]:
        async with Sandbox(demo_zones(), dns=None, client_ips={None: DEMO_IP}) as sandbox:
            host, port = sandbox.smtp_address
            for index in range(1000):
                reader, writer = await asyncio.open_connection(host, port)
                if index % 2:
                    await reader.readline()  # half of them wait for the greeting first
                writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            await read_reply(reader)
            for line in (b"EHLO client.example", b"MAIL FROM:<alice@example.com>", b"RCPT TO:<user@gmail.com>", b"DATA"):
                writer.write(line + b"\r\n")
                await read_reply(reader)
            writer.write(message() + b".\r\n")
            verdict = await read_reply(reader)
            writer.close()
            return verdict, len(await sandbox.deliveries())

    verdict, stored = asyncio.run(scenario())
    assert verdict[0].startswith("250 2.0.0 OK  ")
    assert stored == 1


def test_a_silent_client_is_disconnected_after_the_idle_timeout_and_a_slow_one_is_not():
    """Silence past ``idle_timeout`` ends the connection; any input counts as activity, so
    a client sending its commands and its body slowly, in small pieces, is never cut off."""
    timeout = 1.0
    with running(idle_timeout=timeout, client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as silent, RawClient(sandbox.smtp_address) as slow:
            silent.reply()
            opened = time.monotonic()
            slow.reply()
            slow.command("EHLO client.example")
            slow.command("MAIL FROM:<alice@example.com>")
            slow.command("RCPT TO:<user@gmail.com>")
            assert slow.command("DATA")[0].startswith("354 ")
            body = message() + b".\r\n"
            pieces = [body[i:i + 40] for i in range(0, len(body), 40)]
            pause = 2.5 * timeout / len(pieces)  # the whole body takes 2.5 idle timeouts
            for piece in pieces:
                slow.send(piece)
                time.sleep(pause)
            assert slow.reply()[-1].startswith("250 ")
            assert time.monotonic() - opened > 2 * timeout
            assert silent.sock.recv(1) == b"", "the silent client was not disconnected"
            assert slow.command("NOOP")[0].startswith("250 ")


def test_idle_timeout_must_be_positive():
    with pytest.raises(ValueError, match="idle_timeout must be a positive number of seconds, not 0"):
        Sandbox(demo_zones(), idle_timeout=0)
