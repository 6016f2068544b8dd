"""``check_arc``: RFC 8617 chain validation through dkimpy, keys from the fake zone.

dkimpy's ``ARC.verify`` takes a synchronous DNS callback. The key names every
ARC-Seal and ARC-Message-Signature points at are read from the message first and
fetched through the async resolver (its own fork, so the lookup log belongs to this
check); dkimpy is then served only those answers. A timeout or SERVFAIL is handed to
dkimpy as its ``DnsTimeoutError``: the signature that needed the key does not
validate, the chain fails, and the reason names the lookup. RFC 8617 has no
temperror for ARC (its results are none, pass and fail).

dkimpy judges the seals' timestamps against the system clock (a t= more than ten
hours ahead is refused); ``now`` is the clock this check reports ages against.
"""

from __future__ import annotations

import re
import time

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from fake_dns import Answer, Outcome, Resolver
from policies.arc.first_hop import read_first_hop
from policies.arc.result import ArcResult, ArcSet
from policies.message import header_section

_ARC_FIELD = re.compile(rb"(?im)^arc-(seal|message-signature|authentication-results):")
_BYTES_REPR = re.compile(r"b'([^']*)'")
_SEAL, _SIGNATURE, _RESULTS = b"arc-seal", b"arc-message-signature", b"arc-authentication-results"

Tags = dict[bytes, bytes]
MAX_SETS = 50


async def check_arc(
    message: bytes, resolver: Resolver, *, now: float | None = None, client_ip: str | None = None
) -> ArcResult:
    """Validate the ARC chain of ``message``; ``client_ip`` (the connecting client) only
    feeds the ``smtp.remote-ip`` property of the Authentication-Results clause.
    Never raises: unreadable input is ``fail`` (ARC fields present) or ``none``."""
    clock = time.time() if now is None else now
    header = header_section(message)
    if b"arc-" not in header.lower() or not _ARC_FIELD.search(header):
        return ArcResult("none", client_ip=client_ip, checked_at=clock)  # spare dkimpy the parse
    try:
        arc = dkim.ARC(message)
        newest, fields = arc.sorted_arc_headers()
    except Exception as err:  # dkimpy's header parser fails in several ways on garbage
        return ArcResult("fail", f"the message header cannot be parsed ({_short(err)})",
                         client_ip=client_ip, checked_at=clock)
    if newest == 0:
        return ArcResult("none", client_ip=client_ip, checked_at=clock)
    if newest > MAX_SETS:
        # Checked before dkimpy, which would walk every instance number down to 1.
        return ArcResult("fail", f"an ARC field claims instance i={newest}; at most {MAX_SETS} ARC sets are "
                         "allowed (RFC 8617 4.2.1)", sets=newest, failed_instance=newest,
                         client_ip=client_ip, checked_at=clock)

    tags = _tags_by_instance(fields)
    dns = resolver.fork()
    answers = {name: await dns.resolve(name, "TXT") for name in _key_names(tags)}
    try:
        cv, verified, reason = arc.verify(dnsfunc=_serve(answers))
    except Exception as err:  # a verifier crash on hostile input is a failed chain
        cv, verified, reason = dkim.CV_Fail, [], f"the ARC sets could not be validated ({_short(err)})"
    by_instance = {v["instance"]: v for v in verified}
    chain = tuple(_arc_set(i, tags.get(i, {}), by_instance.get(i)) for i in range(1, newest + 1))
    first_hop = read_first_hop(next((value for i, (name, value) in fields
                                     if i == 1 and name.lower() == _RESULTS), None))
    passed = cv == dkim.CV_Pass
    return ArcResult(
        result="pass" if passed else "fail",
        reason=None if passed else _with_dns_trouble(reason, answers),
        sets=newest,
        failed_instance=None if passed else _failed_instance(newest, verified),
        chain=chain,
        first_hop_aar=first_hop.value,
        first_hop_authserv_id=first_hop.authserv_id,
        first_hop_results=first_hop.results,
        oldest_pass=_oldest_pass(verified) if passed else None,
        client_ip=client_ip,
        checked_at=clock,
        lookups=tuple(answers.values()),
    )


