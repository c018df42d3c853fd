"""The OpenAPI schema itself, without a server (the fuzzing over it: tests/test_openapi_fuzz.py, whose collection
builds a test per operation)."""

from datetime import timedelta, timezone

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.api.listing import _day
from referrals.api.main import create_app
from referrals.api.routes.access_log import _moment
from referrals.config import Settings


def openapi() -> dict:
    return create_app(Settings(env="test", database_url="postgresql://unused")).openapi()


def test_every_error_is_documented_with_the_one_error_shape():
    spec = openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorOut"
                    }, (method, path, status)


def _parameters(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                yield f"{method.upper()} {path} {parameter['name']}", schema.get("anyOf", [schema])[0]


def test_every_day_and_time_parameter_is_declared_with_its_format_and_none_as_a_pattern():
    """Issue 33: `occurred_from=0000-00-00` matched the declared pattern and was refused. Days and times are
    declared as what they are, and no other parameter describes one by a pattern."""
    declared = {name: schema.get("format") for name, schema in _parameters(openapi())}
    assert declared["GET /incidents occurred_from"] == declared["GET /incidents occurred_to"] == "date"
    assert declared["GET /access-log since"] == declared["GET /access-log until"] == "date-time"
    for name, schema in _parameters(openapi()):
        assert r"\d{4}-" not in schema.get("pattern", ""), name


# What the schema's formats allow, by the JSON Schema validator schemathesis checks with, is what the API accepts.
ALMOST_DAYS = [
    "2026-01-31",
    "2024-02-29",
    "2026-02-29",
    "0000-00-00",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "20260131",
    "2026-W05-1",
    "2026-1-31",
    "2026-01-31T00:00:00Z",
    " 2026-01-31",
    "2026-13-01",
    "",
]
ALMOST_TIMES = [
    "2026-01-31T09:30:00-06:00",
    "2026-01-31t09:30:00.123456789z",
    "2026-01-31T09:30:00Z",
    "2026-01-31T09:30Z",
    "2026-01-31T09:30:60Z",
    "2026-01-31 09:30:00Z",
    "2026-01-31T09:30:00",
    "0000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-31T24:00:00Z",
    "2026-01-31T09:30:00+24:00",
    "2026-01-31T09:30:00.Z",
    "1700000000",
    "2026-01-31",
]


@pytest.mark.parametrize(
    ("kind", "read", "values"), [("date", _day, ALMOST_DAYS), ("date-time", _moment, ALMOST_TIMES)]
)
def test_a_value_the_schema_allows_is_accepted_and_one_it_refuses_is_refused(kind, read, values):
    checker = jsonschema.FormatChecker()
    for value in values:
        try:
            read(value)
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == checker.conforms(value, kind), value


# RFC 3339's offsets are whole minutes, under a day (a zone's historical offsets may have seconds).
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@given(st.dates(), st.datetimes(timezones=OFFSETS))
def test_every_day_and_time_a_generator_writes_is_read_as_written(day, moment):
    assert _day(day.isoformat()) == day
    written = moment.isoformat(timespec="microseconds")
    assert _moment(written) == moment and _moment(written).utcoffset() == moment.utcoffset()


# Every character some engine calls white space: Python's str.isspace (its `re`'s `\s`), ECMA-262's `\s` (U+FEFF and
# the space separators), Unicode's White_Space (what the validation strips), and near-misses.
SPACES = sorted({chr(c) for c in range(0x110000) if chr(c).isspace()} | {"\ufeff", "\u180e", "\u200b", "\u2060"})


@pytest.mark.parametrize("padding", ["", " ", "\u0085\u3000"])
def test_a_text_the_schema_calls_blank_is_refused_and_one_it_allows_is_accepted(padding):
    """Text that must not be blank (a recording's camera, a name, a location): the schema's pattern and the validation
    agree on every white-space character, alone or padded. The fuzzer found U+0085 allowed by the schema (ECMA's
    `\\s` has not got it) and refused as blank (stripped)."""
    import re

    from pydantic import ValidationError

    from referrals.domain.messages.review import Exhibit

    pattern = Exhibit.model_json_schema()["properties"]["recording"]["anyOf"][0]["pattern"]
    assert "\\s" not in pattern  # spelled out, so every engine reads the same set

    disagree = []
    for space in [*SPACES, "x", "\u0085x"]:
        value = padding + space + padding
        allowed = re.fullmatch(pattern, value) is not None
        try:
            Exhibit(recording=value)
            accepted = True
        except ValidationError:
            accepted = False
        if allowed != accepted:
            disagree.append((f"U+{ord(space[0]):04X}", allowed, accepted))
    assert disagree == []
