"""A :class:`Delivery` to a table row and back.

Encoding must not fail: a delivery that cannot be stored is a message lost. Text the
client sent may carry undecodable bytes as lone surrogates (``surrogateescape``), which
SQLite cannot hold as UTF-8; such text is stored with ``\\xNN`` escapes, the same form
the transcript uses. Values in the check dicts that JSON has no type for are stored as
their text. The message itself is a BLOB and comes back byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from sandbox.store.delivery import Delivery
from sandbox.store.schema import COLUMNS

INSERT = f"INSERT INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
SELECT = f"SELECT id, {', '.join(COLUMNS)} FROM deliveries"

Row = tuple[Any, ...]


def encode(delivery: Delivery) -> Row:
    """The values for :data:`INSERT`, in :data:`~sandbox.store.schema.COLUMNS` order."""
    decision = delivery.decision
    return (
        delivery.received_at,
        _text(delivery.session_id),
        _text(delivery.profile),
        _text(delivery.client_ip),
        _text(delivery.original_ip),
        _text(delivery.helo),
        _text(delivery.mail_from),
        _json(list(delivery.rcpt_to)),
        delivery.stage,
        decision.get("action"),
        decision.get("code"),
        decision.get("enhanced_code"),
        delivery.folder,
        _text(delivery.message_id) if delivery.message_id is not None else None,
        _json(delivery.tls),
        _json(delivery.checks),
        _json(decision),
        _json(delivery.transcript),
        bytes(delivery.message) if delivery.message is not None else None,
    )


def decode(row: Row) -> Delivery:
    """A row of :data:`SELECT` (``id`` first) as a Delivery."""
    values = dict(zip(("id", *COLUMNS), row))
    return Delivery(
        id=values["id"],
        received_at=values["received_at"],
        session_id=values["session_id"],
        profile=values["profile"],
        client_ip=values["client_ip"],
        original_ip=values["original_ip"],
        helo=values["helo"],
        mail_from=values["mail_from"],
        rcpt_to=json.loads(values["rcpt_to"]),
        tls=json.loads(values["tls"]),
        checks=json.loads(values["checks"]),
        decision=json.loads(values["decision"]),
        folder=values["folder"],
        transcript=json.loads(values["transcript"]),
        message=values["message"],
        message_id=values["message_id"],
        stage=values["stage"],
    )


def _text(value: str) -> str:
    """``value`` as SQLite can hold it: lone surrogates (undecodable client bytes) become
    ``\\xNN`` escapes of the bytes they stand for."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that does not stand for a byte
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _json(value: Any) -> str:
    """JSON text for a column. orjson first: every delivery's check results are a few KB
    of JSON, encoded on the event loop. It refuses lone surrogates (text with
    undecodable client bytes) and integers beyond 64 bits; the standard encoder takes
    those, and its ensure_ascii escapes the surrogates, so the text is valid UTF-8."""
    try:
        return orjson.dumps(value, default=_json_fallback).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), default=_json_fallback)


def _json_fallback(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)
