"""One mail transaction: from MAIL FROM to the reply to the message (or its abandonment)."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.profiles.decision import Decision
from sandbox.smtp.body import MessageBuffer


@dataclass
class Transaction:
    """What the client has said so far in one MAIL ... DATA/BDAT LAST sequence.

    ``refusals`` are the replies that refused something in this transaction (the MAIL
    command itself, or recipients), kept so that a transaction that never delivers a
    message is still stored with the reason it failed.
    """

    mail_from: str
    params: dict[str, str | None]
    transcript_start: int
    rcpt_to: list[str] = field(default_factory=list)
    refused_rcpts: list[str] = field(default_factory=list)
    refusals: list[Decision] = field(default_factory=list)
    chunks: MessageBuffer | None = None  # BDAT chunks received so far

    @property
    def smtputf8(self) -> bool:
        return "SMTPUTF8" in self.params

    @property
    def binarymime(self) -> bool:
        return (self.params.get("BODY") or "").upper() == "BINARYMIME"

    @property
    def last_refusal(self) -> Decision | None:
        return self.refusals[-1] if self.refusals else None
