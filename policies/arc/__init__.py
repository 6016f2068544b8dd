"""ARC (RFC 8617): chain validation through dkimpy, keys fetched through the fake zone,
and what the first hop recorded in its ARC-Authentication-Results."""

from policies.arc.check import check_arc
from policies.arc.result import ArcResult, ArcSet

__all__ = ["ArcResult", "ArcSet", "check_arc"]
