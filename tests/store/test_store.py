"""The store: round trips, byte-exact messages, concurrency, group commit, reopening,
schema versioning, closing, and several stores (and event loops) in one process."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from store_helpers import accepted, refused_at_rcpt, rejected

from sandbox.store import FILE_NAME, SCHEMA_VERSION, Delivery, Store, StoreError, StoreReader
from sandbox.store.delivery import iso_utc


def _fields(delivery: Delivery) -> dict[str, object]:
    """Everything but the id, to compare a stored delivery with what was saved."""
    return {name: getattr(delivery, name) for name in Delivery.__dataclass_fields__ if name != "id"}


def test_save_list_get_round_trip(tmp_path: Path) -> None:
    originals = [rejected(), accepted(), refused_at_rcpt(), replace(accepted(), decision={}, folder=None,
                                                                   message=b"From: x\r\n\r\npart", stage="data")]

    async def scenario() -> tuple[list[int], list[Delivery], list[Delivery | None]]:
        store = Store(tmp_path)
        try:
            ids = [await store.save(d) for d in originals]
            return ids, await store.list(), [await store.get(i) for i in ids] + [await store.get(999)]
        finally:
            await store.close()

    ids, listed, got = asyncio.run(scenario())
    assert ids == [1, 2, 3, 4]
    assert [d.id for d in listed] == ids
    assert [_fields(d) for d in listed] == [_fields(d) for d in originals]
    assert got[:4] == listed and got[4] is None
    # What each kind of attempt keeps, after the trip through SQLite.
    refused = listed[2]
    assert refused.message == b"" and refused.checks == {} and refused.stage == "rcpt"
    assert refused.decision["code"] == 550 and refused.decision["enhanced_code"] == "5.1.1"
    assert listed[0].tls["version"] == "TLSv1.3" and listed[1].tls == {}
    assert listed[0].checks["spf"]["fixes"] == originals[0].checks["spf"]["fixes"] != []
    assert listed[3].decision == {} and listed[3].action is None


def test_received_at_is_iso_8601_utc_in_microseconds() -> None:
    """What the server stores as ``received_at`` (iso_utc of the clock): text whose order
    is time order, and that reads back as the same instant."""
    assert iso_utc(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    assert datetime.fromisoformat(iso_utc(1_700_000_000.25)).timestamp() == 1_700_000_000.25
    assert iso_utc(1_700_000_000) < iso_utc(1_700_000_000.000001) < iso_utc(1_700_000_009.5)


def test_message_bytes_come_back_byte_exact(tmp_path: Path) -> None:
    every_byte = bytes(range(256))
    invalid_utf8 = b"Subject: \xff\xfe caf\xe9\r\n\r\n\x00\x80\xc3\x28 \xed\xa0\x80 body without final CRLF"
    bare = b"\n\r\n\r\r\n."

    async def scenario() -> list[bytes | None]:
        store = Store(tmp_path)
        try:
            ids = [await store.save(accepted(message=m)) for m in (every_byte, invalid_utf8, bare, None)]
            return [(await store.get(i)).message for i in ids]  # type: ignore[union-attr]
        finally:
            await store.close()

    assert asyncio.run(scenario()) == [every_byte, invalid_utf8, bare, None]
    assert StoreReader(tmp_path).list()[0].message == every_byte  # and through a reader of its own


def test_undecodable_client_text_is_stored_with_escapes_not_lost(tmp_path: Path) -> None:
    """A HELO carrying bytes that are not UTF-8 (decoded with surrogateescape) cannot be
    written to SQLite as it is; the delivery must be stored anyway."""
    helo = b"mail.\xff\xfe.example".decode("utf-8", "surrogateescape")
    lone = "odd\ud800surrogate"

    async def scenario() -> Delivery | None:
        store = Store(tmp_path)
        try:
            number = await store.save(accepted(helo=helo, mail_from=lone,
                                                transcript=[{"t": 1.0, "dir": "C", "line": helo}]))
            return await store.get(number)
        finally:
            await store.close()

    stored = asyncio.run(scenario())
    assert stored is not None
    assert stored.helo == "mail.\\xff\\xfe.example"
    assert stored.mail_from == "odd\\ud800surrogate"
    assert stored.transcript[0]["line"] == helo  # JSON keeps even lone surrogates exactly


def test_many_concurrent_saves_all_resolve_with_unique_ids(tmp_path: Path) -> None:
    count = 500

    async def scenario() -> tuple[list[int], list[Delivery]]:
        store = Store(tmp_path)
        try:
            ids = await asyncio.gather(*(store.save(accepted(session_id=f"s{i}")) for i in range(count)))
            return list(ids), await store.list()
        finally:
            await store.close()

    ids, stored = asyncio.run(scenario())
    assert len(set(ids)) == count
    assert sorted(ids) == list(range(1, count + 1))
    by_id = {d.id: d.session_id for d in stored}
    assert len(stored) == count
    assert all(by_id[number] == f"s{i}" for i, number in enumerate(ids))  # each caller got its own row's id


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock: the writer's next BEGIN waits for it."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def test_group_commit_puts_everything_queued_into_one_transaction(tmp_path: Path) -> None:
    """While the writer waits for the disk (here: for another connection's lock), every
    save that arrives is queued; it then writes them all with one commit, not one each."""
    count = 200

    async def scenario() -> tuple[list[int], int, int, int]:
        store = Store(tmp_path)
        try:
            blocker = _hold_write_lock(store.path)
            saves = [asyncio.ensure_future(store.save(accepted(session_id=f"s{i}"))) for i in range(count)]
            await asyncio.sleep(0.05)  # every save is queued (none can be committed yet)
            assert not any(s.done() for s in saves)
            blocker.execute("ROLLBACK")
            blocker.close()
            ids = await asyncio.gather(*saves)
            return list(ids), store.stats.commits, store.stats.rows, store.stats.largest_batch
        finally:
            await store.close()

    ids, commits, rows, largest = asyncio.run(scenario())
    assert len(set(ids)) == count == rows
    # The writer may have started a first batch with the saves queued before it looked;
    # everything queued while that batch waited for the lock went into the second.
    assert commits in (1, 2)
    assert largest >= count // 2


def test_a_locked_database_never_holds_up_the_event_loop(tmp_path: Path) -> None:
    """``serve --workers``: another writer (here: a connection of this test) holds the
    database. The saves wait without blocking the loop, which goes on serving other
    connections; once the lock is free they are committed in the order they came."""
    count = 50
    held = 0.3

    async def scenario() -> tuple[list[int], float, int]:
        store = Store(tmp_path)
        try:
            await store.save(accepted(session_id="first"))
            blocker = _hold_write_lock(store.path)
            saves = [asyncio.ensure_future(store.save(accepted(session_id=f"s{i}"))) for i in range(count)]
            longest_gap, last = 0.0, asyncio.get_running_loop().time()
            deadline = last + held
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.001)
                now = asyncio.get_running_loop().time()
                longest_gap, last = max(longest_gap, now - last), now
            assert not any(s.done() for s in saves)  # nothing is acknowledged while it cannot be written
            blocker.execute("ROLLBACK")
            blocker.close()
            return list(await asyncio.gather(*saves)), longest_gap, store.stats.largest_batch
        finally:
            await store.close()

    ids, longest_gap, largest = asyncio.run(scenario())
    assert ids == list(range(2, count + 2))
    assert longest_gap < held / 3  # a lock wait inside SQLite would have frozen the loop for all of it
    assert largest == count
    assert [d.session_id for d in StoreReader(tmp_path).list()] == ["first"] + [f"s{i}" for i in range(count)]


def test_two_writers_on_one_file_interleave_and_lose_nothing(tmp_path: Path) -> None:
    """Two stores on one data directory, each on its own event loop (as two ``serve``
    workers are): their commits take turns through SQLite's lock, every save gets its
    own id and every row is there."""
    per_writer = 150
    results: dict[str, list[int]] = {}

    def writer(name: str) -> None:
        async def run() -> None:
            store = Store(tmp_path)
            try:
                results[name] = list(await asyncio.gather(
                    *(store.save(accepted(session_id=f"{name}{i}")) for i in range(per_writer))))
            finally:
                await store.close()
        asyncio.run(run())

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = results["x"] + results["y"]
    assert sorted(ids) == list(range(1, 2 * per_writer + 1))
    by_id = {d.id: d.session_id for d in StoreReader(tmp_path).list()}
    for name in ("x", "y"):
        assert [by_id[number] for number in results[name]] == [f"{name}{i}" for i in range(per_writer)]


def test_one_commit_per_save_when_batches_are_limited_to_one(tmp_path: Path) -> None:
    """The benchmark's baseline: the same writer with ``max_batch=1`` commits every row."""
    count = 50

    async def scenario() -> tuple[int, int, int]:
        store = Store(tmp_path, max_batch=1)
        try:
            blocker = _hold_write_lock(store.path)
            saves = [asyncio.ensure_future(store.save(accepted())) for _ in range(count)]
            await asyncio.sleep(0.05)
            blocker.execute("ROLLBACK")
            blocker.close()
            await asyncio.gather(*saves)
            return store.stats.commits, store.stats.rows, store.stats.largest_batch
        finally:
            await store.close()

    assert asyncio.run(scenario()) == (count, count, 1)


def test_reopening_keeps_every_delivery_and_ids_continue(tmp_path: Path) -> None:
    async def session(messages: list[bytes]) -> list[int]:
        store = Store(tmp_path)
        try:
            return [await store.save(accepted(message=m)) for m in messages]
        finally:
            await store.close()

    first = asyncio.run(session([b"one", b"two", b"three"]))
    second = asyncio.run(session([b"four", b"five"]))
    assert first == [1, 2, 3] and second == [4, 5]
    stored = StoreReader(tmp_path).list()
    assert [d.id for d in stored] == [1, 2, 3, 4, 5]
    assert [d.message for d in stored] == [b"one", b"two", b"three", b"four", b"five"]


def test_the_file_is_wal_with_a_schema_version(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path)
        await store.save(accepted())
        await store.close()

    asyncio.run(scenario())
    connection = sqlite3.connect(tmp_path / FILE_NAME)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    finally:
        connection.close()


def test_a_store_from_a_newer_version_is_refused_not_damaged(tmp_path: Path) -> None:
    async def create() -> None:
        await Store(tmp_path).close()

    asyncio.run(create())
    connection = sqlite3.connect(tmp_path / FILE_NAME)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="newer smtp-sandbox"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="newer smtp-sandbox"):
        StoreReader(tmp_path).list()


