"""Languages print by name in the documents (referrals/domain/languages.py)."""

import pytest

from referrals.documents.packet import language
from referrals.domain.case import InvolvedPerson
from referrals.domain.languages import language_name
from tests.support.builders import VICTIM


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("es", "Spanish"),
        ("ES", "Spanish"),
        ("es-MX", "Spanish (MX)"),
        ("yue", "Cantonese"),
        ("ht", "Haitian Creole"),
        ("quc", "K\u2019iche\u2019"),
        ("xx", "xx"),
        ("xx-YY", "xx-YY"),
    ],
)
def test_a_language_prints_by_its_name_or_as_recorded(tag, name):
    assert language_name(tag) == name


def test_a_person_s_language_says_whether_an_interpreter_was_used():
    person = InvolvedPerson.model_construct(**{**VICTIM, "language": "es", "interpreter": True})
    assert language(person) == "Spanish, through an interpreter"
    assert language(person.model_copy(update={"interpreter": False})) == "Spanish"
    assert language(person.model_copy(update={"language": None})) == "Through an interpreter"
    assert language(person.model_copy(update={"language": None, "interpreter": False})) == ""
