"""One SMTP connection on the wire: the command loop, every verb, BDAT, XCLIENT, PROXY.

Built on aiosmtpd's ``SMTP`` protocol class, which supplies the connection life cycle
(the asyncio protocol callbacks, the idle timeout, the stream reader and writer) and
the PROXY protocol parser. The conversation itself is ours, because every line the
server sends must be the provider's (aiosmtpd's built-in replies such as ``250 OK`` or
``503 Error: need RCPT command`` would give the emulation away), and because aiosmtpd
has no BDAT, no XCLIENT and no streaming of oversized DATA.

This module only speaks SMTP: it parses, keeps the session and transaction state, and
sends replies. Every reply text comes from :class:`~sandbox.smtp.handler.ConnectionHandler`,
which asks the provider profile; the handler also runs the checks and stores attempts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from aiosmtpd.proxy_protocol import get_proxy
from aiosmtpd.smtp import SMTP

from policies.profiles.decision import Decision
from sandbox.smtp.body import MessageBuffer
from sandbox.smtp.commands import (
    XCLIENT_ATTRIBUTES, PathCommand, PathError, PathProblem, parse_bdat, parse_path, parse_xclient,
)
from sandbox.smtp.identity import ClientIdentity, normalize_ip
from sandbox.smtp.stream import READ_SIZE, ConnectionClosed, InputStream, Line
from sandbox.smtp.transaction import Transaction
from sandbox.smtp.transcript import Transcript

if TYPE_CHECKING:
    from sandbox.smtp.handler import ConnectionHandler
    from sandbox.smtp.server import SmtpServer

log = logging.getLogger("sandbox.smtp")

# RFC 5321 4.5.3.1.4 allows 512 octets; SMTPUTF8 addresses and DSN parameters make
# real MAIL/RCPT lines longer, and Postfix accepts 2048, so do we.
COMMAND_LINE_LIMIT = 2048
PROXY_TIMEOUT = 10.0
TLS_HANDSHAKE_TIMEOUT = 30.0
# MAIL parameters each extension allows (RFC 1870, 6152, 3030, 6531, 3461).
_MAIL_PARAMS = {"SIZE": "SIZE", "BODY": "8BITMIME", "SMTPUTF8": "SMTPUTF8", "RET": "DSN", "ENVID": "DSN"}
_RCPT_PARAMS = {"NOTIFY": "DSN", "ORCPT": "DSN"}
_BODY_TYPES = {"7BIT": None, "8BITMIME": "8BITMIME", "BINARYMIME": "BINARYMIME"}


class _NoHooks:
    """aiosmtpd looks for ``handle_*`` hooks on its handler; the conversation here needs none."""


class SmtpConnection(SMTP):
    """The server side of one client connection."""

    # aiosmtpd sizes its StreamReader buffer with this; line limits are InputStream's job.
    line_length_limit = READ_SIZE

    def __init__(self, server: "SmtpServer") -> None:
        config = server.config
        super().__init__(
            _NoHooks(),
            hostname=config.hostname,  # fixed: aiosmtpd would otherwise resolve the FQDN
            tls_context=config.tls_context,
            enable_SMTPUTF8=True,
            data_size_limit=config.max_size,
            timeout=config.idle_timeout,
            loop=server.loop,
        )
        self._server = server
        self._config = config
        self._transcript = Transcript()
        self._input: InputStream | None = None
        self._handler: ConnectionHandler | None = None
        self._source: ClientIdentity | None = None  # identity before any XCLIENT
        self._helo: str | None = None
        self._esmtp = False
        self._extensions: frozenset[str] = frozenset()
        self._tls: dict[str, Any] | None = None
        self._tx: Transaction | None = None
        self._closing = False
        self._busy = False
        self._last_input = 0.0  # loop time of the last input (see _reset_timeout)
        self._idle_limit = 0.0
        self._unsent = bytearray()  # replies held back while pipelined commands wait (RFC 2920)
        self._commands: dict[str, Callable[[str | None], Awaitable[None]]] = {
            "HELO": self._helo_cmd, "EHLO": self._ehlo_cmd, "MAIL": self._mail_cmd,
            "RCPT": self._rcpt_cmd, "DATA": self._data_cmd, "BDAT": self._bdat_cmd,
            "RSET": self._rset_cmd, "NOOP": self._noop_cmd, "QUIT": self._quit_cmd,
            "VRFY": self._vrfy_cmd, "HELP": self._help_cmd, "STARTTLS": self._starttls_cmd,
        }
        if config.xclient:
            self._commands["XCLIENT"] = self._xclient_cmd

    # -- life cycle -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's socket transport receives into a new 256 KiB buffer on every read,
        # which glibc maps, shrinks and unmaps again: three system calls per read, two
        # reads per message. Blocks of READ_SIZE come from the heap instead.
        if getattr(transport, "max_size", 0) > READ_SIZE:
            transport.max_size = READ_SIZE  # type: ignore[attr-defined]
        super().connection_made(transport)
        self._server.connection_opened(self)

    def eof_received(self) -> bool | None:
        """The client closed its side. aiosmtpd cancels the conversation at once; here the
        commands already received are still answered (a client may pipeline QUIT and
        half-close), and the read after them ends the conversation."""
        return asyncio.StreamReaderProtocol.eof_received(self)

    def _reset_timeout(self, duration: float | None = None) -> None:
        """Note activity for the idle timeout. aiosmtpd cancels its timer and schedules
        a new one at every input (several times per message, each leaving a cancelled
        handle in the loop's timer heap); here noting activity is one clock read, and
        the timer, when it fires, checks when the last input came and waits on for the
        rest of the timeout if there was some."""
        self._last_input = self.loop.time()
        limit = duration or self._timeout_duration
        if self._timeout_handle is None or limit != self._idle_limit:
            if self._timeout_handle is not None:
                self._timeout_handle.cancel()
            self._idle_limit = limit
            self._timeout_handle = self.loop.call_later(limit, self._idle_check)

    def _idle_check(self) -> None:
        remaining = self._last_input + self._idle_limit - self.loop.time()
        if remaining > 0:
            self._timeout_handle = self.loop.call_later(remaining, self._idle_check)
        else:
            self._timeout_cb()

    def shutdown(self) -> None:
        """Server stop: end this connection now if it waits for the client, else after
        the command in progress (so a message being judged is stored and answered)."""
        self._closing = True
        if not self._busy and self._handler_coroutine is not None:
            self._handler_coroutine.cancel()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._handler_coroutine

    async def _handle_client(self) -> None:
        """The whole conversation; replaces aiosmtpd's loop (see the module docstring)."""
        assert self._reader is not None
        # Any input counts as activity for the idle timeout, so a large body sent slowly
        # is not cut off halfway.
        self._input = InputStream(self._reader, on_input=self._reset_timeout, before_wait=self._write_unsent)
        try:
            try:
                identity = await self._identify()
                if identity is None:
                    return
                self._source = identity
                self._transcript.note(_describe_client(identity))
                self._handler = self._server.new_handler(identity, self._transcript)
                refusal = self._handler.connect_decision()
                if refusal is not None:
                    await self._send(refusal.lines)
                    await self._handler.store_refused_connection(refusal)
                    return
                await self._send(self._handler.greeting())
                await self._command_loop()
            finally:
                await self._end_of_connection()
        except (ConnectionClosed, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # connection lost, idle timeout or server stop
        except Exception:  # a bug must cost one connection, never the server
            log.exception("SMTP session %s failed", self._handler.session_id if self._handler else "-")
        finally:
            self._close_transport()
            self._server.connection_closed(self)

    async def _identify(self) -> ClientIdentity | None:
        """The client's identity: socket peer, or the PROXY header's source when enabled."""
        peer = self.session.peer if self.session is not None else None
        peer_ip = normalize_ip(peer[0]) if isinstance(peer, tuple) else "127.0.0.1"
        if not self._config.proxy_protocol:
            return ClientIdentity.from_source(peer_ip, peer_ip, self._config.client_ips)
        assert self._input is not None
        try:
            proxy = await asyncio.wait_for(get_proxy(self._input), PROXY_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionClosed):
            self._transcript.note("no PROXY protocol header; connection closed")
            return None
        if not proxy.valid:
            self._transcript.note(f"bad PROXY protocol header ({proxy.error}); connection closed")
            return None
        if proxy.src_addr is None or isinstance(proxy.src_addr, (str, bytes)):
            # PROXY v1 UNKNOWN / v2 LOCAL (health checks), or a v2 Unix socket path: no
            # client IP to show or judge, so the proxy speaks for itself.
            self._transcript.note(f"PROXY v{proxy.version} header: no source IP address")
            return ClientIdentity.from_source(peer_ip, peer_ip, self._config.client_ips)
        self._transcript.note(f"PROXY v{proxy.version} header: source {proxy.src_addr}")
        source = normalize_ip(str(proxy.src_addr))
        return ClientIdentity.from_source(source, peer_ip, self._config.client_ips)

    async def _end_of_connection(self) -> None:
        if self._handler is not None:
            await self._abandon_transaction()

    def _close_transport(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._write_unsent()
            self.transport.close()

    # -- the command loop ---------------------------------------------------------------

    async def _command_loop(self) -> None:
        while not self._closing:
            line = await self._read_line()
            verb_bytes, _, arg_bytes = line.data.partition(b" ")
            verb = verb_bytes.decode("ascii", "replace").upper()
            self._transcript.client(_for_transcript(verb, line))
            if line.too_long:
                await self._reply("line_too_long")
                continue
            command = self._commands.get(verb) if verb.isalpha() and verb.isascii() else None
            if command is None:
                await self._reply("unrecognized")
                continue
            try:
                arg = arg_bytes.decode("utf-8").strip() or None
            except UnicodeDecodeError:
                await self._reply("invalid_utf8")
                continue
            await command(arg)

    async def _read_line(self) -> Line:
        """Wait for the next command line; the connection is idle (stoppable) meanwhile."""
        assert self._input is not None
        self._busy = False
        try:
            line = await self._input.readline(COMMAND_LINE_LIMIT)
        finally:
            self._busy = True
        return line

    async def _send(self, lines: list[str] | tuple[str, ...]) -> None:
        """Send a reply, or hold it while the client's next commands are already here:
        RFC 2920 lets a server answer a pipelined group in one write, which saves a
        system call per command. Held replies go out before the server waits for input
        (see :class:`InputStream`'s ``before_wait``) or closes, never later."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed()
        for line in lines:
            self._transcript.server(line)
        self._unsent += b"".join(line.encode("utf-8", "surrogateescape") + b"\r\n" for line in lines)
        if self._input is not None and self._input.buffered():
            return
        self._write_unsent()
        await self._writer.drain()

    def _write_unsent(self) -> None:
        if self._unsent and self.transport is not None and not self.transport.is_closing():
            self._writer.write(bytes(self._unsent))
        self._unsent.clear()

    async def _reply(self, kind: str, **values: Any) -> None:
        assert self._handler is not None
        await self._send(self._handler.reply(kind, **values))

    async def _send_decision(self, decision: Decision) -> None:
        """Send a profile decision; a 421 ends the connection, as RFC 5321 3.8 says it does."""
        await self._send(decision.lines)
        if decision.code == 421:
            self._closing = True

    def _reset_session(self) -> None:
        self._helo = None
        self._esmtp = False
        self._extensions = frozenset()

    async def _abandon_transaction(self) -> None:
        if self._tx is not None:
            tx, self._tx = self._tx, None
            assert self._handler is not None
            await self._handler.store_abandoned(tx, helo=self._helo, tls=self._tls)

    # -- HELO / EHLO ----------------------------------------------------------------------

    async def _helo_cmd(self, arg: str | None) -> None:
        await self._greet(arg, esmtp=False)

    async def _ehlo_cmd(self, arg: str | None) -> None:
        await self._greet(arg, esmtp=True)

    async def _greet(self, arg: str | None, *, esmtp: bool) -> None:
        assert self._handler is not None
        await self._abandon_transaction()
        name = (arg or "").split(" ")[0]
        refusal = self._handler.helo_decision(name)
        if refusal is not None:  # e.g. Gmail's 501 5.5.4 "..., closing connection."
            await self._send(refusal.lines)
            await self._handler.store_refused_connection(refusal, helo=name)
            self._closing = True
            return
        if not name:
            await self._reply("helo_syntax")
            return
        self._helo, self._esmtp = name, esmtp
        if not esmtp:
            await self._reply("helo", helo=name)
            return
        extra = [self._xclient_keyword()] if self._config.xclient else []
        lines = self._handler.ehlo(
            name, tls_active=self._tls is not None,
            tls_available=self._tls is None and self._config.tls_context is not None, extra=extra,
        )
        self._extensions = frozenset(line[4:].split(" ")[0].upper() for line in lines[1:])
        await self._send(lines)

    @staticmethod
    def _xclient_keyword() -> str:
        return "XCLIENT " + " ".join(XCLIENT_ATTRIBUTES)

    async def _needs_helo(self) -> bool:
        if self._helo is None:
            await self._reply("helo_first")
            return True
        return False

    # -- MAIL / RCPT ----------------------------------------------------------------------

    async def _mail_cmd(self, arg: str | None) -> None:
        assert self._handler is not None
        if await self._needs_helo():
            return
        if self._tx is not None:
            await self._reply("nested_mail")
            return
        parsed = parse_path(arg or "", "FROM", allow_null=True)
        if isinstance(parsed, PathProblem):
            if parsed.error is PathError.ADDRESS and await self._refuse_mail(
                Transaction(parsed.address, {}, transcript_start=self._transcript.begin_transaction()), valid=False
            ):
                return
            await self._path_problem(parsed, "sender")
            return
        problem = self._param_problem(parsed, _MAIL_PARAMS)
        if problem is not None:
            await self._reply(problem)
            return
        size = parsed.params.get("SIZE")
        if size is not None and self._config.max_size and int(size) > self._config.max_size:
            await self._reply("size_exceeded", size=int(size))
            return
        tx = Transaction(parsed.address, parsed.params, transcript_start=self._transcript.begin_transaction())
        if await self._refuse_mail(tx, valid=True):
            return
        self._tx = tx
        await self._reply("mail_ok", sender=parsed.address)

    async def _refuse_mail(self, tx: Transaction, *, valid: bool) -> bool:
        """Ask the profile about MAIL FROM; when it refuses, answer, store, return True."""
        assert self._handler is not None
        decision = self._handler.mail_decision(tx, helo=self._helo, tls=self._tls, valid=valid)
        if decision is None or decision.action not in ("reject", "defer"):
            return False
        tx.refusals.append(decision)
        await self._send_decision(decision)
        await self._handler.store_abandoned(tx, helo=self._helo, tls=self._tls)
        return True

    async def _rcpt_cmd(self, arg: str | None) -> None:
        assert self._handler is not None
        if await self._needs_helo():
            return
        tx = self._tx
        if tx is None:
            await self._reply("mail_first")
            return
        parsed = parse_path(arg or "", "TO", allow_null=False, utf8=tx.smtputf8)
        if isinstance(parsed, PathProblem):
            await self._path_problem(parsed, "recipient")
            return
        problem = self._param_problem(parsed, _RCPT_PARAMS)
        if problem is not None:
            await self._reply(problem)
            return
        decision = self._handler.rcpt_decision(tx, parsed.address, helo=self._helo, tls=self._tls)
        if decision is not None and decision.action in ("reject", "defer"):
            tx.refused_rcpts.append(parsed.address)
            tx.refusals.append(decision)
            await self._send_decision(decision)
            return
        tx.rcpt_to.append(parsed.address)
        await self._reply("rcpt_ok", recipient=parsed.address)

    async def _path_problem(self, problem: PathProblem, role: str) -> None:
        if problem.error is PathError.ADDRESS:
            await self._reply(f"bad_{role}", address=problem.address)
        elif problem.error is PathError.NON_ASCII:
            await self._reply("non_ascii_address", address=problem.address)
        else:
            await self._reply("syntax")

    def _param_problem(self, parsed: PathCommand, allowed: dict[str, str]) -> str | None:
        """The reply kind for a parameter this session does not allow, or None."""
        if parsed.params and not self._esmtp:
            return "syntax"
        for key, value in parsed.params.items():
            extension = allowed.get(key)
            if extension is None or extension not in self._extensions:
                return "unknown_parameter"
            if key == "SIZE" and (value is None or not value.isdigit()):
                return "syntax"
            if key == "SMTPUTF8" and value is not None:
                return "syntax"
            if key == "BODY":
                needed = _BODY_TYPES.get((value or "").upper(), "?")
                if needed is not None and needed not in self._extensions:
                    return "syntax"
        return None

    # -- DATA / BDAT ----------------------------------------------------------------------

    async def _data_cmd(self, arg: str | None) -> None:
        if await self._needs_helo():
            return
        if arg is not None:
            await self._reply("syntax")
            return
        tx = self._tx
        if tx is None:
            await self._reply("mail_first")
            return
        if not tx.rcpt_to:
            await self._reply("rcpt_first")
            return
        if tx.chunks is not None or tx.binarymime:
            # RFC 3030: no DATA once BDAT has started, nor for a BINARYMIME body.
            await self._reply("bad_sequence")
            return
        await self._reply("data_go_ahead")
        body = MessageBuffer(self._config.max_size)
        assert self._input is not None
        self._busy = False
        try:
            await self._input.copy_dot_body(body)
        except (ConnectionClosed, ConnectionError):
            self._transcript.note(f"connection lost during DATA after {body.size} bytes")
            self._tx = None
            assert self._handler is not None
            await self._handler.store_incomplete(tx, body.getvalue(), body.size, helo=self._helo, tls=self._tls)
            raise
        finally:
            self._busy = True
        self._transcript.note(f"[message: {body.size} bytes]")
        await self._end_of_message(tx, body)

    async def _bdat_cmd(self, arg: str | None) -> None:
        assert self._input is not None
        command = parse_bdat(arg)
        if command is None:
            # Without a size the chunk cannot be skipped; what follows is read as commands.
            await self._reply("syntax")
            return
        tx = self._tx
        problem = None
        if self._helo is None:
            problem = "helo_first"
        elif tx is None:
            problem = "mail_first"
        elif not tx.rcpt_to:
            problem = "rcpt_first"
        sink = tx.chunks if tx is not None and problem is None else None
        if sink is None:
            sink = MessageBuffer(0) if problem is not None else MessageBuffer(self._config.max_size)
        self._busy = False
        try:
            await self._input.copy_exactly(command.size, sink)
        except (ConnectionClosed, ConnectionError):
            self._transcript.note(f"connection lost during BDAT after {sink.size} bytes")
            if tx is not None and problem is None:
                self._tx = None
                assert self._handler is not None
                await self._handler.store_incomplete(tx, sink.getvalue(), sink.size, helo=self._helo, tls=self._tls)
            raise
        finally:
            self._busy = True
        self._transcript.note(f"[BDAT chunk: {command.size} bytes{', last' if command.last else ''}]")
        if problem is not None:
            await self._reply(problem)
            return
        assert tx is not None
        tx.chunks = sink
        if sink.overflow or command.last:
            await self._end_of_message(tx, sink)
        else:
            await self._reply("bdat_ok", size=command.size, total=sink.size)

    async def _end_of_message(self, tx: Transaction, body: MessageBuffer) -> None:
        """The reply to the end of a message: size refusal, or the profile's verdict."""
        assert self._handler is not None
        self._tx = None
        if body.overflow:
            lines = self._handler.reply("size_exceeded", size=body.size)
            await self._handler.store_oversized(tx, body.size, lines, helo=self._helo, tls=self._tls)
            await self._send(lines)
            return
        try:
            decision = await self._server.protect(
                self._handler.judge_message(tx, body.getvalue(), helo=self._helo or "", tls=self._tls)
            )
        except Exception:
            # A bug in a check must not lose the message silently: the client is told to
            # try again later, and the attempt is stored with what went wrong.
            log.exception("judging a message of session %s failed", self._handler.session_id)
            lines = self._handler.reply("temporary_failure")
            await self._handler.store_failed(tx, body.getvalue(), lines, helo=self._helo, tls=self._tls)
            await self._send(lines)
            return
        await self._send_decision(decision)

    # -- the rest -------------------------------------------------------------------------

    async def _rset_cmd(self, arg: str | None) -> None:
        if arg is not None:
            await self._reply("syntax")
            return
        await self._abandon_transaction()
        await self._reply("rset")

    async def _noop_cmd(self, arg: str | None) -> None:
        await self._reply("noop")

    async def _quit_cmd(self, arg: str | None) -> None:
        if arg is not None:
            await self._reply("syntax")
            return
        await self._abandon_transaction()  # stored before the client hears 221
        await self._reply("quit")
        self._closing = True

    async def _vrfy_cmd(self, arg: str | None) -> None:
        await self._reply("vrfy" if arg else "syntax")

    async def _help_cmd(self, arg: str | None) -> None:
        await self._reply("help")

    async def _starttls_cmd(self, arg: str | None) -> None:
        assert self._input is not None
        if arg is not None:
            await self._reply("syntax")
            return
        if await self._needs_helo():
            return
        context = self._config.tls_context
        if context is None or self._tls is not None or "STARTTLS" not in self._extensions:
            await self._reply("tls_unavailable")
            return
        if self._input.buffered():
            # RFC 3207 4.2: commands pipelined behind STARTTLS are void.
            self._transcript.note(f"{self._input.buffered()} bytes pipelined after STARTTLS discarded")
            self._input.discard_buffered()
        await self._reply("starttls_ready")
        try:
            await self._writer.start_tls(context, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            self._transcript.note(f"TLS handshake failed: {exc}")
            self._closing = True
            return
        self.transport = self._writer.transport
        ssl_object = self.transport.get_extra_info("ssl_object")
        cipher = ssl_object.cipher() if ssl_object is not None else None
        self._tls = {
            "version": ssl_object.version() if ssl_object is not None else None,
            "cipher": cipher[0] if cipher else None,
            "bits": cipher[2] if cipher else None,
        }
        self._transcript.note(f"TLS established: {self._tls['version']} {self._tls['cipher']}")
        self._reset_session()  # RFC 3207 4.2: the client starts over with EHLO

    async def _xclient_cmd(self, arg: str | None) -> None:
        assert self._handler is not None and self._source is not None
        if self._tx is not None:
            await self._reply("bad_sequence")
            return
        parsed = parse_xclient(arg)
        if isinstance(parsed, str):
            self._transcript.note(parsed)
            await self._reply("syntax")
            return
        # ADDR=[UNAVAILABLE] (an empty value) goes back to the connection's own address.
        addr = self._source.ip if parsed.addr == "" else parsed.addr
        identity = self._handler.identity.with_xclient(addr=addr, name=parsed.name, helo=parsed.helo)
        self._transcript.note(f"XCLIENT: client is now {identity.ip}"
                              + (f" ({identity.name})" if identity.name else "")
                              + (f", HELO {identity.helo}" if identity.helo else ""))
        # Postfix answers XCLIENT with a new greeting: the session starts over as that client.
        self._handler = self._server.new_handler(identity, self._transcript)
        self._reset_session()
        await self._send(self._handler.greeting())


def _for_transcript(verb: str, line: Line) -> bytes:
    """A command line as the transcript keeps it: an over-long line shortened, and the
    credentials of an AUTH command (which an MX never offers, but a misconfigured
    client may still send) masked."""
    if verb == "AUTH":
        mechanism = line.data.split(b" ")[1:2]
        return b" ".join([b"AUTH", *mechanism, b"********"])
    return line.data + (b" [...]" if line.too_long else b"")


def _describe_client(identity: ClientIdentity) -> str:
    """The transcript's first note: where the connection came from, and as whom it is judged."""
    text = f"connection from {identity.peer_ip}"
    if identity.original_ip != identity.peer_ip:
        text += f" for {identity.original_ip} (PROXY header)"
    if identity.ip != identity.original_ip:
        text += f", judged as {identity.ip} (--client-ip)"
    return text