def test_a_data_dir_that_cannot_hold_a_store_is_a_store_error(tmp_path: Path) -> None:
    occupied = tmp_path / "file"
    occupied.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(occupied)


def test_reading_a_missing_store_never_creates_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no data directory"):
        StoreReader(tmp_path / "missing").list()
    with pytest.raises(StoreError, match=f"no delivery store in .*{FILE_NAME}"):
        StoreReader(tmp_path).get(1)
    assert list(tmp_path.iterdir()) == []


def test_close_writes_what_was_queued_then_refuses_new_saves(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        store = Store(tmp_path)
        saves = [asyncio.ensure_future(store.save(accepted(session_id=f"s{i}"))) for i in range(100)]
        await asyncio.sleep(0)  # every save has been handed to the writer
        await store.close()
        assert all(s.done() for s in saves)
        with pytest.raises(StoreError, match="closed"):
            await store.save(accepted())
        await store.close()  # idempotent
        return [s.result() for s in saves]

    ids = asyncio.run(scenario())
    assert sorted(ids) == list(range(1, 101))
    assert StoreReader(tmp_path).count() == 100


def test_a_cancelled_caller_still_gets_its_delivery_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path)
        try:
            blocker = _hold_write_lock(store.path)
            save = asyncio.ensure_future(store.save(accepted(session_id="cancelled")))
            await asyncio.sleep(0.01)
            save.cancel()
            blocker.execute("ROLLBACK")
            blocker.close()
            with pytest.raises(asyncio.CancelledError):
                await save
            await store.save(accepted(session_id="after"))
        finally:
            await store.close()

    asyncio.run(scenario())
    assert [d.session_id for d in StoreReader(tmp_path).list()] == ["cancelled", "after"]


