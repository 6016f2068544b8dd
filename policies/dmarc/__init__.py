"""DMARC: RFC 9989 (DNS Tree Walk, psd=, np=, t=) by default, RFC 7489 (Public Suffix
List, pct=) on request, chosen per call so the two can be compared on one message."""

from policies.dmarc.check import MODES, DkimOutcome, SpfOutcome, check_dmarc
from policies.dmarc.result import DmarcResult

__all__ = ["MODES", "DkimOutcome", "DmarcResult", "SpfOutcome", "check_dmarc"]
