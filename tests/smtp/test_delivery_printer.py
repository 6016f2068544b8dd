"""``serve``'s live delivery lines: whole lines, written together shortly after their
deliveries, never more than the kernel writes in one piece (several workers share the
output), and nothing left behind by a final flush."""

from __future__ import annotations

import asyncio
import io
import select
import sys
from types import SimpleNamespace

import pytest

from sandbox.commands.serve import DeliveryPrinter


class _Recorder(io.RawIOBase):
    """A stdout that remembers each write it gets."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(data))
        return len(data)


def _delivery(number: int) -> SimpleNamespace:
    return SimpleNamespace(
        decision={"code": 550, "enhanced_code": "5.7.26", "action": "reject", "rule_id": "G4",
                  "text": "Unauthenticated email is not accepted " * 3},
        stage="data", folder=None, rcpt_to=[f"user{number}@gmail.com"], mail_from="bob@example.net",
        client_ip="192.0.2.10")


def test_lines_go_out_together_in_whole_lines_of_at_most_pipe_buf(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(recorder, buffer_size=1 << 20)))
    count = 120

    async def scenario() -> list[bytes]:
        printer = DeliveryPrinter()
        for number in range(1, count + 1):
            printer(number, _delivery(number))
        before = list(recorder.writes)
        await asyncio.sleep(DeliveryPrinter.FLUSH_DELAY * 3)
        assert before == []  # nothing written per delivery
        return recorder.writes

    writes = asyncio.run(scenario())
    assert 1 < len(writes) < count
    assert all(len(chunk) <= select.PIPE_BUF and chunk.endswith(b"\n") for chunk in writes)
    lines = b"".join(writes).decode().splitlines()
    assert lines[0] == ("#1 bob@example.net -> user1@gmail.com [192.0.2.10]: 550 5.7.26 reject at data by G4: "
                        + ("Unauthenticated email is not accepted " * 3)[:97] + "...")
    assert [line.split()[0] for line in lines] == [f"#{n}" for n in range(1, count + 1)]


def test_flush_writes_what_is_pending_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(recorder)))

    async def scenario() -> None:
        printer = DeliveryPrinter()
        printer(7, _delivery(7))
        printer.flush()
        assert b"".join(recorder.writes).startswith(b"#7 bob@example.net")

    asyncio.run(scenario())
