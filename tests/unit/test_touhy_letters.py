"""Touhy letters that can be sent: the policy's table of federal agencies (each agency's regulation as a lawyer cites
it, the DHS/DOJ split, the office and address to serve, what is verified), and the letter as the agency reads it,
rendered in-process from the shipped template and read back with python-docx. What the department has not verified
(an office's address, a placeholder for the signing official) is never in the letter; the memo tells the reviewer."""

import io

import pytest
from docx import Document

from referrals.documents import memo, touhy
from referrals.documents.render import FOLDER, render
from referrals.domain.agencies import (
    AGENCIES,
    DHS,
    DHS_RULE,
    DHS_STATEMENT,
    DOJ,
    DOJ_RULE,
    DOJ_STATEMENT,
    NBSP,
    Touhy,
    TouhySignatory,
    in_lawyers_form,
    lawyers_cite,
)
from referrals.domain.events import Letterhead
from referrals.domain.policy import Policy, PolicyError, load_policy
from tests.support.builders import CHICAGO, NOW, POLICIES, asking, filed

SHIPPED = sorted(POLICIES.glob("*.toml"))
DHS_OFFICES = {  # 6 C.F.R. part 5, subpart C, appendix A: each component's counsel and address
    "ICE": (
        "Office of the Principal Legal Advisor\nU.S. Immigration and Customs Enforcement",
        "500 12th St. SW, Mail Stop 5900\nWashington, DC 20536-5900",
    ),
    "CBP": (
        "Office of Chief Counsel\nU.S. Customs and Border Protection",
        "1300 Pennsylvania Avenue, Suite 4.4-B\nWashington, DC 20229",
    ),
    "USCIS": (
        "Office of the Chief Counsel\nU.S. Citizenship and Immigration Services",
        "20 Massachusetts Ave. NW, Room 4210\nWashington, DC 20529",
    ),
}
US_ATTORNEY = {  # 28 C.F.R. § 16.22: the U.S. Attorney for the district where the proceeding is
    "chicago.toml": "United States Attorney for the Northern District of Illinois",
    "minneapolis.toml": "United States Attorney for the District of Minnesota",
    "new_york_city.toml": "United States Attorney for the Southern District of New York",
}
SIGNED = TouhySignatory(
    name="Maria Delgado",
    title="Deputy General Counsel, Office of Legal Affairs",
    phone="(312) 745-6110",
    email="m.delgado@chicagopolice.org",
)


def read(text: str) -> str:
    """The letter's text as a person reads it: a non-breaking space is a space, a word joiner nothing."""
    return text.replace(NBSP, " ").replace(touhy.WJ, "")


# --- the policy's table ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_agency_cites_its_regulation_as_a_lawyer_does(path):
    table = load_policy(path).touhy
    by_department = {d: [a.code for a in table.agencies if a.department == d] for d in (DHS, DOJ)}
    assert by_department == {DHS: ["ICE", "CBP", "USCIS"], DOJ: ["FBI", "DEA", "ATF", "USMS"]}
    for agency in table.agencies:
        assert in_lawyers_form(agency.regulation) and in_lawyers_form(agency.relevance_rule), agency.code
        dhs = agency.department == DHS
        assert agency.regulation == (DHS_RULE if dhs else DOJ_RULE), agency.code
        assert agency.relevance_rule == (DHS_STATEMENT if dhs else DOJ_STATEMENT), agency.code
        # Each DHS component is served where the rule's appendix says, and copied to DHS's Office of the General
        # Counsel; each DOJ component's request goes to the department's own U.S. Attorney.
        if dhs:
            assert (agency.office, agency.address) == DHS_OFFICES[agency.code]
            assert agency.copies == ["Office of the General Counsel, U.S. Department of Homeland Security"]
        else:
            assert agency.office == US_ATTORNEY[path.name] and agency.address
        assert not agency.verified  # shipped unverified: confirmed by the department before it says so
    assert table.signatory.placeholder and table.copies


