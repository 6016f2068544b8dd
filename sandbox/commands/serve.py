"""``smtp-sandbox serve``: the SMTP receiver, its DNS server and the store, until Ctrl-C.

Without ``--zone`` it serves the demo zones shipped in the package and judges every
client as the demo's sending address, so the very first message gets a real verdict
(see :mod:`sandbox.demo`). Ctrl-C or SIGTERM stops it cleanly: messages in flight are
judged, stored and answered before the store closes.

The zone files are loaded again, without a restart, on ``smtp-sandbox zone reload``
(through the control socket ``DATA_DIR/control.sock``), on SIGHUP, and when a zone
file changes (see :mod:`sandbox.reload`); a file that does not load keeps the old zones
and the reason is printed.

``--workers N`` spreads the receiving over N processes that accept on one socket (see
:mod:`sandbox.workers`); this process then keeps the DNS server, the reload triggers
and the banner, and a reload is done when every worker has it.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sandbox.commands.common import DEFAULT_DATA_DIR, UsageError, add_zone_flags, load_faults, load_zones, parse_host_port

if TYPE_CHECKING:
    from sandbox.app import Sandbox
    from sandbox.workers import WorkerPool

DEFAULT_SMTP = "127.0.0.1:2525"
DEFAULT_DNS = "127.0.0.1:5353"


def configure(parser: argparse.ArgumentParser) -> None:
    add_zone_flags(parser)
    parser.add_argument("--profile", default="gmail", metavar="gmail|yahoo|outlook|PATH",
                        help="the provider to behave like (default gmail), or a profile file")
    parser.add_argument("--smtp", default=DEFAULT_SMTP, metavar="HOST:PORT",
                        help=f"SMTP address to listen on (default {DEFAULT_SMTP})")
    parser.add_argument("--dns", default=DEFAULT_DNS, metavar="HOST:PORT",
                        help=f"DNS address (UDP and TCP) serving the same zones (default {DEFAULT_DNS})")
    parser.add_argument("--client-ip", action="append", default=[], metavar="[SRC=]IP",
                        help="judge clients as IP: every client (IP), or those connecting from SRC "
                        "(SRC=IP, e.g. 127.0.0.10=192.0.2.10); repeatable")
    parser.add_argument("--bulk-sender", action="append", default=[], metavar="DOMAIN",
                        help="treat mail from DOMAIN as bulk mail (the provider's bulk-sender rules apply)")
    parser.add_argument("--unknown-user", action="append", default=[], metavar="ADDR",
                        help="recipient that does not exist (refused at RCPT); repeatable")
    parser.add_argument("--over-quota", action="append", default=[], metavar="ADDR",
                        help="recipient whose mailbox is full (deferred at RCPT); repeatable")
    parser.add_argument("--require-tls", action="store_true",
                        help="refuse mail sent without STARTTLS, whatever the profile says")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
                        help=f"where deliveries and the TLS certificate are kept (default ./{DEFAULT_DATA_DIR}/)")
    parser.add_argument("--tls-cert", metavar="FILE", help="PEM certificate for STARTTLS (default: self-signed)")
    parser.add_argument("--tls-key", metavar="FILE", help="PEM private key for --tls-cert")
    parser.add_argument("--proxy-protocol", action="store_true",
                        help="expect a PROXY protocol v1 or v2 header on every connection")
    parser.add_argument("--xclient", action="store_true",
                        help="offer Postfix's XCLIENT (ADDR, NAME, HELO) to set the client per connection")
    parser.add_argument("--workers", default="1", metavar="N|auto",
                        help="SMTP worker processes sharing the listening socket (default 1; auto: one per CPU); "
                        "more than one spreads the checks over several cores")


def run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_serve(_build(args), args))


def worker_count(text: str) -> int:
    """``--workers``: a number from 1 up, or ``auto`` for one per CPU."""
    if text == "auto":
        return os.cpu_count() or 1
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--workers {text!r}: expected a number of processes (1 or more) or auto")
    return int(text)


def _build(args: argparse.Namespace) -> "Sandbox":
    """The sandbox the flags describe; every problem becomes a one-line UsageError.

    With more than one worker this process's sandbox has no SMTP server (its workers
    receive) and ``args.worker_config`` says how to build theirs.
    """
    from sandbox import demo
    from sandbox.app import Sandbox
    from sandbox.smtp.identity import ClientIpMap
    from sandbox.workers import WorkerConfig

    smtp = parse_host_port(args.smtp, "--smtp")
    dns = parse_host_port(args.dns, "--dns")
    args.workers = worker_count(str(args.workers))
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together: give both or neither")
    client_ips: dict[str | None, str] = {}
    for spec in args.client_ip:
        try:
            source, target = ClientIpMap.parse_spec(spec)
        except ValueError:
            raise UsageError(f"--client-ip {spec!r}: expected IP or SRC=IP with IPv4/IPv6 addresses") from None
        client_ips[source] = target
    args.demo = not args.zone
    if args.demo and not client_ips:
        client_ips[None] = demo.CLIENT_IP
    args.zone_files = [str(path) for path in (args.zone or demo.zone_files())]
    zones = load_zones(args.zone_files)
    faults = load_faults(args.fault)
    require_tls = True if args.require_tls else None
    args.smtp_address = smtp
    args.printer = DeliveryPrinter()
    args.worker_config = WorkerConfig(
        data_dir=str(args.data_dir), zone_files=tuple(args.zone_files), faults=tuple(args.fault),
        profile=str(args.profile), require_tls=require_tls, client_ips=tuple(client_ips.items()),
        bulk_senders=tuple(args.bulk_sender), unknown_users=tuple(args.unknown_user),
        over_quota=tuple(args.over_quota), tls_cert=args.tls_cert, tls_key=args.tls_key,
        proxy_protocol=args.proxy_protocol, xclient=args.xclient,
    )
    try:
        return Sandbox(
            zones, faults=faults, profile=args.profile, data_dir=args.data_dir,
            smtp=smtp if args.workers == 1 else None, dns=dns, client_ips=client_ips,
            bulk_senders=args.bulk_sender, unknown_users=args.unknown_user, over_quota=args.over_quota,
            require_tls=require_tls, tls_cert=args.tls_cert, tls_key=args.tls_key,
            proxy_protocol=args.proxy_protocol, xclient=args.xclient, on_delivery=args.printer,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


async def _serve(sandbox: "Sandbox", args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from sandbox.app import BindError
    from sandbox.control import answers
    from sandbox.heap import freeze_startup_objects
    from sandbox.store import StoreError

    if answers(args.data_dir):
        raise UsageError(f"--data-dir {args.data_dir}: another smtp-sandbox serve is running there "
                         "(stop it, or choose another --data-dir)")
    try:
        await sandbox.start()
    except BindError as exc:
        flag = {"smtp": "--smtp", "dns": "--dns"}[exc.service]
        raise UsageError(f"{flag} {getattr(args, exc.service)}: cannot listen there ({exc.reason}); "
                         "choose another HOST:PORT") from None
    except ValueError as exc:  # a TLS certificate or key that does not load
        raise UsageError(str(exc)) from None
    except (StoreError, OSError) as exc:  # the data directory cannot be created or opened
        raise UsageError(f"--data-dir {args.data_dir}: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with _workers(sandbox, args) as pool, _reloading(sandbox, args, pool):
            print(await _banner(sandbox, args, pool), flush=True)
            freeze_startup_objects()
            await stop.wait()
            print("smtp-sandbox: stopping; finishing messages in flight", flush=True)
    finally:
        await sandbox.stop()
        args.printer.flush()
    return 0


@asynccontextmanager
async def _workers(sandbox: "Sandbox", args: argparse.Namespace) -> AsyncIterator["WorkerPool | None"]:
    """With ``--workers`` above 1: bind the SMTP socket and run the worker processes on it
    while the block runs (None otherwise: this process's sandbox receives itself)."""
    from sandbox.workers import WorkerError, WorkerPool

    if args.workers == 1:
        yield None
        return
    host, port = args.smtp_address
    try:
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                        backlog=1024)
    except OSError as exc:
        raise UsageError(f"--smtp {args.smtp}: cannot listen there ({exc.strerror or exc}); "
                         "choose another HOST:PORT") from None
    listener.setblocking(False)
    pool = WorkerPool(args.worker_config, listener, args.workers, report=lambda line: print(line, flush=True))
    try:
        try:
            await pool.start()
        except WorkerError as exc:
            raise UsageError(f"--workers {args.workers}: {exc}") from None
        args.smtp_bound = listener.getsockname()[:2]
        yield pool
    finally:
        await pool.stop()
        listener.close()


