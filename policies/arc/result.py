"""The verdict on a message's ARC chain, and how to explain it."""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from authres.arc import ARCAuthenticationResult

from fake_dns import Answer, Outcome


@dataclass(frozen=True)
class ArcSet:
    """One ARC set (RFC 8617 4.1): the seal and message signature of instance ``i``.

    ``seal_valid``/``signature_valid`` are None when validation stopped before
    reaching this set.
    """

    instance: int
    seal_domain: str
    seal_selector: str
    signature_domain: str
    signature_selector: str
    cv: str
    sealed_at: int | None = None
    seal_valid: bool | None = None
    signature_valid: bool | None = None


@dataclass(frozen=True)
class ArcResult:
    """RFC 8617 chain validation: ``result`` is none, pass or fail.

    ``failed_instance`` is the ARC set where validation failed (None unless ``fail``);
    ``first_hop_*`` are what the i=1 ARC-Authentication-Results recorded, whatever the
    chain result (a receiver should only trust them when ``result == "pass"``);
    ``oldest_pass`` is the lowest instance from which every ARC-Message-Signature still
    validates, 0 when all do (RFC 8617 header.oldest-pass; only on pass).
    """

    result: str
    reason: str | None = None
    sets: int = 0
    failed_instance: int | None = None
    chain: tuple[ArcSet, ...] = ()
    first_hop_aar: str | None = None
    first_hop_authserv_id: str | None = None
    first_hop_results: dict[str, str] = field(default_factory=dict)
    oldest_pass: int | None = None
    client_ip: str | None = None
    checked_at: float = 0.0
    lookups: tuple[Answer, ...] = ()

    @property
    def trusted_first_hop_pass(self) -> bool:
        """The chain passes and the first hop saw DMARC (or, lacking it, SPF or DKIM) pass."""
        if self.result != "pass":
            return False
        hop = self.first_hop_results
        if "dmarc" in hop:
            return hop["dmarc"] == "pass"
        return "pass" in (hop.get("spf"), hop.get("dkim"))

    def auth_result(self) -> ARCAuthenticationResult:
        """``arc=<result> [header.oldest-pass=N] [smtp.remote-ip=IP]``."""
        return _auth_result(*self._auth_result_fields())

    def auth_result_text(self) -> str:
        """``str(self.auth_result())``, memoised: the clause is rendered once per distinct verdict."""
        return _auth_result_text(*self._auth_result_fields())

    def _auth_result_fields(self) -> tuple[str, str | None, str | None, str | None]:
        """What the clause shows: the result, the reason of a fail, oldest-pass, the client."""
        return (
            self.result,
            self.reason if self.result == "fail" else None,
            str(self.oldest_pass) if self.oldest_pass is not None else None,
            self.client_ip,
        )

    def explain(self) -> list[str]:
        if self.result == "none":
            lines = ["the message carries no ARC sets: no intermediary sealed it (arc=none)"]
            return lines + ([self.reason] if self.reason else [])
        lines = [f"the message carries {self.sets} ARC set{'s' if self.sets != 1 else ''}"]
        lines += [self._describe_set(arc_set) for arc_set in self.chain]
        lines += [f"looked up {answer.describe()}" for answer in self.lookups]
        if self.result == "pass":
            lines.append("arc=pass: every seal verified and the newest message signature matches the message")
        else:
            where = f" at instance {self.failed_instance}" if self.failed_instance else ""
            lines.append(f"arc=fail{where}: {self.reason}")
        if self.first_hop_results:
            recorded = ", ".join(f"{m}={r}" for m, r in self.first_hop_results.items())
            lines.append(f"the first hop ({self.first_hop_authserv_id}) recorded {recorded}; a receiver "
                         "that trusts the sealers may use these for forwarded mail")
        return lines

    def _describe_set(self, arc_set: ArcSet) -> str:
        line = (f"i={arc_set.instance}: sealed by {arc_set.seal_domain} (s={arc_set.seal_selector}) "
                f"with cv={arc_set.cv}")
        if arc_set.sealed_at is not None:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(arc_set.sealed_at))
            line += f" at {when} ({_age(self.checked_at - arc_set.sealed_at)})"
        verdicts = {True: "valid", False: "INVALID", None: "not checked"}
        return (line + f"; seal {verdicts[arc_set.seal_valid]}, message signature by "
                f"{arc_set.signature_domain} {verdicts[arc_set.signature_valid]}")

    def fixes(self) -> list[str]:
        """DNS changes for key problems; otherwise who has to act."""
        if self.result != "fail":
            return []
        fixes = []
        for answer in self.lookups:
            if answer.outcome.is_error:
                fixes.append(f"make the name servers answer the TXT query for {answer.name} "
                             f"(it {'timed out' if answer.outcome is Outcome.TIMEOUT else 'failed with SERVFAIL'})")
            elif not answer:
                fixes.append(f'publish `{answer.name} TXT "v=DKIM1; k=rsa; p=<the public key>"` '
                             "with the public key of the ARC sealer that uses it")
        if not fixes:
            culprit = next((s.seal_domain for s in self.chain if s.instance == self.failed_instance), None)
            fixes.append("ARC is added by intermediaries, not by the sending domain: "
                         + (f"the sealer {culprit} must fix its ARC signing" if culprit else
                            "the intermediary that sealed the message must fix its ARC signing")
                         + ", and no hop may change the message after the newest seal")
        return fixes

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "reason": self.reason,
            "sets": self.sets,
            "failed_instance": self.failed_instance,
            "oldest_pass": self.oldest_pass,
            "chain": [asdict(s) for s in self.chain],
            "first_hop_authserv_id": self.first_hop_authserv_id,
            "first_hop_results": dict(self.first_hop_results),
            "first_hop_aar": self.first_hop_aar,
            "lookups": [answer.describe() for answer in self.lookups],
            "explain": self.explain(),
            "fixes": self.fixes(),
        }


def _age(seconds: float) -> str:
    """How long before the check a seal was made, in the largest sensible unit."""
    if seconds < 0:
        return "in the future: the sealer's clock is wrong"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} before this check"
    return f"{int(seconds)} seconds before this check"


def _auth_result(result: str, reason: str | None, oldest_pass: str | None,
                 client_ip: str | None) -> ARCAuthenticationResult:
    return ARCAuthenticationResult(
        result=result, reason=reason, header_oldest_pass=oldest_pass, smtp_remote_ip=client_ip,
    )


@functools.lru_cache(maxsize=1024)
def _auth_result_text(result: str, reason: str | None, oldest_pass: str | None, client_ip: str | None) -> str:
    """The clause as text. Memoised (bounded, stateless: a pure function of its text
    arguments): the same clients send the same kind of chain message after message, and
    authres builds the text slowly."""
    return str(_auth_result(result, reason, oldest_pass, client_ip))
