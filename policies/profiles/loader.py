"""Load and validate a profile file (YAML) into a :class:`Profile`.

Profiles are meant to be copied and edited by users, so every mistake must come back
as one line naming the file, the place (section, rule number and id) and what was
expected, before the server starts: never as a traceback, never at the first message.
The format is described in policies/profiles/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from policies.profiles.conditions import SPF_RESULTS, ConditionError, compile_when
from policies.profiles.decision import ACTIONS, STAGES
from policies.profiles.profile import (
    DKIM_CLAUSE_NAMES,
    FACT_NAMES,
    REPLY_KINDS,
    SESSION_NAMES,
    TRACE_NAMES,
    Profile,
    Rule,
    option_problem,
)
from policies.profiles.replies import ReplySpec, ReplyStyle, is_enhanced_code, parse_reply_line
from policies.profiles.template import Template, TemplateError
from policies.profiles.tokens import TokenPattern

BUILTIN_DIR = Path(__file__).parent
BUILTIN = ("gmail", "yahoo", "outlook")
REQUIRED_OPTIONS = ("require_tls", "dmarc_mode", "max_size")
_RULE_ID = re.compile(r"[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9-]+)?(?:/[a-z0-9-]+)?\Z")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
# libyaml's loader when PyYAML was built with it: same safe subset, ten times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOP_KEYS = {"name", "description", "hostname", "domains", "options", "session", "ehlo", "replies",
             "accepted_headers", "spf_comments", "dkim_clause", "rules"}
_RULE_KEYS = {"id", "stage", "action", "when", "options", "reply", "reason", "headers", "inferred", "note"}


class ProfileError(ValueError):
    """A profile that does not load: ``file: where: problem``."""

    def __init__(self, file: str, where: str, problem: str) -> None:
        super().__init__(f"{file}: {where}: {problem}" if where else f"{file}: {problem}")
        self.file, self.where, self.problem = file, where, problem


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name (``gmail``, ``yahoo``, ``outlook``) or a profile file."""
    text = str(name_or_path)
    if text in BUILTIN:
        path = BUILTIN_DIR / f"{text}.yaml"
    else:
        path = Path(text)
        if not path.is_file():
            raise ProfileError(text, "", f"no such profile file; built-in profiles are {', '.join(BUILTIN)}")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), "", f"cannot read: {exc}") from None
    return parse_profile(content, source=str(path))


