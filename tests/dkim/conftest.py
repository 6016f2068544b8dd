"""Key pairs for the DKIM tests, made once per test process (RSA generation is slow)."""

from __future__ import annotations

import pytest

from dkim_testkeys import KeyPair, ed25519_key, rsa_key


@pytest.fixture(scope="session")
def rsa2048() -> KeyPair:
    return rsa_key(2048)


@pytest.fixture(scope="session")
def rsa1024() -> KeyPair:
    return rsa_key(1024)


@pytest.fixture(scope="session")
def rsa512() -> KeyPair:
    return rsa_key(512)


@pytest.fixture(scope="session")
def ed25519() -> KeyPair:
    return ed25519_key()
