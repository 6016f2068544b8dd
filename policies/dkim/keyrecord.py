"""Judging a DKIM key record (the TXT record at ``<selector>._domainkey.<domain>``).

RFC 6376 section 3.6.1 defines the tags and 6.1.2 what makes a key unusable. dkimpy
only reads ``v=``, ``k=``, ``p=`` and (partly) ``s=``; the rules for ``h=`` (allowed
hash algorithms), ``s=`` lists, ``t=s`` (strict identity) and the revoked empty ``p=``
are applied here, each with its own reason and fix. dkimpy is then handed a
normalised record holding only the key type and key, and it builds the key object
(so that a key is valid exactly when it was valid for dkimpy's own verifier).

Tags RFC 6376 removed from RFC 4871, such as ``g=`` (granularity), are ignored like
any other unknown tag (RFC 6376 3.6.1: "Unrecognized tags MUST be ignored").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from policies.dkim.signature import Signature

KEY_TYPES = {"rsa-sha256": "rsa", "rsa-sha1": "rsa", "ed25519-sha256": "ed25519"}


@dataclass(frozen=True)
class KeyRecord:
    """A usable public key, or the reason the record gives none.

    ``public_key`` is the key object dkimpy's ``evaluate_pk`` made: a dict of the RSA
    ``modulus`` and ``publicExponent``, or a PyNaCl ``VerifyKey``. ``problem``/``reason``
    are set, and ``public_key`` is None, when the key is unusable.
    """

    text: str
    key_type: str = ""
    bits: int | None = None
    testing: bool = False
    problem: str | None = None
    reason: str | None = None
    public_key: Any = field(default=None, repr=False, compare=False)


def judge_key_record(txt: bytes, signature: Signature) -> KeyRecord:
    """Apply RFC 6376 3.6.1 / 6.1.2 to one TXT record for ``signature``."""
    host = None if signature.identity is None else signature.identity.rsplit("@", 1)[-1].lower().rstrip(".")
    return _judge(txt, signature.algorithm, signature.hash_name, host, signature.domain, signature.key_name)


@functools.lru_cache(maxsize=256)
def _judge(
    txt: bytes, algorithm: str, hash_name: str, identity_host: str | None, domain: str, key_name: str
) -> KeyRecord:
    """The verdict on ``txt`` for a signature with ``algorithm`` (hashing with
    ``hash_name``), ``i=`` in ``identity_host`` (None without i=), ``d=`` ``domain``
    and its key at ``key_name``: all the judgement reads of the signature.

    Every message signed with a selector carries the same key record, and dkimpy's
    pure-Python ASN.1 parsing of an RSA key alone costs more than the rest of the
    judgement; the verdict is a pure function of these immutable values, so it is
    made once per combination, not per message. Bounded; process-wide but stateless
    (the KeyRecord is frozen, and its key object is only ever read).
    """
    text = txt.decode("utf-8", "replace")
    try:
        tags = parse_tag_value(txt)  # tag names are case-sensitive (RFC 6376 3.2)
    except InvalidTagValueList as err:
        return KeyRecord(text, problem="key_syntax",
                         reason=f"the key record is not a valid tag=value list (near {_str(err.args[0])!r})")
    flags = _list(tags.get(b"t", b""))
    testing = "y" in flags

    def bad(problem: str, reason: str) -> KeyRecord:
        return KeyRecord(text, testing=testing, problem=problem, reason=reason)

    version = tags.get(b"v")
    if version is not None and version.strip() != b"DKIM1":
        return bad("key_version", f"the key record says v={_str(version)}; it must be v=DKIM1")
    if b"p" not in tags:
        return bad("key_syntax", "the key record has no p= (public key) tag")
    key_data = re.sub(rb"\s+", b"", tags[b"p"])
    if not key_data:
        return bad("key_revoked", "the key is revoked (the record has an empty p=)")
    key_type = _str(tags.get(b"k", b"rsa")).lower()
    if key_type not in ("rsa", "ed25519"):
        return bad("key_type_unknown", f"the key record has k={key_type}, an unknown key type (rsa or ed25519)")
    wanted = KEY_TYPES[algorithm]
    if key_type != wanted:
        return bad("key_type_mismatch",
                   f"the key is k={key_type} but the signature uses {algorithm}, which needs k={wanted}")
    hashes = _list(tags[b"h"]) if b"h" in tags else None
    if hashes is not None and hash_name not in hashes:
        return bad("key_hash_not_allowed",
                   f"the key record allows only h={_str(tags[b'h'])}, not {hash_name}")
    services = _list(tags[b"s"]) if b"s" in tags else None
    if services is not None and not {"*", "email"} & set(services):
        return bad("key_service", f"the key record is for s={_str(tags[b's'])}, not for email")
    if "s" in flags and identity_host is not None and identity_host != domain:
        return bad("key_strict_identity",
                   f"the key has t=s, so i= must be in exactly d={domain}, not {identity_host}")
    record = b"k=" + key_type.encode() + b"; p=" + key_data
    try:
        public_key, bits, _, _ = dkim.evaluate_pk(key_name.encode(), record)
    except Exception as err:  # dkimpy's key parser raises many types on bad input
        return bad("key_invalid", f"p= does not hold a valid {key_type.upper()} public key ({_short(err)})")
    return KeyRecord(text, key_type, bits, testing, public_key=public_key)


def _list(value: bytes) -> list[str]:
    """A colon-separated tag value as lower-case items."""
    return [item.strip().lower() for item in _str(value).split(":") if item.strip()]


def _str(value: bytes) -> str:
    return value.decode("utf-8", "replace").strip()


def _short(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) <= 80 else text[:77] + "..."
