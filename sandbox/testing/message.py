"""Messages a test sends: well-formed by default, with any header changed or left out,
and DKIM-signed with a :class:`~sandbox.testing.keys.DkimKey`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from email.utils import formatdate, make_msgid

import dkim

from sandbox.testing.keys import DkimKey


def make_message(sender: str, recipients: str | Iterable[str], *, subject: str = "Hello",
                 body: str = "Hello from the test suite.\r\n",
                 headers: Mapping[str, str | None] | None = None) -> bytes:
    """An RFC 5322 message (From, To, Subject, Date, Message-ID, then ``headers``).

    ``headers`` replaces a standard header of the same name or adds one; a value of
    None leaves that header out (``{"Message-ID": None}``)."""
    to = recipients if isinstance(recipients, str) else ", ".join(recipients)
    domain = sender.rpartition("@")[2] or "localhost"
    fields: dict[str, str | None] = {
        "From": sender, "To": to, "Subject": subject, "Date": formatdate(), "Message-ID": make_msgid(domain=domain),
    }
    by_lower = {name.lower(): name for name in fields}
    for name, value in (headers or {}).items():
        fields[by_lower.get(name.lower(), name)] = value
    lines = [f"{name}: {value}" for name, value in fields.items() if value is not None]
    text = body.replace("\r\n", "\n").replace("\n", "\r\n")
    return ("\r\n".join(lines) + "\r\n\r\n" + text).encode("utf-8")


def sign_message(message: bytes, key: DkimKey, *, canonicalize: tuple[str, str] = ("relaxed", "relaxed"),
                 headers: Iterable[str] | None = None) -> bytes:
    """``message`` with a DKIM-Signature by ``key`` on top (made by dkimpy; ``headers``
    names the signed header fields, dkimpy's recommended set by default)."""
    signature = dkim.sign(
        message, key.selector.encode(), key.domain.encode(), key.private,
        canonicalize=(canonicalize[0].encode(), canonicalize[1].encode()),
        signature_algorithm=key.algorithm.encode(),
        include_headers=[name.lower().encode() for name in headers] if headers is not None else None,
    )
    return signature + message
