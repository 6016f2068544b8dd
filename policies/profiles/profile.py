"""A loaded provider profile and the per-connection session that speaks for it.

The profile is immutable and built once per server start (see :mod:`.loader`); its
rules are compiled and sorted by stage then, for the options in force, so deciding is
a walk over a short tuple of compiled comparisons. Everything random or timed (the
per-connection id, the clock in replies) lives in a :class:`Session`, one per TCP
connection, so the lines of a :class:`Decision` carry that connection's id.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import format_datetime
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

from policies.profiles.conditions import Condition
from policies.profiles.decision import STAGES, Decision, Facts, Folder
from policies.profiles.replies import ReplySpec, ReplyStyle, prefix_lines
from policies.profiles.template import Template
from policies.profiles.tokens import TokenPattern

Clock = Callable[[], float]

DMARC_MODES = ("rfc9989", "rfc7489")
ENFORCEMENT = ("temporary", "permanent")
FOLDER_HEADER = "X-Sandbox-Folder"
RULE_HEADER = "X-Sandbox-Rule"

# The session placeholders that tell the time: computed only for texts that show them.
CLOCK_NAMES = frozenset({"now_unix", "now_iso", "now_rfc"})
# Placeholders every text of a profile may use (besides the session tokens and values).
SESSION_NAMES = frozenset({"id", "ip", "hostname", "max_size"}) | CLOCK_NAMES
# Placeholders filled from the facts, for rule replies, reasons and headers.
FACT_NAMES = frozenset({
    "ip", "ip_version", "helo", "mail_from", "mail_from_domain", "recipient", "recipient_domain", "address",
    "spf", "spf_domain", "spf_sender", "dkim", "dkim_domain", "dmarc", "dmarc_policy", "dmarc_disposition",
    "arc", "rdns", "ptr", "from_domain", "header",
})
# Extra placeholders of the accepted-mail trace headers.
TRACE_NAMES = frozenset({"with_protocol", "ptr_or_unknown", "tls_version", "tls_cipher", "tls_bits",
                         "spf_comment", "dkim_results"})
DKIM_CLAUSE_NAMES = frozenset({"result", "domain", "selector", "b"})
# The replies the SMTP layer asks for by kind, and the values it passes to each.
REPLY_KINDS: dict[str, frozenset[str]] = {
    "greeting": frozenset(), "helo": frozenset({"helo"}),
    "mail_ok": frozenset({"sender"}), "rcpt_ok": frozenset({"recipient"}),
    "data_go_ahead": frozenset(), "data_ok": frozenset(), "bdat_ok": frozenset({"size", "total"}),
    "rset": frozenset(), "noop": frozenset(), "quit": frozenset(), "vrfy": frozenset(), "help": frozenset(),
    "starttls_ready": frozenset(), "tls_unavailable": frozenset(),
    "size_exceeded": frozenset({"size"}), "temporary_failure": frozenset(),
    "line_too_long": frozenset(), "unrecognized": frozenset(), "invalid_utf8": frozenset(), "syntax": frozenset(),
    "unknown_parameter": frozenset(), "helo_syntax": frozenset(), "helo_first": frozenset(),
    "nested_mail": frozenset(), "mail_first": frozenset(), "rcpt_first": frozenset(), "bad_sequence": frozenset(),
    "bad_sender": frozenset({"address"}), "bad_recipient": frozenset({"address"}),
    "non_ascii_address": frozenset({"address"}),
}


def option_problem(name: str, value: Any) -> str | None:
    """What is wrong with one profile option, or None. Known options: ``require_tls``
    (bool), ``dmarc_mode`` (rfc9989 | rfc7489), ``max_size`` (bytes, > 0) and any
    ``<family>_enforcement`` (temporary | permanent), which rules select variants by."""
    if name == "require_tls":
        return None if isinstance(value, bool) else "require_tls is true or false"
    if name == "dmarc_mode":
        return None if value in DMARC_MODES else f"dmarc_mode is one of {', '.join(DMARC_MODES)}"
    if name == "max_size":
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return None if ok else "max_size is a positive number of bytes"
    if name.endswith("_enforcement"):
        return None if value in ENFORCEMENT else f"{name} is one of {', '.join(ENFORCEMENT)}"
    return f"unknown option {name!r}; options are require_tls, dmarc_mode, max_size and <name>_enforcement"


@dataclass(frozen=True)
class Rule:
    """One compiled rule. ``index`` is its 1-based position in the profile file."""

    index: int
    id: str
    stage: str
    action: str
    condition: Condition
    reply: ReplySpec | None  # None for accept / spam: they answer with the profile's data_ok
    reason: Template
    headers: tuple[tuple[str, Template], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    inferred: bool = False
    note: str = ""

    def applies(self, options: Mapping[str, Any]) -> bool:
        return all(options.get(name) == value for name, value in self.options.items())

    @cached_property
    def names(self) -> frozenset[str]:
        """The placeholders the rule's own texts read (reply, reason, headers)."""
        names = set(self.reason.names)
        if self.reply is not None:
            names |= self.reply.names
        for _, template in self.headers:
            names |= template.names
        return frozenset(names)

    @property
    def label(self) -> str:
        return f"rule {self.index} ({self.id})"


