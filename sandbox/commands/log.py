"""``smtp-sandbox log``: one line per stored delivery attempt, or ``--json`` for scripts.

Reads the data directory a ``serve`` is writing to (or wrote to); it never creates one,
so a mistyped ``--data-dir`` is an error rather than an empty listing.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sandbox.commands.common import UsageError, add_data_dir_flag

if TYPE_CHECKING:
    from sandbox.store import Delivery

ACTIONS = ("accept", "spam", "defer", "reject")


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_dir_flag(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON list of objects (id, received_at, client_ip, helo, mail_from, "
                        "rcpt_to, message_id, folder, decision, spf, dkim, dmarc, ...)")
    parser.add_argument("--limit", metavar="N", help="only the N most recent deliveries")
    parser.add_argument("--action", choices=ACTIONS, help="only deliveries that got this verdict")


def run(args: argparse.Namespace) -> int:
    import json

    from sandbox.store import StoreError, StoreReader

    limit = _limit(args.limit)
    try:
        deliveries = StoreReader(args.data_dir).list(limit=limit, action=args.action)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps([d.to_log_dict() for d in deliveries], indent=2))
    else:
        for delivery in deliveries:
            print(log_line(delivery))
        if not deliveries:
            wanted = f" with action {args.action}" if args.action else ""
            print(f"no deliveries{wanted} stored in {args.data_dir} yet", file=sys.stderr)
    return 0


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"--limit {text!r}: expected a positive whole number")
    return int(text)


def log_line(delivery: "Delivery") -> str:
    """``#12   2024-05-01 12:00:03Z  192.0.2.10       a@example.com -> b@gmail.com  550 5.7.26 reject  <id@x>``

    The outcome is the folder for accepted mail, else the action, with the stage when
    the attempt ended before DATA (``550 5.1.1 reject at rcpt``)."""
    decision = delivery.decision
    if decision:
        reply = " ".join(str(part) for part in (decision.get("code"), decision.get("enhanced_code")) if part)
        outcome = f"{reply} {delivery.folder or decision.get('action')}"
        if delivery.stage != "data":
            outcome += f" at {delivery.stage}"
    else:
        outcome = "no reply (connection lost)"
    when = delivery.received_at[:19].replace("T", " ") + "Z"
    recipients = ", ".join(delivery.rcpt_to) or "-"
    return (f"#{delivery.id:<4} {when}  {delivery.client_ip:<15}  {delivery.mail_from or '<>'} -> {recipients}  "
            f"{outcome}  {delivery.message_id or '-'}")
