"""The verdict on one message: every check, then the profile's decision.

Kept apart from the connection handler so that anything needing the verdict a message
would get (the handler at end of DATA, the ``serve`` banner predicting what the demo
messages get) computes it the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from fake_dns import Resolver
from policies.authenticate import MessageAuthentication, authenticate
from policies.profiles import Decision, Session, build_facts


async def judge(
    session: Session,
    resolver: Resolver,
    message: bytes,
    *,
    client_ip: str,
    helo: str,
    mail_from: str,
    recipients: Sequence[str],
    tls: dict[str, Any] | None,
    smtputf8: bool = False,
    bulk_domains: Collection[str] = (),
) -> tuple[MessageAuthentication, Decision]:
    """Authenticate ``message`` as received from ``client_ip`` and ask the profile."""
    profile = session.profile
    auth = await authenticate(
        message, resolver=resolver.fork(), client_ip=client_ip, mail_from=mail_from, helo=helo,
        smtputf8=smtputf8, dmarc_mode=profile.dmarc_mode, authserv_id=profile.hostname,
    )
    facts = build_facts(
        auth, client_ip=client_ip, helo=helo, mail_from=mail_from, tls=tls, recipients=recipients,
        bulk_domains=bulk_domains, message=message,
    )
    decision = session.decide("data", facts) or session.accept(facts)
    return auth, decision
