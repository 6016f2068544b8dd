"""The message-format verdict: the issues found, and what the sender changes to fix each.

Issue codes are stable: the provider profiles match on them (``when: {format: ...}``)
and fill ``{header}`` in their reply texts from :attr:`FormatIssue.header`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Every issue code, with the Gmail row (reference/providers.md section 1.5) it stands for.
ISSUE_CODES: dict[str, str] = {
    "unparseable": "G51",
    "missing-from": "G44",
    "from-no-valid-address": "G41",
    "multiple-from-addresses": "G42",
    "multiple-from-headers": "G45",
    "from-domain-invalid": "G46",
    "missing-message-id": "G40",
    "invalid-message-id": "G40",
    "missing-date": "",
    "duplicate-header": "G47",
    "malformed-header": "G48",
    "encoded-word-not-allowed": "G49",
    "non-ascii-header": "G50",
}

_FIXES: dict[str, str] = {
    "unparseable": "send a message that starts with RFC 5322 header fields (`Name: value` lines, CRLF line "
                   "ends, no NUL bytes), then an empty line, then the body",
    "missing-from": "add a From: header with one address, e.g. `From: Example <news@example.com>`",
    "from-no-valid-address": "put one valid address in From:, e.g. `From: Example <news@example.com>` "
                             "(a display name alone, or an address without '@domain', is not enough)",
    "multiple-from-addresses": "put exactly one address in From: (name other authors in Reply-To: or the body)",
    "multiple-from-headers": "send exactly one From: header",
    "from-domain-invalid": "use a From: address whose domain is a real host name (letters, digits, hyphens; at "
                           "least two labels; no trailing dot, no [address literal])",
    "missing-message-id": "add a Message-ID header, e.g. `Message-ID: <unique-id@example.com>` (most mail "
                          "libraries have a make_msgid() for this)",
    "invalid-message-id": "write Message-ID as `<left@right>` with angle brackets, e.g. "
                          "`Message-ID: <20240101.abc123@example.com>`",
    "missing-date": "add a Date header, e.g. `Date: Mon, 01 Jan 2024 12:00:00 +0000` (RFC 5322 requires it)",
    "duplicate-header": "send the {header}: header only once (RFC 5322 3.6 allows one)",
    "malformed-header": "write every header line as `Name: value` (field names are printable ASCII without "
                        "spaces; continuation lines start with a space or tab){where}",
    "encoded-word-not-allowed": "do not use =?charset?...?= encoded-words in {header}: (RFC 2047 section 5 allows "
                                "them only in unstructured text, comments and display names; use SMTPUTF8 for "
                                "non-ASCII addresses)",
    "non-ascii-header": "encode non-ASCII text in {header}: as RFC 2047 encoded-words (=?UTF-8?B?...?=), or send "
                        "with SMTPUTF8 and valid UTF-8",
}


@dataclass(frozen=True, slots=True)
class FormatIssue:
    """One thing a receiver refuses: a stable ``code``, the ``header`` it concerns (the
    canonical name such as ``Subject``, or None), and a ``detail`` in words."""

    code: str
    header: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "header": self.header, "detail": self.detail}


@dataclass(frozen=True)
class FormatResult:
    """The format check of one message: pass when no issue was found, else fail."""

    issues: tuple[FormatIssue, ...]
    message_id: str | None  # the Message-ID value as written (first one), stripped
    from_addresses: tuple[str, ...]  # the addr-specs of the From field(s), as written
    from_domain: str | None  # the single RFC5322.From domain (lower-case A-labels), else None
    headers_seen: tuple[str, ...]  # field names in order, as written
    header_size: int = 0  # octets of the header section

    @property
    def result(self) -> str:
        return "fail" if self.issues else "pass"

    def auth_result(self) -> None:
        """The format check has no Authentication-Results method."""
        return None

    def explain(self) -> list[str]:
        lines = [f"read the header section ({self.header_size} octets): {len(self.headers_seen)} fields"
                 + (f" ({', '.join(self.headers_seen[:12])}{', ...' if len(self.headers_seen) > 12 else ''})"
                    if self.headers_seen else "")]
        if self.from_addresses:
            domain = f" (From domain {self.from_domain})" if self.from_domain else ""
            lines.append(f"From: {', '.join(self.from_addresses)}{domain}")
        if self.message_id:
            lines.append(f"Message-ID: {self.message_id}")
        for issue in self.issues:
            row = ISSUE_CODES.get(issue.code)
            lines.append(f"{issue.code}{f' ({row})' if row else ''}: {issue.detail}")
        lines.append("format=pass: nothing a receiver refuses was found" if not self.issues
                     else f"format=fail: {len(self.issues)} issue{'s' if len(self.issues) != 1 else ''}")
        return lines

    def fixes(self) -> list[str]:
        out: dict[str, None] = {}
        for issue in self.issues:
            where = f" ({issue.header})" if issue.header else ""
            out.setdefault(_FIXES[issue.code].format(header=issue.header or "the", where=where), None)
        return list(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "issues": [issue.as_dict() for issue in self.issues],
            "message_id": self.message_id,
            "from_addresses": list(self.from_addresses),
            "from_domain": self.from_domain,
            "headers_seen": list(self.headers_seen),
            "header_size": self.header_size,
            "explain": self.explain(),
            "fixes": self.fixes(),
        }
