"""Memoisation for the format check's pure helpers whose inputs are short strings.

The same few field names, From: values and From: domains come back message after
message, so remembering the verdict on each saves its regex passes. Only inputs of
ordinary size are remembered (a hostile megabyte-long header line must not stay in
memory), in a bounded least-recently-used cache per function, so a stream of distinct
inputs only evicts old entries. The functions so wrapped are pure and return immutable
values: no zone reload or sandbox setting can make a remembered answer stale, and
sandboxes sharing a process share nothing they could change.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

Text = TypeVar("Text", str, bytes)
Result = TypeVar("Result")


def memoise_short(max_len: int, maxsize: int = 512) -> Callable[[Callable[[Text], Result]], Callable[[Text], Result]]:
    """Decorate a pure one-argument function so that calls with an argument of at most
    ``max_len`` characters are answered from a cache of ``maxsize`` entries."""

    def decorate(function: Callable[[Text], Result]) -> Callable[[Text], Result]:
        cached = lru_cache(maxsize=maxsize)(function)

        @wraps(function)
        def call(argument: Text) -> Result:
            return cached(argument) if len(argument) <= max_len else function(argument)

        return call

    return decorate
