"""Test-writing helpers for smtp-sandbox: a sandbox per test, zones built in code, DKIM
keys published and used in one call, sends over real SMTP and assertions that explain.

    from sandbox.testing import SandboxHarness, assert_rejected

    with SandboxHarness(client_ip="192.0.2.10") as sandbox:
        sandbox.zone.spf("shop.example", "ip4:192.0.2.10 -all")
        result = sandbox.send("orders@shop.example", "user@gmail.com")

The pytest plugin (:mod:`sandbox.pytest_plugin`) offers the same as fixtures.
"""

from sandbox.testing.assertions import (
    assert_check,
    assert_deferred,
    assert_delivered,
    assert_inbox,
    assert_rejected,
    assert_spam,
)
from sandbox.testing.harness import ProfileCache, SandboxFactory, SandboxHarness
from sandbox.testing.keys import DkimKey, generate_dkim_key
from sandbox.testing.message import make_message, sign_message
from sandbox.testing.reply import SendResult, SmtpReply
from sandbox.testing.zone import ZoneBuilder

__all__ = [
    "DkimKey",
    "ProfileCache",
    "SandboxFactory",
    "SandboxHarness",
    "SendResult",
    "SmtpReply",
    "ZoneBuilder",
    "assert_check",
    "assert_deferred",
    "assert_delivered",
    "assert_inbox",
    "assert_rejected",
    "assert_spam",
    "generate_dkim_key",
    "make_message",
    "sign_message",
]
