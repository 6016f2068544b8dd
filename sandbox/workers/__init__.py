"""``serve --workers N``: several SMTP processes behind one listening socket.

Why: the sandbox judges every message in Python. SPF, DKIM, DMARC, the profile's
rules and the durable store cost a few times what receiving the bytes costs, and one
process runs all of it on one core; a staging MTA flushing its queue at the sandbox
would be held to that core. With ``--workers N`` the ``serve`` process binds the SMTP
socket once and starts N worker processes that all accept on it: the kernel hands
each new connection to one of them, as in pre-forking servers (nginx, gunicorn).
Workers share nothing but that socket and the store (SQLite in WAL mode takes one
writer at a time; each worker's group commit batches its own saves and its own sync
process makes them durable), and a
connection stays with one worker from greeting to QUIT, so a session's replies and
transcript are exactly those of a single-process sandbox.

The ``serve`` process keeps what must exist once: the DNS server, the control socket,
the zone file watch and the banner (:mod:`.pool`). Each worker is
``python -m sandbox.workers`` (:mod:`.child`), configured by :mod:`.config`.
"""

from sandbox.workers.config import WorkerConfig
from sandbox.workers.pool import WorkerError, WorkerPool

__all__ = ["WorkerConfig", "WorkerError", "WorkerPool"]
