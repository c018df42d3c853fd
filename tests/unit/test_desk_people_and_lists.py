"""The filing form's people (referrals/web/people_rows.py) and the lists of a fact entered once: district, agency,
language (referrals/web/choices.py), rendered as the desk renders them."""

import pytest

from referrals.config import ROOT
from referrals.domain.languages import NAMES
from referrals.domain.messages import FilingRequest
from referrals.domain.policy import load_policy
from referrals.web.choices import OTHER, agency_options, chosen, district_options, language_options, merge_other
from referrals.web.forms import nest, yes_no
from referrals.web.pages import build_environment
from referrals.web.people_rows import INJURED_UNNAMED, PeopleRows, in_place, injured_unnamed, person_blank

CHICAGO = load_policy(ROOT / "policy" / "chicago.toml")
MINNEAPOLIS = load_policy(ROOT / "policy" / "minneapolis.toml")


def read(fields: list[tuple[str, str]]) -> PeopleRows:
    people = PeopleRows([])
    for name, value in fields:
        assert people.take(name, value), name
    people.settle()
    return people


# ---- the lists


def test_the_district_list_is_the_policys_with_its_names():
    assert district_options(CHICAGO)[:2] == [("001", "001 (Central)"), ("002", "002 (Wentworth)")]
    assert len(district_options(CHICAGO)) == len(CHICAGO.districts) == 22
    assert district_options(MINNEAPOLIS)[0] == ("1", "1 (1st Precinct (Downtown))")


def test_the_agency_list_is_the_policys_federal_agencies():
    assert agency_options(CHICAGO)[0] == ("ICE", "ICE: U.S. Immigration and Customs Enforcement")
    assert [code for code, _ in agency_options(CHICAGO)] == [a.code for a in CHICAGO.touhy.agencies]


def test_languages_are_listed_by_name_and_send_their_code():
    listed = language_options()
    assert len(listed) == len(NAMES)
    assert [name for _, name in listed] == sorted(NAMES.values(), key=str.casefold)
    assert ("es", "Spanish") in listed and listed[0] == ("sq", "Albanian")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", ("", "")),
        ("ICE", ("ICE", "")),
        ("ice", ("ICE", "")),  # a listed code in other letters is that option
        ("Federal Protective Service", (OTHER, "Federal Protective Service")),
    ],
)
def test_a_value_is_shown_as_its_option_or_as_another_typed_beside_the_list(value, shown):
    assert chosen(value, agency_options(CHICAGO)) == shown


def test_another_is_replaced_by_what_was_typed_beside_the_list():
    sent = [
        ("federal_personnel[0].agency", OTHER),
        ("federal_personnel[0].agency_other", " Federal Protective Service "),
        ("federal_personnel[1].agency", "ICE"),
        ("federal_personnel[1].agency_other", "ignored: a listed agency was chosen"),
        ("people[0].language", OTHER),
        ("people[0].language_other", ""),  # another, nothing typed: blank, so the field is missing
        ("summary", "_other is only a list's value"),
    ]
    assert merge_other(sent) == [
        ("federal_personnel[0].agency", "Federal Protective Service"),
        ("federal_personnel[1].agency", "ICE"),
        ("people[0].language", ""),
        ("summary", "_other is only a list's value"),
    ]


# ---- the people's rows

PERSON = [
    ("people[0].part", "victim"),
    ("people[0].name", "Jane Roe"),
    ("people[0].name_withheld", ""),
    ("people[0].language", "es"),
    ("people[0].interpreter", "on"),
    ("people[0].contact.phone", ""),
    ("people[0].contact.email", ""),
    ("people[0].contact.address", ""),
    ("people[0].injuries.description", "abrasions to both palms"),
    ("people[0].injuries.hospital", ""),
    ("people[0].injuries.ems_treated", "on"),
    ("people[0].statements[0].text", "He pushed me while I was filming."),
    ("people[0].statements[0].taken_by", "P.O. Ana Ruiz (12345)"),
    ("people[0].statements[0].taken_at", "2026-01-31T13:40"),
    ("people[0].statements[0].place", "on scene"),
    ("people[0].statements[0].camera_id", ""),
    ("people[0].statements[0].interpreter", ""),
    ("people[0].statements[1].text", ""),  # a statement's row left blank
    ("people[0].statements[1].taken_by", ""),
]
BLANK_PERSON = [("people[1].part", ""), ("people[1].name", ""), ("people[1].statements[0].text", "")]