@asynccontextmanager
async def _reloading(sandbox: "Sandbox", args: argparse.Namespace, pool: "WorkerPool | None") -> AsyncIterator[None]:
    """Reload the zone files while the block runs: on ``zone reload`` (control socket),
    SIGHUP, and a change of a file; in every worker too. Stops all three on the way out."""
    import asyncio
    import signal

    from sandbox.control import ControlError, ControlServer
    from sandbox.reload import ZoneReloader

    reloader = ZoneReloader(sandbox, args.zone_files, report=lambda line: print(line, flush=True),
                            followers=pool.reload if pool is not None else None)

    async def reload_command() -> str:
        return (await reloader.reload("smtp-sandbox zone reload")).line()

    control = ControlServer(sandbox.data_dir or args.data_dir, {"reload": reload_command})
    try:
        await control.start()
    except ControlError as exc:  # e.g. a data directory too deep for a socket path
        print(f"smtp-sandbox: `zone reload` is not available: {exc}; SIGHUP and saving a zone file "
              "still reload", flush=True)
    loop = asyncio.get_running_loop()
    # Strong references: the loop keeps only weak ones to tasks.
    tasks: set[asyncio.Task[object]] = {loop.create_task(reloader.watch())}

    def on_sighup() -> None:
        task = loop.create_task(reloader.reload("SIGHUP"))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await control.stop()


