"""``smtp-sandbox spf``: evaluate SPF (RFC 7208) for one client against the zones.

Prints the result, the explanation and every DNS lookup in order, then the steps that
led there and the DNS change that would fix a failure. With ``--json`` it prints
exactly one JSON object (the ``SpfResult.as_dict()`` view). The exit code is 0 whenever
the check ran, whatever the verdict; 2 for a bad flag or a zone that does not load.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from sandbox.commands.common import add_zone_flags, build_resolver, parse_ip

if TYPE_CHECKING:
    from policies.spf import SpfResult


def configure(parser: argparse.ArgumentParser) -> None:
    add_zone_flags(parser, required=True)
    parser.add_argument("--ip", required=True, help="the client IP address (IPv4, IPv6 or IPv4-mapped IPv6)")
    parser.add_argument("--mail-from", required=True, metavar="ADDR",
                        help='the envelope sender; "" (the null sender) checks the HELO name instead')
    parser.add_argument("--helo", required=True, metavar="NAME", help="the HELO/EHLO name the client gave")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the explanation")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from policies.spf import check_spf

    ip = parse_ip(args.ip)
    resolver = build_resolver(args)
    result = asyncio.run(check_spf(resolver, ip, args.mail_from, args.helo))
    if args.json:
        json.dump(result.as_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(result))
    return 0


def render(result: SpfResult) -> str:
    """The trainee-readable report: verdict, explanation, lookups, steps, fixes, headers."""
    identity = "HELO name" if result.identity == "helo" else "MAIL FROM domain"
    out = [
        f"SPF: {result.result.upper()} for {identity} {result.domain or '(none)'}, client {result.client_ip}",
        f"Explanation: {result.explanation if result.explanation is not None else '(none)'}",
    ]
    if result.reason is not None:
        out.append(f"Reason: {result.reason}")
    out += ["", "DNS lookups, in order:"]
    out += [f"  {n}. {answer.describe()}" for n, answer in enumerate(result.lookups, 1)] or ["  (none)"]
    out += ["", "How it was decided:"]
    out += [f"  {line}" for line in result.explain()]
    fixes = result.fixes()
    if fixes:
        out += ["", "What to fix:"]
        out += [f"  {n}. {fix}" for n, fix in enumerate(fixes, 1)]
    out += [
        "",
        f"Received-SPF: {result.received_spf()}",
        f"Authentication-Results: {result.receiver}; {result.auth_result()}",
        "",
    ]
    return "\n".join(out)
