"""``python -m bench``: run the benchmark, print the tables, write ``bench/results.json``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import corpus as corpus_module
from bench import fixture_startup, report, servers, store_load
from bench.load import ClientProcess

HERE = Path(__file__).resolve().parent


def positive(text: str) -> int:
    """argparse type: a count that must be at least 1 (a median of no rounds means nothing)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--messages", type=positive, default=2000, help="messages per server (default 2000)")
    parser.add_argument("--size", type=int, default=3072, help="approximate message size in bytes (default 3072)")
    parser.add_argument("--connections", type=positive, default=8, help="concurrent client connections (default 8)")
    parser.add_argument("--per-connection", type=positive, default=25,
                        help="transactions per connection before it reconnects (default 25)")
    parser.add_argument("--warmup", type=int, default=100, help="messages sent before measuring (default 100)")
    parser.add_argument("--rounds", type=positive, default=5,
                        help="SMTP rounds, each measuring (a) and every (b) on fresh servers, the order "
                        "alternating; medians are reported (default 5: on a shared virtual machine single "
                        "rounds differ by a third)")
    parser.add_argument("--b", dest="b", choices=("sandbox", "bare"), default="sandbox",
                        help="the server on the (b) side: the full sandbox (default), or a second bare server "
                        "to check the harness (the ratio should then be about 1)")
    parser.add_argument("--profile", default="gmail", help="the sandbox's provider profile (default gmail)")
    parser.add_argument("--workers", nargs="+", default=["1", "auto"], metavar="N|auto",
                        help="`serve --workers` values to measure the sandbox with, one run each "
                        "(default: 1 and auto, one SMTP process per CPU)")
    parser.add_argument("--store-deliveries", type=positive, default=2000,
                        help="deliveries per store measurement (default 2000)")
    parser.add_argument("--store-callers", type=positive, nargs="*", default=[8, 64],
                        help="concurrent savers for the store measurements (default 8 64; none: skip them)")
    parser.add_argument("--store-rounds", type=positive, default=3,
                        help="runs of each store mode; the median is reported (default 3)")
    parser.add_argument("--work-dir", type=Path, default=HERE,
                        help="where the temporary data directories go (default: bench/, so fsync costs what it "
                        "costs on the disk a real data directory would use)")
    parser.add_argument("--output", type=Path, default=HERE / "results.json", help="default bench/results.json")
    return parser.parse_args(argv)


def measure_smtp(server: Any, client: ClientProcess, messages: list[bytes], args: argparse.Namespace) -> dict:
    """Warm the server up, then measure one run against it."""
    envelope = (corpus_module.SENDER, corpus_module.RECIPIENT)
    address = server.start()
    try:
        if args.warmup:
            client.run(address, envelope, messages[: args.warmup], connections=args.connections,
                       per_connection=args.per_connection)
        cpu_before, wall_before = server.cpu_seconds(), time.perf_counter()
        result = client.run(address, envelope, messages, connections=args.connections,
                            per_connection=args.per_connection)
        server_cpu = (server.cpu_seconds() - cpu_before) / (time.perf_counter() - wall_before)
    finally:
        server.stop()
    stored = server.stored()
    figures = report.smtp_figures(server.name, result, server_cpu)
    if stored is not None:
        figures["store"] = stored
    return figures