async def _banner(sandbox: "Sandbox", args: argparse.Namespace, pool: "WorkerPool | None") -> str:
    from sandbox import demo

    host, port = sandbox.smtp_address if pool is None else args.smtp_bound
    dns_host, dns_port = sandbox.dns_address or ("-", 0)
    profile = sandbox.profile
    origins = ", ".join(zone.origin.to_text(omit_final_dot=True) for zone in sandbox.zones)
    lines = [
        f"smtp-sandbox: behaving like {profile.name} ({', '.join(sorted(profile.domains))})",
        f"  SMTP  {_show(host)}:{port}    DNS  {_show(dns_host)}:{dns_port} (UDP and TCP)",
        f"  zones {origins}" + (" (the demo shipped with smtp-sandbox)" if args.demo else ""),
        f"  store {sandbox.data_dir}",
        *([f"  workers {len(pool.pids)} SMTP processes (pids {', '.join(map(str, pool.pids))})"] if pool else []),
        f"  reload: smtp-sandbox zone reload --data-dir {sandbox.data_dir}, kill -HUP {os.getpid()}, "
        "or just save a zone file",
    ]
    mapping = sandbox.client_ips.mapping
    if mapping:
        shown = ", ".join(f"{src or 'every client'} -> {ip}" for src, ip in mapping.items())
        lines.append(f"  judged as: {shown}")
    else:
        lines.append("  clients are judged by their own address (--client-ip [SRC=]IP maps them)")
    recipient = f"user@{sorted(profile.domains)[0]}"
    lines.append("")
    if args.demo:
        accepted = await demo.expected_reply(profile, sandbox.resolver, demo.GOOD_SENDER, recipient)
        rejected = await demo.expected_reply(profile, sandbox.resolver, demo.BROKEN_SENDER, recipient)
        lines.append(demo.instructions(host, port, recipient, accepted=accepted, rejected=rejected))
    else:
        senders = [o for o in origins.split(", ") if o and not o.endswith(".arpa")] or ["example.com"]
        lines.append(f"Send to any address at {', '.join(sorted(profile.domains))} through {_show(host)}:{port}, e.g.")
        lines.append(f"  {demo.swaks_line(host, port, 'you@' + senders[0], recipient)}")
    lines.append("Ctrl-C stops.")
    return "\n".join(lines)


def _show(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class DeliveryPrinter:
    """One line per stored attempt, so the terminal running ``serve`` shows verdicts live:
    ``#2 bob@example.net -> user@gmail.com [192.0.2.10]: 550 5.7.26 reject at data by G4: ...``.

    The lines of one moment go out together, at most FLUSH_DELAY after their delivery:
    every write to a pipe or terminal wakes whoever reads it, and under load one write
    per delivery cost the server about 5% of its time. Each write holds whole lines and
    at most PIPE_BUF bytes, which the kernel writes in one piece, so the lines of several
    ``--workers`` sharing this output never interleave. Call :meth:`flush` before exit.
    """

    FLUSH_DELAY = 0.02  # seconds

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._scheduled = False

    def __call__(self, number: int, delivery: Any) -> None:
        self._pending.append(delivery_line(number, delivery).encode("utf-8", "backslashreplace") + b"\n")
        if not self._scheduled:
            self._scheduled = True
            import asyncio

            asyncio.get_running_loop().call_later(self.FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        chunk = b""
        for line in pending:
            if chunk and len(chunk) + len(line) > select.PIPE_BUF:
                _write(chunk)
                chunk = b""
            chunk += line
        if chunk:
            _write(chunk)


def _write(data: bytes) -> None:
    sys.stdout.flush()  # whatever print() left in the text layer goes first
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def delivery_line(number: int, delivery: Any) -> str:
    """The line :class:`DeliveryPrinter` prints for delivery ``number``."""
    decision = delivery.decision or {}
    if not decision:
        verdict = f"no verdict (the client left during {delivery.stage})"
    else:
        code = f"{decision.get('code')} {decision.get('enhanced_code') or ''}".strip()
        where = f"to {delivery.folder}" if delivery.folder else f"at {delivery.stage}"
        verdict = f"{code} {decision.get('action')} {where}"
        if decision.get("rule_id"):
            verdict += f" by {decision['rule_id']}"
        text = decision.get("text") or ""
        if decision.get("action") in ("reject", "defer") and text:
            verdict += ": " + (text if len(text) <= 100 else text[:97] + "...")
    rcpts = ", ".join(delivery.rcpt_to) or "-"
    return f"#{number} {delivery.mail_from or '<>'} -> {rcpts} [{delivery.client_ip}]: {verdict}"
