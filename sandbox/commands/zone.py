"""``smtp-sandbox zone reload``: make a running ``serve`` load its zone files again.

It talks to the ``serve`` that uses the same ``--data-dir``, through its control
socket (:mod:`sandbox.control`). The answer is printed: the zones now served (exit 0),
or why the reload failed, in which case ``serve`` keeps the zones it had (exit 1).
``kill -HUP <pid of serve>`` does the same; ``serve`` also reloads by itself when a
``--zone`` file changes.
"""

from __future__ import annotations

import argparse
import sys

from sandbox.commands.common import UsageError, add_data_dir_flag


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    reload = actions.add_parser(
        "reload", help="load the zone files of the running serve again (keeps the old zones if one is broken)",
        description="Load the --zone files of the running `smtp-sandbox serve` again, without a restart.",
    )
    add_data_dir_flag(reload)


def run(args: argparse.Namespace) -> int:
    from sandbox.control import ControlError, request

    try:
        answer = request(args.data_dir, "reload")
    except ControlError as exc:
        raise UsageError(str(exc)) from None
    status, _, detail = answer.partition(" ")
    if status == "ok":
        print(f"reloaded zones: {detail}")
        return 0
    print(f"smtp-sandbox zone reload: error: {detail}", file=sys.stderr)
    return 1
