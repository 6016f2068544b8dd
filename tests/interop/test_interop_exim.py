"""Exim 4 (Debian's exim4-daemon-light, private instance) against the Gmail sandbox.

The classic story: the sender's zone lacks the DKIM selector record Exim signs with and
its SPF does not cover the production address Exim's mail is judged as (127.0.0.10 is
mapped to 192.0.2.10). Exim's main log shows ``SMTP error from remote mail server after
pipelined end of data: 550-5.7.26 Your email has been blocked because the sender is
unauthenticated...`` (Gmail's G1, the whole multi-line reply) and Exim bounces the
message to the sender. The sender publishes the key and fixes SPF, the zone is reloaded
into the running sandbox, and the next message is logged with Gmail's ``250 2.0.0 OK
<unixtime> <id> - gsmtp`` and stored with SPF, DKIM and DMARC passing, in the inbox.
Exim sends with BDAT, since the sandbox offers CHUNKING. A 4xx (G5) keeps the message
queued until a forced retry delivers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta import EximInstance, compose, read_maildir, recipient_report, signature_tags
from receiver import ACCEPTED, G1_FIRST_LINE, JUDGED_IP, Attempt, SandboxReceiver, assert_authenticated_into_inbox

SENDER = "alice@sender.test"
RECIPIENT = "user@gmail.com"
# Exim took the sandbox's STARTTLS offer; CV=no: the self-signed certificate is not
# verified (opportunistic TLS, as MX delivery does without DANE or MTA-STS).
TLS = r" X=TLS1\.3:\S+ CV=no"
# The sandbox offers CHUNKING, so Exim sends the message as BDAT ... LAST, pipelined
# with what precedes it, and names the end of the message that way.
DATA_STAGE = "pipelined end of data"


def host(receiver: SandboxReceiver) -> str:
    return rf"H=127\.0\.0\.1 \[127\.0\.0\.1\]:{receiver.address[1]}"


def exim_log_form(lines: tuple[str, ...]) -> str:
    """How Exim's main log writes a multi-line reply: lines joined by a literal \\n, each
    with its trailing spaces stripped."""
    return "\\n".join(line.rstrip() for line in lines)


def assert_signed_by(exim: EximInstance, data: bytes) -> None:
    tags = signature_tags(data)
    assert (tags.get("d"), tags.get("s")) == ("sender.test", "exim"), tags
    assert exim.key.verifies(data), "Exim's DKIM-Signature does not verify against the test's key"


def assert_sent_with_bdat(attempt: Attempt) -> None:
    """The sandbox's transcript shows Exim used CHUNKING (BDAT ... LAST), not DATA."""
    commands = attempt.client_commands()
    assert any(re.fullmatch(r"BDAT \d+ LAST", command) for command in commands), commands
    assert "DATA" not in commands, commands


def test_exim_bounces_gmail_rejection_then_delivers_after_fix(start_exim: Callable[[], EximInstance],
                                                              receiver: SandboxReceiver) -> None:
    exim = start_exim()
    rejected, rejected_id = compose(SENDER, RECIPIENT, "before the fix")
    first_id = exim.submit(rejected, rejected_id, SENDER, RECIPIENT)

    failed = exim.wait_log(rf"^.* {first_id} \*\* {re.escape(RECIPIENT)} R=to_receiver T=to_receiver "
                           rf"{host(receiver)}{TLS}: SMTP error from remote mail server "
                           rf"after {DATA_STAGE}: (.*)$")
    [attempt] = receiver.attempts()
    reply = attempt.reply_lines
    # Gmail's G1, with the production address the sandbox judged Exim's mail as.
    assert attempt.delivery.decision["rule_id"] == "G1"
    assert reply[0] == G1_FIRST_LINE, reply
    assert "550-5.7.26  DKIM = did not pass" in reply, reply
    assert f"550-5.7.26  SPF [sender.test] with ip: [{JUDGED_IP}] = did not pass" in reply, reply
    assert reply[-1].startswith("550 5.7.26 ") and reply[-1].endswith(" - gsmtp"), reply
    assert failed.group(1) == exim_log_form(reply)
    assert (attempt.peer, attempt.tls) == ("127.0.0.10", True)  # interface =; STARTTLS offered, used
    assert attempt.mail_from == SENDER
    assert_signed_by(exim, attempt.data)
    assert_sent_with_bdat(attempt)
    # Judged without the selector record: the signature is there, its key is not.
    [dkim_check] = attempt.delivery.checks["dkim"]
    assert dkim_check["result"] != "pass", dkim_check

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
    # K: sent with BDAT (CHUNKING).
    delivered = exim.wait_log(rf"^.* {second_id} => {re.escape(RECIPIENT)} R=to_receiver T=to_receiver "
                              rf'{host(receiver)}{TLS} K C="(.*)"$')
    assert ACCEPTED.fullmatch(delivered.group(1)), delivered.group(0)
    assert exim.queue_size() == 0
    assert len(exim.bounces()) == 1  # no second bounce

    last = receiver.attempts()[-1]
    assert (last.peer, last.reply_lines) == ("127.0.0.10", (delivered.group(1),))
    assert message_id.encode() in last.data
    assert_signed_by(exim, last.data)
    assert_sent_with_bdat(last)
    assert_authenticated_into_inbox(last, "exim")


def test_exim_keeps_deferred_message_and_delivers_it_on_forced_retry(start_exim: Callable[[], EximInstance],
                                                                    receiver: SandboxReceiver) -> None:
    exim = start_exim()
    receiver.defer_until_fixed()
    message, message_id = compose(SENDER, RECIPIENT, "rate limited")
    queue_id = exim.submit(message, message_id, SENDER, RECIPIENT)

    deferred = exim.wait_log(rf"^.* {queue_id} == {re.escape(RECIPIENT)} R=to_receiver T=to_receiver "
                             rf"defer \(-\d+\) {host(receiver)}: "
                             rf"SMTP error from remote mail server after {DATA_STAGE}: (.*)$")
    [first] = receiver.attempts()
    # G5: the DMARC record could not be fetched, so Gmail cannot rule out p=reject.
    assert first.delivery.decision["rule_id"] == "G5"
    assert first.reply_lines[0].startswith("451-4.7.26 Unauthenticated email from sender.test"), first.reply_lines
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
    assert_authenticated_into_inbox(second, "exim")
