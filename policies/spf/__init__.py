"""SPF (RFC 7208): check_host() over the fake resolver, and the SMTP identities around it.

- :func:`check_spf` — the entry point for a received message (MAIL FROM, or HELO for
  the null sender);
- :func:`check_host` — RFC 7208 check_host() for one domain;
- :class:`SpfResult` — the result, its Authentication-Results clause, its Received-SPF
  field, a plain-language explanation and the DNS fixes.
"""

from policies.spf.check import check_spf
from policies.spf.evaluate import check_host
from policies.spf.result import RESULTS, Problem, SpfResult

__all__ = ["RESULTS", "Problem", "SpfResult", "check_host", "check_spf"]
