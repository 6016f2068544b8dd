"""``check_format``: the RFC 5322 / RFC 2047 / RFC 6532 rules the big receivers enforce.

Gmail refuses messages for each of these (reference/providers.md, rows G40-G51); the
others enforce subsets. The check is pure (no DNS) and reads the header section only:
a 10 MB body costs one search for the empty line that ends the header. Each finding
is a :class:`FormatIssue` with a stable code. A message whose header section cannot be
read at all (nothing but garbage, NUL bytes) gets the single issue ``unparseable``:
nothing else about it can be judged.

Decisions where the RFCs leave room, chosen to match what the receivers refuse:

- a From: domain must be a host name: two or more LDH labels (IDNA U-labels are
  converted), so ``user@localhost``, ``user@[192.0.2.1]`` and ``user@example.com.``
  are ``from-domain-invalid``;
- encoded-words are judged in addr-specs (From, Sender, Reply-To, To, Cc, Bcc) and in
  Message-ID, In-Reply-To and References; display names, Subject and comments may
  hold them (RFC 2047 section 5);
- a From: or Date: value that does not parse is ``malformed-header`` for that field,
  as is any field holding C0 control characters other than TAB; a Date: zone written
  ``UTC`` (not in RFC 5322, but common and accepted by the receivers) is allowed.
"""

from __future__ import annotations

import calendar
import re

from policies.format.address import ENCODED_WORD, AddressList, parse_address_list, host_name
from policies.format.header import Field, HeaderSection, read_header
from policies.format.result import FormatIssue, FormatResult

#: RFC 5322 3.6: fields a message may carry at most once, by their usual spelling.
SINGLE_INSTANCE = {
    name.lower(): name
    for name in ("Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To",
                 "References", "Subject")
}
_ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc", "bcc")
_MSG_ID_FIELDS = ("message-id", "in-reply-to", "references")

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff"
_DOT_ATOM_TEXT = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_MSG_ID = re.compile(rf'<(?:{_DOT_ATOM_TEXT}|"(?:[^"\\]|\\.)*")@(?:{_DOT_ATOM_TEXT}|\[[^\[\]\\\s]*\])>')
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_DATE = re.compile(
    r"\s*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s*,\s*)?"
    r"(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{2,4})\s+"
    r"(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?\s+"
    r"(?:[+-]\d{4}|UTC?|GMT|[ECMP][SD]T|[A-IK-Za-ik-z])"  # RFC 5322 zone, 4.3 obs-zone, and UTC
    r"(?:\s*\((?:[^()\\]|\\.)*\))*\s*",
    re.IGNORECASE,
)


def check_format(message: bytes, *, smtputf8: bool = False) -> FormatResult:
    """Judge the header section of ``message`` (raw bytes as received). ``smtputf8``: the
    message came with the SMTPUTF8 parameter, so UTF-8 header text is allowed (RFC 6532)."""
    section = read_header(message)
    headers_seen = tuple(field.name for field in section.fields)
    problem = _unparseable(message, section)
    if problem is not None:
        return FormatResult((FormatIssue("unparseable", None, problem),), None, (), None, headers_seen,
                            section.size)
    issues: list[FormatIssue] = []
    by_key: dict[str, list[Field]] = {}
    for field in section.fields:
        by_key.setdefault(field.key, []).append(field)
    issues += _malformed_lines(section)
    from_addresses, from_domain = _check_from(by_key.get("from", []), issues)
    message_id = _check_message_id(by_key.get("message-id", []), issues)
    _check_date(by_key.get("date", []), issues)
    for key, fields in by_key.items():
        if len(fields) > 1 and key in SINGLE_INSTANCE and key != "from":
            name = SINGLE_INSTANCE[key]
            issues.append(FormatIssue("duplicate-header", name,
                                      f"{name}: appears {len(fields)} times; RFC 5322 3.6 allows it once"))
    header = message[: section.size]
    if b"=?" in header:  # unfolding never makes an "=?", so no field holds one when the section does not
        _check_encoded_words(by_key, issues)
    if not header.isascii():
        _check_non_ascii(section.fields, smtputf8, issues)
    return FormatResult(tuple(issues), message_id, from_addresses, from_domain, headers_seen, section.size)


def _unparseable(message: bytes, section: HeaderSection) -> str | None:
    if not section.fields and not message.strip():  # a message with a field is never blank: no copy to strip
        return "the message is empty"
    if section.has_nul:
        return "the header section contains NUL bytes"
    if not section.fields:
        if section.size == 0:
            return "the message starts with an empty line: it has no header section"
        return "no header field could be read: the message does not start with `Name: value` header lines"
    if section.bad_lines and section.bad_lines[0].line == 1 and len(section.bad_lines) > len(section.fields):
        return (f"the message does not start with a header field and {len(section.bad_lines)} of its header lines "
                "are not header fields: header and body cannot be told apart")
    return None


def _canonical(field: Field) -> str:
    return SINGLE_INSTANCE.get(field.key, field.name)


def _malformed_lines(section: HeaderSection) -> list[FormatIssue]:
    issues = [FormatIssue("malformed-header", bad.name, f"line {bad.line}: {bad.problem}") for bad in section.bad_lines]
    if section.control_lines:
        for field in section.fields:
            if any(b < 32 and b != 9 or b == 127 for b in field.value):
                issues.append(FormatIssue("malformed-header", _canonical(field),
                                          f"{_canonical(field)}: (line {field.line}) holds control characters"))
    return issues


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace").strip()


