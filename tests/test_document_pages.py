"""The documents as a prosecutor reads them: their content, and their pages as LibreOffice lays them out.

Each document of a case with people, a supplement and corrections is opened with python-docx; its signed PDF (the
one the API serves and the e-mail attaches; the contact sheet, made on request, converted by the session's
LibreOffice) has every page rendered to PNG under artifacts/documents/ for a person to look at; the tests bound the
page counts and check, on the laid-out text, that no id breaks across lines.
"""

import asyncio
import io
import json
import re
import shutil
import subprocess

import pytest
from docx import Document

from referrals.config import ROOT
from referrals.documents.pdf import Converter
from referrals.documents.signing import load_certificates, verify
from tests.support.documents import all_text, documents_of, headings, table_after
from tests.support.evidence_files import png
from tests.support.pdfs import MISSING, pdfs_of
from tests.support.scenario import (
    ACK,
    APPROVE,
    CLEAR,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    NEW_CAMERA,
    PHOTO,
    REFER,
    SUPPLEMENT,
    VICTIM,
    VIOLATIONS,
    WITNESS,
    Driver,
    filing,
)

ARTIFACTS = ROOT / "artifacts" / "documents"
LAID_OUT = MISSING is None and all(shutil.which(tool) for tool in ("pdftoppm", "pdftotext"))
# Everything a prosecutor copies from the packet into a system of their own: it must read whole.
IDS = [
    "X6031234",
    "X6039999",
    "X6035555",
    "AXON-2026-0042",
    "AXON-2026-0043",
    "AXON-2026-0099",
    "720 ILCS 5/12-3",
    "2603104512",
    "12346",
    "67890",
]


@pytest.fixture(scope="module")
def api(pdf_api):
    """This module's API: its worker makes each document's signed PDF."""
    return pdf_api


@pytest.fixture(scope="module")
async def documents(api, people):
    """The case's documents by (kind, version), and its contact sheet as the prosecutor liaison gets it."""
    d = Driver(api, people)
    case = await d.new_case(body=filing(people=[VICTIM]))
    cid = case["id"]
    await d.ok(cid, "people", "officer", WITNESS)
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await d.ok(cid, "supplements", "officer", {**SUPPLEMENT, "people": []})
    hold = {
        "camera_id": NEW_CAMERA["camera_id"],
        "hold_reference": "AXON-2026-0099",
        "retained_until": HOLD_1["retained_until"],
    }
    await d.ok(cid, "footage-hold", "custodian", {"holds": [hold]})
    await d.ok(cid, "violation-report", "officer", VIOLATIONS)
    # Evidence: a photo (its SHA-256 must read whole on the page) and a reference to a file held elsewhere.
    photo = {
        "metadata": (None, json.dumps(PHOTO | {"person_id": "P1"}), "application/json"),
        "file": ("palm.png", png(), "image/png"),
    }
    added = await api.post(f"/incidents/{cid}/evidence", files=photo, headers=people.headers("officer"))
    assert added.status_code == 201, added.text
    case["evidence_sha256"] = added.json()["sha256"]
    held = {
        "metadata": (
            None,
            json.dumps(
                PHOTO
                | {
                    "kind": "medical_record",
                    "source": "hospital",
                    "description": "ER record of the victim's visit",
                    "held_elsewhere": {"system": "Mount Sinai Hospital records", "reference": "MSH-2026-117733"},
                }
            ),
            "application/json",
        )
    }
    assert (
        await api.post(f"/incidents/{cid}/evidence", files=held, headers=people.headers("officer"))
    ).status_code == 201
    wanted = {
        "kind": "body_camera",
        "description": "Body-worn camera recordings of the agents on camera X6031234's footage, 13:00-13:45",
        "relevance": "The blow to the bystander, from the agents' side.",
    }
    await d.ok(cid, "legal-review", "reviewer", {**REFER, "federal_evidence": [{"agency": "ICE", "records": [wanted]}]})
    await d.ok(cid, "command-approval", "commander", APPROVE)
    docs = await documents_of(api, people, cid)
    await d.ok(cid, "referral-acknowledgement", "liaison", ACK)  # the sheet then carries the prosecutor's number
    sheet = await api.get(f"/incidents/{cid}/contact-sheet", headers=people.headers("liaison"))
    assert sheet.status_code == 200, sheet.text
    docs[("contact_sheet", 0)] = sheet.content
    return case, docs


def _latest(docs: dict, kind: str) -> bytes:
    return docs[max(key for key in docs if key[0] == kind)]


