"""Per-connection tokens: the random values a provider puts in every reply of one connection.

Gmail ends every reply with one transaction id per TCP connection
(``a640c23a62f3a-a8d25d9970csi572004166b.1002``); Outlook.com puts a 16-hex-digit id
in its greeting and in each hop stamp, next to the front-end server's name. The
profile describes their shape with a small pattern language so a user can change it:
literal text plus fields ``{hex:N}``, ``{HEX:N}``, ``{digits:N}``, ``{lower:N}``,
``{upper:N}``, ``{alnum:N}``, where N is a length or a range ``N-M``.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

ALPHABETS = {
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "digits": string.digits,
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "alnum": string.ascii_lowercase + string.digits,
}
_FIELD = re.compile(r"\{(?P<kind>[A-Za-z]+):(?P<low>[0-9]+)(?:-(?P<high>[0-9]+))?\}")
MAX_LENGTH = 64


@dataclass(frozen=True)
class Field:
    alphabet: str
    low: int
    high: int


@dataclass(frozen=True)
class TokenPattern:
    """A parsed pattern; :meth:`generate` draws one token from it."""

    source: str
    parts: tuple[str | Field, ...]

    @classmethod
    def parse(cls, text: str) -> TokenPattern:
        """Parse ``text``; ValueError (with what is expected) when it is not a pattern."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"a token pattern must be a non-empty text, got {text!r}")
        parts: list[str | Field] = []
        pos = 0
        for match in _FIELD.finditer(text):
            parts.extend(_literal(text[pos : match.start()], text))
            kind, low = match.group("kind"), int(match.group("low"))
            high = int(match.group("high") or low)
            if kind not in ALPHABETS:
                raise ValueError(f"unknown field {{{kind}:...}} in token pattern {text!r}; use {', '.join(ALPHABETS)}")
            if not 0 <= low <= high <= MAX_LENGTH:
                raise ValueError(f"bad length in {match.group(0)} of token pattern {text!r} (0 <= N <= M <= {MAX_LENGTH})")
            parts.append(Field(ALPHABETS[kind], low, high))
            pos = match.end()
        parts.extend(_literal(text[pos:], text))
        return cls(text, tuple(parts))

    def generate(self, rng: random.Random) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                length = rng.randint(part.low, part.high)
                out.append("".join(rng.choice(part.alphabet) for _ in range(length)))
        return "".join(out)


def _literal(chunk: str, text: str) -> list[str]:
    if "{" in chunk or "}" in chunk:
        raise ValueError(f"stray brace in token pattern {text!r}; fields look like {{hex:13}} or {{digits:7-9}}")
    return [chunk] if chunk else []
