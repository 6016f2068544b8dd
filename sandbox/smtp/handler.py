"""The orchestration behind one SMTP connection: ask the profile, run the checks, store.

It decides nothing. At each stage it turns what is known (the client, the envelope,
the check results) into :class:`~policies.profiles.decision.Facts`, asks the profile,
and hands the :class:`~policies.profiles.decision.Decision` back to the wire layer.
At the end of a message it runs every check with the client's *mapped* identity,
prepends the headers the provider adds, and stores the delivery durably before the
reply goes out. Every attempt is stored: refusals at MAIL or RCPT, deferrals,
oversized and incomplete messages, not only accepted mail.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fake_dns import Resolver
from policies.profiles import Decision, Facts, Profile, build_facts
from policies.profiles.decision import Action, Stage
from sandbox.smtp.identity import ClientIdentity
from sandbox.smtp.message import message_id, prepend_headers
from sandbox.smtp.transaction import Transaction
from sandbox.smtp.transcript import Transcript
from sandbox.smtp.verdict import judge
from sandbox.store import Delivery, Store
from sandbox.store.delivery import iso_utc

Protect = Callable[[Awaitable[Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Reception:
    """What every connection of one sandbox shares: the profile, the DNS view, the store,
    and the per-sandbox options (bulk senders, special recipients, a delivery callback)."""

    profile: Profile
    resolver: Resolver
    store: Store
    bulk_senders: frozenset[str] = frozenset()
    unknown_users: frozenset[str] = frozenset()
    over_quota: frozenset[str] = frozenset()
    on_delivery: Callable[[int, Delivery], None] | None = None

    @classmethod
    def build(cls, profile: Profile, resolver: Resolver, store: Store, *, bulk_senders: Iterable[str] = (),
              unknown_users: Iterable[str] = (), over_quota: Iterable[str] = (),
              on_delivery: Callable[[int, Delivery], None] | None = None) -> "Reception":
        return cls(
            profile, resolver, store,
            bulk_senders=frozenset(d.lower().rstrip(".") for d in bulk_senders),
            unknown_users=frozenset(a.lower() for a in unknown_users),
            over_quota=frozenset(a.lower() for a in over_quota),
            on_delivery=on_delivery,
        )

    def recipient_status(self, address: str) -> str:
        """``ok``, ``unknown``, ``over_quota`` or ``relay`` (a domain the provider does not host)."""
        domain = address.rpartition("@")[2].lower().rstrip(".")
        if domain not in self.profile.domains:
            return "relay"
        if address.lower() in self.unknown_users:
            return "unknown"
        if address.lower() in self.over_quota:
            return "over_quota"
        return "ok"


class ConnectionHandler:
    """One connection's dealings with the profile, the checks and the store."""

    def __init__(self, reception: Reception, identity: ClientIdentity, transcript: Transcript,
                 protect: Protect) -> None:
        self._reception = reception
        self._profile = reception.profile
        self.identity = identity
        self._transcript = transcript
        self._protect = protect
        self._session = self._profile.new_session(identity.ip)

    @property
    def session_id(self) -> str:
        return self._session.id

    # -- replies that are not verdicts ------------------------------------------------------

    def greeting(self) -> list[str]:
        return self._session.greeting()

    def ehlo(self, helo: str, *, tls_active: bool, tls_available: bool, extra: list[str]) -> list[str]:
        """The EHLO reply in the profile's order, plus extensions only the sandbox offers
        (XCLIENT), added at the end."""
        lines = self._session.ehlo(self.identity.ip, tls_active=tls_active, tls_available=tls_available, helo=helo)
        for keyword in extra:
            last = lines[-1]
            lines[-1] = last[:3] + "-" + last[4:]
            lines.append(last[:3] + " " + keyword)
        return lines

    def reply(self, kind: str, **values: Any) -> list[str]:
        return self._session.reply(kind, **values)

    # -- verdicts before the message ----------------------------------------------------------

    def _facts(self, *, helo: str = "", mail_from: str = "", tls: dict[str, Any] | None = None,
               **more: Any) -> Facts:
        return build_facts(
            None, client_ip=self.identity.ip, helo=self.identity.helo or helo, mail_from=mail_from,
            tls=tls, bulk_domains=self._reception.bulk_senders, **more,
        )

    def connect_decision(self) -> Decision | None:
        return self._refusal(self._session.decide("connect", self._facts()))

    def helo_decision(self, helo: str) -> Decision | None:
        return self._refusal(self._session.decide("ehlo", self._facts(helo=helo)))

    def mail_decision(self, tx: Transaction, *, helo: str | None, tls: dict[str, Any] | None,
                      valid: bool = True) -> Decision | None:
        """The profile's word on MAIL FROM; ``valid`` False for an address that does not
        parse (the profile may have a rule for that, e.g. Gmail's 553 5.1.7)."""
        facts = self._facts(helo=helo or "", mail_from=tx.mail_from, tls=tls, mail_from_valid=valid)
        return self._session.decide("mail", facts)

    def rcpt_decision(self, tx: Transaction, recipient: str, *, helo: str | None,
                      tls: dict[str, Any] | None) -> Decision | None:
        status = self._reception.recipient_status(recipient)
        facts = self._facts(helo=helo or "", mail_from=tx.mail_from, tls=tls, recipient_status=status,
                            recipient=recipient)
        return self._session.decide("rcpt", facts)

    @staticmethod
    def _refusal(decision: Decision | None) -> Decision | None:
        return decision if decision is not None and decision.action in ("reject", "defer") else None

    # -- the message --------------------------------------------------------------------------

    async def judge_message(self, tx: Transaction, message: bytes, *, helo: str,
                            tls: dict[str, Any] | None) -> Decision:
        """Run the checks, ask the profile, store the delivery; return the decision to send."""
        helo = self.identity.helo or helo
        auth, decision = await judge(
            self._session, self._reception.resolver, message, client_ip=self.identity.ip, helo=helo,
            mail_from=tx.mail_from, recipients=tx.rcpt_to, tls=tls, smtputf8=tx.smtputf8,
            bulk_domains=self._reception.bulk_senders,
        )
        stored = message
        if decision.action in ("accept", "spam") and decision.headers:
            stored = prepend_headers(message, decision.headers)
        await self._save(tx, helo=helo, tls=tls, stage="data", decision=decision,
                         message=stored, checks=auth.as_dict(), reply=decision.lines, protected=True)
        return decision

    async def store_abandoned(self, tx: Transaction, *, helo: str | None = None,
                              tls: dict[str, Any] | None = None) -> None:
        """A transaction that ended without a message: stored when something was refused."""
        refusal = tx.last_refusal
        if refusal is None:
            return
        await self._save(tx, helo=helo or "", tls=tls, stage=refusal.stage, decision=refusal)

    async def store_incomplete(self, tx: Transaction, partial: bytes, size: int, *, helo: str | None,
                               tls: dict[str, Any] | None) -> None:
        """The client went away in the middle of a message: keep what arrived."""
        await self._save(tx, helo=helo or "", tls=tls, stage="data", decision=None, message=partial,
                         note=f"connection lost after {size} bytes of the message")

    async def store_oversized(self, tx: Transaction, size: int, lines: list[str], *, helo: str | None,
                              tls: dict[str, Any] | None) -> None:
        decision = protocol_decision("data", lines, reason=f"message of {size} bytes exceeds the size limit")
        await self._save(tx, helo=helo or "", tls=tls, stage="data", decision=decision, reply=lines)

    async def store_failed(self, tx: Transaction, message: bytes, lines: list[str], *, helo: str | None,
                           tls: dict[str, Any] | None) -> None:
        """The checks themselves failed (a bug): keep the message and say so."""
        decision = protocol_decision("data", lines, reason="the sandbox failed while judging this message")
        await self._save(tx, helo=helo or "", tls=tls, stage="data", decision=decision, message=message,
                         reply=lines, note="internal error while judging; see the server log")

    async def store_refused_connection(self, decision: Decision, *, helo: str = "") -> None:
        tx = Transaction("", {}, transcript_start=len(self._transcript))
        await self._save(tx, helo=helo, tls=None, stage=decision.stage, decision=decision)

    async def _save(self, tx: Transaction, *, helo: str, tls: dict[str, Any] | None, stage: str,
                    decision: Decision | None, message: bytes = b"", checks: dict[str, Any] | None = None,
                    note: str | None = None, reply: Iterable[str] = (), protected: bool = False) -> int:
        """Store one attempt. ``protected``: the caller already runs under the server's
        protection (the judging of a message), so the save needs no task of its own."""
        if note:
            self._transcript.note(note)
        delivery = Delivery(
            received_at=iso_utc(time.time()),
            session_id=self._session.id,
            profile=self._profile.name,
            client_ip=self.identity.ip,
            original_ip=self.identity.original_ip,
            helo=helo,
            mail_from=tx.mail_from,
            rcpt_to=list(tx.rcpt_to),
            tls=tls or {},
            checks=checks or {},
            decision=decision.as_dict() if decision is not None else {},
            folder=decision.folder if decision is not None else None,
            transcript=self._transcript.for_delivery(tx.transcript_start, reply),
            message=message,
            message_id=message_id(message),
            stage=stage,
        )
        saving = self._reception.store.save(delivery)
        number = await (saving if protected else self._protect(saving))
        if self._reception.on_delivery is not None:
            self._reception.on_delivery(number, delivery)
        return number


def protocol_decision(stage: Stage, lines: list[str], *, reason: str) -> Decision:
    """A refusal the SMTP layer made from a profile reply (size limit), as a Decision record."""
    last = lines[-1]
    code = int(last[:3])
    words = last[4:].split(" ", 1)
    enhanced = words[0] if words and words[0][:1] in "245" and words[0].count(".") == 2 else None
    action: Action = "reject" if code >= 500 else "defer" if code >= 400 else "accept"
    return Decision(action=action, stage=stage, code=code, enhanced_code=enhanced, lines=tuple(lines),
                    reason=reason)
