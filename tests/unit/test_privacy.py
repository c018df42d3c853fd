"""The privacy rule: no request asks for a person's immigration status, citizenship, nationality, country or place
of birth or alien number, under any spelling of the field's name and at any depth of the body (Illinois TRUST
Act, Chicago Welcoming City Ordinance)."""

import pytest
from pydantic import BaseModel, ValidationError

from referrals.domain.errors import RejectionKind
from referrals.domain.messages import (
    PRIVACY_RULE,
    ChargingDecision,
    EvidenceItem,
    FilingRequest,
    FootageHold,
    LegalReviewIn,
    PersonIn,
    RequestModel,
    SupervisorIdentification,
    SupplementIn,
    ViolationReport,
    asks_status,
)
from referrals.domain.steps import FILE_SUPPLEMENT
from tests.support.builders import (
    CHARGED,
    HOLD_1,
    HOSPITAL_RECORD,
    IDENTIFIED,
    NEW_CAMERA,
    OFFICER,
    REFER,
    STATEMENT,
    SUBJECT,
    VICTIM,
    VIOLATIONS,
    WITNESS,
    filed,
    filing,
)

SPELLINGS = [
    "immigration_status",
    "immigrationStatus",
    "ImmigrationStatus",
    "IMMIGRATION-STATUS",
    "immigration status",
    "immigrant",
    "Citizenship",
    "is_us_citizen",
    "nationality",
    "NATIONALITY",
    "country_of_birth",
    "Country-Of-Birth",
    "countryOfBirth",
    "birth_country",
    "placeOfBirth",
    "place_of_birth",
    "birthplace",
    "Birth-Place",
    "country_of_origin",
    "a_number",
    "A-Number",
    "ANumber",
    "a_no",
    "A.No",
    "anum",
    "alien_number",
    "alienRegistrationNumber",
    "visa_type",
    "visaStatus",
    "deportation_history",
    "deportable",
    "legal_status",
    "legalStatus",
    "uscis_receipt_number",
]
HARMLESS = [
    "name",
    "status",
    "part",
    "language",
    "interpreter",
    "date_of_birth",
    "birthdate",
    "country",
    "place",
    "national_guard_unit",
    "number",
    "phone_number",
    "an_umbrella",
    "piano",
    "supervisor",
    "citation",
]


@pytest.mark.parametrize("name", SPELLINGS)
def test_a_status_field_is_recognised_however_it_is_spelt(name):
    assert asks_status(name)


@pytest.mark.parametrize("name", HARMLESS)
def test_a_field_that_asks_nothing_of_the_kind_is_not_mistaken_for_one(name):
    assert not asks_status(name)


