"""``smtp-sandbox show ID``: one stored delivery, told so a trainee can follow it.

In reading order: who sent what (envelope, client, TLS), what the provider answered and
which rule made it answer that, the conversation on the wire, then each check's verdict
explained step by step with the DNS change that would fix a failure, and finally those
changes gathered in one list. ``--json`` prints the stored delivery as one object;
``--message`` writes the stored message itself, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from sandbox.commands.common import UsageError, add_data_dir_flag

if TYPE_CHECKING:
    from sandbox.store import Delivery

# The checks in the order a trainee reads them (the order MessageAuthentication uses).
CHECK_TITLES: tuple[tuple[str, str], ...] = (
    ("spf", "SPF"), ("dkim", "DKIM"), ("dmarc", "DMARC"), ("arc", "ARC"),
    ("rdns", "Reverse DNS"), ("format", "Message format"),
)
INDENT = "  "


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="the delivery's number, as `smtp-sandbox log` shows it")
    add_data_dir_flag(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the stored delivery as one JSON object (the message base64-encoded)")
    output.add_argument("--message", action="store_true",
                        help="write the stored message (as received, with the provider's added headers) "
                        "to stdout, byte for byte")


def run(args: argparse.Namespace) -> int:
    import json

    from sandbox.store import StoreError, StoreReader

    if not args.id.isdigit():
        raise UsageError(f"{args.id!r} is not a delivery number (see `smtp-sandbox log`)")
    try:
        delivery = StoreReader(args.data_dir).get(int(args.id))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    if delivery is None:
        raise UsageError(f"no delivery {args.id} in {args.data_dir} (see `smtp-sandbox log`)")
    if args.message:
        sys.stdout.buffer.write(delivery.message or b"")
        sys.stdout.buffer.flush()
    elif args.json:
        print(json.dumps(delivery.to_dict(), indent=2))
    else:
        print("\n".join(render(delivery)))
    return 0


def render(delivery: "Delivery") -> list[str]:
    """The whole text report, as lines."""
    return [
        *_envelope(delivery), "",
        *_decision(delivery), "",
        "Transcript", *_transcript(delivery.transcript), "",
        *_verdicts(delivery.checks, delivery.stage),
    ]


def _envelope(delivery: "Delivery") -> list[str]:
    client = delivery.client_ip
    if delivery.original_ip and delivery.original_ip != delivery.client_ip:
        client += f" (judged as this address; the connection came from {delivery.original_ip})"
    tls = delivery.tls
    if tls:
        bits = f" ({tls['bits']} bits)" if tls.get("bits") else ""
        tls_text = f"{tls.get('version')} {tls.get('cipher')}{bits}"
    else:
        tls_text = "none: the message travelled in plain text"
    size = len(delivery.message) if delivery.message else 0
    message = (f"{size} bytes as stored (`smtp-sandbox show {delivery.id} --message` prints it)"
               if size else "none (the attempt ended before a message arrived)")
    return [
        f"Delivery {delivery.id}  received {delivery.received_at}  profile {delivery.profile}  "
        f"session {delivery.session_id}",
        f"{INDENT}client      {client}",
        f"{INDENT}HELO        {delivery.helo or '-'}",
        f"{INDENT}TLS         {tls_text}",
        f"{INDENT}MAIL FROM   <{delivery.mail_from}>",
        f"{INDENT}RCPT TO     {', '.join(delivery.rcpt_to) or '- (no recipient accepted)'}",
        f"{INDENT}Message-ID  {delivery.message_id or '-'}",
        f"{INDENT}message     {message}",
    ]


def _decision(delivery: "Delivery") -> list[str]:
    decision = delivery.decision
    if not decision:
        return ["Decision: none - the client went away before the sandbox could answer"]
    reply = " ".join(str(p) for p in (decision.get("code"), decision.get("enhanced_code")) if p)
    action = decision.get("action")
    if decision.get("rule_id"):
        rule = f"rule {decision['rule_id']}"
    else:  # no rule matched: the profile's default acceptance, or a refusal of the SMTP layer itself
        rule = "the profile's default acceptance" if action == "accept" else "no profile rule"
    inferred = ", inferred from the provider's documentation rather than observed" if decision.get("inferred") else ""
    lines = [f"Decision: {action} at {str(decision.get('stage') or delivery.stage).upper()} - "
             f"{reply} ({rule}{inferred})"]
    if delivery.folder:
        lines.append(f"{INDENT}delivered to the {delivery.folder} folder")
    for label in ("reason", "note"):
        if decision.get(label):
            lines.append(f"{INDENT}{label}: {decision[label]}")
    lines += [f"{INDENT}{INDENT}{line}" for line in decision.get("lines") or ()]
    return lines


def _transcript(entries: list[dict[str, Any]]) -> list[str]:
    """``+0.012s C: EHLO ...`` lines, times relative to the first entry; ``*`` marks the
    sandbox's own notes (TLS established, body size, connection lost)."""
    if not entries:
        return [f"{INDENT}(nothing recorded)"]
    start = entries[0].get("t") or 0.0
    lines = []
    for entry in entries:
        direction = entry.get("dir")
        marker = f"{direction}:" if direction in ("C", "S") else "* "
        offset = f"+{(entry.get('t') or start) - start:.3f}s"
        lines.append(f"{INDENT}{offset:<9} {marker} {entry.get('line', '')}")
    return lines


