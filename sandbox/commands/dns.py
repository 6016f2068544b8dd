"""``smtp-sandbox dns serve``: serve zone files over real DNS (UDP and TCP).

For pointing ``dig`` or a staging MTA's resolver at the same zones the checks use,
without running the SMTP side. It runs until Ctrl-C or SIGTERM and then stops cleanly.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sandbox.commands.common import UsageError, add_zone_flags, load_faults, load_zones, parse_host_port

if TYPE_CHECKING:
    from fake_dns import Faults, Zones

DEFAULT_ADDRESS = "127.0.0.1:5353"


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="dns_action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve zone files over UDP and TCP until Ctrl-C",
        description="Serve BIND zone files as an authoritative DNS server (UDP and TCP) until "
        "Ctrl-C or SIGTERM. Names outside the zones are REFUSED; nothing is recursed.",
    )
    add_zone_flags(serve)
    serve.add_argument(
        "--dns", default=DEFAULT_ADDRESS, metavar="HOST:PORT",
        help=f"address to listen on, UDP and TCP (default {DEFAULT_ADDRESS}; port 0 picks a free one)",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    host, port = parse_host_port(args.dns, "--dns")
    if not args.zone:
        raise UsageError("no zone to serve: give at least one --zone FILE (a BIND zone file with $ORIGIN)")
    zones = load_zones(args.zone)
    faults = load_faults(args.fault)
    return asyncio.run(_serve(zones, faults, host, port, args.dns))


async def _serve(zones: "Zones", faults: "Faults", host: str, port: int, flag_value: str) -> int:
    """Serve until SIGINT or SIGTERM, then close every socket and return 0."""
    import asyncio
    import signal

    from fake_dns.server import DnsServer

    server = DnsServer(zones, faults)
    try:
        bound_host, bound_port = await server.start(host, port)
    except OSError as exc:
        raise UsageError(
            f"--dns {flag_value}: cannot listen there ({exc.strerror or exc}); choose another HOST:PORT"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    origins = ", ".join(zone.origin.to_text() for zone in zones)
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    faults_note = f"; faults: {', '.join(str(fault) for fault in faults)}" if faults else ""
    print(
        f"smtp-sandbox dns: serving {origins} on {shown_host}:{bound_port} (UDP and TCP){faults_note}; "
        "Ctrl-C stops",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
