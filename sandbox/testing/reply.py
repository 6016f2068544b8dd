"""What a send gives back: each SMTP reply with the stage it answered, and the result
of the whole attempt (the deciding reply plus the delivery the sandbox stored)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.store import Delivery

_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\Z")


@dataclass(frozen=True)
class SmtpReply:
    """One reply: ``code`` 250, ``enhanced_code`` "2.0.0" (None when the server gave
    none), ``lines`` as on the wire (``550-5.7.26 ...``), ``stage`` the command it
    answered: ``connect``, ``ehlo``, ``starttls``, ``mail``, ``rcpt``, ``data``."""

    code: int
    enhanced_code: str | None
    lines: tuple[str, ...]
    stage: str

    @classmethod
    def from_smtplib(cls, stage: str, code: int, message: bytes | str) -> "SmtpReply":
        """Rebuild the wire lines from smtplib's (code, text joined with newlines)."""
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        parts = text.split("\n")
        lines = tuple(f"{code}{'-' if i < len(parts) - 1 else ' '}{part}" for i, part in enumerate(parts))
        first = parts[0].split(" ", 1)[0]
        return cls(code, first if _ENHANCED.match(first) else None, lines, stage)

    @property
    def text(self) -> str:
        """The reply's words without the codes, one line per wire line."""
        prefix = f"{self.enhanced_code} " if self.enhanced_code else ""
        return "\n".join(line[4:].removeprefix(prefix) for line in self.lines)

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    def __str__(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class SendResult:
    """One send: ``reply`` is the one that decided it (the first refusal, else the reply
    to the end of DATA), ``replies`` every reply in order, ``delivery`` what the sandbox
    stored (checks, decision, folder, server transcript); None only if nothing was stored."""

    reply: SmtpReply
    replies: tuple[SmtpReply, ...]
    delivery: Delivery | None

    @property
    def code(self) -> int:
        return self.reply.code

    @property
    def enhanced_code(self) -> str | None:
        return self.reply.enhanced_code

    @property
    def stage(self) -> str:
        return self.reply.stage

    @property
    def action(self) -> str | None:
        """``accept``, ``spam``, ``defer`` or ``reject`` as the sandbox decided."""
        return self.delivery.action if self.delivery is not None else None

    @property
    def folder(self) -> str | None:
        """``inbox`` or ``spam`` for accepted mail, else None."""
        return self.delivery.folder if self.delivery is not None else None

    @property
    def checks(self) -> dict[str, Any]:
        return self.delivery.checks if self.delivery is not None else {}

    @property
    def rule_id(self) -> str | None:
        return self.delivery.decision.get("rule_id") if self.delivery is not None else None

    def result(self, check: str) -> str | None:
        """The result word of one check (``spf``, ``dmarc``, ``arc``, ``rdns``, ``format``;
        ``dkim`` is the first signature's), None when it did not run."""
        value = self.checks.get(check)
        if isinstance(value, list):
            value = value[0] if value else None
        return value.get("result") if isinstance(value, dict) else None

    def describe(self) -> str:
        """The transcript, every check's result and explanation, and the decision: what a
        failed assertion prints so the reader sees why without re-running."""
        from sandbox.testing.report import describe

        return describe(self)