async def test_the_packet_has_the_people_their_statements_and_what_was_corrected(documents):
    case, docs = documents
    doc = Document(io.BytesIO(_latest(docs, "referral_packet")))
    text = all_text(doc)
    assert "Contents" in headings(doc)
    people = table_after(doc, "People involved")
    assert [row[:3] for row in people[1:]] == [["P1", "Victim", "Janet Roe"], ["P2", "Witness", "Name declined"]]
    assert people[1][4] == "abrasions to both palms; treated by EMS; taken to Mount Sinai Hospital"
    assert people[1][5] == "On the confidential contact sheet"
    assert "He pushed me while I was filming." in text and "The agent did not say who he was." in text
    assert "P1 Janet Roe (victim), statement 2" in headings(doc)
    assert any(h.startswith("Supplement 1, filed by Test officer") for h in headings(doc))
    corrections = table_after(doc, "Corrections")
    assert corrections[1][:4] == [
        "Location",
        "W 26th St & S Pulaski Rd",
        "W 26th St & S Karlov Ave",
        "the first address was the next block",
    ]
    assert corrections[2][0] == "Officer 1: star" and corrections[3][0] == "P1: name"
    for clear in CLEAR:  # contact details are on the contact sheet alone
        assert clear not in text
    for kind in ("legal_review_memo", "preservation_request"):
        other = all_text(Document(io.BytesIO(_latest(docs, kind))))
        assert not [clear for clear in CLEAR if clear in other], kind


async def test_the_contact_sheet_is_the_prosecutors_alone(api, people, documents):
    case, docs = documents
    doc = Document(io.BytesIO(docs[("contact_sheet", 0)]))
    assert headings(doc)[0] == "CONFIDENTIAL: contact sheet for the prosecutor"
    rows = table_after(doc, "CONFIDENTIAL: contact sheet for the prosecutor")
    assert rows[1][0] == "P1 Janet Roe (victim)" and rows[1][1] == "Spanish, through an interpreter"
    assert doc.core_properties.title == f"Contact sheet, {case['case_number']}"
    assert f"Case {case['case_number']} · prosecutor's case {ACK['prosecutor_case_number']} · " in all_text(doc)
    assert doc.core_properties.author == "Chicago Police Department"
    assert rows[1][2].splitlines() == [
        "Phone: 312-555-0100",
        "E-mail: jane.roe@example.org",
        "Address: 2700 S Pulaski Rd",
    ]
    assert rows[2][2] == "Phone: 773-555-0199"
    for who in ("commander", "custodian", "auditor", "admin"):
        refused = await api.get(f"/incidents/{case['id']}/contact-sheet", headers=people.headers(who))
        assert refused.status_code == 403, who
    hidden = await api.get(f"/incidents/{case['id']}/contact-sheet", headers=people.headers("supervisor_elsewhere"))
    assert hidden.status_code == 404


# The pages each document may take for this case: enough to hold it, few enough that nothing runs away.
PAGES = {
    "referral_packet": (3, 10),
    "legal_review_memo": (1, 3),
    "preservation_request": (1, 3),
    "hold_confirmation": (1, 2),
    "contact_sheet": (1, 1),
    "touhy_request": (1, 2),
}


@pytest.mark.skipif(
    not LAID_OUT,
    reason="LibreOffice and Poppler (Debian libreoffice-writer-nogui, python3-uno, poppler-utils) "
    "lay the pages out; .ci/run installs them",
)
async def test_every_page_is_rendered_and_no_id_breaks_across_lines(
    documents, api, people, settings, pdf_converter, tmp_path
):
    case, docs = documents
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    latest = {kind: _latest(docs, kind) for kind in PAGES}
    signed = await pdfs_of(api, people, case["id"])
    pdfs = {kind: signed[max(key for key in signed if key[0] == kind)][1] for kind in PAGES if kind != "contact_sheet"}
    trusted = load_certificates(settings.signing_certificate)
    for kind, content in pdfs.items():
        assert (verdict := await asyncio.to_thread(verify, content, trusted)).ok, (kind, verdict)
    pdfs["contact_sheet"] = await Converter(pdf_converter).convert(latest["contact_sheet"])
    for kind, content in latest.items():
        pdf = tmp_path / f"{kind}.pdf"
        pdf.write_bytes(pdfs[kind])
        for old in ARTIFACTS.glob(f"{kind}-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(ARTIFACTS / kind)], check=True, timeout=120)
        pages = sorted(ARTIFACTS.glob(f"{kind}-*.png"))
        low, high = PAGES[kind]
        assert low <= len(pages) <= high, (kind, len(pages))
        laid_out = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        written = all_text(Document(io.BytesIO(content)))
        for identifier in [*IDS, case["evidence_sha256"], "MSH-2026-117733"]:
            # Each time the document holds an id, the laid-out page shows it on one line.
            assert laid_out.count(identifier) == written.count(identifier), (kind, identifier)
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", laid_out), kind  # times as people read them
        assert all(page.stat().st_size > 5_000 for page in pages), kind  # pages with something on them
