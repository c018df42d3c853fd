"""Supplementary reports: what was found or put right after the filing, never overwriting silently."""

import io
from datetime import datetime

import pytest
from docx import Document

from tests.support.documents import listed_documents, table_after
from tests.support.scenario import (
    ACK,
    APPROVE,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    KEEP_UNTIL,
    REFER,
    SUPPLEMENT,
    VICTIM,
    VIOLATIONS,
    Driver,
    filing,
)


async def test_a_supplement_adds_what_was_found_and_corrects_what_was_wrong(api, people):
    d = Driver(api, people)
    case_id = (await d.new_case(body=filing(people=[VICTIM])))["id"]
    await d.ok(case_id, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    held = await d.ok(case_id, "supervisor-identification", "officer", IDENTIFIED)
    assert held["tasks"]["footage_hold"]["status"] == "done"

    case = await d.ok(case_id, "supplements", "officer", SUPPLEMENT)

    # What it added.
    assert [r["camera_id"] for r in case["recordings"]] == ["X6031234", "X6039999", "X6035555"]
    assert [p["id"] for p in case["people"]] == ["P1", "P2"]
    assert [s["text"] for s in case["people"][0]["statements"]][-1] == "The agent did not say who he was."
    assert case["details"]["federal_personnel"][-1]["agency"] == "CBP"
    assert case["supplements"][0]["payload"]["narrative"].startswith("A second camera")
    assert case["supplements"][0]["by"]["name"] == "Test officer"
    # The hold reopened for the new recording alone, due before its purge date; the others stay held.
    footage = case["tasks"]["footage_hold"]
    assert footage["status"] == "open"
    new = next(r for r in case["recordings"] if r["camera_id"] == "X6035555")
    assert new["hold_reference"] is None
    assert datetime.fromisoformat(footage["due_at"]) <= datetime.fromisoformat(new["purge_at"])
    assert all(r["hold_reference"] for r in case["recordings"] if r["camera_id"] != "X6035555")
    # What it put right: the case shows the new value, and the correction keeps the old one.
    assert case["details"]["location"] == "W 26th St & S Karlov Ave"
    assert case["details"]["officers"][0]["star"] == "12346"
    assert case["people"][0]["name"] == "Janet Roe"
    assert [
        (c["field"], c["old"], c["new"], c["reason"], c["by"]["name"], c["supplement"]) for c in case["corrections"]
    ] == [
        (
            "location",
            "W 26th St & S Pulaski Rd",
            "W 26th St & S Karlov Ave",
            "the first address was the next block",
            "Test officer",
            1,
        ),
        ("officers[0].star", "12345", "12346", "typed wrong at filing", "Test officer", 1),
        ("people[P1].name", "Jane Roe", "Janet Roe", "spelt from her ID at the hospital", "Test officer", 1),
    ]
    # The audit trail has the supplement with each old value beside its new one.
    events = await d.events(case_id)
    filed = next(e for e in events["items"] if e["kind"] == "supplement_filed")
    assert filed["data"]["supplement"] == 1 and filed["actor_name"] == "Test officer"
    assert filed["data"]["corrected"][0] == {
        "field": "location",
        "old": "W 26th St & S Pulaski Rd",
        "new": "W 26th St & S Karlov Ave",
    }
    # A new preservation request names the new recording (the first at filing; both cameras were then held, and
    # confirmed, at once).
    listed = await listed_documents(d, case_id)
    requests = [doc for doc in listed if doc["kind"] == "preservation_request"]
    assert [doc["version"] for doc in requests] == [1, 2]
    assert [doc["version"] for doc in listed if doc["kind"] == "hold_confirmation"] == [1]
    docx = await d.api.get(f"/incidents/{case_id}/documents/{requests[-1]['id']}", headers=people.headers("auditor"))
    assert "X6035555" in "\n".join(
        cell.text for t in Document(io.BytesIO(docx.content)).tables for row in t.rows for cell in row.cells
    )
    # Holding the new recording closes the task again; the investigation goes on as before.
    hold = {"camera_id": "X6035555", "hold_reference": "AXON-2026-0099", "retained_until": KEEP_UNTIL}
    again = await d.ok(case_id, "footage-hold", "custodian", {"holds": [hold]})
    assert again["tasks"]["footage_hold"]["status"] == "done"
    # ...and a second confirmation lists all three holds.
    confirmations = [doc for doc in await listed_documents(d, case_id) if doc["kind"] == "hold_confirmation"]
    assert [doc["version"] for doc in confirmations] == [1, 2]
    docx = await d.api.get(
        f"/incidents/{case_id}/documents/{confirmations[-1]['id']}", headers=people.headers("auditor")
    )
    rows = table_after(Document(io.BytesIO(docx.content)), "Recordings held")
    assert [r[4] for r in rows[1:]] == ["AXON-2026-0042", "AXON-2026-0043", "AXON-2026-0099"]
    after = await d.ok(case_id, "violation-report", "officer", VIOLATIONS)
    assert after["stage"] == "legal_review"


@pytest.fixture(scope="module")
async def quiet_case(api, people):
    """A case with a person, its documents made: (id, its audit trail)."""
    d = Driver(api, people)
    case_id = (await d.new_case(body=filing(people=[VICTIM])))["id"]
    return case_id, await d.settled(case_id)


async def test_a_bad_supplement_is_refused_naming_the_field_and_changes_nothing(api, people, quiet_case):
    """A correction of a field that cannot be corrected, named through the API; nothing recorded. A supplement's
    other refusals (an empty one, the other fields and values of corrections, recordings, statements, people,
    overfilling the case): tests/unit/test_people_and_supplements.py and tests/unit/test_request_models.py;
    times in the future: tests/unit/test_arrival_checks.py; a status field: tests/unit/test_privacy.py."""
    d = Driver(api, people)
    case_id, before = quiet_case
    body = {"corrections": [{"field": "district", "value": "012", "reason": "r"}]}
    response = await d.step(case_id, "supplements", "officer", body)
    assert response.status_code == 422, response.text
    assert "corrections[0].field" in [detail["field"] for detail in response.json()["error"]["details"]]
    assert (await d.events(case_id))["items"] == before["items"]
    case = (await d.get(case_id)).json()
    assert case["supplements"] == [] and case["corrections"] == []


async def test_who_may_file_a_supplement(api, people):
    """Refused by role, through the API. Every role, and a closed case: tests/unit/test_people_and_supplements.py
    and tests/unit/test_permissions.py."""
    d = Driver(api, people)
    case_id = (await d.new_case())["id"]
    assert (await d.step(case_id, "supplements", "custodian", {"narrative": "x"})).status_code == 403
    assert (await d.get(case_id)).json()["supplements"] == []


async def test_a_supplement_after_the_packet_went_out_sends_the_next_version(api, people, smtp_sink):
    d = Driver(api, people)
    case = await d.new_case(body=filing(people=[VICTIM]))
    case_id = case["id"]
    await d.investigate(case_id)
    await d.ok(case_id, "legal-review", "reviewer", REFER)
    await d.ok(case_id, "command-approval", "commander", APPROVE)
    await d.ok(
        case_id,
        "supplements",
        "officer",
        {"narrative": "The victim's medical records arrived.", "corrections": [SUPPLEMENT["corrections"][0]]},
    )
    packets = [doc for doc in await listed_documents(d, case_id) if doc["kind"] == "referral_packet"]
    assert [p["version"] for p in packets] == [1, 2]
    docx = await d.api.get(f"/incidents/{case_id}/documents/{packets[1]['id']}", headers=people.headers("auditor"))
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "supersedes version 1" in text
    assert "The victim's medical records arrived." in text
    assert "W 26th St & S Karlov Ave" in text
    # Both versions were e-mailed to the prosecutor.
    for _ in range(100):
        sent = [m for m in smtp_sink.messages if case["case_number"] in m["Subject"]]
        if len(sent) >= 2:
            break
        await __import__("asyncio").sleep(0.1)
    assert len(sent) == 2
    await d.ok(case_id, "referral-acknowledgement", "liaison", ACK)
