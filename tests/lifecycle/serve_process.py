"""``smtp-sandbox serve`` as a subprocess, for the tests that drive the real CLI."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dns.message
import dns.query

PROJECT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "sandbox.cli"]
WAIT = 15.0


class Serve:
    """A running ``smtp-sandbox serve``, its output read line by line in a thread."""

    def __init__(self, zone: Path, data_dir: Path, *flags: str, new_session: bool = False) -> None:
        """``new_session``: a process group of its own, as a terminal gives a command (so
        a test can send Ctrl-C's SIGINT to the whole group)."""
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [*CLI, "serve", "--smtp", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--data-dir", str(data_dir),
             "--zone", str(zone), *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=PROJECT, start_new_session=new_session)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        banner = self.wait_for(r"^Ctrl-C stops")
        dns_address = re.search(r"DNS\s+127\.0\.0\.1:(\d+)", "\n".join(self.seen))
        smtp_address = re.search(r"SMTP\s+127\.0\.0\.1:(\d+)", "\n".join(self.seen))
        assert dns_address and smtp_address, banner
        self.dns_port = int(dns_address.group(1))
        self.smtp_port = int(smtp_address.group(1))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str) -> str:
        """The next output line matching ``pattern``."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"serve printed no line /{pattern}/ within {WAIT:.0f}s:\n"
                                     + "\n".join(self.seen)) from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def spf(self) -> list[str]:
        """The TXT strings the sandbox's DNS server serves at sender.test."""
        query = dns.message.make_query("sender.test.", "TXT")
        response = dns.query.udp(query, "127.0.0.1", port=self.dns_port, timeout=5)
        return [b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def zone_reload(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "zone", "reload", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, cwd=PROJECT, timeout=60)


def save(path: Path, text: str) -> None:
    """Write ``text`` and move the modification time on, as an editor's save would: two
    saves within the file system's timestamp granularity must still differ."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    later = max(path.stat().st_mtime_ns, before + 1_000_000)
    os.utime(path, ns=(later, later))
