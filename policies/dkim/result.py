"""The verdict on one DKIM-Signature, and how to explain and fix it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import authres
from authres.core import AuthenticationResultProperty

from fake_dns import Answer

#: What a publisher writes once the key pair exists; ``<the public key>`` is theirs.
KEY_RECORD = 'v=DKIM1; k={k}; p=<the public key>'

#: Problems a sending domain fixes in its signer's configuration, not in DNS.
_SIGNER_PROBLEMS = {
    "malformed_tags", "missing_tags", "bad_version", "bad_canonicalization", "bad_base64",
    "bad_domain", "bad_selector", "identity_outside_domain", "bad_tag_value", "unsupported_query_method",
}


@dataclass(frozen=True)
class DkimResult:
    """One DKIM-Signature judged on its own (RFC 6376, RFC 8463, RFC 8301).

    ``result`` is an RFC 8601 dkim result: pass, fail, neutral, policy, temperror or
    permerror. ``problem`` is a short machine-readable code for the reason (None on a
    plain pass); ``reason`` says it in words. ``verified`` is True when the signature
    and body hash checked out cryptographically, even if policy then refused it (a
    1024-bit minimum, no rsa-sha1, no unsigned body content).
    """

    result: str
    domain: str
    selector: str
    identity: str | None
    algorithm: str
    key_bits: int | None
    reason: str | None
    testing: bool
    header_b: str
    key_name: str
    lookups: tuple[Answer, ...] = ()
    problem: str | None = None
    canonicalization: str = "simple/simple"
    signed_headers: tuple[str, ...] = ()
    body_length: int | None = None
    verified: bool = False
    key_record: str | None = None
    notes: tuple[str, ...] = field(default=())

    def auth_result(self) -> authres.DKIMAuthenticationResult:
        """``dkim=<result> [reason=...] header.d= header.i= header.s= header.a= header.b=``."""
        clause = _auth_result(self.result, self.reason, self.domain, self.identity, self.selector, self.algorithm)
        if self.header_b:
            clause.properties.append(_header_b(self.header_b))
        return clause

    def auth_result_text(self) -> str:
        """``str(self.auth_result())``, cheaply: everything but ``header.b`` repeats from
        message to message for one signer, so that part is rendered once (memoised);
        ``header.b`` differs per message and is rendered on its own."""
        text = _auth_result_text(self.result, self.reason, self.domain, self.identity, self.selector, self.algorithm)
        return f"{text} {_header_b(self.header_b)}" if self.header_b else text

    def explain(self) -> list[str]:
        lines = [self._describe_signature()]
        lines += [f"looked up {answer.describe()}" for answer in self.lookups]
        if self.key_bits:
            kind = "Ed25519" if self.algorithm.startswith("ed25519") else "RSA"
            lines.append(f"the key is a {self.key_bits}-bit {kind} key")
        if self.result == "pass":
            lines.append(f"dkim=pass: the signature of {self.domain} verified; the signed header "
                         "fields and the body arrived unchanged")
        else:
            lines.append(f"dkim={self.result}: {self.reason}")
        if self.problem == "body_hash_mismatch":
            lines.append("the body the receiver got is not the body that was signed: something on "
                         "the way (a mailing list footer, a disclaimer, an antivirus banner, a "
                         "re-encoding relay) changed it after signing")
        lines += list(self.notes)
        return lines

    def _describe_signature(self) -> str:
        if not self.domain:
            return "a DKIM-Signature that could not be read"
        head = f"DKIM-Signature d={self.domain} s={self.selector}"
        details = [d for d in (self.algorithm, f"c={self.canonicalization}") if d]
        if self.identity:
            details.append(f"i={self.identity}")
        line = f"{head} ({', '.join(details)})"
        if self.signed_headers:
            line += " signs " + ", ".join(self.signed_headers)
        return line

    def fixes(self) -> list[str]:
        """The change that makes this signature pass, in DNS where DNS is the cause."""
        problem = self.problem
        if problem is None:
            return []
        name = self.key_name
        record = KEY_RECORD.format(k="ed25519" if self.algorithm.startswith("ed25519") else "rsa")
        publish = f'publish `{name} TXT "{record}"`'
        if problem == "no_key":
            return [f"{publish}, with the public key of the key pair the signer uses for selector {self.selector}"]
        if problem == "key_revoked":
            return [f"the key at {name} is revoked (empty p=): {publish} again, or configure the "
                    "signer to use a selector whose key is published"]
        if problem in ("key_syntax", "key_version", "key_type_unknown", "key_invalid", "key_type_mismatch"):
            return [f"replace the TXT record at {name} ({self.reason}): {publish}"]
        if problem == "key_hash_not_allowed":
            return [f"remove h= from the TXT record at {name} (or list sha256 in it), and sign with rsa-sha256"]
        if problem == "key_service":
            return [f"remove s= from the TXT record at {name}, or set it to s=email"]
        if problem == "key_strict_identity":
            return [f"remove the s flag from t= in the TXT record at {name}, or sign with i= in exactly {self.domain}"]
        if problem == "dns_error":
            return [f"make the name servers of {self.domain} answer the TXT query for {name} "
                    "(it timed out or failed; receivers defer or treat the message as unsigned)"]
        if problem == "short_key":
            return [f"publish a 2048-bit key: generate an RSA 2048 key pair, publish "
                    f'`{name} TXT "v=DKIM1; k=rsa; p=<the 2048-bit public key>"` (a new selector '
                    "avoids a gap) and sign with its private key"]
        if problem == "rsa_sha1":
            return ["configure the signer to use rsa-sha256 instead of rsa-sha1 (RFC 8301); "
                    "the published key can stay"]
        if problem == "body_hash_mismatch":
            return ["fix on the sending side: sign after the last step that changes the body (add "
                    "footers or disclaimers before signing), or stop the relay or list that "
                    f"modifies it in transit; the key at {name} is not the problem"]
        if problem == "signature_mismatch":
            return [f"make sure the public key at {name} belongs to the private key the signer uses, "
                    "and that no relay changes a signed header field (e.g. a [list] tag added to "
                    "Subject); sign after such changes"]
        if problem == "partial_body":
            return ["configure the signer to sign the whole body (no l= tag)"]
        if problem == "expired":
            return ["configure the signer with a longer signature lifetime (x=), or none, so it "
                    "outlives queueing and retries"]
        if problem == "from_not_signed":
            return ["configure the signer to sign the From header field (include from in h=)"]
        if problem == "unknown_algorithm":
            return ["configure the signer to use rsa-sha256 (optionally ed25519-sha256 as a second signature)"]
        if problem in _SIGNER_PROBLEMS:
            return [f"the signer of {self.domain or 'this message'} writes a broken DKIM-Signature "
                    f"({self.reason}): fix or update the signing software"]
        return []

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "domain": self.domain,
            "selector": self.selector,
            "identity": self.identity,
            "algorithm": self.algorithm,
            "key_bits": self.key_bits,
            "reason": self.reason,
            "problem": self.problem,
            "testing": self.testing,
            "verified": self.verified,
            "header_b": self.header_b,
            "key_name": self.key_name,
            "key_record": self.key_record,
            "canonicalization": self.canonicalization,
            "signed_headers": list(self.signed_headers),
            "body_length": self.body_length,
            "notes": list(self.notes),
            "lookups": [answer.describe() for answer in self.lookups],
            "explain": self.explain(),
            "fixes": self.fixes(),
        }


def _auth_result(result: str, reason: str | None, domain: str, identity: str | None, selector: str,
                 algorithm: str) -> authres.DKIMAuthenticationResult:
    """The clause without ``header.b`` (authres appends properties in this order)."""
    return authres.DKIMAuthenticationResult(
        result=result,
        reason=reason,
        header_d=domain or None,
        header_i=identity,
        header_s=selector or None,
        header_a=algorithm or None,
    )


@functools.lru_cache(maxsize=1024)
def _auth_result_text(result: str, reason: str | None, domain: str, identity: str | None, selector: str,
                      algorithm: str) -> str:
    """:func:`_auth_result` as text. Memoised (bounded, stateless: a pure function of its
    text arguments): the same signers get the same verdicts message after message, and
    authres builds the text slowly."""
    return str(_auth_result(result, reason, domain, identity, selector, algorithm))


def _header_b(header_b: str) -> AuthenticationResultProperty:
    """``header.b=<the first characters of b=>``, quoted by authres where RFC 8601 needs it."""
    return AuthenticationResultProperty("header", "b", header_b)
