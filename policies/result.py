"""The shape every check result shares.

Each check (SPF, DKIM, DMARC, ARC, reverse DNS, message format) returns its own
structured, immutable result type; they all also satisfy :class:`CheckResult`, so the
composing code, the CLI, the store and the provider profiles can treat them alike:
render the Authentication-Results clause, explain the verdict in plain words, say
which DNS change would fix a failure, and serialise to JSON.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import authres


@runtime_checkable
class CheckResult(Protocol):
    """What every check result offers besides its own typed fields."""

    #: The RFC result keyword (``pass``, ``fail``, ``none``, ``temperror``, ...).
    result: str

    def auth_result(self) -> authres.BaseAuthenticationResult | None:
        """The RFC 8601 Authentication-Results clause (None when the check has none)."""

    def explain(self) -> list[str]:
        """Plain-language lines a trainee can follow: what was looked up, what matched, why."""

    def fixes(self) -> list[str]:
        """For a failure, the DNS (or sending-side) changes that would make it pass; else []."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (the ``--json`` output and the store use it)."""
