"""Run one validated scenario on its own sandbox and compare the outcome with its
``expect`` section; every mismatch is one readable line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fake_dns import ZoneError
from sandbox.scenario.loader import ScenarioError
from sandbox.testing import DkimKey, ProfileCache, SandboxHarness, SendResult, make_message, sign_message


@dataclass(frozen=True)
class ScenarioOutcome:
    """What one scenario did: the send's result and the expectations it missed."""

    file: str
    name: str
    result: SendResult
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        reply = self.result.reply
        return {
            "file": self.file, "name": self.name, "passed": self.passed, "failures": list(self.failures),
            "reply": {"code": reply.code, "enhanced_code": reply.enhanced_code, "stage": reply.stage,
                      "lines": list(reply.lines)},
            "action": self.result.action, "folder": self.result.folder, "rule": self.result.rule_id,
            "checks": {name: self.result.result(name) for name in ("spf", "dkim", "dmarc", "arc", "rdns")},
        }


def run_scenario(scenario: dict[str, Any], *, file: str, profiles: ProfileCache | None = None) -> ScenarioOutcome:
    """Build the sandbox the scenario describes, send its message, check ``expect``.
    Raises :class:`ScenarioError` for content the schema cannot catch (bad zone text,
    a key named in ``sign`` that ``dkim_keys`` does not make, an unknown profile)."""
    options = {key: scenario[key] for key in ("client_ip", "faults", "bulk_senders", "unknown_users")
               if key in scenario}
    try:
        harness = SandboxHarness(profiles=profiles, profile=scenario.get("profile", "gmail"), **options)
        harness.profile  # load now, so a bad profile is reported as the scenario's mistake
    except ValueError as exc:
        raise ScenarioError(file, "profile", str(exc)) from None
    zone_texts = [scenario["zone"]] if "zone" in scenario else []
    for index, text in enumerate(zone_texts + scenario.get("zones", [])):
        try:
            harness.zone.bind(text)
        except ZoneError as exc:
            raise ScenarioError(file, "zone" if "zone" in scenario and index == 0 else f"zones[{index}]",
                                exc.args[0] if exc.args else str(exc)) from None
    keys = {}
    for spec in scenario.get("dkim_keys", []):
        key = harness.dkim_key(spec["domain"], spec.get("selector", "mail"), key_type=spec.get("key_type", "rsa"),
                               bits=spec.get("bits", 2048), publish=spec.get("publish", True))
        keys[key.dns_name] = key
    send = scenario["send"]
    with harness:
        result = harness.send(send["from"], send["to"], _message(send, keys, file), helo=send.get("helo", "mail.example.com"),
                              starttls=send.get("starttls", True))
    return ScenarioOutcome(file, scenario["name"], result, tuple(_mismatches(scenario["expect"], result)))


def _key(keys: dict[str, DkimKey], name: str, file: str, where: str) -> DkimKey:
    if name not in keys:
        known = ", ".join(sorted(keys)) or "none"
        raise ScenarioError(file, where, f"no key {name} among dkim_keys (made: {known})")
    return keys[name]


def _message(send: dict[str, Any], keys: dict[str, DkimKey], file: str) -> bytes:
    """The message as it reaches the provider: made, extra header lines added, signed,
    then changed and sealed by a forwarding list when the scenario says so."""
    fields = {name: send[name] for name in ("subject", "body", "headers") if name in send}
    message = make_message(send.get("headers", {}).get("From") or send["from"], send["to"], **fields)
    if send.get("raw_headers"):
        message = "".join(f"{line}\r\n" for line in send["raw_headers"]).encode() + message
    for index, name in enumerate(send.get("sign", [])):
        message = sign_message(message, _key(keys, name, file, f"send.sign[{index}]"))
    if "footer" in send:
        message = message + send["footer"].replace("\r\n", "\n").replace("\n", "\r\n").encode()
    if "forward" in send:
        message = _arc_seal(message, send["forward"], _key(keys, send["forward"]["arc_key"], file, "send.forward.arc_key"),
                            [keys[name] for name in send.get("sign", [])])
    return message


def _arc_seal(message: bytes, forward: dict[str, str], key: DkimKey, signed_by: list[DkimKey]) -> bytes:
    """What a mailing list adds: its Authentication-Results for the message as it came in
    (the author's DKIM passed there, before the footer), then its ARC set."""
    import dkim

    results = "; ".join(f"dkim=pass header.d={signer.domain}" for signer in signed_by) or "dkim=none"
    with_results = f"Authentication-Results: {forward['by']}; {results}\r\n".encode() + message
    sealed = dkim.arc_sign(with_results, key.selector.encode(), key.domain.encode(), key.private,
                           forward["by"].encode())
    return b"".join(sealed) + with_results


def _mismatches(expect: dict[str, Any], result: SendResult) -> list[str]:
    actual = {
        "code": result.code, "enhanced_code": result.enhanced_code, "stage": result.stage,
        "action": result.action, "folder": result.folder, "rule": result.rule_id,
    }
    problems = [f"{name}: expected {expect[name]!r}, got {actual[name]!r}"
                for name in actual if name in expect and expect[name] != actual[name]]
    if "text" in expect and " ".join(expect["text"].split()) not in " ".join(result.reply.text.split()):
        problems.append(f"text: expected the reply to contain {expect['text']!r}")
    for check, wanted in expect.get("checks", {}).items():
        if result.result(check) != wanted:
            problems.append(f"checks.{check}: expected {wanted!r}, got {result.result(check)!r}")
    return problems
