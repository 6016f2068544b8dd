"""Where every delivery attempt is kept: SQLite in WAL mode, written from the event loop
with group commit and made durable by a sync process before the reply is sent, read by
the CLI and the tests.

- :class:`Delivery` is one attempt (envelope, identity, TLS, checks, decision,
  transcript, message as received).
- :class:`Store` is what a running sandbox writes to (``await store.save(delivery)``).
- :class:`StoreReader` reads a data directory without an event loop (``log``, ``show``).
"""

from sandbox.store.delivery import Delivery
from sandbox.store.reader import StoreReader
from sandbox.store.schema import FILE_NAME, SCHEMA_VERSION, StoreError
from sandbox.store.store import Store

__all__ = ["Delivery", "FILE_NAME", "SCHEMA_VERSION", "Store", "StoreError", "StoreReader"]
