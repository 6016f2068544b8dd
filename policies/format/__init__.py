"""The message-format check: what receivers enforce of RFC 5322 (From, Message-ID,
Date, single-instance fields, header syntax), RFC 2047 (where encoded-words may stand)
and RFC 6532 (8-bit header text only with SMTPUTF8). Pure and fast: no DNS, header
section only."""

from policies.format.check import SINGLE_INSTANCE, check_format
from policies.format.result import ISSUE_CODES, FormatIssue, FormatResult

__all__ = ["ISSUE_CODES", "SINGLE_INSTANCE", "FormatIssue", "FormatResult", "check_format"]
