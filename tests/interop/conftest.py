"""Fixtures of the interop tests: the sandbox as receiver, and private Exim /
Postfix+OpenDKIM instances relaying to it.

A program that is not installed makes the test FAIL with the reason (never skip, and
not an ERROR at set-up): the MTA fixtures are factories the test calls in its own body
(``exim = start_exim()``), so the :class:`~mta.MissingTool` raised there is the test's
failure. `tools/interop/install.sh` installs them all, and `make test` runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from mta import EximInstance, MissingTool, OpenDkim, PostfixInstance, instance_directory, make_dkim_key
from receiver import SENDER_DOMAIN, SandboxReceiver


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[SandboxReceiver]:
    """The Gmail sandbox, its store in ``tmp_path/data``, the sender's zone still broken."""
    with SandboxReceiver(tmp_path / "data") as running:
        yield running


def _fail_if_missing(start: Callable[[], object]) -> object:
    """What ``start`` returns; a missing program fails the calling test with its reason."""
    try:
        return start()
    except MissingTool as missing:
        reason = str(missing)
    pytest.fail(reason, pytrace=False)  # outside the except: no "during handling" chain


@pytest.fixture
def start_exim(receiver: SandboxReceiver) -> Iterator[Callable[[], EximInstance]]:
    """Call it to get a private Exim relaying to ``receiver`` (torn down after the test)."""
    with ExitStack() as stack:
        def start() -> EximInstance:
            def build() -> EximInstance:
                directory = stack.enter_context(instance_directory("exim"))
                key = make_dkim_key(directory / "dkim-private.pem", SENDER_DOMAIN, "exim")
                return stack.enter_context(EximInstance(directory, relay=receiver.address, key=key))
            return _fail_if_missing(build)  # type: ignore[return-value]
        yield start


@pytest.fixture
def start_postfix(receiver: SandboxReceiver) -> Iterator[Callable[[], PostfixInstance]]:
    """Call it to get a private Postfix + OpenDKIM relaying to ``receiver``."""
    with ExitStack() as stack:
        def start() -> PostfixInstance:
            def build() -> PostfixInstance:
                directory = stack.enter_context(instance_directory("postfix"))
                key = make_dkim_key(directory / "dkim-private.pem", SENDER_DOMAIN, "postfix")
                opendkim = stack.enter_context(OpenDkim(directory / "opendkim", key))
                return stack.enter_context(PostfixInstance(directory, relay=receiver.address, signer=opendkim))
            return _fail_if_missing(build)  # type: ignore[return-value]
        yield start
