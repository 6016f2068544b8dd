"""Fixtures of the interop tests: the receiver, and private Exim / Postfix+OpenDKIM
instances relaying to it.

A program that is not installed makes the test FAIL with the reason (never skip):
`tools/interop/install.sh` installs them all, and `make test` runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mta import EximInstance, MissingTool, OpenDkim, PostfixInstance, instance_directory, make_dkim_key
from sandbox.smtp.tls import ensure_self_signed, server_context
from standin import StandInReceiver

SENDER_DOMAIN = "sender.test"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[StandInReceiver]:
    # ----------------------------------------------------------------------------------
    # SEAM: this is the one place the sandbox replaces the stand-in. Yield an object with
    # the StandInReceiver interface (address, fix, defer_until_fixed, attempts, chunking)
    # wrapping sandbox.app.Sandbox(...).run_in_thread(), with client_ips mapping the
    # source addresses 127.0.0.10 (Exim), 127.0.0.11 (Postfix) and 127.0.0.12 (swaks) to
    # the address the checks should judge. README.md in this folder has an adapter that
    # passed these tests against the sandbox. The final tests then also assert on the
    # sandbox's stored delivery (dkim=pass, spf=pass, dmarc=pass, folder inbox) once
    # fix has put the MTA's DKIM key into the zone.
    # ----------------------------------------------------------------------------------
    # Like Gmail's MX (and the sandbox) the stand-in offers STARTTLS, with a
    # self-signed certificate the MTAs accept opportunistically.
    tls = server_context(*ensure_self_signed(tmp_path / "tls", "mx.google.com"))
    with StandInReceiver(tls_context=tls) as running:
        yield running


@pytest.fixture
def exim(receiver: StandInReceiver) -> Iterator[EximInstance]:
    try:
        with instance_directory("exim") as directory:
            key = make_dkim_key(directory / "dkim-private.pem", SENDER_DOMAIN, "exim")
            with EximInstance(directory, relay=receiver.address, key=key) as instance:
                yield instance
    except MissingTool as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture
def postfix(receiver: StandInReceiver) -> Iterator[PostfixInstance]:
    try:
        with instance_directory("postfix") as directory:
            key = make_dkim_key(directory / "dkim-private.pem", SENDER_DOMAIN, "postfix")
            with OpenDkim(directory / "opendkim", key) as opendkim, \
                    PostfixInstance(directory, relay=receiver.address, signer=opendkim) as instance:
                yield instance
    except MissingTool as missing:
        pytest.fail(str(missing), pytrace=False)
