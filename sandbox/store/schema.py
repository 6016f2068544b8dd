"""The SQLite file: where it lives, how connections are opened, and its schema.

WAL mode lets the CLI (``log``, ``show``) and the sandbox's own reads run while the
writer commits. The writer commits with ``synchronous=NORMAL`` and without automatic
checkpoints, so that no fsync runs on its event loop; its sync process makes each
commit durable before it is acknowledged (see :mod:`sandbox.store.writer`), which is
what "durable before the 250" means. The schema version is kept in ``PRAGMA user_version``
so a later release can tell an old file from a new one.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

FILE_NAME = "deliveries.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0  # seconds a connection waits for another one's lock before failing

# Columns in the order rows.py encodes them (``id`` is assigned by SQLite). The decision,
# the checks, the TLS state and the transcript are JSON; the columns a listing filters
# on are copied out of them. ``message`` comes last so rows read without it stay small.
COLUMNS: tuple[str, ...] = (
    "received_at", "session_id", "profile", "client_ip", "original_ip", "helo", "mail_from",
    "rcpt_to", "stage", "action", "code", "enhanced_code", "folder", "message_id",
    "tls", "checks", "decision", "transcript", "message",
)

_CREATE = """
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after deletes
    received_at   TEXT    NOT NULL,                   -- ISO 8601 UTC
    session_id    TEXT    NOT NULL,
    profile       TEXT    NOT NULL,
    client_ip     TEXT    NOT NULL,                   -- the address the checks judged
    original_ip   TEXT    NOT NULL,                   -- the socket peer
    helo          TEXT    NOT NULL,
    mail_from     TEXT    NOT NULL,
    rcpt_to       TEXT    NOT NULL,                   -- JSON list
    stage         TEXT    NOT NULL,                   -- connect|ehlo|mail|rcpt|data
    action        TEXT,                               -- accept|spam|defer|reject, NULL: no verdict
    code          INTEGER,
    enhanced_code TEXT,
    folder        TEXT,                               -- inbox|spam for accepted mail
    message_id    TEXT,
    tls           TEXT    NOT NULL,                   -- JSON object, {} without TLS
    checks        TEXT    NOT NULL,                   -- JSON object, {} before DATA
    decision      TEXT    NOT NULL,                   -- JSON object, {} without verdict
    transcript    TEXT    NOT NULL,                   -- JSON list of {t, dir, line}
    message       BLOB                                -- as received, byte for byte
);
CREATE INDEX deliveries_action ON deliveries (action);
CREATE INDEX deliveries_message_id ON deliveries (message_id);
"""
# executescript() would commit on its own; the statements run one by one in a transaction.
_CREATE_STATEMENTS = [s.strip() for s in _CREATE.split(";") if s.strip()]


class StoreError(Exception):
    """The store cannot be opened, read or written (a message names the file and why)."""


def database_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def is_lock(error: sqlite3.Error) -> bool:
    """Another connection holds the database: worth trying again, not a failure of the row."""
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def open_writer(path: Path) -> sqlite3.Connection:
    """The writer's connection, creating the file and schema on first use.

    Autocommit mode (``isolation_level=None``): the writer issues BEGIN / COMMIT itself,
    one transaction per batch. Once the schema is in place the connection never waits
    for a lock (the writer retries off the event loop instead) and never checkpoints
    (the sync process does).

    Two writers creating one new file at once can find it locked without SQLite's busy
    handler being asked (while the file is still in rollback mode, one of two lock
    upgrades must give way); that is tried again until BUSY_TIMEOUT.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            return _open_writer(path)
        except sqlite3.OperationalError as exc:
            if not is_lock(exc) or time.monotonic() > deadline:
                raise StoreError(f"cannot open the store {path}: {exc}") from exc
            time.sleep(0.01)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc


def _open_writer(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Used from the loop of the first save, not necessarily the opening thread; one
    # loop at a time (see GroupCommitWriter), so never from two threads at once.
    connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False)
    try:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(f"{path}: SQLite refused WAL mode (journal mode is {mode})")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        _ensure_schema(connection, path)
        connection.execute("PRAGMA busy_timeout=0")
    except BaseException:
        connection.close()
        raise
    return connection


def open_reader(path: Path) -> sqlite3.Connection:
    """A connection for reading an existing store; never creates the file.

    Raises StoreError when there is no store at ``path`` or it was written by a newer
    version of smtp-sandbox.
    """
    if not path.parent.is_dir():
        raise StoreError(f"no data directory {path.parent}")
    if not path.is_file():
        raise StoreError(f"no delivery store in {path.parent} (no {path.name})")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT)
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the store {path}: {exc}") from exc
    _check_version(version, path)
    return connection


def _ensure_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Create the tables in a new file; accept a file of this version; refuse a newer one.

    BEGIN IMMEDIATE takes the write lock first, so two sandboxes opening one new file
    cannot both create the tables.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        _check_version(version, path)
        if version == 0:
            for statement in _CREATE_STATEMENTS:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _check_version(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer smtp-sandbox (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION})"
        )
