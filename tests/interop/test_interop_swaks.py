"""swaks (Debian's swaks) as a third client: STARTTLS and PIPELINING against the sandbox.

swaks is the tool people reach for to poke a mail server by hand, so its transcript is
what they will compare with Gmail's. Its mail is unsigned, so the fix that matters is
SPF: once the zone allows the address 127.0.0.12 is judged as, SPF and DMARC pass.
Debian 12's swaks (20201014.0) has no BDAT/CHUNKING support at all (no option for it;
later upstream releases added it), so BDAT is exercised by Exim instead, which uses
CHUNKING by itself when the sandbox offers it (test_interop_exim.py reads BDAT in the
sandbox's transcript).
"""

from __future__ import annotations

import re
import subprocess

import pytest

from mta import MissingTool, TIMEOUT, swaks_binary
from receiver import ACCEPTED, G1_FIRST_LINE, JUDGED_IP, SandboxReceiver

SENDER = "alice@sender.test"
RECIPIENT = "user@gmail.com"
SOURCE_IP = "127.0.0.12"  # swaks' own loopback source address, next to Exim's and Postfix's


def swaks(receiver: SandboxReceiver) -> subprocess.CompletedProcess[str]:
    """One swaks session: STARTTLS (required), pipelined MAIL/RCPT/DATA."""
    try:
        binary = swaks_binary()
    except MissingTool as missing:
        reason = str(missing)
    else:
        return _run_swaks(binary, receiver)
    pytest.fail(reason, pytrace=False)  # outside the except: no "during handling" chain


def _run_swaks(binary: str, receiver: SandboxReceiver) -> subprocess.CompletedProcess[str]:
    host, port = receiver.address
    return subprocess.run(
        [binary, "--server", f"{host}:{port}", "--local-interface", SOURCE_IP, "--helo", "client.sender.test",
         "--from", SENDER, "--to", RECIPIENT, "--tls", "--pipeline", "--timeout", "10"],
        capture_output=True, text=True, timeout=TIMEOUT)


def test_swaks_over_starttls_with_pipelining_sees_gmail_rejection_then_acceptance(
        receiver: SandboxReceiver) -> None:
    rejected = swaks(receiver)
    # 26: "server did not accept mail following data"
    assert rejected.returncode == 26, rejected.stdout + rejected.stderr
    [first] = receiver.attempts()
    reply = first.reply_lines
    assert reply[0] == G1_FIRST_LINE, reply
    assert f"550-5.7.26  SPF [sender.test] with ip: [{JUDGED_IP}] = did not pass" in reply, reply
    # "~" marks lines inside TLS, "*" an error reply; every reply line arrives intact.
    transcript = rejected.stdout.splitlines()
    start = transcript.index(f"<~* {reply[0]}")
    assert transcript[start:start + len(reply)] == [f"<~* {line}" for line in reply]

    receiver.fix()
    accepted = swaks(receiver)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    transcript = accepted.stdout.splitlines()
    starttls = transcript.index(" -> STARTTLS")
    assert re.fullmatch(r"<-  220 (2\.0\.0 )?Ready to start TLS", transcript[starttls + 1])
    assert transcript[starttls + 2].startswith("=== TLS started with cipher TLSv1.3")
    # PIPELINING: the envelope and DATA go out in one batch before any reply is read.
    mail = transcript.index(f" ~> MAIL FROM:<{SENDER}>")
    assert transcript[mail:mail + 3] == [f" ~> MAIL FROM:<{SENDER}>", f" ~> RCPT TO:<{RECIPIENT}>", " ~> DATA"]
    assert [line[:7] for line in transcript[mail + 3:mail + 6]] == ["<~  250", "<~  250", "<~  354"]
    final = [line[4:] for line in transcript if line.startswith("<~  250 2.0.0")]
    assert len(final) == 1 and ACCEPTED.fullmatch(final[0]), final

    first, second = receiver.attempts()
    for attempt in (first, second):
        assert (attempt.peer, attempt.helo, attempt.tls) == (SOURCE_IP, "client.sender.test", True)
        assert (attempt.mail_from, attempt.rcpt_tos) == (SENDER, (RECIPIENT,))
    assert second.reply_lines == (final[0],)
    checks = second.delivery.checks
    assert (checks["spf"]["result"], checks["dmarc"]["result"]) == ("pass", "pass"), checks
    assert second.delivery.folder == "inbox"
