"""The pytest plugin (entry point ``pytest11``): sandbox fixtures for any test suite.

``smtp_sandbox`` gives each test its own sandbox (started on the first send, stopped
after the test); ``smtp_sandbox_factory`` makes sandboxes for wider scopes. Options
come from the factory call or, for ``smtp_sandbox``, from a marker::

    @pytest.mark.smtp_sandbox(profile="yahoo", client_ip="192.0.2.10")
    def test_spf(smtp_sandbox): ...

Everything lives in :mod:`sandbox.testing`; this module only wires it to pytest and
imports it lazily, so suites that never use the fixtures pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sandbox.testing import ProfileCache, SandboxFactory, SandboxHarness


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "smtp_sandbox(**options): options for the smtp_sandbox fixture (profile, client_ip, "
        "client_ips, bulk_senders, unknown_users, over_quota, faults, require_tls, zone)",
    )


@pytest.fixture(scope="session")
def smtp_sandbox_profiles() -> "ProfileCache":
    """The loaded profiles of this process (of this xdist worker): each parsed once."""
    from sandbox.testing import ProfileCache

    return ProfileCache()


@pytest.fixture(scope="session")
def smtp_sandbox_factory(smtp_sandbox_profiles: "ProfileCache") -> Iterator["SandboxFactory"]:
    """``factory(zone=None, **options) -> SandboxHarness`` for fixtures of any scope;
    every sandbox it made is stopped at the end of the session (or earlier by
    ``harness.stop()`` / ``with harness:``)."""
    from sandbox.testing import SandboxFactory

    factory = SandboxFactory(smtp_sandbox_profiles)
    yield factory
    factory.close()


@pytest.fixture
def smtp_sandbox(smtp_sandbox_profiles: "ProfileCache", request: pytest.FixtureRequest) -> Iterator["SandboxHarness"]:
    """A sandbox for one test: Gmail by default, free ports, its own store and zone."""
    from sandbox.testing import SandboxHarness

    marker = request.node.get_closest_marker("smtp_sandbox")
    harness = SandboxHarness(profiles=smtp_sandbox_profiles, **(marker.kwargs if marker is not None else {}))
    yield harness
    harness.stop()
