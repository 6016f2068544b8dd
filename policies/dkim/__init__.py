"""DKIM (RFC 6376, RFC 8463 ed25519, RFC 8301 algorithm and key-size rules): each
DKIM-Signature judged on its own, keys fetched through the fake zone."""

from policies.dkim.check import check_dkim
from policies.dkim.result import DkimResult

__all__ = ["DkimResult", "check_dkim"]
