"""What the first ARC hop recorded: its ARC-Authentication-Results (instance 1).

RFC 8617 section 7.2: a receiver that trusts the sealers of a passing chain may use
the authentication results the first intermediary saw (typically SPF, DKIM and DMARC
of the original sender before a mailing list changed the message) to override a
DMARC failure of forwarded mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import authres

_INSTANCE_PREFIX = re.compile(r"^\s*i\s*=\s*1\s*;\s*", re.IGNORECASE)
_RESULT_RANK = {"pass": 0}


@dataclass(frozen=True)
class FirstHop:
    """The i=1 ARC-Authentication-Results: raw value, authserv-id, method -> result."""

    value: str | None = None
    authserv_id: str | None = None
    results: dict[str, str] = field(default_factory=dict)


def read_first_hop(value: bytes | None) -> FirstHop:
    """Parse the i=1 AAR value (``i=1; authserv-id; method=result ...``).

    A method reported more than once (one DKIM clause per signature) is summed up by
    its best result: ``pass`` if any clause passed, else the first one given. An AAR
    that authres cannot parse keeps its text and authserv-id, with no results.
    """
    if value is None:
        return FirstHop()
    text = " ".join(value.decode("utf-8", "replace").split())
    body = _INSTANCE_PREFIX.sub("", text)
    try:
        header = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + body)
    except Exception:  # authres raises its own SyntaxError and others on junk
        return FirstHop(text, body.split(";", 1)[0].strip() or None)
    results: dict[str, str] = {}
    for clause in header.results:
        method, result = str(clause.method).lower(), str(clause.result).lower()
        if method not in results or _RESULT_RANK.get(result, 1) < _RESULT_RANK.get(results[method], 1):
            results[method] = result
    return FirstHop(text, header.authserv_id, results)
