"""``serve`` and its workers freeze what they load at start-up (sandbox/heap.py): full
collections then skip it, and zones a reload replaces are still freed.

Run in a fresh interpreter: freezing is process-wide, and the test process's own
objects must not end up frozen for the rest of the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import gc, weakref
from fake_dns import Zones
from sandbox import demo
from sandbox.heap import freeze_startup_objects

class Node:
    pass

zones = Zones.from_files(demo.zone_files())
replaced = [weakref.ref(zone) for zone in zones]
cycle = Node()
cycle.itself = cycle  # garbage in a reference cycle, as start-up leaves some behind
left_behind = weakref.ref(cycle)
del cycle

freeze_startup_objects()
assert left_behind() is None, "start-up garbage was frozen instead of collected"
young = len(gc.get_objects())  # what a collection still traverses
print("frozen", gc.get_freeze_count(), "young", young)
assert gc.get_freeze_count() > 10 * young, (gc.get_freeze_count(), young)

zones.replace(Zones.from_files(demo.zone_files()))  # what a reload does
assert replaced and [ref() for ref in replaced] == [None] * len(replaced), "replaced zones stayed alive"
print("ok")
"""


def test_start_up_objects_are_frozen_and_replaced_zones_are_still_freed() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "ok"
