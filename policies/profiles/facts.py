"""Flatten the check results and the session into the :class:`Facts` profile rules test.

The composed check result (``policies.authenticate.MessageAuthentication``) is read
duck-typed, through the attributes listed in :func:`build_facts`, so this module does
not depend on how each check is built and tests can pass small stand-ins. Before the
end of DATA there are no check results: ``auth`` is None and the message facts keep
their neutral defaults (rules cannot test them before stage ``data`` anyway).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache
from typing import Any

from policies.profiles.decision import DkimSignature, Facts, facts_from

_ALL_TERM = re.compile(r"(?:^|\s)([-~?+]?)all(?=\s|$)", re.IGNORECASE)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?\Z")
_LITERAL = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]\Z")
_UNSUBSCRIBE = re.compile(rb"^(list-unsubscribe(?:-post)?)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_HTTPS_URI = re.compile(r"<\s*https://[^>\s]+\s*>", re.IGNORECASE)


def build_facts(
    auth: Any | None,
    *,
    client_ip: str,
    helo: str = "",
    mail_from: str = "",
    tls: bool | Mapping[str, Any] | None = False,
    recipient_status: str = "ok",
    recipient: str = "",
    recipients: Iterable[str] = (),
    bulk_domains: Collection[str] = (),
    message: bytes | None = None,
    mail_from_valid: bool = True,
) -> Facts:
    """The facts of one stage of one session.

    ``tls`` is a bool or the session's TLS details (``{"version": "TLSv1.3", "cipher":
    ..., "bits": 256}``; None or False = plaintext). ``recipient`` is the RCPT TO address
    being judged; ``recipients`` all accepted ones (for the trace headers at end of
    DATA). ``bulk_domains`` are the domains declared bulk senders: a sender is bulk when
    its From or MAIL FROM domain is one of them or below one (Gmail counts per
    organisational domain). ``message`` (the raw message, end of DATA) is read for the
    List-Unsubscribe headers only.

    ``auth`` attributes read: ``spf`` (.result, .domain, .record, optionally
    .all_qualifier), ``dkim`` (tuple of .result, .domain, .selector, optionally
    .header_b), ``dmarc`` (.result, .policy, .disposition, .record, .spf_aligned,
    .dkim_aligned, .temporary_cause), ``arc`` (.result, .first_hop_results), ``rdns``
    (.result, .ptr), ``format`` (.issues of .code/.header, .from_domain).
    """
    tls_info = tls if isinstance(tls, Mapping) else {}
    mail_from_domain = _domain_of(mail_from)
    recipients = tuple(recipients)
    values: dict[str, Any] = {
        "client_ip": client_ip,
        "ip_version": _ip_version(client_ip),
        "tls": bool(tls),
        "tls_version": _tls_version(tls_info.get("version")),
        "tls_cipher": tls_info.get("cipher") or "",
        "tls_bits": tls_info.get("bits"),
        "helo": helo,
        "helo_valid": helo_is_valid(helo),
        "mail_from": mail_from,
        "mail_from_domain": mail_from_domain,
        "mail_from_valid": mail_from_valid,
        "recipient_status": recipient_status,
        "recipient": recipient or (recipients[0] if len(recipients) == 1 else ""),
        "recipients": recipients,
    }
    if auth is not None:
        values.update(_auth_facts(auth))
    if message is not None:
        values.update(_unsubscribe_facts(message))
    values["bulk"] = _is_bulk((values.get("from_domain", ""), mail_from_domain), bulk_domains)
    return facts_from(values)


@lru_cache(maxsize=1024)
def helo_is_valid(helo: str) -> bool:
    """A HELO/EHLO argument is a host name or an address literal (RFC 5321 4.1.1.1).

    Memoised (a pure function of the text): a connection asks at every stage of every
    message, with the same argument."""
    literal = _LITERAL.match(helo)
    if literal is not None:
        try:
            ipaddress.ip_address(literal.group(1))
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME.match(helo)) and len(helo) <= 255


def _auth_facts(auth: Any) -> dict[str, Any]:
    spf, dmarc, arc, rdns, fmt = auth.spf, auth.dmarc, auth.arc, auth.rdns, auth.format
    signatures = tuple(
        DkimSignature(d.result, d.domain, d.selector, getattr(d, "header_b", "") or "") for d in auth.dkim
    )
    passing = [s for s in signatures if s.result == "pass"]
    best = passing[0] if passing else (signatures[0] if signatures else None)
    policy = dmarc.policy or None
    issues = tuple(fmt.issues)
    return {
        "spf": spf.result,
        "spf_domain": spf.domain or "",
        "spf_all": getattr(spf, "all_qualifier", None) or _all_qualifier(spf.record),
        "dkim": best.result if best else "none",
        "dkim_domain": best.domain if best else "",
        "dkim_signatures": signatures,
        "dmarc": dmarc.result,
        "dmarc_policy": policy,
        "dmarc_disposition": dmarc.disposition or "none",
        "dmarc_record": dmarc.record is not None and policy is not None,
        "dmarc_temporary": dmarc.result == "temperror" or dmarc.temporary_cause is not None,
        "aligned": bool(dmarc.spf_aligned or dmarc.dkim_aligned),
        "arc": arc.result,
        "arc_trusted_pass": _arc_trusted(arc.result, arc.first_hop_results),
        "rdns": rdns.result,
        "ptr": rdns.ptr[0].rstrip(".") if rdns.ptr else "",
        "format": tuple(dict.fromkeys(i.code for i in issues)),
        "format_headers": tuple((i.code, i.header) for i in issues if i.header),
        "from_domain": (fmt.from_domain or "").lower(),
    }


def _arc_trusted(result: str, first_hop: Mapping[str, str]) -> bool:
    """The chain passes and the first hop recorded DMARC pass (or, lacking a DMARC
    verdict, an SPF or DKIM pass): what a receiver needs to trust a forwarder's word."""
    if result != "pass":
        return False
    if "dmarc" in first_hop:
        return first_hop["dmarc"] == "pass"
    return "pass" in (first_hop.get("spf"), first_hop.get("dkim"))


