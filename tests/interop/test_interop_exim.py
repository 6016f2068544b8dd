"""Exim 4 (Debian's exim4-daemon-light, private instance) against the receiver.

What a sender running Exim sees when Gmail rejects unauthenticated mail: the main log's
``SMTP error from remote mail server after end of data: 550-5.7.26 ...`` line with the
whole multi-line reply, and a bounce back to the sender carrying it; after the fix, the
same path logs Gmail's ``250 2.0.0 OK  <unixtime> <id> - gsmtp`` confirmation. A 4xx
keeps the message queued until a forced retry delivers it.
"""

from __future__ import annotations

import re

from mta import EximInstance, compose, read_maildir, recipient_report, signature_tags
from standin import ACCEPTED, StandInReceiver

SENDER = "alice@sender.test"
RECIPIENT = "user@gmail.com"
# Exim took the receiver's STARTTLS offer; CV=no: the self-signed certificate is not
# verified (opportunistic TLS, as MX delivery does without DANE or MTA-STS).
TLS = r" X=TLS1\.3:\S+ CV=no"


def host(receiver: StandInReceiver) -> str:
    return rf"H=127\.0\.0\.1 \[127\.0\.0\.1\]:{receiver.address[1]}"


def data_stage(receiver: StandInReceiver) -> str:
    """How Exim names the end of the message: with CHUNKING it sends BDAT LAST pipelined."""
    return "pipelined end of data" if receiver.chunking else "end of data"


def exim_log_form(lines: tuple[str, ...]) -> str:
    """How Exim's main log writes a multi-line reply: lines joined by a literal \\n, each
    with its trailing spaces stripped."""
    return "\\n".join(line.rstrip() for line in lines)


def assert_signed_by(exim: EximInstance, data: bytes) -> None:
    tags = signature_tags(data)
    assert (tags.get("d"), tags.get("s")) == ("sender.test", "exim"), tags
    assert exim.key.verifies(data), "Exim's DKIM-Signature does not verify against the test's key"


def test_exim_bounces_gmail_rejection_then_delivers_after_fix(exim: EximInstance, receiver: StandInReceiver) -> None:
    rejected, rejected_id = compose(SENDER, RECIPIENT, "before the fix")
    first_id = exim.submit(rejected, rejected_id, SENDER, RECIPIENT)

    failed = exim.wait_log(rf"^.* {first_id} \*\* {re.escape(RECIPIENT)} R=to_receiver T=to_receiver "
                           rf"{host(receiver)}{TLS}: SMTP error from remote mail server "
                           rf"after {data_stage(receiver)}: (.*)$")
    [attempt] = receiver.attempts()
    reply = attempt.reply_lines
    assert reply[0].startswith("550-5.7.26 ") and reply[-1].startswith("550 5.7.26 "), reply
    assert failed.group(1) == exim_log_form(reply)
    assert (attempt.peer, attempt.tls) == ("127.0.0.10", True)  # interface =; STARTTLS offered, used
    assert attempt.mail_from == SENDER
    assert_signed_by(exim, attempt.data)

    [bounce] = exim.bounces()
    assert bounce["To"] == SENDER
    assert bounce["Subject"] == "Mail delivery failed: returning message to sender"
    assert bounce["X-Failed-Recipients"] == RECIPIENT
    report = recipient_report(bounce)
    assert report["Action"] == "failed"
    assert report["Final-Recipient"] == f"rfc822;{RECIPIENT}"
    assert report["Diagnostic-Code"] == "smtp; " + " ".join(line.rstrip() for line in reply)
    assert reply[-1].rstrip() in bounce.get_body(("plain",)).get_content()

    receiver.fix(exim.key)
    accepted, message_id = compose(SENDER, RECIPIENT, "after the fix")
    second_id = exim.submit(accepted, message_id, SENDER, RECIPIENT)
    chunked = " K" if receiver.chunking else ""  # K: sent with BDAT
    delivered = exim.wait_log(rf"^.* {second_id} => {re.escape(RECIPIENT)} R=to_receiver T=to_receiver "
                              rf'{host(receiver)}{TLS}{chunked} C="(.*)"$')
    assert ACCEPTED.fullmatch(delivered.group(1)), delivered.group(0)
    assert exim.queue_size() == 0
    assert len(exim.bounces()) == 1  # no second bounce

    last = receiver.attempts()[-1]
    assert (last.peer, last.reply_lines) == ("127.0.0.10", (delivered.group(1),))
    assert message_id.encode() in last.data
    assert_signed_by(exim, last.data)


def test_exim_keeps_deferred_message_and_delivers_it_on_forced_retry(exim: EximInstance,
                                                                    receiver: StandInReceiver) -> None:
    receiver.defer_until_fixed()
    message, message_id = compose(SENDER, RECIPIENT, "rate limited")
    queue_id = exim.submit(message, message_id, SENDER, RECIPIENT)

    deferred = exim.wait_log(rf"^.* {queue_id} == {re.escape(RECIPIENT)} R=to_receiver T=to_receiver "
                             rf"defer \(-\d+\) {host(receiver)}: "
                             rf"SMTP error from remote mail server after {data_stage(receiver)}: (.*)$")
    [first] = receiver.attempts()
    assert re.match(r"4\d\d-4\.7\.26 ", first.reply_lines[0]), first.reply_lines
    assert deferred.group(1) == exim_log_form(first.reply_lines)
    assert exim.queue_size() == 1

    receiver.fix(exim.key)
    exim.force_delivery(queue_id)  # instead of waiting out the retry rule
    delivered = exim.wait_log(rf'^.* {queue_id} => {re.escape(RECIPIENT)} R=to_receiver .* C="(.*)"$')
    assert ACCEPTED.fullmatch(delivered.group(1))
    exim.wait_log(rf"^.* {queue_id} Completed$")
    assert exim.queue_size() == 0
    assert read_maildir(exim.maildir) == []  # no bounce

    first, second = receiver.attempts()
    # The same queued (and signed) message, retried; a receiver may add its own headers
    # on top of what it accepts (the sandbox adds Authentication-Results and its verdict).
    assert second.data.endswith(first.data)
    assert message_id.encode() in second.data
    assert_signed_by(exim, second.data)
