"""What a worker process needs to build its sandbox, sent to it as one JSON line.

Only what ``serve``'s flags say travels (file paths, names, addresses): each worker
loads the zone files and the profile itself, so nothing unpicklable or large crosses
the process boundary, and a reload is the same "read the files again" in every process.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from sandbox.app import Sandbox
    from sandbox.store import Delivery


@dataclass(frozen=True)
class WorkerConfig:
    """The sandbox options of ``serve``, minus the DNS server (the parent runs it)."""

    data_dir: str
    zone_files: tuple[str, ...]
    faults: tuple[str, ...] = ()
    profile: str = "gmail"
    require_tls: bool | None = None
    client_ips: tuple[tuple[str | None, str], ...] = ()
    bulk_senders: tuple[str, ...] = ()
    unknown_users: tuple[str, ...] = ()
    over_quota: tuple[str, ...] = ()
    tls_cert: str | None = None
    tls_key: str | None = None
    proxy_protocol: bool = False
    xclient: bool = False

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode() + b"\n"

    @classmethod
    def from_json(cls, line: bytes) -> "WorkerConfig":
        """The inverse of :meth:`to_json` (JSON arrays back to the tuples they were)."""
        data: dict[str, Any] = json.loads(line)
        return cls(**{name: _tuples(value) for name, value in data.items()})

    def sandbox(self, listener: socket.socket, on_delivery: Callable[[int, "Delivery"], None] | None) -> "Sandbox":
        """The worker's sandbox, accepting on ``listener``; raises ZoneError, FaultSpecError
        or ValueError when the files or options no longer load."""
        from fake_dns import Faults, Zones
        from sandbox.app import Sandbox

        return Sandbox(
            Zones.from_files(self.zone_files), faults=Faults(self.faults), profile=self.profile,
            data_dir=self.data_dir, smtp=listener, dns=None, client_ips=dict(self.client_ips),
            bulk_senders=self.bulk_senders, unknown_users=self.unknown_users, over_quota=self.over_quota,
            require_tls=self.require_tls, tls_cert=self.tls_cert, tls_key=self.tls_key,
            proxy_protocol=self.proxy_protocol, xclient=self.xclient, on_delivery=on_delivery,
        )


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value