def _check_from(fields: list[Field], issues: list[FormatIssue]) -> tuple[tuple[str, ...], str | None]:
    if not fields:
        issues.append(FormatIssue("missing-from", "From", "there is no From: header (RFC 5322 3.6 requires one)"))
        return (), None
    if len(fields) > 1:
        issues.append(FormatIssue("multiple-from-headers", "From",
                                  f"From: appears {len(fields)} times; RFC 5322 3.6 allows it once"))
    addresses: list[str] = []
    domains: set[str] = set()
    for field in fields:
        value = _text(field.value)
        parsed = parse_address_list(value)
        if parsed.problem is not None:
            issues.append(FormatIssue("malformed-header", "From", f"From: {value!r} does not parse: {parsed.problem}"))
        valid = [box for box in parsed.mailboxes if box.local is not None]
        if not valid:
            issues.append(FormatIssue("from-no-valid-address", "From",
                                      f"From: {value!r} holds no valid address" if value else "From: is empty"))
            continue
        if len(parsed.mailboxes) > 1:
            issues.append(FormatIssue("multiple-from-addresses", "From",
                                      f"From: holds {len(parsed.mailboxes)} addresses; receivers accept one"))
        for box in valid:
            addresses.append(box.addr_spec)
            domain = host_name(box.domain) if box.domain is not None else None
            if domain is None:
                issues.append(FormatIssue("from-domain-invalid", "From",
                                          f"the domain of {box.addr_spec!r} is not a valid host name"))
            else:
                domains.add(domain)
    from_domain = domains.pop() if len(domains) == 1 and len(fields) == 1 else None
    return tuple(addresses), from_domain


def _check_message_id(fields: list[Field], issues: list[FormatIssue]) -> str | None:
    if not fields:
        issues.append(FormatIssue("missing-message-id", "Message-ID", "there is no Message-ID: header"))
        return None
    value = _text(fields[0].value)
    bare = _COMMENT.sub(" ", value).strip() if "(" in value else value
    if not _MSG_ID.fullmatch(bare):
        why = "it is empty" if not bare else "it is not of the form <left@right>"
        issues.append(FormatIssue("invalid-message-id", "Message-ID", f"Message-ID: {value!r}: {why}"))
    return value or None


def _check_date(fields: list[Field], issues: list[FormatIssue]) -> None:
    if not fields:
        issues.append(FormatIssue("missing-date", "Date", "there is no Date: header (RFC 5322 3.6 requires one)"))
        return
    value = _text(fields[0].value)
    if not _valid_date(value):
        issues.append(FormatIssue("malformed-header", "Date", f"Date: {value!r} is not an RFC 5322 date-time "
                                                              "such as 'Mon, 01 Jan 2024 12:00:00 +0000'"))


def _valid_date(value: str) -> bool:
    match = _DATE.fullmatch(value)
    if match is None:
        return False
    day, month, year, hour, minute, second = match.group(1, 2, 3, 4, 5, 6)
    year_number = int(year)
    if len(year) < 4:  # RFC 5322 4.3 obs-year
        year_number += 2000 if year_number < 50 else 1900
    if int(hour) > 23 or int(minute) > 59 or (second is not None and int(second) > 60):
        return False
    month_number = _MONTHS[month.lower()]
    days_in_month = calendar.monthrange(year_number, month_number)[1]
    return 1 <= int(day) <= days_in_month


def _check_encoded_words(by_key: dict[str, list[Field]], issues: list[FormatIssue]) -> None:
    for key in _ADDRESS_FIELDS:
        for field in by_key.get(key, ()):
            if b"=?" in field.value and _encoded_in_address(parse_address_list(_text(field.value))):
                issues.append(FormatIssue("encoded-word-not-allowed", _canonical(field),
                                          f"{_canonical(field)}: has an RFC 2047 encoded-word inside an address"))
                break
    for key in _MSG_ID_FIELDS:
        for field in by_key.get(key, ()):
            if b"=?" in field.value and ENCODED_WORD.search(_text(field.value)):
                issues.append(FormatIssue("encoded-word-not-allowed", _canonical(field),
                                          f"{_canonical(field)}: has an RFC 2047 encoded-word in a message id"))
                break


def _encoded_in_address(parsed: AddressList) -> bool:
    return any(ENCODED_WORD.search(box.addr_spec) for box in parsed.mailboxes)


def _check_non_ascii(fields: tuple[Field, ...], smtputf8: bool, issues: list[FormatIssue]) -> None:
    reported: set[str] = set()
    for field in fields:
        if field.value.isascii() or field.key in reported:
            continue
        name = _canonical(field)
        if not smtputf8:
            detail = f"{name}: holds raw 8-bit characters and the message was not sent with SMTPUTF8"
        else:
            try:
                field.value.decode("utf-8")
                continue
            except UnicodeDecodeError as exc:
                detail = f"{name}: holds bytes that are not valid UTF-8 (at octet {exc.start} of its value)"
        reported.add(field.key)
        issues.append(FormatIssue("non-ascii-header", name, detail))
