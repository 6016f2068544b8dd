"""A stand-in for the sandbox: a plain aiosmtpd server that answers like Gmail's MX.

The interop tests drive real MTAs (Exim, Postfix) and swaks; what they prove is that
those programs handle Gmail's replies the way senders see them in production: the
multi-line ``550-5.7.26`` rejection at end of DATA becomes a bounce, a ``421-4.7.26``
keeps the message queued, and ``250 2.0.0 OK  <unixtime> <id> - gsmtp`` is logged as
the delivery. Until ``sandbox.app.Sandbox`` can be dropped in (see the ``receiver``
fixture in conftest.py), this server plays that part: it rejects every message until
the test calls :meth:`GmailStandIn.fix` (the stand-in's version of "the sender fixed
their DNS"), and records each attempt with the source address it came from.

The reply texts are Gmail's own wire forms (providers reference, W-G1 2025 for the
5.7.26 rejection, G2 for its rate-limited 4.7.26 variant, 1.1 for the session shape).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mta import DkimKey

# One Gmail-shaped transaction token per stand-in (Gmail uses one per connection; the
# tests only need it to be the same in every reply they read back from a log).
GSMTP_ID = "a640c23a62f3a-aac0eff19desi1759812166b.313"

# W-G1, 2025 wire form (Postfix log, Jan 2025): the indented lines start with a space.
REJECT_PERMANENT = (
    "550-5.7.26 Your email has been blocked because the sender is unauthenticated.",
    "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
    "550-5.7.26 ",
    "550-5.7.26  Authentication results:",
    "550-5.7.26  DKIM = did not pass",
    "550-5.7.26  SPF [{domain}] with ip: [{ip}] = did not pass",
    "550-5.7.26 ",
    "550-5.7.26  For instructions on setting up authentication, go to",
    "550 5.7.26  https://support.google.com/mail/answer/81126#authentication {id} - gsmtp",
)

# G2 (documented text, wrapped the way Gmail wraps its multi-line replies).
REJECT_TEMPORARY = (
    "421-4.7.26 This email has been rate limited because it is unauthenticated.",
    "421-4.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.",
    "421-4.7.26 ",
    "421-4.7.26  Authentication results:",
    "421-4.7.26  DKIM = did not pass",
    "421-4.7.26  SPF [{domain}] with ip: [{ip}] = did not pass",
    "421-4.7.26 ",
    "421-4.7.26  To resolve this issue, go to",
    "421 4.7.26  https://support.google.com/mail/answer/81126#authentication {id} - gsmtp",
)

# Gmail's MX advertises these after the ones aiosmtpd itself offers (SIZE, 8BITMIME,
# SMTPUTF8, STARTTLS); aiosmtpd handles pipelined commands but does not say so.
# No CHUNKING: aiosmtpd has no BDAT (the sandbox's own server does).
EXTRA_EXTENSIONS = ("ENHANCEDSTATUSCODES", "PIPELINING")


@dataclass(frozen=True)
class Attempt:
    """One message the stand-in received, and what it answered."""

    peer: str  # the source address of the connection: the MTA's bound loopback address
    helo: str
    tls: bool
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    reply_lines: tuple[str, ...]  # the reply to the end of the message, one per line


def rejection_lines(*, temporary: bool, domain: str, ip: str) -> list[str]:
    """Gmail's unauthenticated-sender reply, one string per physical reply line."""
    lines = REJECT_TEMPORARY if temporary else REJECT_PERMANENT
    return [line.format(domain=domain, ip=ip, id=GSMTP_ID) for line in lines]


# Gmail's acceptance of a message (two spaces after OK, a 10-digit Unix time, the
# connection's id): what the MTAs must log as the delivery, from the stand-in or the sandbox.
ACCEPTED = re.compile(r"250 2\.0\.0 OK  \d{10} \S+ - gsmtp")