def _all_qualifier(record: str | None) -> str | None:
    match = _ALL_TERM.search(record or "")
    if match is None:
        return None
    return match.group(1) or "+"


def _unsubscribe_facts(message: bytes) -> dict[str, bool]:
    header = header_section(message)
    if b"list-unsubscribe" not in header.lower():
        return {"list_unsubscribe": False, "one_click_unsubscribe": False}  # most mail: skip the regex walk
    fields: dict[str, str] = {}
    for match in _UNSUBSCRIBE.finditer(header):
        name = match.group(1).decode("ascii").lower()
        fields.setdefault(name, " ".join(match.group(2).decode("utf-8", "replace").split()))
    target = fields.get("list-unsubscribe")
    post = fields.get("list-unsubscribe-post")
    return {
        "list_unsubscribe": target is not None,
        "one_click_unsubscribe": bool(target and _HTTPS_URI.search(target))
        and post is not None and post.lower() == "list-unsubscribe=one-click",
    }


def header_section(message: bytes) -> bytes:
    """The message up to its first empty line (``\\r?\\n\\r?\\n``), or all of it.

    Found with two ``bytes.find`` calls rather than a regex search, which steps
    through the header byte by byte: the first line break followed by another one
    (``\\n\\n`` or ``\\n\\r\\n``), and the ``\\r`` before it if any."""
    crlf = message.find(b"\n\r\n")
    lf = message.find(b"\n\n", 0, len(message) if crlf == -1 else crlf + 1)
    end = lf if lf != -1 else crlf
    if end == -1:
        return message
    if end > 0 and message[end - 1] == 0x0D:
        end -= 1
    return message[:end]


def _is_bulk(domains: Iterable[str], bulk_domains: Collection[str]) -> bool:
    if not bulk_domains:
        return False
    for domain in domains:
        domain = domain.lower().rstrip(".")
        while domain:
            if domain in bulk_domains:
                return True
            domain = domain.partition(".")[2]
    return False


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".") if "@" in address else ""


@lru_cache(maxsize=1024)
def _ip_version(address: str) -> int:
    """4 or 6 (4 for a text that is no address). Memoised: a pure function of the
    text, asked at every stage of every message of a connection."""
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 4


def _tls_version(version: str | None) -> str:
    """``TLSv1.3`` -> ``TLS1_3``, the form Gmail's and Microsoft's trace headers use."""
    return (version or "").replace("TLSv", "TLS").replace(".", "_")
