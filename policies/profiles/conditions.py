"""The ``when:`` clauses of profile rules: which facts exist, and how a clause is compiled.

A clause is a mapping; every entry must hold. An entry is ``fact: value`` (equal),
``fact: [a, b]`` (any of them) or ``fact: {not: value-or-list}``; for the set-valued
fact ``format`` the same forms test membership ("the message has this issue"). The
keys ``any:`` (a list of clauses, one must hold), ``all:`` (a list, all must hold)
and ``not:`` (a clause that must not hold) combine clauses. Nothing is evaluated as
code: a clause compiles, once, into plain comparisons on :class:`Facts` attributes,
and a fact or value the engine does not know is an error at load time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from policies.profiles.decision import STAGES, Facts

Predicate = Callable[[Facts], bool]

SPF_RESULTS = frozenset({"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"})
DKIM_RESULTS = frozenset({"none", "pass", "fail", "neutral", "policy", "temperror", "permerror"})
DMARC_RESULTS = frozenset({"none", "pass", "fail", "temperror", "permerror"})
DMARC_POLICIES = frozenset({"none", "quarantine", "reject"})
FORMAT_ISSUES = frozenset({
    "unparseable", "missing-from", "from-no-valid-address", "multiple-from-addresses",
    "multiple-from-headers", "from-domain-invalid", "missing-message-id", "invalid-message-id",
    "missing-date", "duplicate-header", "malformed-header", "encoded-word-not-allowed",
    "non-ascii-header",
})


@dataclass(frozen=True)
class FactSpec:
    """One testable fact: its kind, allowed values, and the first stage it is known at."""

    kind: str  # "bool", "enum", "text", "int" or "set"
    since: str  # facts are known from this stage on (auth facts only at "data")
    values: frozenset[Any] | None = None  # allowed values for "enum", "int" and "set"
    nullable: bool = False  # "enum" that may be null (not known / absent)
    until: str = "data"  # last stage the fact means something at
    doc: str = ""

    def stages(self) -> tuple[str, ...]:
        return STAGES[STAGES.index(self.since) : STAGES.index(self.until) + 1]


FACTS: dict[str, FactSpec] = {
    "client_ip": FactSpec("text", "connect", doc="the connecting address"),
    "ip_version": FactSpec("int", "connect", frozenset({4, 6}), doc="4 or 6"),
    "tls": FactSpec("bool", "connect", doc="the session runs over TLS (STARTTLS done)"),
    "helo": FactSpec("text", "ehlo", doc="the HELO/EHLO argument (empty when none was given)"),
    "helo_valid": FactSpec("bool", "ehlo", doc="the HELO/EHLO argument is a host name or address literal"),
    "mail_from": FactSpec("text", "mail", doc="the MAIL FROM address (empty for <>)"),
    "mail_from_domain": FactSpec("text", "mail", doc="its domain"),
    "mail_from_valid": FactSpec("bool", "mail", doc="the MAIL FROM address is valid RFC 5321 syntax"),
    "bulk": FactSpec("bool", "mail", doc="the From or MAIL FROM domain is declared a bulk sender"),
    "recipient_status": FactSpec("enum", "rcpt", frozenset({"ok", "unknown", "over_quota", "relay"}),
                                 until="rcpt", doc="what the provider knows about the RCPT TO address"),
    "recipient": FactSpec("text", "rcpt", until="rcpt", doc="the RCPT TO address"),
    "spf": FactSpec("enum", "data", SPF_RESULTS, doc="SPF result for the MAIL FROM (or HELO) identity"),
    "spf_domain": FactSpec("text", "data", doc="the domain SPF evaluated"),
    "spf_all": FactSpec("enum", "data", frozenset({"-", "~", "?", "+"}), nullable=True,
                        doc="qualifier of the SPF record's `all` term (null: no `all`)"),
    "dkim": FactSpec("enum", "data", DKIM_RESULTS, doc="pass if any signature passes, else the first one's result"),
    "dkim_domain": FactSpec("text", "data", doc="d= of the passing (else first) signature"),
    "dmarc": FactSpec("enum", "data", DMARC_RESULTS, doc="DMARC result for the From domain"),
    "dmarc_policy": FactSpec("enum", "data", DMARC_POLICIES, nullable=True, doc="p= of the record (null: none found)"),
    "dmarc_disposition": FactSpec("enum", "data", DMARC_POLICIES, doc="what the policy asks for this message"),
    "dmarc_record": FactSpec("bool", "data", doc="a DMARC record with a policy was found"),
    "dmarc_temporary": FactSpec("bool", "data", doc="a temporary DNS failure kept DMARC from deciding"),
    "aligned": FactSpec("bool", "data", doc="the From domain aligns with a passing SPF or DKIM domain"),
    "arc": FactSpec("enum", "data", frozenset({"none", "pass", "fail"}), doc="ARC chain validation"),
    "arc_trusted_pass": FactSpec("bool", "data", doc="the ARC chain passes and its first hop saw a pass"),
    "rdns": FactSpec("enum", "data", frozenset({"pass", "fail", "none", "temperror"}),
                     doc="reverse DNS of the client: pass = PTR whose name resolves back to it"),
    "format": FactSpec("set", "data", FORMAT_ISSUES, doc="the message format issues found"),
    "from_domain": FactSpec("text", "data", doc="the domain of the From: address"),
    "list_unsubscribe": FactSpec("bool", "data", doc="a List-Unsubscribe header is present"),
    "one_click_unsubscribe": FactSpec("bool", "data",
                                      doc="RFC 8058 one-click: an https List-Unsubscribe URI and List-Unsubscribe-Post"),
}


class ConditionError(ValueError):
    """A ``when`` clause the engine cannot compile; the message says where and why."""


@dataclass(frozen=True)
class Condition:
    """A compiled clause, and the format issues it asks for (they fill ``{header}``)."""

    test: Predicate
    format_codes: tuple[str, ...] = ()


def compile_when(clause: Any, stage: str, where: str = "when") -> Condition:
    """Compile a ``when`` clause for a rule of ``stage``; ConditionError when it is wrong."""
    if clause is None:
        return Condition(lambda facts: True)
    codes: list[str] = []
    test = _compile_mapping(clause, stage, where, codes)
    return Condition(test, tuple(dict.fromkeys(codes)))


def _compile_mapping(clause: Any, stage: str, where: str, codes: list[str]) -> Predicate:
    if not isinstance(clause, Mapping) or not clause:
        raise ConditionError(f"{where}: expected a mapping of fact: value (and any:/all:/not:), got {clause!r}")
    tests: list[Predicate] = []
    for key, value in clause.items():
        path = f"{where}.{key}"
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                raise ConditionError(f"{path}: expected a non-empty list of clauses, got {value!r}")
            parts = [_compile_mapping(c, stage, f"{path}[{i}]", codes) for i, c in enumerate(value)]
            tests.append(_any(parts) if key == "any" else _all(parts))
        elif key == "not":
            inner = _compile_mapping(value, stage, path, [])  # a negated issue does not name a header
            tests.append(_not(inner))
        else:
            tests.append(_compile_fact(key, value, stage, path, codes))
    return tests[0] if len(tests) == 1 else _all(tests)


def _compile_fact(name: Any, value: Any, stage: str, where: str, codes: list[str]) -> Predicate:
    spec = FACTS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ConditionError(f"{where}: unknown fact {name!r}; known facts: {', '.join(FACTS)}, and any:/all:/not:")
    if stage not in spec.stages():
        known = "from " + spec.since if spec.until == "data" else "only at " + spec.until
        raise ConditionError(f"{where}: fact {name!r} is known {known}, not at stage {stage!r}")
    negate = False
    if isinstance(value, Mapping):
        if set(value) != {"not"}:
            raise ConditionError(f"{where}: expected a value, a list of values or {{not: ...}}, got {value!r}")
        negate, value = True, value["not"]
    wanted = value if isinstance(value, list) else [value]
    if not wanted:
        raise ConditionError(f"{where}: the list of values is empty")
    for item in wanted:
        _check_value(name, spec, item, where)
    get = attrgetter(name)
    if spec.kind == "set":
        if not negate:
            codes.extend(wanted)
        members = frozenset(wanted)
        return (lambda f: members.isdisjoint(get(f))) if negate else (lambda f: not members.isdisjoint(get(f)))
    if spec.kind == "text":
        wanted = [w.lower() for w in wanted]
        allowed = frozenset(wanted)
        return (lambda f: get(f).lower() not in allowed) if negate else (lambda f: get(f).lower() in allowed)
    allowed = frozenset(wanted)
    return (lambda f: get(f) not in allowed) if negate else (lambda f: get(f) in allowed)


def _check_value(name: str, spec: FactSpec, value: Any, where: str) -> None:
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ConditionError(f"{where}: fact {name!r} is true or false, got {value!r}")
    elif spec.kind == "text":
        if not isinstance(value, str):
            raise ConditionError(f"{where}: fact {name!r} is a text, got {value!r}")
    elif value is None:
        if not spec.nullable:
            raise ConditionError(f"{where}: fact {name!r} is never null; values: {_listing(spec)}")
    elif isinstance(value, bool) or value not in (spec.values or ()):
        raise ConditionError(f"{where}: {value!r} is not a value of fact {name!r}; values: {_listing(spec)}")


def _listing(spec: FactSpec) -> str:
    values = sorted(str(v) for v in spec.values or ())
    return ", ".join(values) + (", null" if spec.nullable else "")


# Plain loops rather than any()/all() over a generator: every message walks a dozen
# of these, and the generator costs more than the comparisons it runs.
def _any(parts: list[Predicate]) -> Predicate:
    def test(facts: Facts) -> bool:
        for part in parts:
            if part(facts):
                return True
        return False
    return test


def _all(parts: list[Predicate]) -> Predicate:
    def test(facts: Facts) -> bool:
        for part in parts:
            if not part(facts):
                return False
        return True
    return test


def _not(inner: Predicate) -> Predicate:
    def test(facts: Facts) -> bool:
        return not inner(facts)
    return test
