"""One stored delivery attempt: what the SMTP server saves and what ``log`` / ``show`` read.

Every attempt is a delivery, not only accepted mail: a refusal at RCPT, a deferral at
DATA, a message the client abandoned half-way. Fields the attempt never reached stay
empty (no checks before DATA, no message before DATA, no decision when the client
went away) so a reader can always tell "not judged" from "judged and failed".
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any


def iso_utc(unix_time: float) -> str:
    """A Unix time as ISO 8601 in UTC with microseconds (``2024-05-01T12:00:00.123456Z``),
    so text order is time order."""
    moment = datetime.fromtimestamp(unix_time, timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Delivery:
    """One SMTP attempt as received, judged and answered.

    ``received_at`` is ISO 8601 UTC (:func:`iso_utc` of what ``time.time()`` gives).
    ``client_ip`` is the address the checks judged (after ``--client-ip`` / XCLIENT /
    PROXY mapping), ``original_ip`` the socket peer. ``tls`` is ``{}`` for a plain
    connection, else ``{version, cipher, bits}``. ``checks`` is the composed check dicts
    (``MessageAuthentication.as_dict()``: ``spf``, ``dkim`` list, ``dmarc``, ``arc``,
    ``rdns``, ``format``, ...), ``{}`` when the attempt ended before DATA. ``decision`` is
    ``Decision.as_dict()`` (``action, code, enhanced_code, text, lines, rule_id, stage,
    inferred, ...``), ``{}`` when no verdict was given. ``folder`` is ``inbox`` / ``spam``
    for accepted mail. ``transcript`` entries are ``{t: Unix time, dir: "C"|"S"|"*",
    line}``. ``message`` is the message as received (for accepted mail with the
    provider's headers on top); empty when none arrived. ``stage`` is where the attempt
    ended (``connect``, ``ehlo``, ``mail``, ``rcpt``, ``data``). ``id`` is set by the store.
    """

    received_at: str
    session_id: str
    profile: str
    client_ip: str
    original_ip: str
    helo: str
    mail_from: str
    rcpt_to: list[str]
    tls: dict[str, Any]
    checks: dict[str, Any]
    decision: dict[str, Any]
    folder: str | None
    transcript: list[dict[str, Any]]
    message: bytes | None
    message_id: str | None
    stage: str
    id: int | None = field(default=None, compare=False)

    @property
    def action(self) -> str | None:
        """``accept``, ``spam``, ``defer``, ``reject``; None when no verdict was given."""
        return self.decision.get("action")

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (the ``show --json`` object): the message, which may be
        any bytes, as ``message_base64`` (null when none) with its ``message_size``."""
        data = asdict(self)
        message = data.pop("message")
        data["message_size"] = len(message) if message is not None else 0
        data["message_base64"] = base64.b64encode(message).decode("ascii") if message is not None else None
        return {"id": data.pop("id"), **data}

    def to_log_dict(self) -> dict[str, Any]:
        """The ``smtp-sandbox log --json`` object: the envelope, the verdict and the
        authentication results in summary. The shape never varies: a check that did not
        run (the attempt ended before DATA) has null results and an empty DKIM list; an
        attempt without a verdict (connection lost) has a decision of nulls."""
        checks = self.checks
        spf = checks.get("spf") or {}
        dmarc = checks.get("dmarc") or {}
        return {
            "id": self.id,
            "received_at": self.received_at,
            "session_id": self.session_id,
            "profile": self.profile,
            "stage": self.stage,
            "client_ip": self.client_ip,
            "original_ip": self.original_ip,
            "helo": self.helo,
            "mail_from": self.mail_from,
            "rcpt_to": list(self.rcpt_to),
            "message_id": self.message_id,
            "size": len(self.message) if self.message else 0,
            "folder": self.folder,
            "tls": {"active": bool(self.tls), "version": self.tls.get("version"), "cipher": self.tls.get("cipher")},
            "decision": {
                key: self.decision.get(key)
                for key in ("action", "code", "enhanced_code", "text", "rule_id", "inferred")
            },
            "spf": {"result": spf.get("result"), "domain": spf.get("domain")},
            "dkim": [
                {"result": sig.get("result"), "domain": sig.get("domain"), "selector": sig.get("selector")}
                for sig in checks.get("dkim") or ()
            ],
            "dmarc": {key: dmarc.get(key) for key in ("result", "policy", "disposition")},
            "arc": {"result": (checks.get("arc") or {}).get("result")},
            "rdns": {"result": (checks.get("rdns") or {}).get("result")},
        }
