"""The delivery store alone: how many durable saves per second, with and without group commit.

``callers`` coroutines save deliveries one after another, as that many SMTP connections
would, until ``count`` are stored. The same writer runs in both modes in one process:
batching whatever is queued into one commit, and with ``max_batch=1`` (one commit, one
fsync, per save). Each run gets a fresh store in its own directory.

The delivery saved is shaped like a real one: the corpus's 3 KB signed message, the
real SPF and DKIM check dicts for it, a Gmail decision and a transcript.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.corpus import RECIPIENT, SENDER, SENDER_IP, Corpus
from bench.report import percentile


@dataclass(frozen=True)
class StoreRun:
    mode: str  # "group commit" or "one commit per save"
    callers: int
    deliveries: int
    seconds: float
    commits: int
    largest_batch: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("seconds", "p50_ms", "p99_ms"):
            data[key] = round(data[key], 3)
        return {**data, "deliveries_per_second": round(self.rate, 1)}


def sample_delivery(corpus: Corpus) -> Any:
    """A delivery as the sandbox would store it for the corpus's first message."""
    from fake_dns import Faults, Resolver
    from policies.dkim import check_dkim
    from policies.profiles.decision import Decision
    from policies.spf import check_spf
    from sandbox.store import Delivery
    from sandbox.store.delivery import iso_utc

    message = corpus.messages[0]
    resolver = Resolver(corpus.zones(), Faults(()))

    async def checks() -> dict[str, Any]:
        spf = await check_spf(resolver, SENDER_IP, SENDER, "mail.example.org")
        dkim = await check_dkim(message, resolver)
        return {"spf": spf.as_dict(), "dkim": [d.as_dict() for d in dkim]}

    now = time.time()
    lines = ["220 mx.google.com ESMTP x - gsmtp", "EHLO mail.example.org", "250-mx.google.com at your service",
             f"MAIL FROM:<{SENDER}>", "250 2.1.0 OK", f"RCPT TO:<{RECIPIENT}>", "250 2.1.5 OK", "DATA",
             "354 Go ahead", "250 2.0.0 OK  1700000000 x - gsmtp"]
    decision = Decision(action="accept", stage="data", code=250, enhanced_code="2.0.0", lines=(lines[-1],),
                        folder="inbox")
    return Delivery(
        received_at=iso_utc(now), session_id="bench", profile="gmail", client_ip=SENDER_IP, original_ip="127.0.0.1",
        helo="mail.example.org", mail_from=SENDER, rcpt_to=[RECIPIENT], tls={}, checks=asyncio.run(checks()),
        decision=decision.as_dict(), folder="inbox",
        transcript=[{"t": now, "dir": "SC"[i % 2], "line": line} for i, line in enumerate(lines)],
        message=message, message_id=f"<bench.0@{SENDER.rpartition('@')[2]}>", stage="data",
    )


async def _measure(data_dir: Path, delivery: Any, *, count: int, callers: int, max_batch: int) -> StoreRun:
    from sandbox.store import Store

    store = Store(data_dir, max_batch=max_batch)
    latencies: list[float] = []
    remaining = count

    async def caller() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            await store.save(delivery)
            latencies.append(time.perf_counter() - began)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        seconds = time.perf_counter() - start
    finally:
        await store.close()
    return StoreRun(
        mode="group commit" if max_batch > 1 else "one commit per save", callers=callers, deliveries=count,
        seconds=seconds, commits=store.stats.commits, largest_batch=store.stats.largest_batch,
        p50_ms=percentile(latencies, 50) * 1000, p99_ms=percentile(latencies, 99) * 1000,
    )


def compare(work_dir: Path, delivery: Any, *, count: int, callers: int, rounds: int = 3) -> tuple[StoreRun, StoreRun]:
    """(group commit, one commit per save) for the same load: ``rounds`` runs of each,
    alternating which goes first, each on a fresh store; the median run of each mode.
    Alternating and taking medians keeps disk warm-up and a busy neighbour from
    deciding the comparison."""
    batches = {"group": 1000, "single": 1}
    runs: dict[str, list[StoreRun]] = {"group": [], "single": []}
    for number in range(rounds):
        order = ("group", "single") if number % 2 == 0 else ("single", "group")
        for mode in order:
            directory = work_dir / f"{mode}-{callers}-{number}"
            runs[mode].append(asyncio.run(_measure(directory, delivery, count=count, callers=callers,
                                                   max_batch=batches[mode])))
    return _median(runs["group"]), _median(runs["single"])


def _median(runs: list[StoreRun]) -> StoreRun:
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]