@dataclass(frozen=True)
class Profile:
    """A provider: its session shape, replies, options and ordered rules."""

    name: str
    source: str
    hostname: str
    domains: frozenset[str]
    options: Mapping[str, Any]
    style: ReplyStyle
    tokens: Mapping[str, TokenPattern]
    values: Mapping[str, Template]
    replies: Mapping[str, ReplySpec]
    ehlo_first: Template
    extensions: tuple[Template, ...]
    accepted_headers: tuple[tuple[str, Template], ...]
    spf_comments: Mapping[str, Template]
    dkim_clause: Template | None
    rules: tuple[Rule, ...]
    _by_stage: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_stage = {stage: tuple(r for r in self.rules if r.stage == stage and r.applies(self.options))
                    for stage in STAGES}
        object.__setattr__(self, "_by_stage", MappingProxyType(by_stage))

    # -- options ------------------------------------------------------------------------

    @property
    def max_size(self) -> int:
        return int(self.options["max_size"])

    @property
    def dmarc_mode(self) -> str:
        return str(self.options["dmarc_mode"])

    @property
    def require_tls(self) -> bool:
        return bool(self.options["require_tls"])

    def with_options(self, **changes: Any) -> Profile:
        """The same profile with some options changed (ValueError for a bad one)."""
        for name, value in changes.items():
            if name not in self.options:
                raise ValueError(f"profile {self.name} has no option {name!r}; it has {', '.join(self.options)}")
            problem = option_problem(name, value)
            if problem:
                raise ValueError(f"profile {self.name}: {problem}, got {value!r}")
        return replace(self, options=MappingProxyType({**self.options, **changes}))

    def _reply_names(self, spec: ReplySpec) -> frozenset[str]:
        """The placeholders rendering ``spec`` in this profile's style reads, suffix included."""
        if spec.suffix and self.style.suffix is not None:
            return spec.names | self.style.suffix.names
        return spec.names

    @cached_property
    def _timed_values(self) -> tuple[tuple[str, Template], ...]:
        """The ``session.values`` that show the time (Outlook's hop stamps), in order;
        the others are rendered once per session."""
        return tuple((name, t) for name, t in self.values.items() if not t.names.isdisjoint(CLOCK_NAMES))

    @cached_property
    def _timed_names(self) -> frozenset[str]:
        """The session placeholders whose value changes with the clock."""
        return CLOCK_NAMES | frozenset(name for name, _ in self._timed_values)

    @cached_property
    def _reply_kind_names(self) -> Mapping[str, frozenset[str]]:
        """:meth:`_reply_names` of every reply kind, looked up per reply."""
        return MappingProxyType({kind: self._reply_names(spec) for kind, spec in self.replies.items()})

    @cached_property
    def _accept_names(self) -> frozenset[str]:
        """The placeholders an acceptance reads: the ``data_ok`` reply and the trace headers."""
        names = set(self._reply_names(self.replies["data_ok"]))
        for _, template in self.accepted_headers:
            names |= template.names
        for template in self.spf_comments.values():
            names |= template.names
        return frozenset(names)

    @cached_property
    def _ehlo_names(self) -> frozenset[str]:
        """The placeholders of the EHLO lines."""
        return self.ehlo_first.names.union(*(extension.names for extension in self.extensions))

    def active_rules(self, stage: str) -> tuple[Rule, ...]:
        """The rules that can fire at ``stage`` with the options in force, in order."""
        rules = self._by_stage.get(stage)
        if rules is None:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        return rules

    # -- sessions and decisions -----------------------------------------------------------

    def new_session(self, client_ip: str, *, rng: random.Random | None = None, clock: Clock | None = None) -> Session:
        """A session for one TCP connection from ``client_ip``: draws its tokens (the id)."""
        # Seeded from the OS per connection: ids must differ between connections and
        # worker processes, not resist guessing, and SystemRandom makes a system call
        # for every character it draws (a Gmail id has about forty).
        rng = rng or random.Random(os.urandom(16))
        tokens = {name: pattern.generate(rng) for name, pattern in self.tokens.items()}
        return Session(self, client_ip, tokens, clock or time.time)

    def decide(self, stage: str, facts: Facts, session: Session | None = None) -> Decision | None:
        """The first matching rule's decision at ``stage``; None to carry on normally.

        At ``data`` there is always a decision: without a matching rule the message is
        accepted to the inbox. Pass the connection's ``session`` (or call
        :meth:`Session.decide`) so the lines carry its id; without one a fresh session is
        drawn, which suits one-off checks only.
        """
        return (session or self.new_session(facts.client_ip)).decide(stage, facts)


