"""check_spf(): which identity an SMTP transaction gives SPF, then check_host() on it.

RFC 7208 2.3/2.4: the MAIL FROM identity is the domain of the envelope sender; when
the envelope sender is empty (a bounce), the HELO name is checked instead, with
``postmaster@<helo>`` as the sender. The result says which identity was checked, so
that Authentication-Results can name ``smtp.mailfrom`` or ``smtp.helo``.
"""

from __future__ import annotations

from fake_dns import Resolver
from policies.spf.evaluate import check_host
from policies.spf.result import SpfResult


async def check_spf(
    resolver: Resolver,
    ip: str,
    mail_from: str,
    helo: str,
    *,
    receiver: str = "sandbox.invalid",
    default_explanation: str | None = None,
    now: float | None = None,
) -> SpfResult:
    """The SPF result for a message from ``ip`` that said ``HELO helo`` and
    ``MAIL FROM:<mail_from>`` (``""`` for the null sender). Never raises.

    ``receiver`` is this host's name (the %{r} macro and Received-SPF ``receiver=``);
    ``default_explanation`` is the explanation of a ``fail`` whose record has no usable
    exp=; ``now`` fixes the %{t} macro (Unix time) for reproducible checks.
    """
    address = mail_from.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    helo = helo.strip()
    if address:
        _, at, domain = address.rpartition("@")
        return await check_host(
            resolver, ip, domain if at else "", address, helo=helo, receiver=receiver,
            default_explanation=default_explanation, identity="mailfrom", now=now,
        )
    return await check_host(
        resolver, ip, helo, f"postmaster@{helo}", helo=helo, receiver=receiver,
        default_explanation=default_explanation, identity="helo", now=now,
    )
