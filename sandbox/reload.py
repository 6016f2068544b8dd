"""Reloading a running sandbox's zones from their files, without a restart.

``smtp-sandbox serve`` reloads on three triggers: ``smtp-sandbox zone reload`` (through
the control socket, :mod:`sandbox.control`), SIGHUP, and a change of a ``--zone`` file
(:meth:`ZoneReloader.watch` polls their modification times). All three go through
:meth:`ZoneReloader.reload`, one at a time. A file that does not load keeps the zones
served so far: a typo in the middle of a test must not leave the sandbox answering
NXDOMAIN for everything, and the error says which file and line to fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fake_dns import ZoneError, Zones
from sandbox.app import Sandbox

# How often the file watch looks at the zone files' modification times.
WATCH_INTERVAL = 1.0

# (mtime_ns, size) per file, None for a file that is not there (mid-save, or removed).
Signature = tuple[tuple[int, int] | None, ...]


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did: ``ok`` with the origins now served, or why it kept the old zones."""

    ok: bool
    detail: str  # "sender.test, 2.0.192.in-addr.arpa" or "zone file x.zone:3: ..."

    def line(self) -> str:
        """The one-line form the control socket answers with: ``ok <zones>`` / ``error <why>``."""
        return f"{'ok' if self.ok else 'error'} {self.detail}"


class ZoneReloader:
    """Reloads ``sandbox``'s zones from ``paths``; ``report`` gets one line per reload.

    ``followers`` (``serve --workers``: the worker processes) is asked to reload too once
    this sandbox has, and returns the problems it had; the reload counts as done only
    when it has none, since any worker may judge the next message.
    """

    def __init__(self, sandbox: Sandbox, paths: Sequence[str | Path], report: Callable[[str], None],
                 followers: Callable[[], Awaitable[list[str]]] | None = None) -> None:
        self.sandbox = sandbox
        self._followers = followers
        self.paths = tuple(Path(path) for path in paths)
        self._report = report
        self._lock = asyncio.Lock()
        self._loaded = self.signature()  # the files as the sandbox was started with them

    def signature(self) -> Signature:
        """The files' current (mtime, size): what the watch compares to notice an edit."""
        found: list[tuple[int, int] | None] = []
        for path in self.paths:
            try:
                stat = path.stat()
            except OSError:
                found.append(None)
            else:
                found.append((stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    async def reload(self, trigger: str) -> ReloadResult:
        """Load every zone file again and serve the result, or keep the old zones."""
        async with self._lock:
            signature = self.signature()  # taken before reading: a later edit is noticed
            self._loaded = signature
            try:
                zones = await asyncio.to_thread(Zones.from_files, self.paths)
            except ZoneError as exc:
                result = ReloadResult(False, f"zone file {exc}; still serving the previous zones")
            except OSError as exc:
                result = ReloadResult(False, f"zone file {exc.filename}: {exc.strerror}; "
                                             "still serving the previous zones")
            else:
                self.sandbox.reload_zones(zones)
                problems = await self._followers() if self._followers is not None else []
                if problems:
                    result = ReloadResult(False, "; ".join(problems))
                else:
                    result = ReloadResult(True, ", ".join(zone.origin.to_text(omit_final_dot=True)
                                                          for zone in zones))
        verb = "reloaded zones" if result.ok else "zone reload failed"
        self._report(f"smtp-sandbox: {verb} ({trigger}): {result.detail}")
        return result

    async def watch(self, interval: float = WATCH_INTERVAL) -> None:
        """Reload whenever a zone file's modification time or size changes (until cancelled).

        A failed load is not retried until the files change again, so a broken file is
        reported once, not every second.
        """
        while True:
            await asyncio.sleep(interval)
            if self.signature() != self._loaded:
                await self.reload("a zone file changed")