class Session:
    """One connection's voice: its tokens (``id``), greeting, EHLO, replies and decisions."""

    def __init__(self, profile: Profile, client_ip: str, tokens: Mapping[str, str], clock: Clock) -> None:
        self.profile = profile
        self.client_ip = client_ip
        self.tokens = MappingProxyType(dict(tokens))
        self._clock = clock
        # The session placeholders that stay the same for the whole connection: the basic
        # ones, and the profile values that do not show the time, rendered once.
        self._basic = {**self.tokens, "ip": client_ip, "hostname": profile.hostname, "max_size": str(profile.max_size)}
        fixed = dict(self._basic)
        for name, template in profile.values.items():
            if name not in profile._timed_names:
                fixed[name] = template.render(fixed)
        self._fixed = fixed

    @property
    def id(self) -> str:
        return self.tokens["id"]

    def values(self) -> dict[str, str]:
        """The session placeholders at this moment (tokens, client, clock, profile values)."""
        values = {**self._basic, **clock_values(self._clock(), CLOCK_NAMES)}
        for name, template in self.profile.values.items():
            values[name] = template.render(values)
        return values

    def _values(self, names: frozenset[str]) -> dict[str, str]:
        """The session placeholders, the clock read and shown only where ``names`` (what
        the texts about to be rendered read) asks for it: the same values as
        :meth:`values` for every name in ``names``, without a strftime per reply."""
        values = dict(self._fixed)
        wanted = names & self.profile._timed_names
        if wanted:
            timed = [(name, template) for name, template in self.profile._timed_values if name in wanted]
            shown = wanted.union(*(template.names for _, template in timed))  # directly or in a timed value
            values.update(clock_values(self._clock(), shown))
            for name, template in timed:
                values[name] = template.render(values)
        return values

    # -- replies that are not verdicts ------------------------------------------------------

    def greeting(self) -> list[str]:
        return self.reply("greeting")

    def ehlo(self, client_ip: str | None = None, *, tls_active: bool, tls_available: bool,
             helo: str = "") -> list[str]:
        """The EHLO reply: first line, then the extensions in the profile's order;
        STARTTLS only while TLS is available and not yet active. No suffix (no id)."""
        values = self._values(self.profile._ehlo_names)
        values["ip"] = client_ip or self.client_ip
        values["helo"] = helo
        lines = [self.profile.ehlo_first.render(values)]
        offer_tls = tls_available and not tls_active
        for extension in self.profile.extensions:
            text = extension.render(values)
            if text.split(" ", 1)[0].upper() == "STARTTLS" and not offer_tls:
                continue
            lines.append(text)
        return prefix_lines(250, None, lines)

    def reply(self, kind: str, **values: Any) -> list[str]:
        """A positive or protocol reply by kind (see REPLY_KINDS for kinds and values)."""
        spec = self.profile.replies.get(kind)
        if spec is None:
            raise KeyError(f"profile {self.profile.name} has no reply {kind!r}")
        unknown = set(values) - REPLY_KINDS[kind]
        if unknown:
            raise TypeError(f"reply {kind!r} takes {sorted(REPLY_KINDS[kind]) or 'no values'}, got {sorted(unknown)}")
        merged = self._values(self.profile._reply_kind_names[kind])
        for name, value in values.items():
            merged[name] = str(value)
        return spec.render(self.profile.style, merged)

    # -- verdicts ---------------------------------------------------------------------------

    def decide(self, stage: str, facts: Facts) -> Decision | None:
        """See :meth:`Profile.decide`."""
        for rule in self.profile.active_rules(stage):
            if rule.condition.test(facts):
                return self._rule_decision(rule, facts)
        return self.accept(facts) if stage == "data" else None

    def accept(self, facts: Facts) -> Decision:
        """The default acceptance: inbox, the provider's 250 line and trace headers."""
        return self._accepted(facts, None, self._values_for(facts, "data", None, self.profile._accept_names))

    def _accepted(self, facts: Facts, rule: Rule | None, values: Mapping[str, str]) -> Decision:
        """Accept the message (to spam when ``rule`` says so) with the provider's 250 line
        and the header fields it would prepend."""
        spec = self.profile.replies["data_ok"]
        folder: Folder = "spam" if rule is not None and rule.action == "spam" else "inbox"
        headers: list[tuple[str, str]] = [(FOLDER_HEADER, folder)]
        if rule is not None:
            headers.append((RULE_HEADER, rule.id))
            headers += [(name, template.render(values)) for name, template in rule.headers]
        headers += self._trace_headers(facts, values)
        return Decision(
            action="spam" if folder == "spam" else "accept",
            stage="data",
            code=spec.code,
            enhanced_code=spec.enhanced,
            lines=tuple(spec.render(self.profile.style, values)),
            rule_id=rule.id if rule else None,
            folder=folder,
            headers=tuple(headers),
            inferred=rule.inferred if rule else False,
            reason=rule.reason.render(values) if rule else "no rule matched: delivered to the inbox",
            note=rule.note if rule else "",
        )

    def _rule_decision(self, rule: Rule, facts: Facts) -> Decision:
        if rule.reply is None:
            values = self._values_for(facts, rule.stage, rule, self.profile._accept_names | rule.names)
            return self._accepted(facts, rule, values)
        values = self._values_for(facts, rule.stage, rule, self.profile._reply_names(rule.reply) | rule.names)
        return Decision(
            action=rule.action,  # type: ignore[arg-type]
            stage=rule.stage,  # type: ignore[arg-type]
            code=rule.reply.code,
            enhanced_code=rule.reply.enhanced,
            lines=tuple(rule.reply.render(self.profile.style, values)),
            rule_id=rule.id,
            inferred=rule.inferred,
            reason=rule.reason.render(values),
            note=rule.note,
        )

    def _values_for(self, facts: Facts, stage: str, rule: Rule | None, names: frozenset[str]) -> dict[str, str]:
        """Session and fact placeholders for texts that read ``names``."""
        values = self._values(names)
        values.update(fact_values(facts, stage, rule.condition.format_codes if rule else ()))
        return values

    def _trace_headers(self, facts: Facts, values: Mapping[str, str]) -> list[tuple[str, str]]:
        if not self.profile.accepted_headers:
            return []
        trace = dict(values)
        trace.update(
            with_protocol="ESMTPS" if facts.tls else "ESMTP",
            ptr_or_unknown=f"{facts.ptr}." if facts.ptr else "unknown",
            tls_version=facts.tls_version,
            tls_cipher=facts.tls_cipher,
            tls_bits=str(facts.tls_bits) if facts.tls_bits else "",
        )
        comment = self.profile.spf_comments.get(facts.spf)
        trace["spf_comment"] = comment.render(trace) if comment is not None else ""
        clause = self.profile.dkim_clause
        trace["dkim_results"] = "; ".join(
            clause.render({"result": s.result, "domain": s.domain, "selector": s.selector, "b": s.header_b[:8]})
            for s in facts.dkim_signatures
        ) if clause is not None else ""
        return [(name, template.render(trace)) for name, template in self.profile.accepted_headers]


