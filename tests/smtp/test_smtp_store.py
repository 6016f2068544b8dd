"""What reaches the store: every attempt (accepted, refused at RCPT, deferred), one row per
message whatever the number of recipients, the transcript, and durability across a
restart of the sandbox on the same data directory."""

from __future__ import annotations

from smtp_helpers import DEMO_IP, RawClient, message, running, session_id


def _deliver(client: RawClient, recipients: list[str], body: bytes | None = None) -> list[list[str]]:
    replies = [client.command("MAIL FROM:<alice@example.com>")]
    replies += [client.command(f"RCPT TO:<{r}>") for r in recipients]
    if any(r[0].startswith("250 ") for r in replies[1:]):
        client.command("DATA")
        replies.append(client.command((body or message()) + b"."))
    return replies


def test_one_row_per_message_with_every_accepted_recipient():
    with running(client_ips={None: DEMO_IP}, unknown_users=["gone@gmail.com"]) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            replies = _deliver(client, ["one@gmail.com", "gone@gmail.com", "two@googlemail.com"])
            assert replies[-1][0].startswith("250 2.0.0 OK  ")
        stored = sandbox.deliveries()
    assert len(stored) == 1
    delivery = stored[0]
    assert delivery.rcpt_to == ["one@gmail.com", "two@googlemail.com"]
    assert delivery.mail_from == "alice@example.com"
    assert delivery.helo == "client.example"
    assert delivery.profile == "gmail"
    assert delivery.folder == "inbox"
    assert delivery.decision["code"] == 250
    assert delivery.message_id is not None and delivery.message_id.endswith("@example.com>")
    lines = [(entry["dir"], entry["line"]) for entry in delivery.transcript]
    assert lines[0] == ("*", f"connection from 127.0.0.1, judged as {DEMO_IP} (--client-ip)")
    assert lines[1][0] == "S" and lines[1][1].startswith("220 mx.google.com ESMTP ")
    assert ("C", "RCPT TO:<gone@gmail.com>") in lines
    assert any(d == "*" and "bytes" in line for d, line in lines)  # the body is noted, not copied
    assert lines[-1][0] == "S" and lines[-1][1].startswith("250 2.0.0 OK  ")
    assert all(isinstance(entry["t"], float) for entry in delivery.transcript)
    # The provider's trace headers sit on top of the message as it arrived.
    assert delivery.message.startswith(b"Authentication-Results: ") or b"\r\nAuthentication-Results: " in \
        delivery.message.split(b"\r\n\r\n", 1)[0]


def test_refusals_at_rcpt_are_stored_too():
    with running(unknown_users=["gone@gmail.com"], over_quota=["full@gmail.com"]) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            unknown = _deliver(client, ["gone@gmail.com"])[-1]
            client.command("RSET")
            full = _deliver(client, ["full@gmail.com"])[-1]
            client.command("RSET")
            relay = _deliver(client, ["someone@example.org"])[-1]
            client.command("QUIT")
        stored = sandbox.deliveries()
    assert unknown[-1].startswith("550 5.1.1 ")
    assert full[-1].startswith("452") and "4.2.2" in full[-1]
    assert relay[-1].startswith("550")
    assert [d.stage for d in stored] == ["rcpt", "rcpt", "rcpt"]
    assert [d.decision["code"] for d in stored] == [550, 452, int(relay[-1][:3])]
    assert all(d.rcpt_to == [] and d.message == b"" for d in stored)


def test_restart_on_the_same_data_dir_keeps_every_delivery(tmp_path):
    with running(data_dir=tmp_path, client_ips={None: DEMO_IP}, unknown_users=["gone@gmail.com"]) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            client.reply()
            client.command("EHLO client.example")
            for index in range(3):
                _deliver(client, ["user@gmail.com"], message(subject=f"message {index}"))
            _deliver(client, ["gone@gmail.com"])
            assert client.command("QUIT")[0].startswith("221 ")
        before = sandbox.deliveries()
    assert len(before) == 4
    with running(data_dir=tmp_path, client_ips={None: DEMO_IP}) as sandbox:
        with RawClient(sandbox.smtp_address) as client:
            sid = session_id(client.reply())
            client.command("EHLO client.example")
            _deliver(client, ["user@gmail.com"], message(subject="after the restart"))
        after = sandbox.deliveries()
    assert len(after) == 5
    by_session = {d.session_id for d in after}
    assert sid in by_session
    assert [d.message for d in after[:4]] == [d.message for d in before]
    assert b"after the restart" in after[4].message
