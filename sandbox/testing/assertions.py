"""Assertions on a :class:`SendResult` whose failure message is the whole story: the
expected outcome, the reply, the transcript and every check with its explanation."""

from __future__ import annotations

from sandbox.testing.reply import SendResult


def _fail(result: SendResult, expected: str) -> None:
    raise AssertionError(f"expected {expected}\n{result.describe()}")


def _reply_matches(result: SendResult, code: int | None, enhanced_code: str | None, stage: str | None,
                   text: str | None) -> bool:
    reply = result.reply
    return ((code is None or reply.code == code)
            and (enhanced_code is None or reply.enhanced_code == enhanced_code)
            and (stage is None or reply.stage == stage)
            and (text is None or " ".join(text.split()) in " ".join(reply.text.split())))


def assert_delivered(result: SendResult, folder: str = "inbox") -> None:
    """Accepted with 250 at the end of DATA and filed in ``folder`` (``inbox`` or ``spam``)."""
    __tracebackhide__ = True
    if not (result.code == 250 and result.stage == "data" and result.folder == folder):
        _fail(result, f"250 at end of DATA, filed in {folder}")


def assert_inbox(result: SendResult) -> None:
    __tracebackhide__ = True
    assert_delivered(result, "inbox")


def assert_spam(result: SendResult) -> None:
    __tracebackhide__ = True
    assert_delivered(result, "spam")


def assert_rejected(result: SendResult, code: int | None = None, enhanced_code: str | None = None, *,
                    stage: str | None = None, text: str | None = None) -> None:
    """A permanent refusal (5xx), optionally with this code, enhanced code, stage and
    words (``text``; line breaks in the reply count as spaces)."""
    __tracebackhide__ = True
    if not (500 <= result.code < 600 and _reply_matches(result, code, enhanced_code, stage, text)):
        _fail(result, _expected("5xx refusal", code, enhanced_code, stage, text))


def assert_deferred(result: SendResult, code: int | None = None, enhanced_code: str | None = None, *,
                    stage: str | None = None, text: str | None = None) -> None:
    """A temporary refusal (4xx): the sender should retry later."""
    __tracebackhide__ = True
    if not (400 <= result.code < 500 and _reply_matches(result, code, enhanced_code, stage, text)):
        _fail(result, _expected("4xx deferral", code, enhanced_code, stage, text))


def assert_check(result: SendResult, check: str, expected: str) -> None:
    """One check's result word, e.g. ``assert_check(result, "dkim", "fail")``."""
    __tracebackhide__ = True
    actual = result.result(check)
    if actual != expected:
        _fail(result, f"{check}={expected}, got {check}={actual}")


def _expected(kind: str, code: int | None, enhanced_code: str | None, stage: str | None, text: str | None) -> str:
    details = [str(part) for part in (code, enhanced_code) if part is not None]
    if stage is not None:
        details.append(f"at {stage}")
    if text is not None:
        details.append(f"with text containing {text!r}")
    return " ".join([kind, *details])
