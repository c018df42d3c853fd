"""Evidence federal agencies hold: the legal review asks for it per agency, each a Touhy request letter addressed
under that agency's regulations, tracked with its own due time until the agency answers."""

import json
from datetime import UTC, datetime, timedelta

from tests.support.documents import all_text, documents_of, open_docx
from tests.support.evidence_files import png
from tests.support.policies import CHICAGO
from tests.support.refusals import refused
from tests.support.scenario import APPROVE, ASKING, BODY_CAMERAS, RADIO, Driver


async def test_a_review_asks_each_agency_in_a_letter_under_its_own_regulations(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    # An agency the policy does not know, or one asked twice: tests/unit/test_review_steps.py and
    # tests/unit/test_request_models.py.
    case = await d.ok(cid, "legal-review", "reviewer", ASKING)
    requests = case["touhy_requests"]
    assert [(r["id"], r["agency"], len(r["records"])) for r in requests] == [("T1", "ICE", 2), ("T2", "FBI", 1)]
    made = datetime.fromisoformat(requests[0]["requested_at"])
    assert datetime.fromisoformat(requests[0]["due_at"]) == made + timedelta(days=45)  # the policy's response_due
    task = case["tasks"]["touhy_response"]
    assert (
        task["status"] == "open"
        and task["due_at"] == requests[0]["due_at"]
        and task["owner_role"] == "prosecutor_liaison"
    )

    docs = await documents_of(api, people, cid)
    ice, fbi = open_docx(docs[("touhy_request", 1)]), open_docx(docs[("touhy_request", 2)])
    text, fbi_text = read(all_text(ice)), read(all_text(fbi))
    # Each under its own regulation, cited as a lawyer cites it, to the office the policy's table names.
    assert "Office of the Principal Legal Advisor\nU.S. Immigration and Customs Enforcement" in text
    assert "Re:\tRequest under 6 C.F.R. §§ 5.41–5.49 for records of U.S. Immigration and Customs Enforcement" in text
    assert f"\tChicago Police Department case {case['case_number']}, request T1" in text
    assert "United States Attorney for the Northern District of Illinois" in fbi_text
    assert "Request under 28 C.F.R. §§ 16.21–16.29 for records of the Federal Bureau of Investigation" in fbi_text
    # An address not yet verified is the reviewer's to check (the desk and the memo say so), never the letter's
    # to print; nor is the policy's placeholder for the official who signs.
    assert "verified" not in text and "500 12th St. SW" not in text and "[Name" not in text
    assert "Name and title of the signing official, Chicago Police Department" in text
    assert "cc:\tOffice of the General Counsel, U.S. Department of Homeland Security" in text
    zone = CHICAGO.zone
    made_on = made.astimezone(zone)
    dated = f"{made_on:%B} {made_on.day}, {made_on.year}"  # dated as a letter is: "December 6, 2026"
    assert dated in text and text.index(dated) < text.index("Office of the Principal Legal Advisor")
    rows = [[read(cell.text) for cell in row.cells] for row in ice.tables[0].rows]
    assert rows[0] == ["No.", "Kind", "Records or testimony requested", "Relevance to the proceeding"]
    assert [(r[1], r[3]) for r in rows[1:]] == [
        ("Body camera", BODY_CAMERAS["relevance"]),
        ("Radio traffic", RADIO["relevance"]),
    ]
    due = datetime.fromisoformat(requests[0]["due_at"]).astimezone(zone)
    assert f"Reply requested by {due:%B} {due.day}, {due.year}" in text
    assert f"Please reply by {due:%B} {due.day}, {due.year}, producing the records" in text
    memo = open_docx(docs[("legal_review_memo", 1)])
    assert "Each agency below receives a Touhy request" in all_text(
        memo
    ) and "Body camera: Body-worn camera" in all_text(memo)


def read(text: str) -> str:
    """A letter's text as a person reads it: a non-breaking space is a space, a word joiner nothing."""
    return text.replace("\u00a0", " ").replace("\u2060", "")


async def test_each_answer_is_recorded_and_the_task_follows_the_requests_still_awaited(api, people, dev_server):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    case = await d.ok(cid, "legal-review", "reviewer", ASKING)
    t2_due = case["touhy_requests"][1]["due_at"]
    today = datetime.now().date().isoformat()
    # A request the path names but the case does not hold: 404, and nothing changes. An answer without its
    # ground, before the request, by the wrong role, or twice: tests/unit/test_review_steps.py and
    # tests/unit/test_request_models.py.
    await refused(
        d, dev_server, cid, "touhy-requests/T9/response", "liaison", {"outcome": "produced", "received_on": today}, 404
    )
    case = await d.ok(
        cid,
        "touhy-requests/T1/response",
        "liaison",
        {"outcome": "partly_produced", "received_on": today, "note": "The recordings; not the radio traffic."},
    )
    assert case["touhy_requests"][0]["response"]["payload"]["outcome"] == "partly_produced"
    assert case["tasks"]["touhy_response"]["status"] == "open" and case["tasks"]["touhy_response"]["due_at"] == t2_due
    # What the agency produced goes in as evidence, tied to the request it answers.
    collected = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    files = {
        "metadata": (
            None,
            json.dumps(
                {
                    "kind": "photo",
                    "description": "A still of the ICE body camera, agent 2",
                    "source": "federal_agency",
                    "collected_by": "Liaison Park",
                    "collected_at": collected,
                    "touhy_request_id": "T1",
                }
            ),
            "application/json",
        ),
        "file": ("frame.png", png(), "image/png"),
    }
    added = await api.post(f"/incidents/{cid}/evidence", files=files, headers=people.headers("officer"))
    assert added.status_code == 201, added.text
    # A request the case does not hold: tests/unit/test_evidence_and_closing.py.

    ground = "28 CFR 16.26(b)(5): disclosure would interfere with an enforcement proceeding."
    case = await d.ok(
        cid, "touhy-requests/T2/response", "commander", {"outcome": "refused", "received_on": today, "ground": ground}
    )
    assert case["tasks"]["touhy_response"]["status"] == "done"
    assert case["touhy_requests"][1]["response"]["payload"]["ground"] == ground
    kinds = [e["kind"] for e in (await d.events(cid))["items"]]
    assert kinds.count("touhy_response_recorded") == 2
    await d.ok(cid, "command-approval", "commander", APPROVE)


async def test_the_desk_ties_what_an_agency_produced_to_its_request(api, people):
    from tests.support.desk_client import signed_in
    from tests.support.desk_evidence import TYPED, evidence_form, items, options, post

    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", ASKING)
    async with signed_in(api, people.tokens["officer"]) as officer:
        page = (await officer.get(f"/desk/cases/{cid}")).text
        assert options(page, "touhy_request_id") == ["T1", "T2"]
        # The shipped addresses are marked for checking: the desk tells the reviewer, the letter never does; so is
        # the placeholder for the official who signs.
        assert page.count("is not yet verified. Confirm it and add it before the letter is sent.") == 2
        assert (
            "Its letter goes to the Office of the Principal Legal Advisor, U.S. Immigration and Customs Enforcement"
            in page
        )
        assert 'id="touhy-signatory"' in page
        # Wherever an agency is entered, the desk offers the policy's table of agencies as a list.
        assert 'list="federal-agencies"' not in page
        assert '<option value="USCIS">USCIS: U.S. Citizenship and Immigration Services</option>' in page
        typed = {**TYPED, "source": "federal_agency", "touhy_request_id": "T2", "person_id": ""}
        sent = await post(officer, evidence_form(page), typed, png())
        assert sent.status_code == 303, sent.text
        shown = (await officer.get(sent.headers["location"])).text
        assert "Produced in answer to Touhy request T2" in shown
    (item,) = await items(api, people, cid)
    assert (item["touhy_request_id"], item["source"]) == ("T2", "federal_agency")
