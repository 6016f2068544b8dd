"""Durability: a delivery whose save has returned survives the process being killed.

The child saves continuously from several callers and prints each id as soon as its
save returns (the moment the SMTP server would send its 250). The test kills it with
SIGKILL in the middle of that stream, with saves still in flight, then reopens the data
directory: every acknowledged delivery must be there with its content.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sandbox.store import FILE_NAME, StoreReader

CHILD = Path(__file__).with_name("crash_child.py")
ACKNOWLEDGED = 400


def test_every_acknowledged_delivery_survives_sigkill(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, str(CHILD), str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    acknowledged: dict[int, str] = {}
    try:
        assert child.stdout is not None
        while len(acknowledged) < ACKNOWLEDGED:
            line = child.stdout.readline()
            assert line, f"the child stopped early: {child.stderr.read().decode() if child.stderr else ''}"
            number, name = line.decode().split()
            acknowledged[int(number)] = name
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # Killed, not closed: the write-ahead log was never checkpointed away.
    assert (tmp_path / (FILE_NAME + "-wal")).exists()

    stored = {d.id: d for d in StoreReader(tmp_path).list()}
    missing = sorted(set(acknowledged) - set(stored))
    assert missing == [], f"acknowledged but lost: {missing[:10]}"
    for number, name in acknowledged.items():
        worker, sequence = name.split("-")
        assert stored[number].session_id == name
        assert stored[number].message == f"m{worker}-{sequence}".encode()
    assert len(set(d.session_id for d in stored.values())) == len(stored)  # no duplicates
