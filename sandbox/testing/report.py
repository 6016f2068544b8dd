"""A send explained in plain text: what a failed assertion and ``scenario run
--transcript`` print, so the reader sees the conversation, the checks and the rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.testing.reply import SendResult

_CHECK_ORDER = ("spf", "dkim", "dmarc", "arc", "rdns", "format")


def transcript_lines(result: "SendResult") -> list[str]:
    """The server's transcript (``C:`` client, ``S:`` server, ``*`` notes); the client's
    replies when the sandbox stored nothing."""
    if result.delivery is None:
        return [f"S: {line}" for reply in result.replies for line in reply.lines]
    return [f"{entry['dir']}: {entry['line']}" for entry in result.delivery.transcript]


def check_lines(checks: dict[str, Any]) -> list[str]:
    """One heading per check with its result, then its explanation and fixes, indented."""
    lines: list[str] = []
    for name in _CHECK_ORDER:
        value = checks.get(name)
        items = value if isinstance(value, list) else [value] if value else []
        if not items:
            lines.append(f"{name}: (none)")
        for item in items:
            if not isinstance(item, dict):
                continue
            # A format issue has a code and a detail instead of a result and an explanation.
            label = item.get("result") or item.get("code") or ""
            lines.append(f"{name}: {label}")
            if item.get("detail"):
                lines.append(f"    {item['detail']}")
            lines.extend(f"    {line}" for line in item.get("explain") or ())
            lines.extend(f"    fix: {fix}" for fix in item.get("fixes") or ())
    return lines


def describe(result: "SendResult") -> str:
    parts = [f"reply at {result.stage}:", *(f"  {line}" for line in result.reply.lines)]
    if result.delivery is not None:
        decision = result.delivery.decision
        parts.append(f"decision: action={decision.get('action')} rule={decision.get('rule_id')} "
                     f"folder={result.delivery.folder} stage={result.delivery.stage}")
        if decision.get("reason"):
            parts.append(f"  reason: {decision['reason']}")
    else:
        parts.append("decision: (the sandbox stored no delivery)")
    parts.append("transcript:")
    parts.extend(f"  {line}" for line in transcript_lines(result))
    parts.append("checks:")
    parts.extend(f"  {line}" for line in check_lines(result.checks))
    return "\n".join(parts)