def test_a_cite_is_written_as_a_lawyer_writes_it():
    assert DHS_RULE == "6\u00a0C.F.R. §§\u00a05.41–5.49" and DOJ_RULE == "28\u00a0C.F.R. §§\u00a016.21–16.29"
    assert lawyers_cite("6 CFR 5.41-5.49") == DHS_RULE
    assert lawyers_cite("28 C.F.R. §§ 16.21 - 16.29") == DOJ_RULE
    assert lawyers_cite("6 CFR 5.45(a)") == DHS_STATEMENT
    assert lawyers_cite(DOJ_STATEMENT) == DOJ_STATEMENT == "28\u00a0C.F.R. §\u00a016.22(c)–(d)"
    assert not in_lawyers_form(lawyers_cite("DHS's regulations"))


def test_chicagos_table_is_the_default_of_a_policy_without_one():
    assert load_policy(POLICIES / "chicago.toml").touhy.agencies == AGENCIES == Touhy().agencies


def test_each_city_asks_its_own_us_attorney():
    offices = {p.name: {a.office for a in load_policy(p).touhy.agencies if a.department == DOJ} for p in SHIPPED}
    assert offices == {name: {office} for name, office in US_ATTORNEY.items()}


def test_a_file_that_cites_loosely_is_refused_naming_the_key(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text((POLICIES / "chicago.toml").read_text().replace('"6 C.F.R. § 5.45(a)"', '"the DHS rule"', 1))
    with pytest.raises(PolicyError, match=r"touhy\.agencies\.0\.relevance_rule: write 'the DHS rule' as a lawyer"):
        load_policy(path)


def test_an_agency_listed_twice_is_refused():
    rows = [a.model_dump() for a in AGENCIES]
    with pytest.raises(ValueError, match="ICE listed more than once"):
        Touhy.model_validate({"agencies": [*rows, {**rows[0], "code": "ice"}]})


def test_a_case_filed_before_the_table_reads_its_two_offices_into_it():
    """A case's policy copy from before: `offices` keyed dhs/doj, loosely cited, agencies naming one."""
    copy = CHICAGO.model_dump(mode="json")
    copy["touhy"] = {
        "response_due": "P45D",
        "offices": {
            "dhs": {
                "name": "Office of the General Counsel, U.S. Department of Homeland Security",
                "address": "2707 Martin Luther King Jr. Ave SE\nWashington, DC 20528-0485",
                "regulations": "6 CFR 5.41-5.49",
                "verified": True,
            },
            "doj": {"name": "U.S. Department of Justice", "address": "", "regulations": "28 CFR 16.21-16.29"},
        },
        "agencies": [
            {"code": "ICE", "name": "U.S. Immigration and Customs Enforcement", "office": "dhs"},
            {"code": "FBI", "name": "Federal Bureau of Investigation", "office": "doj"},
        ],
    }
    table = Policy.model_validate(copy).touhy
    ice, fbi = table.agencies
    assert (ice.department, ice.regulation, ice.relevance_rule, ice.verified) == (DHS, DHS_RULE, DHS_STATEMENT, True)
    assert ice.office == "Office of the General Counsel, U.S. Department of Homeland Security"
    assert (fbi.department, fbi.regulation, fbi.verified) == (DOJ, DOJ_RULE, False)
    assert table.signatory.placeholder  # no one named to sign: its letters leave the block blank
    assert Policy.model_validate(Policy.model_validate(copy).model_dump(mode="json")).touhy == table  # replays alike


@pytest.mark.parametrize(
    ("changes", "says", "as_a_placeholder"),
    [
        ({"phone": "", "email": ""}, "give the phone or the e-mail address", False),
        ({"email": "not an address"}, "'not an address' is not an e-mail address", False),
        ({"name": "[Name of the official]"}, "the name is still the development placeholder", True),
        ({"email": "touhy@example.org", "phone": ""}, "the e-mail address is still the development placeholder", True),
        ({"phone": "(312) 555-0142"}, "the phone number is still the development placeholder", True),
    ],
)
def test_a_signatory_is_reachable_and_not_a_placeholder_in_disguise(changes, says, as_a_placeholder):
    with pytest.raises(ValueError, match=says):
        TouhySignatory.model_validate({**SIGNED.model_dump(), **changes})
    marked = {**SIGNED.model_dump(), **changes, "placeholder": True}  # (what a shipped file says of its own)
    if as_a_placeholder:
        assert TouhySignatory.model_validate(marked).placeholder
    else:
        with pytest.raises(ValueError, match=says):
            TouhySignatory.model_validate(marked)


# --- the letter ----------------------------------------------------------------------------------------------------


def _policy(*, verified: bool = False, signed: bool = False) -> Policy:
    table = CHICAGO.touhy.model_copy(
        update={
            "agencies": [a.model_copy(update={"verified": verified}) for a in CHICAGO.touhy.agencies],
            **({"signatory": SIGNED} if signed else {}),
        }
    )
    return CHICAGO.model_copy(update={"touhy": table})


TESTIMONY = {"kind": "testimony", "description": "The supervisor's account of the order", "relevance": "Who decided."}


def _case(*agencies: str, records: list | None = None):
    review = asking(*agencies)
    if records is not None:
        review["federal_evidence"][0]["records"] = records
    return filed().investigated().reviewed(review)


def _letter(case, version: int, policy: Policy):
    context = touhy.touhy_request(case.state, Letterhead.of(policy), NOW, version)
    doc = Document(io.BytesIO(render(FOLDER / "touhy_request.docx", context)))
    text = read("\n".join(p.text for p in doc.paragraphs))
    rows = [[read(cell.text) for cell in row.cells] for row in doc.tables[0].rows]
    return text, rows


def test_the_letter_is_dated_addressed_cited_and_asks_for_a_reply_by_a_date():
    case = _case("ICE")
    request = case.state.touhy_requests[0]
    text, rows = _letter(case, 1, _policy())
    lines = text.splitlines()
    assert lines[:2] == ["Chicago Police Department", "3510 S. Michigan Avenue, Chicago, IL 60653"]
    assert "March 2, 2026" in lines  # dated as a letter is, the day the request was made
    assert "Sun" not in text and "CST" not in text and "CFR" not in text
    start = lines.index("March 2, 2026")
    assert lines[start + 1 : start + 3] == [
        "Office of the Principal Legal Advisor",
        "U.S. Immigration and Customs Enforcement",
    ]
    assert lines[start + 4 : start + 8] == [
        "Re:\tRequest under 6 C.F.R. §§ 5.41–5.49 for records of U.S. Immigration and Customs Enforcement",
        "\tIncident of March 2, 2026, at W 26th St & S Pulaski Rd",
        "\tChicago Police Department case CPD-2026-000001, request T1",
        "\tReply requested by April 16, 2026",
    ]
    assert request.due_at.date().isoformat() == "2026-04-16"
    assert "Dear Counsel:" in lines
    assert (
        "This request is made under 6 C.F.R. §§ 5.41–5.49. As 6 C.F.R. § 5.45(a) asks, it sets out in writing, as "
        "specifically as we can, the nature of each item sought and its relevance to the proceeding." in text
    )
    # The matter: what the records are for, the incident by its date, time and place, the prosecutor.
    assert (
        "a criminal investigation by the Chicago Police Department of an incident on March 2, 2026, at about "
        "7:03 a.m., at W 26th St & S Pulaski Rd" in text
    )
    assert "referred to the Cook County State's Attorney's Office, Felony Review Unit, for a charging decision" in text
    # The records sought, each with its relevance.
    assert rows == [
        ["No.", "Kind", "Records or testimony requested", "Relevance to the proceeding"],
        ["1", "Body camera", "The agents' recordings", "The blow."],
    ]
    assert "Please reply by April 16, 2026, producing the records or stating, for each item withheld" in text
    assert "quoting case CPD-2026-000001 and request T1" in text


def test_an_unverified_address_and_a_placeholder_signatory_stay_out_of_the_letter():
    text, _ = _letter(_case("ICE"), 1, _policy())
    assert "500 12th St. SW" not in text and "20536" not in text  # the office, without its address
    assert "verified" not in text and "confirm" not in text.lower()  # and no note for the department
    assert "[" not in text and "example.org" not in text and "555" not in text  # the placeholder: never printed
    closing = text[text.index("Sincerely,") :].splitlines()
    assert closing[:5] == [
        "Sincerely,",
        "",
        "",
        "______________________________",
        "Name and title of the signing official, Chicago Police Department",
    ]


def test_a_verified_address_and_a_named_official_are_printed():
    text, _ = _letter(_case("ICE"), 1, _policy(verified=True, signed=True))
    lines = text.splitlines()
    start = lines.index("March 2, 2026")
    assert lines[start + 1 : start + 5] == [
        "Office of the Principal Legal Advisor",
        "U.S. Immigration and Customs Enforcement",
        "500 12th St. SW, Mail Stop 5900",
        "Washington, DC 20536-5900",
    ]
    closing = text[text.index("Sincerely,") :].splitlines()
    assert closing[3:7] == [
        "Maria Delgado",
        "Deputy General Counsel, Office of Legal Affairs",
        "Chicago Police Department",
        "Telephone: (312) 745-6110 · E-mail: m.delgado@chicagopolice.org",
    ]


def test_copies_go_to_the_agencys_counsel_then_to_whom_the_policy_says():
    text, _ = _letter(_case("ICE", "FBI"), 1, _policy())
    assert text.splitlines()[-2:] == [
        "cc:\tOffice of the General Counsel, U.S. Department of Homeland Security",
        "\tCook County State's Attorney's Office, Felony Review Unit",
    ]
    text, _ = _letter(_case("ICE", "FBI"), 2, _policy())
    assert "cc:\tOffice of the General Counsel, Federal Bureau of Investigation" in text


def test_a_doj_components_letter_goes_to_the_us_attorney_under_28_cfr():
    text, _ = _letter(_case("ICE", "FBI"), 2, _policy(verified=True))
    lines = text.splitlines()
    start = lines.index("March 2, 2026")
    assert lines[start + 1 : start + 4] == [
        "United States Attorney for the Northern District of Illinois",
        "219 South Dearborn Street, Fifth Floor",
        "Chicago, IL 60604",
    ]
    assert "Re:\tRequest under 28 C.F.R. §§ 16.21–16.29 for records of the Federal Bureau of Investigation" in lines
    assert "asks the Federal Bureau of Investigation to produce the records" in text
    assert "As 28 C.F.R. § 16.22(c)–(d) asks" in text


def test_testimony_is_asked_only_on_what_the_letter_lists():
    from tests.support.builders import BODY_CAMERAS

    text, rows = _letter(_case("ICE", records=[BODY_CAMERAS, TESTIMONY]), 1, _policy())
    assert "for records and testimony of U.S. Immigration and Customs Enforcement" in text
    assert "Testimony is requested only on the matters listed above." in text
    assert rows[2] == ["2", "Testimony", "The supervisor's account of the order", "Who decided."]
    text, _ = _letter(_case("ICE"), 1, _policy())
    assert "Testimony is requested" not in text


# --- the memo's note for the reviewer ------------------------------------------------------------------------------


def test_the_memo_tells_the_reviewer_what_the_letters_leave_out():
    case = _case("ICE", "FBI")
    notes = [read(n) for n in memo.touhy_unverified(case.state, Letterhead.of(_policy()))]
    assert notes == [
        "T1 (U.S. Immigration and Customs Enforcement): the letter names the Office of the Principal Legal Advisor, "
        "U.S. Immigration and Customs Enforcement without an address. The policy's address, not yet verified: "
        "500 12th St. SW, Mail Stop 5900, Washington, DC 20536-5900. Confirm it, then add it to the letter.",
        "T2 (Federal Bureau of Investigation): the letter names the United States Attorney for the Northern District "
        "of Illinois without an address. The policy's address, not yet verified: 219 South Dearborn Street, Fifth "
        "Floor, Chicago, IL 60604. Confirm it, then add it to the letter.",
        "The letters' signature block is left blank: the policy names no official to sign them (its "
        "[touhy.signatory] is a placeholder). The official who signs adds their name and title.",
    ]
    context = memo.legal_review_memo(case.state, Letterhead.of(_policy(verified=True, signed=True)), NOW)
    assert context["touhy_unverified"] == []
    assert memo.touhy_unverified(filed().investigated().reviewed().state, Letterhead.of(_policy())) == []
