"""The placeholder language of profile texts, and the per-connection token patterns."""

from __future__ import annotations

import random
import re

import pytest

from policies.profiles.template import Template, TemplateError
from policies.profiles.tokens import TokenPattern

KNOWN = {"ip", "from_domain", "spf", "recipient", "tls_version", "tls_cipher"}


def test_placeholders_filters_and_literal_braces():
    template = Template.parse("[{ip}] {from_domain|upper} Spf= {spf|title} {{literal}}", KNOWN)
    assert template.names == {"ip", "from_domain", "spf"}
    assert template.render({"ip": "192.0.2.1", "from_domain": "example.jp", "spf": "softfail"}) == \
        "[192.0.2.1] EXAMPLE.JP Spf= Softfail {literal}"


def test_optional_groups_render_only_when_all_their_values_are_set():
    template = Template.parse("by mx[[ for <{recipient}>]][[ (version={tls_version} cipher={tls_cipher})]];", KNOWN)
    assert template.render({"recipient": "u@gmail.com", "tls_version": "TLS1_3", "tls_cipher": "X"}) == \
        "by mx for <u@gmail.com> (version=TLS1_3 cipher=X);"
    assert template.render({"recipient": "", "tls_version": "TLS1_3"}) == "by mx;"


def test_placeholders_at_both_ends_and_texts_without_placeholders():
    assert Template.parse("{ip}", KNOWN).render({"ip": "192.0.2.1"}) == "192.0.2.1"
    assert Template.parse("{ip}{spf|upper} x {{y}}", KNOWN).render({"ip": "a", "spf": "pass"}) == "aPASS x {y}"
    assert Template.parse("[[{ip}]]{{", KNOWN).render({}) == "{"
    assert Template.parse("plain text", KNOWN).render({}) == "plain text"
    assert Template.parse("", KNOWN).render({"ip": "a"}) == ""


@pytest.mark.parametrize("text, problem", [
    ("from {domain}", "unknown placeholder {domain}"),
    ("{ip|reverse}", "unknown filter |reverse"),
    ("{ip.__class__}", "bad placeholder"),
    ("{0}", "bad placeholder"),
    ("a { b", "lone '{'"),
    ("[[ {ip} [[ {spf} ]] ]]", "cannot nest"),
    ("a ]] b", "']]' without '[['"),
    ("[[ {ip}", "'[[' without ']]'"),
])
def test_template_errors(text, problem):
    with pytest.raises(TemplateError, match=re.escape(problem)):
        Template.parse(text, KNOWN)


def test_a_template_must_be_text():
    with pytest.raises(TemplateError, match="expected a text"):
        Template.parse(550, KNOWN)  # type: ignore[arg-type]


def test_gmail_id_pattern():
    pattern = TokenPattern.parse("{hex:13}-{hex:11}si{digits:7-9}{lower:1}{alnum:0-2}.{digits:1-4}")
    rng = random.Random(3)
    ids = {pattern.generate(rng) for _ in range(50)}
    assert len(ids) == 50
    for token in ids:
        assert re.fullmatch(r"[0-9a-f]{13}-[0-9a-f]{11}si[0-9]{7,9}[a-z][a-z0-9]{0,2}\.[0-9]{1,4}", token), token


def test_same_seed_same_token():
    pattern = TokenPattern.parse("{HEX:16}")
    assert pattern.generate(random.Random(1)) == pattern.generate(random.Random(1))


@pytest.mark.parametrize("text, problem", [
    ("{hexx:3}", "unknown field {hexx:...}"),
    ("{hex:9-3}", "bad length"),
    ("{hex:65}", "bad length"),
    ("id-{hex}", "stray brace"),
    ("", "non-empty text"),
])
def test_token_pattern_errors(text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        TokenPattern.parse(text)