def test_several_stores_and_event_loops_in_one_process(tmp_path: Path) -> None:
    """No shared state: two stores on one loop keep their own rows; one store used from
    two event loops in two threads resolves each caller on its own loop."""
    async def two_stores() -> tuple[list[int], list[int]]:
        first, second = Store(tmp_path / "a"), Store(tmp_path / "b")
        try:
            a = asyncio.gather(*(first.save(accepted(session_id="a")) for _ in range(30)))
            b = asyncio.gather(*(second.save(accepted(session_id="b")) for _ in range(20)))
            return list(await a), list(await b)
        finally:
            await first.close()
            await second.close()

    ids_a, ids_b = asyncio.run(two_stores())
    assert sorted(ids_a) == list(range(1, 31)) and sorted(ids_b) == list(range(1, 21))
    assert {d.session_id for d in StoreReader(tmp_path / "a").list()} == {"a"}
    assert StoreReader(tmp_path / "b").count() == 20

    shared_dir = tmp_path / "shared"
    opened: list[Store] = []

    async def open_store() -> None:
        opened.append(Store(shared_dir))

    asyncio.run(open_store())
    store = opened[0]
    results: dict[str, list[int]] = {}

    async def client(name: str) -> None:
        results[name] = list(await asyncio.gather(*(store.save(accepted(session_id=name)) for _ in range(50))))

    threads = [threading.Thread(target=asyncio.run, args=(client(name),)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    asyncio.run(store.close())
    assert sorted(results["x"] + results["y"]) == list(range(1, 101))
    assert sum(d.session_id == "x" for d in StoreReader(shared_dir).list()) == 50


def test_listing_filters_keep_the_most_recent_and_one_action(tmp_path: Path) -> None:
    deliveries = [accepted(), rejected(), accepted(), refused_at_rcpt(), accepted()]

    async def scenario() -> None:
        store = Store(tmp_path)
        try:
            for delivery in deliveries:
                await store.save(delivery)
        finally:
            await store.close()

    asyncio.run(scenario())
    reader = StoreReader(tmp_path)
    assert [d.id for d in reader.list(limit=2)] == [4, 5]
    assert [d.id for d in reader.list(action="reject")] == [2, 4]
    assert [d.id for d in reader.list(action="accept", limit=2)] == [3, 5]
    assert reader.list(action="spam") == []


def test_a_bad_row_costs_only_itself_even_when_another_writer_takes_the_lock_meanwhile(tmp_path: Path) -> None:
    """A batch that SQLite refuses (here: a row without its required ``received_at``) is
    committed row by row, so only the bad row fails. If another writer takes the lock
    while that happens, the rows not yet committed wait for it like any locked batch;
    they are not failed as "database is locked"."""
    from sandbox.store.rows import encode
    from sandbox.store.writer import GroupCommitWriter

    async def scenario() -> tuple[list[object], list[str]]:
        writer = GroupCommitWriter(tmp_path / FILE_NAME)
        loop = asyncio.get_running_loop()
        real_commit = writer._commit
        blockers: list[sqlite3.Connection] = []

        def commit(rows: list[tuple]) -> list[int]:
            try:
                return real_commit(rows)
            except sqlite3.IntegrityError:
                if len(rows) > 1 and not blockers:  # the batch failed: another writer steps in now
                    blockers.append(_hold_write_lock(writer.path))
                    loop.call_later(0.05, lambda: (blockers[0].execute("ROLLBACK"), blockers[0].close()))
                raise

        writer._commit = commit  # type: ignore[method-assign]
        good = encode(accepted(session_id="good"))
        bad = (None, *good[1:])
        try:
            outcomes = await asyncio.gather(writer.save(good), writer.save(bad), writer.save(good),
                                            return_exceptions=True)
        finally:
            await writer.close()
        return list(outcomes), [d.session_id for d in StoreReader(tmp_path).list()]

    outcomes, stored = asyncio.run(scenario())
    assert isinstance(outcomes[0], int) and isinstance(outcomes[2], int)
    assert isinstance(outcomes[1], StoreError)
    assert "NOT NULL constraint failed: deliveries.received_at" in str(outcomes[1])
    assert stored == ["good", "good"]
