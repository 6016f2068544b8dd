"""The store's sync process: makes committed deliveries durable without stalling anyone.

The SMTP worker commits each batch on its event loop with ``synchronous=NORMAL``: the
write-ahead log (WAL) frames reach the page cache in tens of microseconds, but are not
yet on disk. Before any of those deliveries is answered with a 250, this process
``fdatasync``\\ s the WAL; an fdatasync that *starts* after a commit returned covers
that commit, exactly what ``synchronous=FULL`` would have done inside the commit. Doing
it here instead of in a thread of the server keeps the server's interpreter lock out of
it: a thread that must take the lock back after every fsync costs a dozen lock
hand-overs per message (measured: ~19 futex calls per delivery), a pipe costs two
system calls per batch.

It also checkpoints the WAL into the database when asked (the writer's connection has
automatic checkpoints off, so that no fsync ever runs on the event loop).

Protocol, over the socket whose descriptor is ``argv[2]``: the writer sends ``s``
(sync) or ``c`` (sync, then checkpoint) and waits for one line, ``ok`` or ``error:
REASON``, before it sends the next request. End of file means the store closed or its
process died: this process then exits at once, leaving the WAL as it is.

Standard library only, started as ``python -I -S``: it must start in milliseconds.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import sys

CHECKPOINT_BUSY_MS = 50  # how long a checkpoint waits for writers and readers to step aside


class WalFile:
    """The WAL of ``database``, opened once and reopened if SQLite replaced the file.

    The name is looked up only when the file held open is no longer linked under it (on
    Linux, ``/proc/self/fd`` says so without touching the file; elsewhere every sync
    looks). A stat of the WAL before each sync would make every sync dearer: since
    Linux 6.13, once a file's timestamps have been read, its next write gets a
    fine-grained new mtime (multigrain timestamps), so every fdatasync would also write
    the inode, one more synchronous disk write each time. Measured on the benchmark
    machine: a quarter of this process's CPU per sync and a sixth of a sync's latency.
    """

    def __init__(self, database: str) -> None:
        self.path = database + "-wal"
        self._fd: int | None = None
        self._inode: int | None = None

    def sync(self) -> None:
        """fdatasync the WAL; after a (re)open, fsync its directory too, so that the
        file's name is as durable as its frames."""
        if self._fd is None or not self._still_linked(self._fd):
            self._look_up()
        assert self._fd is not None
        os.fdatasync(self._fd)

    @staticmethod
    def _still_linked(fd: int) -> bool:
        try:
            return not os.readlink(f"/proc/self/fd/{fd}").endswith(" (deleted)")
        except OSError:  # no /proc: only the name can tell
            return False

    def _look_up(self) -> None:
        """Find the WAL by name; reopen it if it is another file than the one open."""
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            raise OSError(f"the write-ahead log {self.path} is gone, nothing can be made durable") from None
        if inode != self._inode:
            self._reopen(inode)

    def _reopen(self, inode: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        self._inode = inode
        directory = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def checkpoint(database: str, connection: sqlite3.Connection | None) -> sqlite3.Connection | None:
    """Copy the WAL into the database and let the next commit start it over (RESTART:
    writers wait meanwhile, so the log cannot outgrow the checkpoint under a steady
    stream of commits, as it does with passive checkpoints). Housekeeping: a failure is
    reported on stderr and retried at the next request."""
    try:
        if connection is None:
            connection = sqlite3.connect(database, timeout=CHECKPOINT_BUSY_MS / 1000, isolation_level=None)
        connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
    except sqlite3.Error as exc:
        print(f"smtp-sandbox store sync: checkpoint of {database} failed: {exc}", file=sys.stderr)
    return connection


def main(argv: list[str]) -> None:
    database, channel_fd = argv[1], int(argv[2])
    # Ctrl-C reaches the whole process group: the server's last saves still need this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel = socket.socket(fileno=channel_fd)
    wal = WalFile(database)
    connection: sqlite3.Connection | None = None
    while True:
        try:
            request = channel.recv(64)
        except OSError:
            request = b""
        if not request:
            os._exit(0)  # no cleanup: closing a connection here could checkpoint and delete the WAL
        try:
            wal.sync()
            answer = b"ok\n"
        except OSError as exc:
            answer = f"error: {exc}\n".encode("utf-8", "backslashreplace")
        try:
            channel.sendall(answer)
        except OSError:
            os._exit(0)
        if request.endswith(b"c"):
            connection = checkpoint(database, connection)


if __name__ == "__main__":
    main(sys.argv)
