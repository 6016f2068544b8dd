"""``when:`` clauses: the forms they take and what they compile to."""

from __future__ import annotations

import re

import pytest

from policies.profiles.conditions import ConditionError, compile_when
from profile_helpers import clean


def _holds(clause, **changes) -> bool:
    return compile_when(clause, "data").test(clean(**changes))


def test_equal_any_of_and_not():
    assert _holds({"spf": "pass"})
    assert _holds({"spf": ["fail", "pass"]})
    assert not _holds({"spf": {"not": ["fail", "pass"]}})
    assert _holds({"spf": {"not": "fail"}})


def test_all_entries_must_hold():
    assert _holds({"spf": "pass", "dkim": "pass"})
    assert not _holds({"spf": "pass", "dkim": "fail"})


def test_combinators():
    clause = {"any": [{"spf": "fail"}, {"all": [{"dkim": "pass"}, {"rdns": "pass"}]}]}
    assert _holds(clause)
    assert not _holds(clause, rdns="none")
    assert _holds(clause, rdns="none", spf="fail")
    assert _holds({"not": {"spf": "fail", "dkim": "fail"}}, spf="fail")
    assert not _holds({"not": {"spf": "fail", "dkim": "fail"}}, spf="fail", dkim="fail")


def test_set_fact_tests_membership():
    assert _holds({"format": "duplicate-header"}, format=("missing-date", "duplicate-header"))
    assert _holds({"format": ["unparseable", "missing-date"]}, format=("missing-date",))
    assert not _holds({"format": "duplicate-header"}, format=())
    assert _holds({"format": {"not": "duplicate-header"}}, format=("missing-date",))


def test_format_codes_asked_for_name_the_header():
    assert compile_when({"format": ["malformed-header", "duplicate-header"]}, "data").format_codes == \
        ("malformed-header", "duplicate-header")
    assert compile_when({"format": {"not": "duplicate-header"}}, "data").format_codes == ()


def test_null_and_text_values():
    assert _holds({"dmarc_policy": [None, "reject"]}, dmarc_policy=None)
    assert _holds({"from_domain": "EXAMPLE.com"})  # domains compare without case
    assert _holds({"ip_version": 6}, client_ip="2001:db8::1")


def test_no_clause_always_holds():
    assert compile_when(None, "rcpt").test(clean())


@pytest.mark.parametrize("clause, problem", [
    ({"spf": True}, "when.spf: True is not a value of fact 'spf'"),
    ({"tls": "yes"}, "fact 'tls' is true or false"),
    ({"helo": 5}, "fact 'helo' is a text"),
    ({"dmarc_disposition": None}, "never null"),
    ({"ip_version": 5}, "5 is not a value of fact 'ip_version'"),
    ({"format": "missing-subject"}, "'missing-subject' is not a value of fact 'format'"),
    ({"spf": []}, "the list of values is empty"),
    ({"spf": {"is": "pass"}}, "expected a value, a list of values or {not: ...}"),
    ({"any": {"spf": "pass"}}, "expected a non-empty list of clauses"),
    ([{"spf": "pass"}], "expected a mapping"),
    ({}, "expected a mapping"),
])
def test_clause_errors(clause, problem):
    with pytest.raises(ConditionError, match=re.escape(problem)):
        compile_when(clause, "data")


def test_rcpt_facts_only_at_rcpt():
    compile_when({"recipient_status": "unknown"}, "rcpt")
    with pytest.raises(ConditionError, match="fact 'recipient_status' is known only at rcpt, not at stage 'data'"):
        compile_when({"recipient_status": "unknown"}, "data")
    with pytest.raises(ConditionError, match="fact 'mail_from' is known from mail, not at stage 'ehlo'"):
        compile_when({"mail_from": ""}, "ehlo")
