"""The constrained field types every request model is made of: keys and districts, names and texts, flags.

Text refuses NUL and bidirectional control characters; the latter is a rule checked on arrival (`_OnArrival`,
see `arrival.py`), never in a validator.
"""

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, Strict, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): in a name or a narrative they
# make a page or a document show the text in another order than it was typed ("Ruiz" shown as "ziuR", a file
# "statement_fdp.exe" shown as "statement_exe.pdf").
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def bidi_problem(value: str) -> str | None:
    """Why a text is refused for a bidirectional control character in it, or None."""
    found = BIDI_CONTROLS.search(value)
    if found is None:
        return None
    character = found.group(0)
    return (
        f"contains a {unicodedata.name(character).lower()} character (U+{ord(character):04X}), which makes "
        "text show in another order than it was typed: remove it"
    )


# What the validators and the checks on arrival hold a string to, said in the schema too, so that a client (or a
# fuzzer) which keeps to the schema is not refused for its shape: no NUL character, and text is more than white
# space and holds no bidirectional control character.
NO_NUL = r"^[^\u0000]*$"
_NOT_IN_TEXT = r"\u0000\u202a-\u202e\u2066-\u2069"
TEXT = rf"^[^{_NOT_IN_TEXT}]*$"
# White space as the validation strips it (pydantic-core trims Unicode's White_Space), spelled out: `\s` is not the
# same set in the schema's regular expressions (ECMA-262's has U+FEFF and not U+0085) as in Python's or in the trim.
WHITE_SPACE = r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[^{_NOT_IN_TEXT}]*[^{WHITE_SPACE}{_NOT_IN_TEXT}][^{_NOT_IN_TEXT}]*$"


class _OnArrival:
    """A rule checked by `clock_problems` when a request arrives, never in a validator: a validator runs again
    whenever a workflow replays its input or the API reads a stored case, which may hold what the rule refuses
    now (a time that has since passed, text taken before the rule)."""

    def problem(self, value: Any, now: datetime) -> str | None:
        raise NotImplementedError


class _PlainText(_OnArrival):
    """Free text that reaches documents and pages: no bidirectional control character."""

    def problem(self, value: str, now: datetime) -> str | None:
        return bidi_problem(value)


def _text(max_length: int, min_length: int = 1) -> Any:  # an Annotated[str, ...] built at run time: a type, not a value
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
        _PlainText(),
        Field(json_schema_extra={"pattern": NOT_BLANK if min_length else TEXT}),
    ]


# An id or cursor in a path or query: PostgreSQL text holds no NUL character.
Key = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(_no_nul), Field(json_schema_extra={"pattern": NO_NUL})
]
District = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,10}$")]
# A yes or no: true or false, never 0, 1 or "yes" (the schema says boolean, and the API holds to it).
Flag = Annotated[bool, Strict()]
Name = _text(200)
Short = _text(64)
Line = _text(500)
FlagCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]  # a policy's recording flag
Text = _text(20_000)


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+", value):
        raise ValueError("is not an e-mail address")
    return value.lower()
