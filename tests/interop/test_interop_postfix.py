"""Postfix (Debian's postfix, a private second instance) signing through OpenDKIM,
against the Gmail sandbox.

The classic story, as a sender running Postfix sees it: the zone lacks OpenDKIM's
selector record and SPF does not cover the production address (127.0.0.11 is judged as
192.0.2.10), so the maillog shows ``status=bounced (host 127.0.0.1[127.0.0.1] said:
550-5.7.26 Your email has been blocked because the sender is unauthenticated. ...)``
(Gmail's G1) and a non-delivery notification goes back to the sender; after the key is
published, SPF fixed and the zone reloaded into the running sandbox, ``status=sent (250
2.0.0 OK  <unixtime> <id> - gsmtp)`` and the sandbox stores the message with SPF,
DKIM and DMARC passing, in the inbox. A 4xx keeps the message in the deferred queue
until ``postqueue -f`` delivers it. Both submission paths are covered: the sendmail
command (signed through non_smtpd_milters) and the instance's SMTP listener (signed
through smtpd_milters).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta import PostfixInstance, compose, read_maildir, recipient_report, signature_tags
from receiver import ACCEPTED, G1_FIRST_LINE, JUDGED_IP, SandboxReceiver, assert_authenticated_into_inbox

SENDER = "alice@sender.test"
RECIPIENT = "user@gmail.com"


def postfix_log_form(lines: tuple[str, ...]) -> str:
    """How Postfix logs a multi-line reply: the lines joined by one space, as they are."""
    return " ".join(lines)


def assert_signed_by(postfix: PostfixInstance, data: bytes) -> None:
    tags = signature_tags(data)
    assert (tags.get("d"), tags.get("s")) == ("sender.test", "postfix"), tags
    assert postfix.key.verifies(data), "OpenDKIM's DKIM-Signature does not verify against the test's key"


def test_postfix_bounces_gmail_rejection_then_delivers_after_fix(start_postfix: Callable[[], PostfixInstance],
                                                                 receiver: SandboxReceiver) -> None:
    postfix = start_postfix()
    relay = rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{receiver.address[1]}"
    rejected, rejected_id = compose(SENDER, RECIPIENT, "before the fix")
    first_id = postfix.submit(rejected, rejected_id, SENDER, RECIPIENT)

    bounced = postfix.wait_log(rf"postfix/smtp\[\d+\]: {first_id}: to=<{re.escape(RECIPIENT)}>, {relay}, .*"
                               rf"dsn=5\.7\.26, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: "
                               rf"(.*) \(in reply to end of DATA command\)\)$")
    [attempt] = receiver.attempts()
    reply = attempt.reply_lines
    assert attempt.delivery.decision["rule_id"] == "G1"
    assert reply[0] == G1_FIRST_LINE, reply
    assert f"550-5.7.26  SPF [sender.test] with ip: [{JUDGED_IP}] = did not pass" in reply, reply
    assert reply[-1].startswith("550 5.7.26 ") and reply[-1].endswith(" - gsmtp"), reply
    assert bounced.group(1) == postfix_log_form(reply)
    assert (attempt.peer, attempt.tls) == ("127.0.0.11", True)  # smtp_bind_address; smtp_tls_security_level = may
    assert attempt.mail_from == SENDER
    assert_signed_by(postfix, attempt.data)  # signed through non_smtpd_milters
    postfix.wait_log(rf"postfix/bounce\[\d+\]: {first_id}: sender non-delivery notification: \w+$")

    [bounce] = postfix.bounces()
    assert bounce["To"] == SENDER
    assert bounce["Subject"] == "Undelivered Mail Returned to Sender"
    report = recipient_report(bounce)
    assert report["Action"] == "failed"
    assert report["Status"] == "5.7.26"
    assert report["Final-Recipient"] == f"rfc822; {RECIPIENT}"
    # Postfix re-wraps the reply to fit its report lines, so spacing is not kept there
    # (the maillog line above keeps it exactly).
    assert report["Diagnostic-Code"].split() == ("smtp; " + postfix_log_form(reply)).split()
    # The notification's text wraps the reply too; its last words (the id) survive whole.
    assert reply[-1].split()[-3] in bounce.get_body(("plain",)).get_content()

    receiver.fix(postfix.key)
    accepted, message_id = compose(SENDER, RECIPIENT, "after the fix")
    second_id = postfix.submit_smtp(accepted, SENDER, RECIPIENT)
    sent = postfix.wait_log(rf"postfix/smtp\[\d+\]: {second_id}: to=<{re.escape(RECIPIENT)}>, {relay}, .*"
                            rf"dsn=2\.0\.0, status=sent \((.*)\)$")
    assert ACCEPTED.fullmatch(sent.group(1)), sent.group(0)
    postfix.wait_log(rf"postfix/qmgr\[\d+\]: {second_id}: removed$")
    assert postfix.queue_ids() == []
    assert len(read_maildir(postfix.maildir)) == 1  # no second bounce

    last = receiver.attempts()[-1]
    assert (last.peer, last.reply_lines) == ("127.0.0.11", (sent.group(1),))
    assert message_id.encode() in last.data
    assert_signed_by(postfix, last.data)  # signed through smtpd_milters
    assert_authenticated_into_inbox(last, "postfix")


def test_postfix_keeps_deferred_message_and_delivers_it_on_flush(start_postfix: Callable[[], PostfixInstance],
                                                                 receiver: SandboxReceiver) -> None:
    postfix = start_postfix()
    receiver.defer_until_fixed()
    message, message_id = compose(SENDER, RECIPIENT, "rate limited")
    queue_id = postfix.submit_smtp(message, SENDER, RECIPIENT)

    deferred = postfix.wait_log(rf"postfix/smtp\[\d+\]: {queue_id}: to=<{re.escape(RECIPIENT)}>, .*"
                                rf"dsn=4\.7\.26, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: "
                                rf"(.*) \(in reply to end of DATA command\)\)$")
    [first] = receiver.attempts()
    assert first.delivery.decision["rule_id"] == "G5"  # the DMARC record could not be fetched
    assert first.reply_lines[0].startswith("451-4.7.26 "), first.reply_lines
    assert deferred.group(1) == postfix_log_form(first.reply_lines)
    assert postfix.queue_ids() == [queue_id]

    receiver.fix(postfix.key)
    postfix.flush()  # instead of waiting out minimal_backoff_time
    sent = postfix.wait_log(rf"postfix/smtp\[\d+\]: {queue_id}: to=<{re.escape(RECIPIENT)}>, .*"
                            rf"dsn=2\.0\.0, status=sent \((.*)\)$")
    assert ACCEPTED.fullmatch(sent.group(1))
    postfix.wait_log(rf"postfix/qmgr\[\d+\]: {queue_id}: removed$")
    assert postfix.queue_ids() == []
    assert read_maildir(postfix.maildir) == []  # no bounce

    first, second = receiver.attempts()
    # The same queued (and signed) message, retried; a receiver may add its own headers
    # on top of what it accepts (the sandbox adds Authentication-Results and its verdict).
    assert second.data.endswith(first.data)
    assert message_id.encode() in second.data
    assert_signed_by(postfix, second.data)
    assert_authenticated_into_inbox(second, "postfix")