def parse_profile(text: str, *, source: str = "<profile>") -> Profile:
    """Parse and validate profile YAML ``text``; ``source`` names it in errors."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(source, where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return _Loader(source).profile(data)


class _Loader:
    """One load: knows the file name for errors and the names templates may use."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.session_names: frozenset[str] = SESSION_NAMES

    def fail(self, where: str, problem: str) -> NoReturn:
        raise ProfileError(self.source, where, problem)

    # -- the whole file ---------------------------------------------------------------------

    def profile(self, data: Any) -> Profile:
        data = self.mapping(data, "", "the profile must be a mapping (name:, hostname:, ..., rules:)")
        self.keys(data, "", _TOP_KEYS, required=("name", "hostname", "domains", "options", "session", "ehlo",
                                                "replies", "rules"))
        name = self.text(data["name"], "name")
        hostname = self.text(data["hostname"], "hostname")
        domains = data["domains"]
        if not isinstance(domains, list) or not domains or not all(isinstance(d, str) and d for d in domains):
            self.fail("domains", "expected a non-empty list of domain names")
        options = self.options(data["options"])
        session = self.mapping(data["session"], "session", "expected a mapping (tokens:, suffix:, wrap:, ...)")
        self.keys(session, "session", {"tokens", "values", "suffix", "wrap", "multiline"}, required=("tokens",))
        tokens = self.tokens(session["tokens"])
        self.session_names = SESSION_NAMES | frozenset(tokens)
        values = self.values(session.get("values") or {})
        self.session_names |= frozenset(values)
        style = self.style(session)
        spf_comments = self.spf_comments(data.get("spf_comments"))
        dkim_clause = None
        if data.get("dkim_clause") is not None:
            dkim_clause = self.template(data["dkim_clause"], "dkim_clause", DKIM_CLAUSE_NAMES)
        trace_names = self.session_names | FACT_NAMES | TRACE_NAMES
        if spf_comments is None:
            trace_names -= {"spf_comment"}
        if dkim_clause is None:
            trace_names -= {"dkim_results"}
        rules = self.rules(data["rules"], options)
        first, extensions = self.ehlo(data["ehlo"])
        return Profile(
            name=name,
            source=self.source,
            hostname=hostname,
            domains=frozenset(d.lower().rstrip(".") for d in domains),
            options=MappingProxyType(options),
            style=style,
            tokens=MappingProxyType(tokens),
            values=MappingProxyType(values),
            replies=MappingProxyType(self.replies(data["replies"], rules)),
            ehlo_first=first,
            extensions=extensions,
            accepted_headers=self.header_list(data.get("accepted_headers") or [], "accepted_headers", trace_names),
            spf_comments=MappingProxyType(spf_comments or {}),
            dkim_clause=dkim_clause,
            rules=rules,
        )

    # -- sections ---------------------------------------------------------------------------

    def options(self, data: Any) -> dict[str, Any]:
        data = self.mapping(data, "options", "expected a mapping of option: value")
        for name in REQUIRED_OPTIONS:
            if name not in data:
                self.fail("options", f"missing option {name!r} (required: {', '.join(REQUIRED_OPTIONS)})")
        for name, value in data.items():
            problem = option_problem(str(name), value)
            if problem:
                self.fail(f"options.{name}", f"{problem}, got {value!r}")
        return dict(data)

    def tokens(self, data: Any) -> dict[str, TokenPattern]:
        data = self.mapping(data, "session.tokens", "expected a mapping of token name: pattern (at least id:)")
        if "id" not in data:
            self.fail("session.tokens", "missing the per-connection token 'id'")
        tokens = {}
        for name, pattern in data.items():
            where = f"session.tokens.{name}"
            self.placeholder_name(name, where, SESSION_NAMES - {"id"} | FACT_NAMES)
            try:
                tokens[name] = TokenPattern.parse(pattern)
            except ValueError as exc:
                self.fail(where, str(exc))
        return tokens

    def values(self, data: Any) -> dict[str, Template]:
        data = self.mapping(data, "session.values", "expected a mapping of value name: text")
        values = {}
        for name, text in data.items():
            where = f"session.values.{name}"
            self.placeholder_name(name, where, self.session_names | FACT_NAMES)
            values[name] = self.template(text, where, self.session_names)
        return values

    def style(self, session: Mapping[str, Any]) -> ReplyStyle:
        width = session.get("wrap")
        if width is not None and (not isinstance(width, int) or isinstance(width, bool) or width < 20):
            self.fail("session.wrap", f"expected a line length of at least 20, or null for no wrapping, got {width!r}")
        multiline = session.get("multiline", True)
        if not isinstance(multiline, bool):
            self.fail("session.multiline", f"expected true or false, got {multiline!r}")
        suffix = session.get("suffix")
        return ReplyStyle(width, multiline, self.template(suffix, "session.suffix", self.session_names) if suffix else None)

    def ehlo(self, data: Any) -> tuple[Template, tuple[Template, ...]]:
        data = self.mapping(data, "ehlo", "expected a mapping with first: and extensions:")
        self.keys(data, "ehlo", {"first", "extensions"}, required=("first", "extensions"))
        names = self.session_names | {"helo"}
        extensions = data["extensions"]
        if not isinstance(extensions, list):
            self.fail("ehlo.extensions", "expected a list of extension lines, in the provider's order")
        first = self.template(data["first"], "ehlo.first", names)
        return first, tuple(self.template(e, f"ehlo.extensions[{i}]", names) for i, e in enumerate(extensions))

    def spf_comments(self, data: Any) -> dict[str, Template] | None:
        if data is None:
            return None
        data = self.mapping(data, "spf_comments", "expected a mapping of SPF result: comment text")
        missing = SPF_RESULTS - set(data)
        if missing:
            self.fail("spf_comments", f"missing a comment for {', '.join(sorted(missing))}")
        names = self.session_names | FACT_NAMES
        comments = {}
        for result, text in data.items():
            if result not in SPF_RESULTS:
                self.fail(f"spf_comments.{result}", f"not an SPF result; results are {', '.join(sorted(SPF_RESULTS))}")
            comments[result] = self.template(text, f"spf_comments.{result}", names)
        return comments

    def replies(self, data: Any, rules: tuple[Rule, ...]) -> dict[str, ReplySpec]:
        data = self.mapping(data, "replies", "expected a mapping of reply kind: reply")
        missing = [kind for kind in REPLY_KINDS if kind not in data]
        if missing:
            self.fail("replies", f"missing replies: {', '.join(missing)}")
        by_id = {rule.id: rule for rule in rules}
        replies = {}
        for kind, spec in data.items():
            where = f"replies.{kind}"
            if kind not in REPLY_KINDS:
                self.fail(where, f"unknown reply kind; kinds are {', '.join(REPLY_KINDS)}")
            names = self.session_names | REPLY_KINDS[kind]
            if isinstance(spec, Mapping) and "rule" in spec:
                replies[kind] = self.rule_reply(spec, where, by_id, names)
            else:
                replies[kind] = self.reply(spec, where, names)
        return replies

    def rule_reply(self, spec: Mapping[str, Any], where: str, by_id: Mapping[str, Rule],
                   names: frozenset[str]) -> ReplySpec:
        """``{rule: G52}``: this reply is that rule's reply (one text, two ways to reach it)."""
        self.keys(spec, where, {"rule"})
        rule = by_id.get(spec["rule"])
        if rule is None or rule.reply is None:
            self.fail(where, f"rule {spec['rule']!r} is not a refusing rule of this profile")
        extra = set().union(*(t.names for t in rule.reply.texts)) - names
        if extra:
            self.fail(where, f"{rule.label} uses {', '.join('{' + n + '}' for n in sorted(extra))}, "
                             f"which this reply does not have; it has {', '.join(sorted(names))}")
        return rule.reply

    def rules(self, data: Any, options: Mapping[str, Any]) -> tuple[Rule, ...]:
        if not isinstance(data, list):
            self.fail("rules", "expected a list of rules")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(data, start=1):
            rule = self.rule(item, index, options)
            if rule.id in seen:
                self.fail(rule.label, f"id {rule.id!r} is already used by rule {seen[rule.id]}; "
                                      "cite the same row twice as G6 and G6/variant")
            seen[rule.id] = index
            rules.append(rule)
        return tuple(rules)

    def rule(self, item: Any, index: int, options: Mapping[str, Any]) -> Rule:
        where = f"rule {index}"
        item = self.mapping(item, where, "expected a mapping (id:, stage:, action:, when:, reply:, ...)")
        rule_id = item.get("id")
        if isinstance(rule_id, str) and _RULE_ID.match(rule_id):
            where = f"rule {index} ({rule_id})"
        else:
            self.fail(where, f"needs an id citing its row in providers.md (G1, Y2, M1, G6/none, X-name), got {rule_id!r}")
        self.keys(item, where, _RULE_KEYS, required=("id", "stage", "action"))
        stage, action = item["stage"], item["action"]
        if stage not in STAGES:
            self.fail(where, f"unknown stage {stage!r}; stages are {', '.join(STAGES)} (data = end of DATA)")
        if action not in ACTIONS:
            self.fail(where, f"unknown action {action!r}; actions are {', '.join(ACTIONS)}")
        inferred = item.get("inferred", False)
        if not isinstance(inferred, bool):
            self.fail(where, f"inferred is true or false, got {inferred!r}")
        note = item.get("note", "")
        if not isinstance(note, str) or (inferred and not note.strip()):
            self.fail(where, "an inferred rule needs a note: saying what was inferred and why")
        if rule_id.startswith("X-") and not inferred:
            self.fail(where, "an X- rule is not from the reference: mark it inferred: true with a note:")
        rule_options = self.rule_options(item.get("options"), where, options)
        names = self.session_names | FACT_NAMES
        reply = None
        if action in ("defer", "reject"):
            if "reply" not in item:
                self.fail(where, f"a {action} rule needs a reply: (code, enhanced code and text)")
            reply = self.reply(item["reply"], f"{where}: reply", names)
            wanted = 4 if action == "defer" else 5
            if reply.code // 100 != wanted:
                self.fail(where, f"a {action} rule needs a {wanted}xx code, got {reply.code}")
        else:
            if "reply" in item:
                self.fail(where, f"an {action} rule answers with the profile's data_ok reply; remove reply:")
            if stage != "data":
                self.fail(where, f"{action} is only possible at stage data (end of DATA)")
        try:
            condition = compile_when(item.get("when"), stage)
        except ConditionError as exc:
            self.fail(where, str(exc))
        return Rule(
            index=index,
            id=rule_id,
            stage=stage,
            action=action,
            condition=condition,
            reply=reply,
            reason=self.template(item.get("reason", ""), f"{where}: reason", names),
            headers=self.header_list(item.get("headers") or [], f"{where}: headers", names),
            options=MappingProxyType(rule_options),
            inferred=inferred,
            note=note.strip(),
        )

    def rule_options(self, data: Any, where: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if data is None:
            return {}
        data = self.mapping(data, f"{where}: options", "expected a mapping of option: value the rule needs")
        for name, value in data.items():
            if name not in options:
                self.fail(f"{where}: options", f"the profile has no option {name!r}; it has {', '.join(options)}")
            problem = option_problem(name, value)
            if problem:
                self.fail(f"{where}: options.{name}", f"{problem}, got {value!r}")
        return dict(data)

    # -- pieces -----------------------------------------------------------------------------

    def reply(self, spec: Any, where: str, names: frozenset[str]) -> ReplySpec:
        """A reply: ``"550 5.7.1 text"`` or {code:, enhanced:, text: | lines:, suffix:}."""
        if isinstance(spec, str):
            parsed = parse_reply_line(spec)
            if parsed is None:
                self.fail(where, f"expected 'CODE [ENHANCED] text' starting with a 2xx-5xx code, got {spec!r}")
            code, enhanced, text = parsed
            return ReplySpec(code, enhanced, (self.template(text, where, names),))
        spec = self.mapping(spec, where, "expected 'CODE [ENHANCED] text' or a mapping with code: and text:")
        self.keys(spec, where, {"code", "enhanced", "text", "lines", "suffix"}, required=("code",))
        code = spec["code"]
        if not isinstance(code, int) or isinstance(code, bool) or not 200 <= code <= 599:
            self.fail(where, f"bad code {code!r}: expected a 3-digit reply code from 200 to 599")
        enhanced = spec.get("enhanced")
        if enhanced is not None:
            if not isinstance(enhanced, str) or not is_enhanced_code(enhanced):
                self.fail(where, f"bad enhanced code {enhanced!r}: expected class.subject.detail like 5.7.26")
            if int(enhanced[0]) != code // 100:
                self.fail(where, f"enhanced code {enhanced} does not match reply code {code}")
        if ("text" in spec) == ("lines" in spec):
            self.fail(where, "missing text: give text: (paragraphs to wrap) or lines: (explicit lines), not both")
        body = spec.get("text", spec.get("lines"))
        paragraphs = [body] if isinstance(body, str) and "text" in spec else body
        if not isinstance(paragraphs, list) or not paragraphs:
            self.fail(where, "text: is a text or a list of paragraphs; lines: a non-empty list of lines")
        suffix = spec.get("suffix", True)
        if not isinstance(suffix, bool):
            self.fail(where, f"suffix is true or false, got {suffix!r}")
        texts = tuple(self.template(p, f"{where}[{i}]", names) for i, p in enumerate(paragraphs))
        return ReplySpec(code, enhanced, texts, explicit_lines="lines" in spec, suffix=suffix)

    def header_list(self, data: Any, where: str, names: frozenset[str]) -> tuple[tuple[str, Template], ...]:
        """``- Name: value template`` entries, in order."""
        if not isinstance(data, list):
            self.fail(where, "expected a list of '- Header-Name: value' entries")
        headers = []
        for i, entry in enumerate(data):
            if not isinstance(entry, Mapping) or len(entry) != 1:
                self.fail(f"{where}[{i}]", f"expected one 'Header-Name: value' entry, got {entry!r}")
            (name, value), = entry.items()
            if not isinstance(name, str) or not re.fullmatch(r"[!-9;-~]+", name):
                self.fail(f"{where}[{i}]", f"bad header field name {name!r}")
            headers.append((name, self.template(value, f"{where}[{i}]", names)))
        return tuple(headers)

    def template(self, text: Any, where: str, names: frozenset[str]) -> Template:
        try:
            return Template.parse(text, names)
        except TemplateError as exc:
            self.fail(where, str(exc))

    def placeholder_name(self, name: Any, where: str, taken: frozenset[str]) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(where, "names are lower-case letters, digits and _ (starting with a letter)")
        if name in taken:
            self.fail(where, f"{name!r} is already a placeholder name")

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected a non-empty text, got {value!r}")
        return value.strip()

    def mapping(self, value: Any, where: str, expected: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, f"{expected}; got {type(value).__name__}")
        return value

    def keys(self, data: Mapping[str, Any], where: str, allowed: set[str], required: tuple[str, ...] = ()) -> None:
        for key in data:
            if key not in allowed:
                self.fail(where or "top level", f"unknown key {key!r}; expected {', '.join(sorted(allowed))}")
        for key in required:
            if key not in data:
                self.fail(where or "top level", f"missing {key}:")

