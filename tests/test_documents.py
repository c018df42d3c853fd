"""The Word documents, opened back with python-docx: what a prosecutor and a custodian will read."""

import asyncio
import hashlib
import io
import re
import shutil
import subprocess
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import delete, select
from temporalio.testing import ActivityEnvironment

from referrals.activities.documents import DocumentWriter
from referrals.activities.rendering import TEMPLATES
from referrals.documents.render import _ENVIRONMENT, render
from referrals.domain.enums import DocumentKind
from referrals.store.tables import DocumentRow
from referrals.workflows.incident import IncidentWorkflow
from tests.support.documents import all_text, documents_of, headings, open_docx, table_after
from tests.support.policies import CHICAGO
from tests.support.scenario import ACK, APPROVE, CHARGED, HOLD_1, HOLD_2, KEEP_UNTIL, REFER, VIOLATIONS, Driver, filing

NASTY = 'He said "{{ 7*7 }}" and {% raw %}{% for x in y %}{% endraw %} <b>&amp; \' </w:t></w:r> ]]> {{ config }}'
LONG_NARRATIVE = (NASTY + " ") * (20_000 // (len(NASTY) + 1))


@pytest.fixture(scope="module")
async def referred(api, people):
    d = Driver(api, people)
    case = await d.new_case(body=filing(narrative=LONG_NARRATIVE))
    cid = case["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    documents = await documents_of(api, people, cid)
    return (await d.get(cid)).json(), documents, (await d.events(cid))["items"]


async def test_every_page_carries_the_case_number_marking_and_page_numbers(referred):
    case, docs, _ = referred
    for content in docs.values():
        doc = open_docx(content)
        for section in doc.sections:
            assert section.header.paragraphs[0].text == f"{case['case_number']} · LAW ENFORCEMENT SENSITIVE"
            footer_xml = section.footer._element.xml
            assert 'w:instr="PAGE"' in footer_xml and 'w:instr="NUMPAGES"' in footer_xml
        assert "Heading 1" in [p.style.name for p in doc.paragraphs]


async def test_the_referral_packet_has_every_section_and_fact(referred):
    case, docs, events = referred
    doc = open_docx(docs[("referral_packet", 1)])
    assert headings(doc) == [
        "Referral packet",
        "Contents",
        "1. Cover memo",
        "2. Incident summary",
        "Narrative",
        "3. Department members",
        "4. Federal personnel",
        "Supervisor on scene",
        "5. People involved",
        "6. Statements",
        "7. Recordings",
        "8. Alleged offences",
        "9. Immunity analysis",
        "Subject 1: unidentified agent in grey vest, ICE",
        "Prong 1: authorised by federal law",
        "Prong 2: necessary and proper",
        "Rationale",
        "10. Supplementary reports",
        "11. Corrections",
        "12. Evidence inventory",
        "13. Chain of custody",
        "14. Decision chain",
        "15. Chronology",
        "16. Exhibits",
    ]
    text = all_text(doc)
    assert "Cook County State's Attorney's Office" in text and "Felony Review Unit" in text
    assert case["case_number"] in text and "2603104512" in text
    recordings = table_after(doc, "Recordings")
    assert recordings[0] == [
        "Camera",
        "Officer (star)",
        "Recorded",
        "Flags",
        "Hold reference",
        "Held until",
        "Purge date",
    ]
    assert [r[0] for r in recordings[1:]] == ["X6031234", "X6039999"]
    assert recordings[1][1] == "P.O. Ana Ruiz (12345)"  # the officer by name, from the filing's officers
    assert (
        recordings[1][3] == "Firearm discharge or use of force, Detention or arrest"
    )  # the flags, in the policy's words
    assert [r[4] for r in recordings[1:]] == ["AXON-2026-0042", "AXON-2026-0043"]
    assert "Purge date: the day the recording is destroyed under 50 ILCS 706/10-20 unless held." in text
    assert table_after(doc, "Department members")[:2] == [["Name", "Star"], ["P.O. Ana Ruiz", "12345"]]
    assert "J. Doe" in text and "Supervisory Deportation Officer" in text and "4411" in text
    offences = table_after(doc, "Alleged offences")
    assert offences[1][:2] == ["720 ILCS 5/12-3", "Battery"]
    assert "Charges the legal reviewer supports: 720 ILCS 5/12-3 (Battery)." in text
    # The subject on their own: the charge element by element (the catalogue's wording, marked unverified), the
    # facts for each, the two prongs and the finding.
    elements = table_after(doc, "Subject 1: unidentified agent in grey vest, ICE")
    assert elements[0] == ["No.", "Element", "Facts", "Evidence"]
    assert [(r[0], r[2]) for r in elements[1:]] == [
        ("1", "He swung at her deliberately (witness P2; camera X6031234 at 13:09)."),
        ("2", "Abrasions to both palms, treated by EMS (P1)."),
    ]
    assert elements[2][1].startswith("caused bodily harm to an individual") and elements[1][3] == "None cited"
    assert "not yet verified by counsel" in text
    assert "Claimed legal basis: Administrative warrant (Form I-200)" in text
    assert "The warrant reached one person; it did not reach the bystander." in text
    assert "Prong 1: Not met." in text and "Prong 2: Not met." in text
    assert "Immunity finding: Not immune." in text
    assert "Whether the bystander stepped towards the arrest before the blow" in text
    chain = table_after(doc, "Decision chain")
    assert [(r[1], r[2], r[3]) for r in chain[1:]] == [
        ("Test officer", "Officer", "Filed"),
        ("Test reviewer", "Legal reviewer", "Refer to the prosecutor"),
        ("Test commander", "Command", "Approve the referral"),
    ]
    chronology = table_after(doc, "Chronology")
    packet_event = next(
        e for e in events if e["kind"] == "document_generated" and e["data"]["kind"] == "referral_packet"
    )
    assert len(chronology) - 1 == packet_event["seq"] - 1  # every event up to the approval
    assert chronology[1][1] == "Report filed" and chronology[1][2] == "Test officer"
    exhibits = table_after(doc, "Exhibits")
    assert [r[0] for r in exhibits[1:]][:2] == ["A1", "A2"]
    assert any("Legal review memo version 1" in r[1] and "SHA-256 " in r[1] for r in exhibits)
    # Every time as the desk shows it, in the department's zone: no UTC ISO form anywhere.
    assert not re.search(r"\d{4}-\d\d-\d\dT|\d{4}-\d\d-\d\d \d\d:\d\d", text)
    filed = datetime.fromisoformat(case["filed_at"]).astimezone(ZoneInfo("America/Chicago"))
    assert chain[1][4] == filed.strftime("%a %d %b %Y, %H:%M %Z")
    for raw in (
        "legal_reviewer",
        "use_of_force",
        "not_immune",
        "not_met",
        "administrative_warrant",
        "referral_packet",
        "footage_hold",
    ):
        assert raw not in text, raw


async def test_user_text_renders_verbatim_and_injects_nothing(referred):
    _, docs, _ = referred
    doc = open_docx(docs[("referral_packet", 1)])
    narrative = [p.text for p in doc.paragraphs]
    assert LONG_NARRATIVE.strip() in narrative  # 20,000 characters, template syntax and XML specials as typed
    assert "49" not in narrative[narrative.index(LONG_NARRATIVE.strip())]


async def test_the_preservation_request_tells_the_custodian_what_to_hold(referred):
    case, docs, _ = referred
    first = open_docx(docs[("preservation_request", 1)])
    assert headings(first) == [
        "Request to preserve body-worn camera recordings",
        "Hold deadline",
        "Recordings",
        "How to confirm the hold",
    ]
    rows = table_after(first, "Recordings")
    assert [r[0] for r in rows[1:]] == ["X6031234", "X6039999"]
    assert rows[1][4] == "Firearm discharge or use of force, Detention or arrest"  # the policy's labels
    assert [r[5] for r in rows[1:]] == ["NOT YET HELD", "NOT YET HELD"]
    chicago = ZoneInfo("America/Chicago")
    assert rows[1][3] == datetime.fromisoformat(case["recordings"][0]["purge_at"]).astimezone(chicago).strftime(
        "%a %d %b %Y"
    )
    text = all_text(first)
    assert "2603104512" in text
    assert f"on case {case['case_number']}'s page under \u201cConfirm footage holds\u201d" in text
    assert "/incidents/" not in text and "POST" not in text  # the custodian is told where, in words, not an API path
    # The file's properties: the department wrote it, when it was made, and what it is.
    properties = first.core_properties
    assert properties.author == properties.last_modified_by == "Chicago Police Department"
    assert properties.title == f"Preservation request, {case['case_number']}, version 1"
    assert abs(properties.created - datetime.fromisoformat(case["filed_at"])).total_seconds() < 60
    assert properties.comments == ""
    due = datetime.fromisoformat(case["tasks"]["footage_hold"]["due_at"]).astimezone(chicago)
    assert due.strftime("%a %d %b %Y, %H:%M %Z") in text
    # Once every recording is held, no request asks for holds any more: the confirmation says what is held, under
    # which reference and until when, and who confirmed it.
    assert ("preservation_request", 2) not in docs
    held = open_docx(docs[("hold_confirmation", 1)])
    assert headings(held) == [
        "Confirmation of holds on body-worn camera recordings",
        "Recordings held",
        "Who confirmed each hold",
    ]
    rows = table_after(held, "Recordings held")
    assert rows[0] == ["Camera", "Officer star", "Recorded", "Purge date", "Hold reference", "Retained until"]
    assert [(r[0], r[4]) for r in rows[1:]] == [("X6031234", "AXON-2026-0042"), ("X6039999", "AXON-2026-0043")]
    kept = date.fromisoformat(KEEP_UNTIL).strftime("%a %d %b %Y")
    assert [r[5] for r in rows[1:]] == [kept, kept]
    text = all_text(held)
    assert (
        "Every recording of this case is held." in text
        and "NOT YET HELD" not in text
        and "Confirm the hold" not in text
    )
    assert "X6031234: Test custodian, " in text
    assert held.core_properties.title == f"Hold confirmation, {case['case_number']}, version 1"


async def test_documents_are_listed_on_the_case_and_hashed_in_the_audit_trail(referred):
    case, docs, events = referred
    listed = {(d["kind"], d["version"]): d["sha256"] for d in case["documents"]}
    audited = {
        (e["data"]["kind"], e["data"]["version"]): e["data"]["sha256"]
        for e in events
        if e["kind"] == "document_generated"
    }
    assert listed == audited
    assert {k: hashlib.sha256(v).hexdigest() for k, v in docs.items()} == listed


async def test_the_packet_reaches_the_prosecutor_intake_by_email(referred, smtp_sink):
    case, docs, _ = referred
    for _ in range(100):
        mails = [
            m
            for m in smtp_sink.messages
            if m["To"] == CHICAGO.prosecutor.intake_email and case["case_number"] in m["Subject"]
        ]
        if mails:
            break
        import asyncio

        await asyncio.sleep(0.1)
    [mail] = mails
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"{case['case_number']}-referral-packet-v1.docx"
    assert attachment.get_content() == docs[("referral_packet", 1)]


async def test_a_refusal_and_a_second_review_show_in_the_documents(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    refused = {"outcome": "refused", "agency": "ICE", "camera_id": "X6039999", "notes": "Declined on camera."}
    await d.ok(cid, "supervisor-identification", "officer", refused)
    await d.ok(cid, "violation-report", "officer", VIOLATIONS)
    back = {"decision": "return", "rationale": "Ask again.", "return_tasks": ["supervisor_identification"]}
    await d.ok(cid, "legal-review", "reviewer", back)
    await d.ok(cid, "supervisor-identification", "officer", refused)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    docs = await documents_of(api, people, cid)
    assert {("legal_review_memo", 1), ("legal_review_memo", 2), ("referral_packet", 1)} <= set(docs)
    assert "Decision: Return for further investigation." in all_text(open_docx(docs[("legal_review_memo", 1)]))
    assert "Decision: Refer to the prosecutor." in all_text(open_docx(docs[("legal_review_memo", 2)]))
    packet = all_text(open_docx(docs[("referral_packet", 1)]))
    assert "refused to identify themselves. Recorded on body-worn camera X6039999." in packet
    await d.ok(cid, "referral-acknowledgement", "liaison", ACK)


async def test_a_later_packet_carries_the_charging_decision(api, people):
    """A packet made after the charging decision (a supplement asks for its next version) shows it in its
    decision chain and its chronology."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.refer_to_the_end(cid)
    await d.ok(cid, "charging-decision", "liaison", CHARGED)
    await d.ok(cid, "supplements", "officer", {"narrative": "The agent's name is now known to the prosecutor."})
    docs = await documents_of(api, people, cid)
    packet = open_docx(docs[("referral_packet", 2)])
    chain = table_after(packet, "Decision chain")
    charging = next(r for r in chain if r[0] == "Charging decision")
    assert charging[1:3] == ["Test liaison", "Prosecutor liaison"]
    assert charging[3] == "Charged, 26-CR-01234: unidentified agent in grey vest (720 ILCS 5/12-3)"
    arraignment = next(r for r in chain if r[0] == "Arraignment")
    assert "notice of removal due by" in arraignment[3]
    chronology = [r[1] for r in table_after(packet, "Chronology")]
    assert "Charging decision recorded: Charged" in chronology
    await d.ok(cid, "prosecution-outcome", "liaison", {"outcome": "nolle", "decided_on": CHARGED["arraignment_date"]})


async def test_generation_is_idempotent_under_retry(referred, sessions, dev_server):
    case, docs, _ = referred
    trail = await dev_server.client.get_workflow_handle(case["workflow_id"]).query(IncidentWorkflow.audit_trail)
    request = trail.documents[0]  # the preservation request the filing asked for, as the workflow sent it
    writer = DocumentWriter(sessions)
    first = await ActivityEnvironment().run(writer.generate, request)
    again = await ActivityEnvironment().run(writer.generate, request)
    assert first == again == trail.state.documents[0]
    assert (first.kind, first.version) == ("preservation_request", 1)
    async with sessions() as s:
        rows = (
            await s.exec(
                select(DocumentRow).where(DocumentRow.case_id == case["id"], DocumentRow.kind == "preservation_request")
            )
        ).all()
    assert len(rows) == 1  # the one the case made (then a confirmation), none added by the retries


async def test_a_request_renders_the_same_bytes_every_time(referred, sessions, dev_server):
    """What a rebuild relies on: the request the workflow recorded makes the document again, byte for byte."""
    case, docs, _ = referred
    trail = await dev_server.client.get_workflow_handle(case["workflow_id"]).query(IncidentWorkflow.audit_trail)
    memo = next(r for r in trail.documents if r.kind == DocumentKind.LEGAL_REVIEW_MEMO)
    listed = next(d for d in trail.state.documents if d.id == memo.document_id)
    await asyncio.sleep(2.1)  # a zip entry's time has a two-second grain: render in another one
    async with sessions() as s, s.begin():  # as lost with a database restored from an older backup
        await s.exec(delete(DocumentRow).where(DocumentRow.id == memo.document_id))
    again = await DocumentWriter(sessions).write(memo)
    assert (again.id, again.sha256, again.version) == (listed.id, listed.sha256, 1)
    assert again.content == docs[("legal_review_memo", 1)]


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (Debian package libreoffice-writer-nogui) is not installed; .ci/run installs it",
)
async def test_libreoffice_converts_the_packet_to_pdf(referred, tmp_path):
    _, docs, _ = referred
    source = tmp_path / "packet.docx"
    source.write_bytes(docs[("referral_packet", 1)])
    done = subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    pdf = (tmp_path / "packet.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_the_benchmark_case_renders_every_row():
    from bench.render_packet import large_case

    ctx = large_case()
    doc = open_docx(render(TEMPLATES / "documents" / "referral_packet.docx", ctx))
    assert len(table_after(doc, "Recordings")) == 21
    assert len(table_after(doc, "Alleged offences")) == 16
    assert len(table_after(doc, "Chronology")) == 201
    # The benchmark's comparison, the same content written with plain python-docx, still writes it all.
    from bench.render_packet import plain_python_docx

    plain = open_docx(plain_python_docx(ctx))
    assert "Narrative" in headings(plain) and len(plain.tables) == 6


@pytest.mark.parametrize("summary", ["one line", "two lines\nand a tab\there"])
def test_a_template_is_patched_once_and_renders_exactly_as_docxtpl_does(summary):
    """The render keeps docxtpl's patched XML of each template part and skips its tab and line-break walk when
    no run holds one: the bytes are docxtpl's own, and a newline in a value is still Word's line break."""
    from docxtpl import DocxTemplate

    from bench.render_packet import large_case
    from referrals.documents.render import _fixed_times

    ctx = large_case() | {"summary": summary}
    template = TEMPLATES / "documents" / "referral_packet.docx"
    plain = DocxTemplate(template)
    plain.render(ctx, jinja_env=_ENVIRONMENT)
    out = io.BytesIO()
    plain.save(out)
    ours = [render(template, ctx) for _ in range(2)]  # the second from the patched parts kept
    assert ours[0] == ours[1] == _fixed_times(out.getvalue())
    body = open_docx(ours[0]).element.body.xml
    assert ("<w:br/>" in body and "<w:tab/>" in body) is ("\n" in summary)
