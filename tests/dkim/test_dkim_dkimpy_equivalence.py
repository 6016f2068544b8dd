"""The faster readings in policies.dkim give byte for byte what dkimpy's own functions
give (verdicts must not depend on which one ran): the message split, the blank line,
canonicalisation, the b= removal and the tag list, each on hand-picked cases and on
many random strings built from the characters that matter (fixed seed)."""

from __future__ import annotations

import random
import re

import dkim
import pytest
from dkim.canonicalization import CanonicalizationPolicy
from dkim.util import InvalidTagValueList, parse_tag_value

from policies.dkim.canonical import canonical_body, canonical_headers
from policies.dkim.message import split_message
from policies.message import blank_line
from policies.dkim.signature import _tag_list
from policies.dkim.verify import _B_TAG


def random_texts(alphabet: list[bytes], count: int, longest: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest))) for _ in range(count)]


def outcome(function, *args):
    """What ``function`` returns, or the type and arguments of what it raises."""
    try:
        return function(*args)
    except Exception as err:
        return type(err), err.args


MESSAGES = [
    b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
    b"From: a@example.com\nSubject: hi\n\nbare\nLF body\n",
    b"From: a@example.com\r\nSubject: folded\r\n\tover\r\n  lines\r\n\r\nmixed\r\nends\nhere\r\n\n",
    b"From a@example.com Mon Jan  1 00:00:00 2024\r\nFrom: a@example.com\r\n\r\nmbox line\r\n",
    b" leading continuation\r\nFrom: a@example.com\r\n\r\nx\r\n",
    b"Bad Header\r\nFrom: a@example.com\r\n\r\nx\r\n",
    b"From: a@example.com\r\nSubject: no blank line\r\n",
    b"From: a@example.com\r\nSubject: no blank line, no final break",
    b"\r\nFrom: a@example.com\r\n\r\nblank line first\r\n",
    b"\nFrom: a@example.com\n",
    b"From: a@example.com\r\r\nSubject: lone CR\r\n\r\nx\r\r\n",
    b"::: odd\r\nFrom:a@example.com\r\n\r\n",
    b"From: a@example.com\r\n\r\n",
    b"From: a@example.com\r\n\r\n\r\n\r\n",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_split_message_is_dkimpys_reading(message):
    assert outcome(split_message, message) == outcome(dkim.rfc822_parse, message)


def test_split_message_is_dkimpys_reading_of_random_messages():
    alphabet = [b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b"a", b"From ", b"X-A: v", b"\r\n\r\n"]
    for message in random_texts(alphabet, 20000, 16, seed=1):
        assert outcome(split_message, message) == outcome(dkim.rfc822_parse, message), message


def test_blank_line_is_where_a_line_break_follows_a_line_break():
    pattern = re.compile(rb"\r?\n\r?\n")
    for text in random_texts([b"\r", b"\n", b"a", b"\r\n"], 20000, 14, seed=2):
        found = pattern.search(text)
        assert blank_line(text) == (found and (found.start(), found.end())), text


BODIES = [b"", b"\r\n", b"\r\n\r\n", b"x", b"x\r\n\r\n\r\n", b"a  b \t\r\n \r\n", b"\t\ttabs\t\r\n", b" \r\n",
          b"no final break", b"one space only\r\n"]
FIELDS = [(b"Subject", b" hi\r\n"), (b"SUBJECT", b"  two  spaces \t\r\n\tfolded \r\n"), (b"From", b"\r\n"),
          (b"X", b" a\nb\r\n"), (b"Y", b"\t\r\r\n")]


@pytest.mark.parametrize("algorithm", ["simple", "relaxed"])
def test_canonicalisation_is_dkimpys(algorithm):
    policy = CanonicalizationPolicy.from_c_value(f"{algorithm}/{algorithm}".encode())
    alphabet = [b" ", b"\t", b"\r\n", b"a", b"  ", b"\n", b"\r"]
    for body in BODIES + random_texts(alphabet, 5000, 14, seed=3):
        assert canonical_body(body, algorithm) == policy.canonicalize_body(body), body
    values = [value for _, value in FIELDS] + random_texts(alphabet, 5000, 12, seed=4)
    fields = FIELDS + [(b"Name", value) for value in values]
    assert canonical_headers(fields, algorithm) == [tuple(f) for f in policy.canonicalize_headers(fields)]


def test_b_tag_removal_is_dkimpys():
    alphabet = [b" ", b"\t", b"\r", b"\n", b";", b"b", b"=", b"A", b"h", b"/", b"\r\n", b"b=", b"; b="]
    for value in random_texts(alphabet, 30000, 24, seed=5):
        assert _B_TAG.sub(rb"\1", value) == dkim.RE_BTAG.sub(rb"\1", value), value


def test_tag_list_is_dkimpys_including_its_errors():
    alphabet = [b";", b"=", b" ", b"\r\n\t", b"a", b"B", b"1", b"_", b"a=1", b"b=x y", b"\xff"]
    for value in random_texts(alphabet, 20000, 10, seed=6):
        ours, theirs = outcome(_tag_list, value), outcome(parse_tag_value, value)
        assert ours == theirs, value
        if isinstance(theirs, tuple):
            assert issubclass(theirs[0], InvalidTagValueList)
