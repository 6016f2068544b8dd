"""Figures from raw measurements, and the table the benchmark prints."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.load import LoadResult
    from bench.store_load import StoreRun


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the value below which ``p`` percent of ``values`` lie)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def smtp_figures(name: str, result: "LoadResult", server_cpu: float) -> dict[str, Any]:
    """One server's row: rate, latency percentiles, replies, and how busy each side was
    (``server_cpu``: CPU seconds per second; a client near 100% CPU would make the
    comparison meaningless)."""
    return {
        "server": name,
        "messages": result.messages,
        "connections": result.connections,
        "seconds": round(result.seconds, 3),
        "messages_per_second": round(result.messages / result.seconds, 1),
        "p50_ms": round(percentile(result.latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(result.latencies, 99) * 1000, 2),
        "replies": dict(sorted(result.replies.items())),
        "pipelining": result.pipelining,
        "server_cpu_percent": round(100 * server_cpu, 1),
        "client_cpu_percent": round(100 * result.client_cpu_seconds / result.seconds, 1),
    }


def smtp_table(a: dict[str, Any], bs: list[tuple[dict[str, Any], float]]) -> list[str]:
    """Server (a), then each (b) run with its ratio to (a), then what each (b) stored."""
    header = f"{'':5}{'server':<52}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'srv CPU':>9}{'cli CPU':>9}  replies"
    rows = [header]
    labelled = [("(a)", a, None), *((f"(b{n})" if len(bs) > 1 else "(b)", b, ratio)
                                     for n, (b, ratio) in enumerate(bs, 1))]
    for label, row, _ in labelled:
        replies = ", ".join(f"{code} x{count}" for code, count in row["replies"].items())
        rows.append(f"{label:<5}{row['server']:<52}{row['messages_per_second']:>9.1f}{row['p50_ms']:>9.2f}"
                    f"{row['p99_ms']:>9.2f}{row['server_cpu_percent']:>8.0f}%{row['client_cpu_percent']:>8.0f}%"
                    f"  {replies}")
    for label, row, ratio in labelled[1:]:
        rows.append(f"{'':5}{f'ratio {label}/(a), median of the rounds':<52}{ratio:>9.3f}")
    for label, row, _ in labelled[1:]:
        stored = row.get("store")
        if stored:
            verdicts = "; ".join(f"{verdict} x{count}" for verdict, count in stored["verdicts"].items())
            rows.append(f"{label} stored {stored['rows']} deliveries (warm-up included): {verdicts}")
    return rows


def rounds_table(rounds: list[dict[str, Any]]) -> list[str]:
    """Each round's rates and ratios: how far apart the rounds are says how steady the machine was."""
    rows = []
    for number, measured in enumerate(rounds, 1):
        bs = ", ".join(f"(b{i}) {rate:.0f} msg/s = {ratio:.3f}"
                       for i, (rate, ratio) in enumerate(zip(measured["b"], measured["ratio_b_over_a"]), 1))
        rows.append(f"     round {number}: (a) {measured['a']:.0f} msg/s; {bs}")
    return rows


def store_table(pairs: list[tuple["StoreRun", "StoreRun"]]) -> list[str]:
    rows = [f"{'callers':>8}{'group commit/s':>16}{'commits':>9}{'p99 ms':>8}{'1 commit/save/s':>17}"
            f"{'p99 ms':>8}{'ratio':>8}"]
    for grouped, single in pairs:
        rows.append(f"{grouped.callers:>8}{grouped.rate:>16.1f}{grouped.commits:>9}{grouped.p99_ms:>8.2f}"
                    f"{single.rate:>17.1f}{single.p99_ms:>8.2f}{grouped.rate / single.rate:>8.2f}")
    return rows
