"""The words people read for the product's values: on the desk and in every document, never an enum value."""

from datetime import date
from typing import Any

# Where the plain reading of a value is not the word a reader expects.
WORDS = {
    "ems": "EMS",
    "oemc": "OEMC",
    "cpd": "CPD",
}


def label(value: Any) -> str:
    """'use_of_force' -> 'Use of force'; a value with a word of its own in WORDS gets that word."""
    raw = str(getattr(value, "value", value))
    if raw in WORDS:
        return WORDS[raw]
    text = raw.replace("_", " ")
    return text[:1].upper() + text[1:]


def month_name(month: str) -> str:
    """'2026-03' -> 'March 2026'."""
    return date(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")


def sentence(text: str) -> str:
    """Its first letter capital, the rest as written: 'ICAD incident number' stays, 'precinct' -> 'Precinct'
    (str.capitalize would make 'Icad incident number')."""
    return text[:1].upper() + text[1:]


def phrase(value: Any) -> str:
    """A value as a sentence says it: 'not_immune' -> 'not immune', 'further_investigation' -> 'further
    investigation'; a value with a word of its own in WORDS gets that word ('ems' -> 'EMS')."""
    raw = str(getattr(value, "value", value))
    return WORDS.get(raw) or raw.replace("_", " ")