class GmailStandIn:
    """aiosmtpd handler: rejects like Gmail until :meth:`fix` is called, then accepts.

    After :meth:`defer_until_fixed` the rejection is the 421-4.7.26 rate-limit reply
    (the MTA keeps the message and retries) instead of the permanent 550-5.7.26 (the
    MTA bounces it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixed = False
        self._temporary = False
        self._attempts: list[Attempt] = []

    def fix(self) -> None:
        """From now on accept: what publishing the missing DNS records does for the sandbox."""
        with self._lock:
            self._fixed = True

    def defer_until_fixed(self) -> None:
        with self._lock:
            self._temporary = True

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname  # the 5-argument hook must record it itself
        *head, last = responses
        return [*head, *(f"250-{name}" for name in EXTRA_EXTENSIONS), last]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            fixed, temporary = self._fixed, self._temporary
        if fixed:
            lines = [f"250 2.0.0 OK  {int(time.time())} {GSMTP_ID} - gsmtp"]
        else:
            domain = (envelope.mail_from or "").rpartition("@")[2] or session.host_name
            lines = rejection_lines(temporary=temporary, domain=domain, ip=session.peer[0])
        attempt = Attempt(
            peer=session.peer[0],
            helo=session.host_name or "",
            tls=session.ssl is not None,
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=envelope.original_content or b"",
            reply_lines=tuple(lines),
        )
        with self._lock:
            self._attempts.append(attempt)
        return "\r\n".join(lines)


class StandInServer:
    """The handler served on 127.0.0.1 (port 0: the kernel picks) by a loop in a thread.

    Used as a context manager; leaving it closes the listener and ends the thread.
    """

    def __init__(self, handler: GmailStandIn, *, tls_context: ssl.SSLContext | None = None,
                 hostname: str = "mx.google.com") -> None:
        self.handler = handler
        self._tls_context = tls_context
        self._hostname = hostname
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gmail-stand-in", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.address: tuple[str, int] = ("127.0.0.1", 0)

    def _protocol(self) -> SMTP:
        return SMTP(self.handler, hostname=self._hostname, tls_context=self._tls_context,
                    decode_data=False, ident="ESMTP")

    async def _listen(self) -> asyncio.base_events.Server:
        return await self._loop.create_server(self._protocol, host="127.0.0.1", port=0)

    def __enter__(self) -> "StandInServer":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.address = self._server.sockets[0].getsockname()[:2]
        return self

    def __exit__(self, *exc_info: Any) -> None:
        server = self._server

        async def close() -> None:
            if server is not None:
                server.close()
                # Newer Pythons wait here for open connections too: an MTA that caches
                # its connection must not hold up the teardown.
                try:
                    await asyncio.wait_for(server.wait_closed(), 5)
                except TimeoutError:
                    pass

        try:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


class StandInReceiver:
    """What the interop tests talk to as ``receiver``: the stand-in, running.

    The interface is the seam for the sandbox: ``address`` (where the MTAs relay to),
    ``fix(key)`` (the sender fixes its DNS: with the sandbox, add
    ``key.dns_name TXT key.txt_record()`` to its zone, plus whatever else the sender
    lacks, e.g. SPF for swaks' unsigned mail, and reload it),
    ``defer_until_fixed()`` (make the rejection temporary; with the sandbox, a DNS fault
    that makes the verdict a 4xx), ``attempts()`` (what arrived, with the source address
    and the reply lines; with the sandbox, its stored deliveries: original_ip, the
    decision's lines, the stored message) and ``chunking`` (whether the receiver offers
    CHUNKING, which changes how Exim sends and logs: the sandbox does, aiosmtpd cannot).
    """

    chunking = False

    def __init__(self, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.handler = GmailStandIn()
        self._server = StandInServer(self.handler, tls_context=tls_context)

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address

    def fix(self, key: DkimKey | None = None) -> None:
        """Accept from now on (the stand-in checks no signature, so ``key`` changes nothing)."""
        self.handler.fix()

    def defer_until_fixed(self) -> None:
        self.handler.defer_until_fixed()

    def attempts(self) -> list[Attempt]:
        return self.handler.attempts()

    def __enter__(self) -> "StandInReceiver":
        self._server.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._server.__exit__(*exc_info)