def _verdicts(checks: dict[str, Any], stage: str) -> list[str]:
    if not checks:
        return ["Verdicts", f"{INDENT}none: no check ran; the attempt ended at {stage.upper()}, before a "
                "complete message arrived"]
    lines = ["Verdicts"]
    for key, title in CHECK_TITLES:
        if key not in checks:
            continue
        value = checks[key]
        if key == "dkim":
            lines += _dkim(value)
        elif key == "format" and isinstance(value, list):
            lines += _format_issues(value)
        else:
            lines += _check(title, value)
    if checks.get("authentication_results"):
        lines += ["", f"Authentication-Results (as the provider writes it): {checks['authentication_results']}"]
    fixes = checks.get("fixes") or []  # every check's fixes, without repeats
    lines += ["", "What to change"]
    if fixes:
        lines += [f"{INDENT}{number}. {fix}" for number, fix in enumerate(fixes, 1)]
    else:
        lines.append(f"{INDENT}nothing: no check failed in a way a DNS change would fix")
    return lines


def _check(title: str, result: dict[str, Any]) -> list[str]:
    """One check: its result, the steps that led there, and its fixes."""
    headline = f"{INDENT}{title}: {result.get('result', '?')}"
    if result.get("reason") and not result.get("explain"):
        headline += f" ({result['reason']})"
    lines = [headline]
    lines += [f"{INDENT * 2}{line}" for line in result.get("explain") or ()]
    lines += [f"{INDENT * 2}fix: {fix}" for fix in result.get("fixes") or ()]
    return lines


def _dkim(signatures: list[dict[str, Any]]) -> list[str]:
    if not signatures:
        return [f"{INDENT}DKIM: none (the message carries no DKIM-Signature)"]
    lines: list[str] = []
    for number, signature in enumerate(signatures, 1):
        title = f"DKIM signature {number} (d={signature.get('domain')}, s={signature.get('selector')})"
        lines += _check(title, signature)
    return lines


def _format_issues(issues: list[dict[str, Any]]) -> list[str]:
    if not issues:
        return [f"{INDENT}Message format: no issues"]
    lines = [f"{INDENT}Message format: {len(issues)} issue{'s' if len(issues) != 1 else ''}"]
    for issue in issues:
        header = f" ({issue['header']})" if issue.get("header") else ""
        lines.append(f"{INDENT * 2}{issue.get('code')}{header}: {issue.get('detail', '')}")
    return lines
