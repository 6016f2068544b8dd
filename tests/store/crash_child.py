"""Run by test_store_crash.py: save deliveries forever from several concurrent callers,
printing each id the moment its save returns, until the test kills this process.

Usage: python crash_child.py DATA_DIR
"""

from __future__ import annotations

import asyncio
import sys

from store_helpers import accepted

from sandbox.store import Store

WORKERS = 16


async def worker(store: Store, name: int) -> None:
    sequence = 0
    while True:
        number = await store.save(accepted(session_id=f"{name}-{sequence}", message=b"m%d-%d" % (name, sequence)))
        sys.stdout.write(f"{number} {name}-{sequence}\n")
        sys.stdout.flush()
        sequence += 1


async def main(data_dir: str) -> None:
    store = Store(data_dir)
    await asyncio.gather(*(worker(store, name) for name in range(WORKERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
