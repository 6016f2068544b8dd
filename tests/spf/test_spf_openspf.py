"""The openspf RFC 7208 conformance suite (tests/data/openspf/rfc7208-tests.yml), one
pytest case per test, run through the public check_spf() API.

A test passes when the result is one of the accepted results (the suite lists
alternatives where RFC 7208 leaves the outcome open) and, where the test names one,
the explanation is exactly the expected text (the default explanation is "DEFAULT",
as in the suite's reference driver).
"""

from __future__ import annotations

import asyncio

import pytest
from spf_suites import SpfCase, openspf_cases

from policies.spf import check_spf

CASES = openspf_cases()


def test_the_whole_suite_is_loaded() -> None:
    assert len(CASES) == 203
    assert len({case.id for case in CASES}) == 203


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_openspf_rfc7208(case: SpfCase) -> None:
    result = asyncio.run(
        check_spf(case.resolver(), case.ip, case.mail_from, case.helo, default_explanation="DEFAULT")
    )
    trace = "\n".join(result.explain())
    assert result.result in case.results, f"{case.id} (RFC 7208 {case.spec}): expected {case.results}\n{trace}"
    if case.explanation is not None:
        assert result.explanation == case.explanation, f"{case.id}: wrong explanation\n{trace}"