def refusal(model: type[BaseModel], body: dict) -> tuple[tuple, str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    (error,) = refused.value.errors()
    return tuple(error["loc"]), error["msg"]


def refused_for_privacy(model: type[BaseModel], body: dict, loc: tuple, name: str) -> None:
    where, message = refusal(model, body)
    assert where == loc
    assert message == f"Value error, field '{name}' is refused: {PRIVACY_RULE}"


PERSON_NESTINGS = [
    (lambda f: {**WITNESS, f: "x"}, ()),
    (lambda f: {**VICTIM, "injuries": {"description": "abrasions", f: "x"}}, ("injuries",)),
    (lambda f: {**WITNESS, "statements": [STATEMENT, {**STATEMENT, f: "x"}]}, ("statements", 1)),
    (lambda f: {**WITNESS, "contact": {"phone": "312-555-0100", f: "x"}}, ("contact",)),
]


@pytest.mark.parametrize("name", ["immigration_status", "Country-Of-Birth", "A-Number", "citizenship"])
@pytest.mark.parametrize(("nest", "loc"), PERSON_NESTINGS, ids=["person", "injuries", "statement", "contact"])
def test_a_person_asks_no_status_at_any_depth(name, nest, loc):
    refused_for_privacy(PersonIn, nest(name), loc, name)
    refused_for_privacy(FilingRequest, filing(people=[VICTIM, nest(name)]), ("people", 1, *loc), name)
    refused_for_privacy(SupplementIn, {"people": [nest(name)]}, ("people", 0, *loc), name)


FILING_NESTINGS = [
    (lambda f: filing(**{f: "undocumented"}), ()),
    (lambda f: filing(officers=[{"name": "P.O. Ruiz", "star": "1", f: "x"}]), ("officers", 0)),
    (lambda f: filing(federal_personnel=[{"agency": "ICE", f: "US"}]), ("federal_personnel", 0)),
    (lambda f: filing(recordings=[{**NEW_CAMERA, f: "x"}]), ("recordings", 0)),
]


@pytest.mark.parametrize("name", ["immigration_status", "nationality", "placeOfBirth"])
@pytest.mark.parametrize(("nest", "loc"), FILING_NESTINGS, ids=["filing", "officer", "federal_person", "recording"])
def test_a_filing_asks_no_status_anywhere(name, nest, loc):
    refused_for_privacy(FilingRequest, nest(name), loc, name)


STEP_NESTINGS = [
    (FootageHold, {"holds": [{**HOLD_1, "alien_number": "x"}]}, ("holds", 0)),
    (SupervisorIdentification, {**IDENTIFIED, "visa_type": "x"}, ()),
    (
        ViolationReport,
        {**VIOLATIONS, "allegations": [{**VIOLATIONS["allegations"][0], "citizenship": "x"}]},
        ("allegations", 0),
    ),
    (
        LegalReviewIn,
        {**REFER, "subjects": [{**SUBJECT, "authority": {**SUBJECT["authority"], "immigration_status": "x"}}]},
        ("subjects", 0, "authority"),
    ),
    (
        LegalReviewIn,
        {
            **REFER,
            "subjects": [
                {
                    **SUBJECT,
                    "charges": [
                        {"statute": "720 ILCS 5/12-3", "elements": [{"element": 1, "facts": "x", "nationality": "x"}]}
                    ],
                }
            ],
        },
        ("subjects", 0, "charges", 0, "elements", 0),
    ),
    (ChargingDecision, {**CHARGED, "charges": [{**CHARGED["charges"][0], "deportable": True}]}, ("charges", 0)),
    (
        EvidenceItem,
        {**HOSPITAL_RECORD, "held_elsewhere": {"system": "x", "reference": "y", "uscis": "z"}},
        ("held_elsewhere",),
    ),
    (SupplementIn, {"statements": [{**STATEMENT, "person_id": "P1", "country_of_origin": "x"}]}, ("statements", 0)),
]


@pytest.mark.parametrize(
    ("model", "body", "loc"), STEP_NESTINGS, ids=[f"{m.__name__}{loc}" for m, _, loc in STEP_NESTINGS]
)
def test_no_step_asks_for_status_either(model, body, loc):
    name = next(key for key in _keys(body) if asks_status(key))
    refused_for_privacy(model, body, loc, name)


def _keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def _request_models(base=RequestModel):
    for model in base.__subclasses__():
        yield model
        yield from _request_models(model)


def test_no_request_model_declares_a_field_the_rule_refuses():
    declared = {(m.__name__, name) for m in _request_models() for name in m.model_fields if asks_status(name)}
    assert declared == set()


def test_a_correction_cannot_slip_a_status_field_into_a_person():
    case = filed(people=[VICTIM])
    body = {
        "corrections": [
            {"field": "people[P1].injuries", "value": {"description": "abrasions", "nationality": "x"}, "reason": "r"}
        ]
    }
    refused = case.refusal(FILE_SUPPLEMENT, OFFICER, body)
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "corrections[0].value")
    assert refused.message == f"not a valid value: field 'nationality' is refused: {PRIVACY_RULE}"


def test_the_rule_says_what_is_never_collected_and_under_which_laws():
    assert "immigration status, citizenship, nationality, country or place of birth" in PRIVACY_RULE
    assert "Illinois TRUST Act" in PRIVACY_RULE and "Welcoming City Ordinance" in PRIVACY_RULE