def _tags_by_instance(fields: list[tuple[int, tuple[bytes, bytes]]]) -> dict[int, dict[bytes, Tags]]:
    """instance -> {field name: tags} for the seals and message signatures that parse."""
    out: dict[int, dict[bytes, Tags]] = {}
    for instance, (name, value) in fields:
        if name.lower() in (_SEAL, _SIGNATURE):
            try:
                out.setdefault(instance, {})[name.lower()] = parse_tag_value(value)
            except InvalidTagValueList:
                continue  # dkimpy reports the malformed field itself
    return out


def _key_names(tags: dict[int, dict[bytes, Tags]]) -> list[str]:
    """Every distinct ``<s>._domainkey.<d>`` the seals and signatures name, newest first."""
    names: dict[str, None] = {}
    for instance in sorted(tags, reverse=True):
        for field_tags in tags[instance].values():
            if field_tags.get(b"s") and field_tags.get(b"d"):
                names.setdefault(_key_name(field_tags), None)
    return list(names)


def _key_name(field_tags: Tags) -> str:
    return (field_tags[b"s"] + b"._domainkey." + field_tags[b"d"]).decode("utf-8", "replace").lower()


def _serve(answers: dict[str, Answer]):
    """dkimpy's DNS callback, answering only from ``answers``."""

    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        answer = answers.get(name.decode("utf-8", "replace").rstrip(".").lower())
        if answer is not None and answer.outcome.is_error:
            raise dkim.DnsTimeoutError(answer.describe())
        return answer.txt()[0] if answer else None

    return txt


def _arc_set(instance: int, fields: dict[bytes, Tags], verdict: dict | None) -> ArcSet:
    seal, signature = fields.get(_SEAL, {}), fields.get(_SIGNATURE, {})
    sealed_at = seal.get(b"t", b"").strip()
    return ArcSet(
        instance=instance,
        seal_domain=_text(seal.get(b"d")),
        seal_selector=_text(seal.get(b"s")),
        signature_domain=_text(signature.get(b"d")),
        signature_selector=_text(signature.get(b"s")),
        cv=_text(seal.get(b"cv")),
        sealed_at=int(sealed_at) if sealed_at.isdigit() else None,
        seal_valid=verdict.get("as-valid") if verdict else None,
        signature_valid=verdict.get("ams-valid") if verdict else None,
    )


def _failed_instance(newest: int, verified: list[dict]) -> int:
    """Where dkimpy's validation (newest set first) stopped or found the fault."""
    if len(verified) < newest:  # a structural error interrupted validation at this set
        return newest - len(verified)
    if not verified[0]["ams-valid"]:
        return newest
    for verdict in verified:
        cv = verdict["cv"]
        bad_cv = (verdict["instance"] == 1) != (cv == dkim.CV_None)
        if cv == dkim.CV_Fail or not verdict["as-valid"] or bad_cv:
            return verdict["instance"]
    return newest


def _oldest_pass(verified: list[dict]) -> int:
    """0 when every ARC-Message-Signature validates, else the lowest instance above
    the newest one that does not (RFC 8617 header.oldest-pass)."""
    for verdict in verified:  # newest first
        if not verdict["ams-valid"]:
            return verdict["instance"] + 1
    return 0


def _with_dns_trouble(reason: str, answers: dict[str, Answer]) -> str:
    """dkimpy's reason (without Python's b'...' quoting), plus the key lookups that
    failed, the usual root cause."""
    bare = _BYTES_REPR.fullmatch(reason)  # dkimpy passes a tag-list error on as the bad piece alone
    if bare:
        piece = bare.group(1)
        reason = "an ARC field's tag list is malformed " + (f"near {piece!r}" if piece else "(an empty tag)")
    trouble = [f"the key lookup of {name} " + _outcome_words(a.outcome)
               for name, a in answers.items() if not a]
    return "; ".join([_BYTES_REPR.sub(r"\1", reason), *trouble])


def _outcome_words(outcome: Outcome) -> str:
    return {
        Outcome.TIMEOUT: "timed out",
        Outcome.SERVFAIL: "failed with SERVFAIL",
        Outcome.NXDOMAIN: "found no such name",
        Outcome.NODATA: "found no TXT record",
    }[outcome]


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace").strip() if value else ""


def _short(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= 80 else text[:77] + "..."
