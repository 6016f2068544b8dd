"""What a provider profile decides, and the facts it decides on.

The profile never does I/O and the SMTP handler never decides: the handler turns
the check results and the session into :class:`Facts` (see
:func:`policies.profiles.facts.build_facts`), asks the profile, and sends the
:class:`Decision` it gets back. Both types are plain data so the store, the CLI and
the tests can show them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

Action = Literal["accept", "spam", "defer", "reject"]
Stage = Literal["connect", "ehlo", "mail", "rcpt", "data"]
Folder = Literal["inbox", "spam"]

STAGES: tuple[str, ...] = ("connect", "ehlo", "mail", "rcpt", "data")
ACTIONS: tuple[str, ...] = ("accept", "spam", "defer", "reject")


@dataclass(frozen=True)
class Decision:
    """The outcome of one profile rule (or of the profile's default acceptance).

    ``lines`` are the reply lines exactly as sent on the wire (``550-5.7.26 ...``), with
    the per-connection id already filled in. ``headers`` are the header fields the
    provider would prepend to an accepted message (name, value), top first.
    ``inferred`` says the rule's stage or code is our reading of the reference rather
    than observed; ``note`` says what was inferred (or other caveats of the rule).
    """

    action: Action
    stage: Stage
    code: int
    enhanced_code: str | None
    lines: tuple[str, ...]
    rule_id: str | None = None
    folder: Folder | None = None
    headers: tuple[tuple[str, str], ...] = ()
    inferred: bool = False
    reason: str = ""
    note: str = ""

    @property
    def text(self) -> str:
        """The reply text without codes, lines joined by spaces (for logs and JSON)."""
        parts = []
        for line in self.lines:
            body = line[4:]
            if self.enhanced_code and body.startswith(self.enhanced_code):
                body = body[len(self.enhanced_code) :]
            parts.append(body.strip())
        return " ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        """Every field in declaration order, tuples as lists, plus ``text``. Written out
        rather than ``dataclasses.asdict``: the store asks for it with every message and
        asdict deep-copies each string (the test suite checks both agree)."""
        return {
            "action": self.action,
            "stage": self.stage,
            "code": self.code,
            "enhanced_code": self.enhanced_code,
            "lines": list(self.lines),
            "rule_id": self.rule_id,
            "folder": self.folder,
            "headers": [list(h) for h in self.headers],
            "inferred": self.inferred,
            "reason": self.reason,
            "note": self.note,
            "text": self.text,
        }


@dataclass(frozen=True)
class DkimSignature:
    """One DKIM signature as the trace headers show it (``dkim=pass header.i=@d ...``)."""

    result: str
    domain: str
    selector: str
    header_b: str = ""


@dataclass(frozen=True)
class Facts:
    """Everything a profile rule can test, flattened from the checks and the session.

    Built by :func:`policies.profiles.facts.build_facts`. A rule's ``when`` clause names
    these fields directly (the list, with the stage from which each is known, is
    ``policies.profiles.conditions.FACTS`` and policies/profiles/README.md). The fields
    after ``one_click_unsubscribe`` are not testable: they only feed the trace headers
    and reply placeholders.
    """

    client_ip: str
    ip_version: int = 4
    tls: bool = False
    helo: str = ""
    helo_valid: bool = True
    mail_from: str = ""
    mail_from_domain: str = ""
    mail_from_valid: bool = True
    bulk: bool = False
    recipient_status: Literal["ok", "unknown", "over_quota", "relay"] = "ok"
    recipient: str = ""
    spf: str = "none"
    spf_domain: str = ""
    spf_all: str | None = None  # qualifier of the SPF record's `all` term: "-", "~", "?", "+"
    dkim: str = "none"  # "pass" when any signature passes, else the first signature's result
    dkim_domain: str = ""  # the passing signature's d=, else the first signature's
    dmarc: str = "none"
    dmarc_policy: str | None = None  # p= of the record found (None: no record / no policy)
    dmarc_disposition: str = "none"  # what the policy asks for this message (after pct/t=)
    dmarc_record: bool = False  # a DMARC record with a policy was found
    dmarc_temporary: bool = False  # a temporary DNS failure kept DMARC from deciding
    aligned: bool = False  # the From domain aligns with a passing SPF or DKIM domain
    arc: str = "none"
    arc_trusted_pass: bool = False  # chain passes and its first hop recorded a pass
    rdns: str = "none"
    format: tuple[str, ...] = ()  # FormatIssue codes, in the order found
    from_domain: str = ""
    list_unsubscribe: bool = False  # a List-Unsubscribe header is present
    one_click_unsubscribe: bool = False  # RFC 8058: https List-Unsubscribe + the Post header
    # -- not testable: values for placeholders and trace headers -------------------------
    recipients: tuple[str, ...] = ()
    ptr: str = ""  # the first PTR name of the client, without the trailing dot
    format_headers: tuple[tuple[str, str], ...] = ()  # (issue code, header it names)
    dkim_signatures: tuple[DkimSignature, ...] = ()
    tls_version: str = ""  # as the trace header writes it: "TLS1_3"
    tls_cipher: str = ""
    tls_bits: int | None = None


# Every field of Facts with its default, in declaration order (client_ip has none).
_FACT_DEFAULTS: Mapping[str, Any] = {f.name: f.default for f in fields(Facts)}


def facts_from(values: Mapping[str, Any]) -> Facts:
    """``Facts(**values)`` without its cost: the frozen dataclass's ``__init__`` sets the
    36 fields one ``object.__setattr__`` at a time (about 6 us), and the SMTP server
    builds facts at every stage of every message. This fills the new instance's
    ``__dict__`` in one step, defaults first, with the same result (Facts has no
    ``__post_init__`` and only immutable defaults); the tests compare both ways."""
    if "client_ip" not in values or not values.keys() <= _FACT_DEFAULTS.keys():
        return Facts(**values)  # let the constructor name the missing or unknown field
    facts = object.__new__(Facts)
    facts.__dict__.update(_FACT_DEFAULTS)
    facts.__dict__.update(values)
    return facts