def test_people_are_read_as_rows_with_their_statements_and_sent_as_the_api_takes_them():
    people = read(PERSON + BLANK_PERSON)
    assert len(people.rows) == 2 and len(people.rows[0]["statements"]) == 2
    people.drop_blank()
    assert len(people.rows) == 1 and len(people.rows[0]["statements"]) == 1
    body = yes_no(nest(people.fields(for_the_api=True), CHICAGO.zone))
    person = body["people"][0]
    assert "contact" not in person  # left all blank: left out, not refused
    assert person["injuries"] == {"description": "abrasions to both palms", "ems_treated": True}
    assert person["interpreter"] is True and person["language"] == "es"
    assert person["statements"][0]["taken_at"].startswith("2026-01-31T13:40:00-06:00")
    filing = FilingRequest.model_validate(
        {
            "occurred_at": "2026-01-31T13:05:00-06:00",
            "location": "W 26th St & S Pulaski Rd",
            "district": "010",
            "event_number": "1",
            "summary": "s",
            "narrative": "n",
            "injuries": True,
            "officers": [{"name": "P.O. Ana Ruiz", "star": "12345"}],
            **body,
        }
    )
    assert filing.people[0].injuries is not None and filing.people[0].statements[0].place == "on scene"


def test_a_fields_names_are_not_a_persons():
    people = PeopleRows([])
    assert not people.take("people[0].citizenship", "x")
    assert not people.take("people[0].statements[0].nationality", "x")
    assert not people.take("officers[0].name", "x")


def test_people_and_statements_are_added_and_removed_by_the_server():
    people = read(PERSON)
    assert people.add("people") == "people[1]" and people.rows[1] == person_blank()
    assert people.add("people[1].statements") == "people[1].statements[1]"
    assert len(people.rows[1]["statements"]) == 2
    assert people.remove("people[0].statements[0]") == "people[0]"
    assert people.rows[0]["statements"][0] == {"text": "", "taken_by": ""}  # the second moved up
    assert people.remove("people[0]") == "people"
    assert len(people.rows) == 1 and len(people.rows[0]["statements"]) == 2
    assert people.remove("people[7]") is None and people.add("people[7].statements") is None
    assert people.add("nobody") is None


def test_the_summary_names_people_and_statements_by_number():
    shown = read(PERSON).shown()
    assert shown["people[0].statements[0].taken_at"] == "Person 1, statement 1: When it was taken"
    assert shown["people[0].injuries.description"] == "Person 1: Injuries"
    assert shown["people[0]"] == "Person 1"


def test_someone_injured_asks_who_and_someone_named_injured_asks_for_the_box():
    nobody = read([("people[0].part", "witness"), ("people[0].name", "Sam Poe")])
    hurt = read(PERSON)
    assert injured_unnamed(True, nobody) == [{"field": "injuries", "message": INJURED_UNNAMED}]
    assert injured_unnamed(True, PeopleRows([])) == [{"field": "injuries", "message": INJURED_UNNAMED}]
    assert injured_unnamed(True, hurt) == []
    assert injured_unnamed(False, nobody) == []
    assert injured_unnamed(False, hurt) == [
        {"field": "injuries", "message": "Person 1's injuries are given: tick this box, or clear them"}
    ]


def test_a_problem_the_people_check_names_inside_its_message_goes_beside_its_field():
    details = [
        {
            "field": "people",
            "message": "people[0].statements[1].camera_id: camera 'X9' is not among this filing's recordings",
        },
        {"field": "people", "message": "at most 100"},
        {"field": "summary", "message": "Field required"},
    ]
    assert in_place(details) == [
        {"field": "people[0].statements[1].camera_id", "message": "camera 'X9' is not among this filing's recordings"},
        {"field": "people", "message": "at most 100"},
        {"field": "summary", "message": "Field required"},
    ]


# ---- as rendered


def render_choices(policy, call: str) -> str:
    env = build_environment(policy.zone)
    template = env.from_string('{% from "choices.html" import district, agency, language with context %}' + call)
    return template.render(policy=policy)


def test_the_district_is_a_list_of_the_policys_districts_or_a_text_field_without_one():
    html = render_choices(CHICAGO, '{{ district("district", "District", "010", {}) }}')
    assert '<select id="f-district" name="district"' in html
    assert '<option value="010" selected>010 (Ogden)</option>' in html
    bare = CHICAGO.model_copy(update={"districts": []})
    assert '<input id="f-district" name="district" type="text" value="010"' in render_choices(
        bare, '{{ district("district", "District", "010", {}) }}'
    )


def test_an_agency_not_listed_shows_as_another_with_its_name_beside_the_list():
    html = render_choices(
        CHICAGO, '{{ agency("federal_personnel[0].agency", "Agency", "Federal Protective Service", {}) }}'
    )
    assert '<option value="ICE">ICE: U.S. Immigration and Customs Enforcement</option>' in html
    assert f'<option value="{OTHER}" selected>Another agency (name it)</option>' in html
    assert 'name="federal_personnel[0].agency_other" type="text" value="Federal Protective Service"' in html


def test_a_language_is_chosen_by_name_and_its_code_is_sent():
    html = render_choices(CHICAGO, '{{ language("language", "Preferred language", "es", {}, scope="person") }}')
    assert '<option value="es" selected>Spanish</option>' in html
    assert 'id="f-person-language"' in html and 'name="language_other"' in html