def clock_values(now: float, names: Collection[str]) -> dict[str, str]:
    """The clock placeholders among ``names`` for the Unix time ``now``: ``now_unix``,
    ``now_iso`` (``2025-05-25T22:22:22.000Z``) and ``now_rfc`` (RFC 5322 date, UTC)."""
    values: dict[str, str] = {}
    if "now_unix" in names:
        values["now_unix"] = str(int(now))
    if "now_iso" in names or "now_rfc" in names:
        moment = datetime.fromtimestamp(now, timezone.utc)
        iso_second, rfc = _second_texts(int(moment.timestamp()))
        if "now_iso" in names:
            values["now_iso"] = iso_second + f"{moment.microsecond // 1000:03d}Z"
        if "now_rfc" in names:
            values["now_rfc"] = rfc
    return values


@lru_cache(maxsize=8)
def _second_texts(second: int) -> tuple[str, str]:
    """The ISO form up to the seconds' dot and the RFC 5322 date of one whole second
    (Unix time, UTC). Memoised (a pure function of a number): every message and hop
    stamp of that second shows the same two texts, and each costs a strftime."""
    moment = datetime.fromtimestamp(second, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S."), format_datetime(moment)


def fact_values(facts: Facts, stage: str, format_codes: tuple[str, ...] = ()) -> dict[str, str]:
    """The placeholders a rule's texts can use, from the facts. ``address`` is the
    envelope address of the stage (MAIL FROM at mail, RCPT TO at rcpt); ``header`` is
    the header named by the first format issue the rule asked for."""
    header = ""
    if format_codes:
        header = next((name for code, name in facts.format_headers if code in format_codes), "")
    spf_sender = facts.mail_from or (f"postmaster@{facts.helo}" if facts.helo else "")
    return {
        "ip": facts.client_ip,
        "ip_version": str(facts.ip_version),
        "helo": facts.helo,
        "mail_from": facts.mail_from,
        "mail_from_domain": facts.mail_from_domain,
        "recipient": facts.recipient,
        "recipient_domain": facts.recipient.rpartition("@")[2].lower() if "@" in facts.recipient else "",
        "address": facts.recipient if stage == "rcpt" else facts.mail_from,
        "spf": facts.spf,
        "spf_domain": facts.spf_domain,
        "spf_sender": spf_sender,
        "dkim": facts.dkim,
        "dkim_domain": facts.dkim_domain,
        "dmarc": facts.dmarc,
        "dmarc_policy": facts.dmarc_policy or "",
        "dmarc_disposition": facts.dmarc_disposition,
        "arc": facts.arc,
        "rdns": facts.rdns,
        "ptr": facts.ptr,
        "from_domain": facts.from_domain,
        "header": header,
    }
