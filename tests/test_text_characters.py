"""domain/messages: free text that reaches documents and pages holds no bidirectional control character; the rule
is checked when a request arrives, never when a stored case is read back. Pure: no database, no Temporal."""

import copy
import re
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from referrals.domain.case import EvidenceEntry
from referrals.domain.messages import (
    BIDI_CONTROLS,
    FilingRequest,
    IncidentFiling,
    LegalReviewIn,
    NewUser,
    SupplementIn,
    bidi_problem,
    clock_problems,
    clock_problems_in,
)
from tests.support.scenario import FILING, REFER, SUBJECT, VICTIM

NOW = datetime.now(UTC)
EVERY_ONE = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize("character", EVERY_ONE)
def test_each_override_embedding_and_isolate_is_refused_by_name(character):
    problem = bidi_problem(f"P.O. {character}Ruiz")
    assert problem is not None and f"(U+{ord(character):04X})" in problem and problem.endswith("remove it")
    assert BIDI_CONTROLS.search(character)


def test_the_message_names_the_character_in_words():
    assert bidi_problem("exe.\u202etxt") == (
        "contains a right-to-left override character (U+202E), which makes "
        "text show in another order than it was typed: remove it"
    )


def test_right_to_left_text_and_other_marks_are_not_refused():
    for text in ("שלום עולם", "مرحبا بالعالم", "Ruiz\u200fsaid", "e\u0301", "zero\u200bwidth", "line\nbreak"):
        assert bidi_problem(text) is None, text


def test_every_free_text_field_of_a_filing_is_checked_and_named():
    body = copy.deepcopy(FILING)
    body.update(summary="Agents \u202edehsup\u202c a vendor", location="W 26th St\u2066")
    body["officers"][0]["name"] = "P.O. \u2067Ruiz\u2069"
    body["recordings"][0]["officer_star"] = "123\u202a45"
    body["people"] = [
        {**VICTIM, "name": "Jane \u202dRoe", "statements": [{**VICTIM["statements"][0], "text": "He pushed me\u2068."}]}
    ]
    filing = FilingRequest.model_validate(body)  # valid as a model: a stored case that holds one reads back
    named = {problem["field"]: problem["message"] for problem in clock_problems(filing, NOW)}
    assert set(named) == {
        "summary",
        "location",
        "officers[0].name",
        "recordings[0].officer_star",
        "people[0].name",
        "people[0].statements[0].text",
    }
    assert "right-to-left override" in named["summary"]
    assert "first strong isolate" in named["people[0].statements[0].text"]
    # The desk's check of a form the model refused for something else finds them too.
    assert {p["field"] for p in clock_problems_in(IncidentFiling, body, NOW)} >= {"summary", "officers[0].name"}


def test_a_list_of_texts_names_the_item_and_a_correction_names_its_value():
    review = REFER | {"subjects": [SUBJECT | {"disputed_facts": ["none", "the \u202bvest\u202c colour"]}]}
    assert [p["field"] for p in clock_problems(LegalReviewIn.model_validate(review), NOW)] == [
        "subjects[0].disputed_facts[1]"
    ]
    supplement = SupplementIn.model_validate(
        {
            "corrections": [
                {"field": "people[P1].name", "value": "Jane \u202eRoe", "reason": "spelling"},
                {"field": "summary", "value": "the \u2067crowd", "reason": "wording"},
            ]
        }
    )
    assert [p["field"] for p in clock_problems(supplement, NOW)] == ["corrections[0].value", "corrections[1].value"]


def test_a_stored_case_holding_one_still_reads_back():
    """Taken before the rule, a text with an override stays readable: the workflow replays its input and the API
    reads its cases through the same models."""
    entry = {
        "number": 1,
        "added_by": {"id": "u1", "name": "P.O. Ruiz"},
        "added_at": NOW.isoformat(),
        "item": {
            "id": "e1",
            "kind": "photo",
            "description": "palm \u202egnp.exe",
            "source": "cpd",
            "collected_by": "Ruiz",
            "collected_at": NOW.isoformat(),
            "held_elsewhere": {"system": "Axon", "reference": "A1"},
        },
    }
    assert EvidenceEntry.model_validate(entry).item.description == "palm \u202egnp.exe"


def test_a_new_user_is_refused_at_once():
    with pytest.raises(ValidationError, match="right-to-left override"):
        NewUser(name="Sgt. \u202eKim", email="kim@test.invalid", roles=["supervisor"])


def test_the_schema_says_so_for_clients_and_the_fuzz():
    pattern = FilingRequest.model_json_schema()["properties"]["summary"]["pattern"]
    assert re.fullmatch(pattern, "Agents pushed a vendor")
    assert not any(re.fullmatch(pattern, f"Agents {c}pushed") for c in EVERY_ONE)
    assert not re.fullmatch(pattern, "   ")
