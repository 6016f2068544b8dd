"""The ``smtp-sandbox`` command line.

Each sub-command lives in its own module under :mod:`sandbox.commands` with two
functions, ``configure(parser)`` and ``run(args) -> int``. Command modules import
their heavy dependencies inside ``run`` only, so that a script calling the CLI
thousands of times pays for what it uses and nothing else.

Errors the user can fix (a bad flag, a zone that does not load, a message that is
not a message) are raised as :class:`~sandbox.commands.common.UsageError` and printed
as one line on stderr with exit code 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import os
import importlib
import importlib.util
import sys

# name -> (module under sandbox.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "run the SMTP receiver, its DNS server and the store"),
    "dns": ("dns", "serve zones over real DNS (UDP and TCP)"),
    "spf": ("spf", "evaluate SPF (RFC 7208) for one client against the zones"),
    "check": ("check", "authenticate one message (SPF, DKIM, DMARC, ARC, rDNS, format)"),
    "log": ("log", "list stored deliveries"),
    "show": ("show", "show one stored delivery: transcript, verdicts, fixes"),
    "zone": ("zone", "manage the zones of a running sandbox (reload)"),
    "scenario": ("scenario", "replay scenario files against an in-process sandbox"),
}


def _available() -> dict[str, tuple[str, str]]:
    """The commands whose module exists in this installation."""
    found = {}
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(f"sandbox.commands.{module}") is not None:
            found[name] = (module, help_text)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtp-sandbox",
        description="A receiving SMTP server that judges mail like Gmail, Yahoo or Outlook.com "
        "against a DNS zone you control.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in _available().items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(f"sandbox.commands.{module}").configure(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sandbox.commands.common import UsageError

    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(f"sandbox.commands.{args._module}")
    try:
        return module.run(args)
    except UsageError as exc:
        print(f"smtp-sandbox {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `smtp-sandbox log | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