def measure_round(number: int, corpus: corpus_module.Corpus, client: ClientProcess, messages: list[bytes],
                  work: Path, args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """(a) and every (b), each on a fresh server; odd rounds start with (a), even rounds
    end with it, so that a machine slowing down or speeding up during the run weighs on
    both sides alike."""
    bare = servers.BareServer()
    sides: list[servers.ServerUnderTest] = (
        [servers.SandboxServer(corpus, work / f"sandbox-{n}", profile=args.profile, workers=n) for n in args.workers]
        if args.b == "sandbox" else [servers.BareServer()])
    order: list[servers.ServerUnderTest] = [bare, *sides] if number % 2 else [*sides, bare]
    measured: dict[int, dict] = {}
    for server in order:
        print(f"round {number}: {'(a)' if server is bare else '(b)'} {server.name} ...", flush=True)
        measured[id(server)] = measure_smtp(server, client, messages, args)
    return measured[id(bare)], [measured[id(side)] for side in sides]


def summarise(rounds: list[tuple[dict, list[dict]]]) -> tuple[dict, list[dict], list[float]]:
    """Per server, the round with the median rate (a real measurement, not a blend); the
    ratios are the medians of each round's own ratios, (b) against the (a) measured
    minutes apart in the same round."""
    def median_run(runs: list[dict]) -> dict:
        return sorted(runs, key=lambda run: run["messages_per_second"])[(len(runs) - 1) // 2]

    a = median_run([r[0] for r in rounds])
    bs = [median_run([r[1][i] for r in rounds]) for i in range(len(rounds[0][1]))]
    ratios = [statistics.median(r[1][i]["messages_per_second"] / r[0]["messages_per_second"] for r in rounds)
              for i in range(len(bs))]
    return a, bs, ratios


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(timezone.utc)
    print(f"signing {args.messages} messages of ~{args.size} bytes with a new RSA-2048 DKIM key ...", flush=True)
    corpus = corpus_module.build(args.messages, args.size)
    messages = list(corpus.messages)
    work = Path(tempfile.mkdtemp(prefix=".bench-", dir=args.work_dir))
    try:
        rounds = []
        with ClientProcess() as client:
            for number in range(1, args.rounds + 1):
                rounds.append(measure_round(number, corpus, client, messages, work / f"round-{number}", args))
        a, bs, ratios = summarise(rounds)
        pairs = []
        if args.store_callers:
            print("store alone ...", flush=True)
            delivery = store_load.sample_delivery(corpus)
            pairs = [store_load.compare(work / "store", delivery, count=args.store_deliveries, callers=callers,
                                        rounds=args.store_rounds)
                     for callers in args.store_callers]
        print("pytest fixture start+stop ...", flush=True)
        startup = fixture_startup.measure(50)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    per_round = [{"a": r[0]["messages_per_second"], "b": [b["messages_per_second"] for b in r[1]],
                  "ratio_b_over_a": [round(b["messages_per_second"] / r[0]["messages_per_second"], 4) for b in r[1]]}
                 for r in rounds]
    results = {
        "started_at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "config": {
            "messages": args.messages, "message_bytes": len(messages[0]), "dkim": f"rsa-sha256, {corpus.key_bits} bits",
            "connections": args.connections, "per_connection": args.per_connection, "warmup": args.warmup,
            "rounds": args.rounds,
            "b": args.b, "profile": args.profile, "workers": args.workers, "store_deliveries": args.store_deliveries,
            "store_rounds": args.store_rounds,
        },
        "smtp": {"a": a, "b": bs, "ratio_b_over_a": [round(ratio, 4) for ratio in ratios], "rounds": per_round},
        "store": [
            {"callers": g.callers, "group_commit": g.as_dict(), "one_commit_per_save": s.as_dict(),
             "ratio": round(g.rate / s.rate, 2)}
            for g, s in pairs
        ],
        "fixture_start_stop_ms": {"rounds": len(startup), "median": round(statistics.median(startup), 2),
                                  "max": round(max(startup), 2)},
        "environment": {
            "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
            "platform": platform.platform(), "work_dir": str(args.work_dir.resolve()),
        },
    }
    print()
    print(f"SMTP: {args.messages} DKIM-signed messages of {len(messages[0])} bytes, {args.connections} connections, "
          f"{args.per_connection} messages per connection; median of {args.rounds} round(s)")
    print("\n".join(report.smtp_table(a, list(zip(bs, ratios)))))
    print("\n".join(report.rounds_table(per_round)))
    if pairs:
        print()
        print(f"Store alone: {args.store_deliveries} deliveries of {len(messages[0])}-byte messages, "
              "durable (each save answered after an fsync that covers it)")
        print("\n".join(report.store_table(pairs)))
    print()
    print(f"pytest fixture sandbox start+stop ({len(startup)} rounds, profile loaded once): "
          f"median {statistics.median(startup):.1f} ms, max {max(startup):.1f} ms")
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
