"""Send one message over real SMTP (smtplib), the way a sending MTA would, and keep
every reply with the stage it answered: refusals are results here, not exceptions."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from sandbox.testing.reply import SmtpReply

Address = tuple[str, int]


def _client_tls_context() -> ssl.SSLContext:
    """Accept the sandbox's self-signed certificate (MX delivery does not verify either)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Client(smtplib.SMTP):
    """smtplib's client, keeping the greeting its constructor would otherwise discard."""

    greeting: tuple[int, bytes] = (0, b"")

    def connect(self, host: str = "localhost", port: int = 0, source_address: object = None) -> tuple[int, bytes]:
        self.greeting = super().connect(host, port, source_address)  # type: ignore[arg-type]
        return self.greeting


def smtp_send(address: Address, sender: str, recipients: Sequence[str], message: bytes, *,
              helo: str = "mail.example.com", starttls: bool = True, timeout: float = 30.0) -> list[SmtpReply]:
    """Connect, EHLO, STARTTLS (when offered and wanted), MAIL, RCPT for each recipient,
    DATA; stop at the first refusal (or when no recipient was accepted). Returns the
    replies in order; the last one decided the attempt."""
    try:
        # Connecting in the constructor names the host STARTTLS needs; a greeting
        # other than 220 raises there with the code and text.
        client = _Client(*address, local_hostname=helo, timeout=timeout)
    except smtplib.SMTPConnectError as refused:
        return [SmtpReply.from_smtplib("connect", refused.smtp_code, refused.smtp_error)]
    except smtplib.SMTPServerDisconnected:
        return [SmtpReply(421, None, ("421 connection closed",), "connect")]
    replies = [SmtpReply.from_smtplib("connect", *client.greeting)]
    try:
        replies.append(SmtpReply.from_smtplib("ehlo", *client.ehlo(helo)))
        if not replies[-1].positive:
            return replies
        if starttls and client.has_extn("starttls"):
            replies.append(SmtpReply.from_smtplib("starttls", *client.starttls(context=_client_tls_context())))
            replies.append(SmtpReply.from_smtplib("ehlo", *client.ehlo(helo)))
        replies.append(SmtpReply.from_smtplib("mail", *client.mail(sender)))
        if not replies[-1].positive:
            return replies
        accepted = 0
        for recipient in recipients:
            replies.append(SmtpReply.from_smtplib("rcpt", *client.rcpt(recipient)))
            accepted += replies[-1].positive
        if not accepted:
            return replies
        try:
            replies.append(SmtpReply.from_smtplib("data", *client.data(message)))
        except smtplib.SMTPDataError as refused:  # DATA itself refused (no 354)
            replies.append(SmtpReply.from_smtplib("data", refused.smtp_code, refused.smtp_error))
        return replies
    except smtplib.SMTPServerDisconnected:
        return replies
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def deciding_reply(replies: Sequence[SmtpReply]) -> SmtpReply:
    """The first refusal, else the last reply (the end of DATA)."""
    for reply in replies:
        if not reply.positive and reply.stage != "rcpt":
            return reply
    rcpt_refusals = [r for r in replies if r.stage == "rcpt" and not r.positive]
    if rcpt_refusals and replies[-1].stage == "rcpt":
        return rcpt_refusals[0]
    return replies[-1]
