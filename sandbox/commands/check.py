"""``smtp-sandbox check``: authenticate one message file and explain the verdicts.

Without ``--json`` it prints a step-by-step account a trainee can follow (the records
fetched, what matched, what aligned with what) and, for each failure, the DNS change
that fixes it. With ``--json`` it prints exactly one JSON object. The exit code is 0
whenever the check ran, whatever the verdict; 2 when the input cannot be checked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sandbox.commands.common import UsageError, add_zone_flags, build_resolver, parse_ip


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("message", metavar="MESSAGE.eml", help="the message file (RFC 5322, as sent)")
    add_zone_flags(parser, required=True)
    parser.add_argument("--ip", required=True, help="the client IP the message comes from (IPv4 or IPv6)")
    parser.add_argument("--mail-from", required=True, metavar="ADDR", help='the envelope sender ("" for a bounce)')
    parser.add_argument("--helo", required=True, metavar="NAME", help="the HELO/EHLO name the client gave")
    parser.add_argument("--dmarc-mode", choices=("rfc9989", "rfc7489"), default="rfc9989",
                        help="DMARC: RFC 9989 DNS tree walk (default) or RFC 7489 Public Suffix List")
    parser.add_argument("--smtputf8", action="store_true", help="the message was sent with SMTPUTF8")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the explanation")


def read_message(path: str) -> bytes:
    """The message bytes, or a UsageError saying why the file cannot be one."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such message file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a message file") from None
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise UsageError(f"{path}: the file is empty, not a message")
    return data


def run(args: argparse.Namespace) -> int:
    import asyncio

    from policies.authenticate import authenticate

    ip = parse_ip(args.ip)
    message = read_message(args.message)
    resolver = build_resolver(args)
    result = asyncio.run(
        authenticate(
            message, resolver=resolver, client_ip=ip, mail_from=args.mail_from, helo=args.helo,
            smtputf8=args.smtputf8, dmarc_mode=args.dmarc_mode,
        )
    )
    unparseable = [i for i in result.format.issues if i.code == "unparseable"]
    if unparseable:
        raise UsageError(f"{args.message}: not a message: {unparseable[0].detail}")
    if args.json:
        json.dump(result.as_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render(result, args.message, ip, args.mail_from, args.helo))
    return 0


def render(result, path: str, ip: str, mail_from: str, helo: str) -> str:
    """The trainee-readable report: each check's steps, then what to fix."""
    out = [
        f"Message {path}",
        f"  from client {ip}, HELO {helo or '(none)'}, MAIL FROM <{mail_from}>",
        "",
    ]
    for name, check in result.checks():
        out.append(f"{_title(name, check)}: {check.result.upper()}")
        out.extend(f"  {line}" for line in check.explain())
        out.append("")
    fixes = result.fixes()
    if fixes:
        out.append("What to fix:")
        out.extend(f"  {n}. {fix}" for n, fix in enumerate(fixes, 1))
    else:
        out.append("Nothing to fix: every check passed.")
    out += ["", f"Authentication-Results: {result.header_value()}", ""]
    return "\n".join(out)


def _title(name: str, check) -> str:
    if name == "dkim":
        return f"DKIM signature d={check.domain} s={check.selector}"
    return {"spf": "SPF", "dmarc": "DMARC", "arc": "ARC", "rdns": "Reverse DNS", "format": "Message format"}[name]
