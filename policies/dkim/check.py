"""``check_dkim``: every DKIM-Signature of a message judged on its own.

The steps follow RFC 6376 section 6.1: read and check the signature's tags
(:mod:`policies.dkim.signature`), fetch the key through the async resolver and judge
the record (:mod:`policies.dkim.keyrecord`), then check the body hash and the RSA /
Ed25519 signature (:mod:`policies.dkim.verify`, on the message as dkimpy reads it:
:mod:`policies.dkim.message`). DNS timeouts and SERVFAIL are ``temperror`` and no
signature is checked.

Policy on top of a signature that verified (RFC 8601 ``policy``):

- rsa-sha1 is refused (RFC 8301 3.1: verifiers must not consider such signatures valid);
- RSA keys shorter than ``min_key_bits`` (1024 by default, RFC 8301 3.2) are refused;
- ``l=`` (body length): RFC 6376 section 8.2 warns that content after the signed
  length can be anything an attacker appended. A signature whose ``l=`` covers the
  whole body passes (with a note); one that leaves body content unsigned is refused
  with ``policy`` -- the signature is valid, but it does not vouch for what the
  recipient reads.

Keys in testing mode (``t=y``) are judged like any other and the result notes it:
RFC 6376 3.6.1 leaves what to do with them to the receiver's policy.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from fake_dns import Answer, Outcome, Resolver
from policies.dkim.canonical import canonical_body
from policies.dkim.keyrecord import KeyRecord, judge_key_record
from policies.dkim.message import split_message
from policies.message import blank_line
from policies.dkim.result import DkimResult
from policies.dkim.signature import Signature, parse_signature
from policies.dkim.verify import signature_problem

_SIGNATURE_FIELD = re.compile(rb"(?im)^dkim-signature:(.*(?:\r?\n[ \t].*)*)")


async def check_dkim(
    message: bytes, resolver: Resolver, *, now: float | None = None, min_key_bits: int = 1024
) -> tuple[DkimResult, ...]:
    """Judge each DKIM-Signature of ``message`` (an empty tuple when there is none).

    ``now`` (Unix time) is the clock for ``x=`` expiry; ``min_key_bits`` the shortest
    RSA key accepted. Never raises: unusable input gives neutral or permerror results.
    """
    clock = time.time() if now is None else now
    if b"dkim-signature:" not in _header_block(message).lower():
        return ()  # unsigned: spare parsing the message
    try:
        headers, body = split_message(message)
    except Exception as err:  # dkimpy's header parser fails in several ways on garbage
        return tuple(_unreadable_message(value, clock, err) for value in _signature_values(message))
    fields = [(name, value) for name, value in headers if name.lower() == b"dkim-signature"]
    if not fields:
        return ()
    dns = resolver.fork()
    answers: dict[str, Answer] = {}
    results = []
    for name, value in fields:
        signature = parse_signature(value, clock)
        if not signature.usable:
            results.append(_result(signature, signature.result, signature.problem, signature.reason))
            continue
        if signature.key_name not in answers:
            answers[signature.key_name] = await dns.resolve(signature.key_name, "TXT")
        results.append(_judge(headers, body, (name, value), signature, answers[signature.key_name], min_key_bits))
    return tuple(results)


def _judge(
    headers: Sequence[Sequence[bytes]], body: bytes, field: tuple[bytes, bytes], signature: Signature,
    answer: Answer, min_key_bits: int,
) -> DkimResult:
    """The verdict for a well-formed signature whose key lookup gave ``answer``."""
    lookups = (answer,)
    name = signature.key_name
    if answer.outcome.is_error:
        what = "timed out" if answer.outcome is Outcome.TIMEOUT else "failed with SERVFAIL"
        return _result(signature, "temperror", "dns_error", f"the DNS lookup of the key at {name} {what}",
                       lookups=lookups)
    if not answer:
        why = "the name does not exist" if answer.outcome is Outcome.NXDOMAIN else "the name has no TXT record"
        return _result(signature, "permerror", "no_key", f"no key record at {name} ({why})", lookups=lookups)
    key, notes = _choose_key(answer.txt(), signature)
    if key.problem:
        return _result(signature, "permerror", key.problem, key.reason, lookups=lookups, key=key, notes=notes)
    if key.testing:
        notes += ("the key is in testing mode (t=y): the domain is still trying DKIM out; "
                  "the signature was judged all the same",)
    result, problem, reason = _verify(headers, body, field, signature, key)
    verified = result == "pass"
    if verified:
        result, problem, reason, more = _policy(body, signature, key, min_key_bits)
        notes += more
    return _result(signature, result, problem, reason, lookups=lookups, key=key, verified=verified, notes=notes)


def _choose_key(records: list[bytes], signature: Signature) -> tuple[KeyRecord, tuple[str, ...]]:
    """The first usable key among the TXT records (RFC 6376 3.6.2.2 leaves several
    records undefined; a stray record next to the key should not hide it)."""
    judged = [judge_key_record(txt, signature) for txt in records]
    usable = [key for key in judged if key.problem is None]
    notes: tuple[str, ...] = ()
    if len(records) > 1:
        notes = (f"{len(records)} TXT records at {signature.key_name}; publish only the key record "
                 "there (RFC 6376 3.6.2.2: several records give undefined results)",)
    return (usable or judged)[0], notes


def _verify(
    headers: Sequence[Sequence[bytes]], body: bytes, field: tuple[bytes, bytes], signature: Signature, key: KeyRecord
) -> tuple[str, str | None, str | None]:
    """Body hash and signature, checked with the key already judged."""
    try:
        problem = signature_problem(headers, body, field, signature, key)
    except Exception as err:  # Uncheckable, or a crypto library error on hostile input: a verdict, not a crash
        return "permerror", "verifier_error", f"the signature could not be checked ({err})"
    if problem == "body_hash_mismatch":
        return "fail", problem, "body hash mismatch: the body was changed after it was signed"
    if problem == "signature_mismatch":
        return "fail", problem, (
            "signature mismatch: a signed header field was changed after signing, or the "
            f"key at {signature.key_name} is not the one that signed")
    return "pass", None, None


def _policy(
    body: bytes, signature: Signature, key: KeyRecord, min_key_bits: int
) -> tuple[str, str | None, str | None, tuple[str, ...]]:
    """What a receiver refuses even though the signature verified (see module doc)."""
    if signature.algorithm == "rsa-sha1":
        return "policy", "rsa_sha1", "rsa-sha1 signatures are not accepted (RFC 8301); the signature itself verified", ()
    if key.key_type == "rsa" and key.bits is not None and key.bits < min_key_bits:
        return "policy", "short_key", (
            f"the {key.bits}-bit RSA key is shorter than {min_key_bits} bits (RFC 8301); "
            "the signature itself verified"), ()
    if signature.body_length is not None:
        body_size = len(canonical_body(body, signature.canonicalization.split("/")[1]))
        if signature.body_length < body_size:
            return "policy", "partial_body", (
                f"l={signature.body_length} signs only part of the {body_size}-byte body; the rest "
                "could have been added by anyone (RFC 6376 8.2)"), ()
        return "pass", None, None, ("l= is set but covers the whole body",)
    return "pass", None, None, ()


def _result(
    signature: Signature,
    result: str | None,
    problem: str | None,
    reason: str | None,
    *,
    lookups: tuple[Answer, ...] = (),
    key: KeyRecord | None = None,
    verified: bool = False,
    notes: tuple[str, ...] = (),
) -> DkimResult:
    return DkimResult(
        result=result or "permerror",
        domain=signature.domain,
        selector=signature.selector,
        identity=signature.identity,
        algorithm=signature.algorithm,
        key_bits=key.bits if key else None,
        reason=reason,
        testing=key.testing if key else False,
        header_b=signature.header_b,
        key_name=signature.key_name,
        lookups=lookups,
        problem=problem,
        canonicalization=signature.canonicalization,
        signed_headers=signature.signed_headers,
        body_length=signature.body_length,
        verified=verified,
        key_record=key.text if key else None,
        notes=notes,
    )


def _header_block(message: bytes) -> bytes:
    blank = blank_line(message)
    return message if blank is None else message[: blank[0]]


def _signature_values(message: bytes) -> list[bytes]:
    """DKIM-Signature values found by a plain scan of the header block: finds the
    signatures of a message dkimpy cannot parse, so that each still gets a result
    saying why it cannot be verified."""
    return [m.group(1) for m in _SIGNATURE_FIELD.finditer(_header_block(message))]


def _unreadable_message(value: bytes, clock: float, err: Exception) -> DkimResult:
    signature = parse_signature(value, clock)
    detail = str(err) or type(err).__name__
    if len(detail) > 80:
        detail = detail[:77] + "..."
    return _result(signature, "permerror", "message_format",
                   f"the message header cannot be parsed, so no signature on it can be verified ({detail})")
