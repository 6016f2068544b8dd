"""Start-up plus tear-down of one ``smtp_sandbox`` fixture's sandbox (profile already
loaded, as in a test session): ``python -m bench.fixture_startup [N]``."""

from __future__ import annotations

import statistics
import sys
import time

from sandbox.testing import ProfileCache, SandboxHarness


def measure(rounds: int) -> list[float]:
    """Milliseconds per start + stop, the profile loaded once beforehand."""
    profiles = ProfileCache()
    profiles.get("gmail")
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        harness = SandboxHarness(profiles=profiles, client_ip="192.0.2.10").start()
        harness.stop()
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> None:
    timings = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
    print(f"sandbox fixture start+stop over {len(timings)} rounds: median {statistics.median(timings):.1f} ms, "
          f"max {max(timings):.1f} ms")


if __name__ == "__main__":
    main()
