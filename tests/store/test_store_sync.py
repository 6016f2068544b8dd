"""The store's sync process: started with the first save, gone after close, replaced
when killed, deaf to Ctrl-C, honest when a commit cannot be made durable, keeping the
write-ahead log from growing without bound, and not reading the log's timestamps."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import accepted

from sandbox.store import FILE_NAME, Store, StoreError, StoreReader
from sandbox.store.writer import CHECKPOINT_EVERY


def _process(store: Store) -> subprocess.Popen[bytes]:
    process = store._writers[0].sync_process  # noqa: SLF001 - the tests watch the helper process itself
    assert process is not None
    return process


def test_started_by_the_first_save_and_ended_by_close(tmp_path: Path) -> None:
    async def scenario() -> subprocess.Popen[bytes]:
        store = Store(tmp_path)
        assert store._writers[0].sync_process is None  # noqa: SLF001 - a store that saves nothing starts nothing
        await store.save(accepted())
        process = _process(store)
        assert process.poll() is None
        await store.close()
        return process

    process = asyncio.run(scenario())
    assert process.returncode == 0
    assert not (tmp_path / (FILE_NAME + "-wal")).exists()  # the last connection folded the log in


def test_a_killed_sync_process_is_replaced_and_no_save_is_lost(tmp_path: Path) -> None:
    count = 300

    async def scenario() -> tuple[list[int], int, int]:
        store = Store(tmp_path)
        try:
            await store.save(accepted(session_id="first"))
            first = _process(store)
            saves = [asyncio.ensure_future(store.save(accepted(session_id=f"s{i}"))) for i in range(count)]
            for _ in range(3):  # some saves committed and waiting for the sync the kill interrupts
                await asyncio.sleep(0)
            first.kill()
            ids = await asyncio.gather(*saves)
            return list(ids), first.pid, _process(store).pid
        finally:
            await store.close()

    ids, killed, replacement = asyncio.run(scenario())
    assert sorted(ids) == list(range(2, count + 2))
    assert replacement != killed
    assert StoreReader(tmp_path).count() == count + 1


def test_ctrl_c_and_sigterm_leave_the_sync_process_running(tmp_path: Path) -> None:
    """``serve`` stops on Ctrl-C, which the terminal sends to the whole process group:
    the sync process must still be there for the deliveries ``serve`` finishes."""
    async def scenario() -> tuple[int, int]:
        store = Store(tmp_path)
        try:
            await store.save(accepted())
            process = _process(store)
            os.kill(process.pid, signal.SIGINT)
            os.kill(process.pid, signal.SIGTERM)
            await asyncio.sleep(0.2)
            assert process.poll() is None
            await store.save(accepted())
            return process.pid, _process(store).pid
        finally:
            await store.close()

    before, after = asyncio.run(scenario())
    assert before == after


def test_a_commit_that_cannot_be_made_durable_is_refused_with_the_reason(tmp_path: Path) -> None:
    """The log file vanished under the store (another program deleted it): the row may
    sit in the page cache, but nothing can put it on disk, so the caller is not told it
    was stored (the SMTP server then answers 451 instead of 250)."""
    async def scenario() -> None:
        store = Store(tmp_path)
        try:
            await store.save(accepted())
            (tmp_path / (FILE_NAME + "-wal")).unlink()
            with pytest.raises(StoreError, match=r"could not be made durable: the write-ahead log .*-wal is gone"):
                await store.save(accepted())
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_write_ahead_log_stays_bounded_under_a_steady_stream(tmp_path: Path) -> None:
    """Commits never stop here (four callers saving back to back), so SQLite's passive
    checkpoints would never catch up and the log would grow with every delivery; the
    sync process's checkpoints restart it."""
    callers, per_caller = 4, 400
    wal = tmp_path / (FILE_NAME + "-wal")
    sizes: list[int] = []

    async def caller(store: Store, name: int) -> None:
        for sequence in range(per_caller):
            await store.save(accepted(session_id=f"{name}-{sequence}"))
            if name == 0:
                sizes.append(wal.stat().st_size)

    async def scenario() -> None:
        store = Store(tmp_path)
        try:
            await asyncio.gather(*(caller(store, name) for name in range(callers)))
        finally:
            await store.close()

    asyncio.run(scenario())
    assert StoreReader(tmp_path).count() == callers * per_caller
    rows_per_size = callers  # caller 0 records one size for every `callers` rows saved
    early = sizes[CHECKPOINT_EVERY // rows_per_size * 2]  # after about two checkpoints' worth of rows
    assert max(sizes) < 2 * early, f"the log grew from {early} to {max(sizes)} bytes"


_SAVER = """
import asyncio, sys
from store_helpers import accepted
from sandbox.store import Store

async def main():
    store = Store(sys.argv[1])
    for number in range(int(sys.argv[2])):
        await store.save(accepted(session_id=f"s{number}"))  # one at a time: one sync each
    await store.close()

asyncio.run(main())
"""


def test_the_log_is_looked_up_by_name_once_not_before_every_sync(tmp_path: Path) -> None:
    """Once a file's timestamps have been read, Linux (6.13 on, multigrain timestamps)
    gives its next write a fine-grained mtime, and fdatasync must then write the inode
    as well: a stat of the WAL before each sync cost every sync one more synchronous
    disk write. The sync process watches the log it holds open through /proc instead,
    so it looks the name up when it opens the log, not for each sync. Traced for real:
    every stat-family call that found the WAL, from the saving process and its sync process."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.fail("`strace` is not installed: install the Debian package strace (`make sysdeps` does it)")
    saves = 30
    trace = tmp_path / "trace.txt"
    done = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=stat,lstat,newfstatat,statx", "-o", str(trace),
         sys.executable, "-c", _SAVER, str(tmp_path / "data"), str(saves)],
        cwd=Path(__file__).parent, capture_output=True, text=True, timeout=120,
    )
    if "Operation not permitted" in done.stderr and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here (ptrace is not permitted): {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert StoreReader(tmp_path / "data").count() == saves
    lookups = [line for line in trace.read_text().splitlines()
               if f'{FILE_NAME}-wal"' in line and "ENOENT" not in line]  # SQLite looks before it exists
    assert len(lookups) <= 2, f"{len(lookups)} lookups of the WAL for {saves} syncs:\n" + "\n".join(lookups[:5])
