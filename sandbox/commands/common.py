"""Flags and loading shared by several sub-commands (``--zone``, ``--fault``, addresses)."""

from __future__ import annotations

import argparse
import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fake_dns import Faults, Resolver, Zones


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def add_zone_flags(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--zone FILE`` (repeatable) and ``--fault SPEC`` (repeatable)."""
    parser.add_argument(
        "--zone", action="append", default=[], metavar="FILE", required=required,
        help="BIND zone file whose $ORIGIN names the zone (repeat for several zones)",
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SPEC",
        help="make a name fail: NAME=timeout, NAME=servfail or NAME/TYPE=timeout|servfail|ok",
    )


DEFAULT_DATA_DIR = ".smtp-sandbox"


def add_data_dir_flag(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR``: where a sandbox keeps its deliveries (``serve`` writes there,
    ``log`` and ``show`` read from there)."""
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
        help=f"the sandbox's data directory (default ./{DEFAULT_DATA_DIR}/)",
    )


def load_zones(paths: list[str]) -> "Zones":
    """Load the ``--zone`` files, turning a broken file into a one-line UsageError."""
    from fake_dns import ZoneError, Zones

    try:
        return Zones.from_files(paths)
    except ZoneError as exc:
        raise UsageError(f"zone file {exc}") from None


def load_faults(specs: list[str]) -> "Faults":
    from fake_dns import Faults, FaultSpecError

    try:
        return Faults(specs)
    except FaultSpecError as exc:
        raise UsageError(str(exc)) from None


def build_resolver(args: argparse.Namespace) -> "Resolver":
    """The in-process resolver over ``--zone`` / ``--fault``."""
    from fake_dns import Resolver

    return Resolver(load_zones(args.zone), load_faults(args.fault))


def parse_ip(text: str, flag: str = "--ip") -> str:
    """Validate an IPv4/IPv6 address; IPv4-mapped IPv6 (``::ffff:192.0.2.1``) becomes IPv4."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def parse_host_port(text: str, flag: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:2525`` for IPv6) into a (host, port) pair."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{flag} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:2525")
    return host.strip("[]") or "127.0.0.1", int(port)
