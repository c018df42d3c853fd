"""The Word documents, opened back with python-docx: what a prosecutor and a custodian will read."""

import asyncio
import hashlib
import io
import re
import shutil
import subprocess
from datetime import date, datetime
from urllib.parse import urlsplit
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
from tests.support.desk_client import browser, hidden
from tests.support.documents import all_text, documents_of, headings, log_after, open_docx, table_after
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
        "1. Cover memo",
        "Contents",
        "2. Incident summary",
        "Narrative",
        "3. Incident timeline",
        "4. Department members",
        "5. Federal personnel",
        "Supervisor on scene",
        "6. People involved",
        "7. Statements",
        "8. Recordings",
        "9. Alleged offences",
        "10. Immunity analysis",
        "Subject 1: unidentified agent in grey vest, ICE",
        "Prong 1: authorised by federal law",
        "Prong 2: necessary and proper",
        "Rationale",
        "11. Supplementary reports",
        "12. Corrections",
        "13. Evidence inventory",
        "14. Chain of custody",
        "15. Decision chain",
        "16. Exhibits",
        "17. Appendix: processing history",
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
    # The cover says who is referred, for what, with the finding, and who reviewed and approved it.
    assert "unidentified agent in grey vest (ICE): 720 ILCS 5/12-3 (Battery). Immunity finding: not immune." in text
    assert "Approved by Test commander, command, on" in text
    # The subject on their own: the charge element by element (the catalogue's wording, marked unverified), the
    # facts for each, the two prongs and the finding.
    elements = table_after(doc, "Subject 1: unidentified agent in grey vest, ICE")
    assert elements[0] == ["No.", "Element", "Facts", "Exhibits"]
    assert [(r[0], r[2]) for r in elements[1:]] == [
        ("1", "He swung at her deliberately (witness P2; camera X6031234 at 13:09)."),
        ("2", "Abrasions to both palms, treated by EMS (P1)."),
    ]
    assert elements[2][1].startswith("caused bodily harm to an individual") and elements[1][3] == "No exhibit cited"
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
        ("Test commander", "Command", "Approve the referral: \u201cApproved for referral to the CCSAO.\u201d"),
    ]
    # The incident's timeline, then the system's history as an appendix, without the documents' generation.
    timeline = [r[1] for r in log_after(doc, "Incident timeline", by=False)]
    assert any(line.startswith("The incident, at ") for line in timeline)
    assert any(line.startswith("Camera X6031234 (P.O. Ana Ruiz) records until") for line in timeline)
    history = log_after(doc, "Appendix: processing history")
    packet_event = next(
        e for e in events if e["kind"] == "document_generated" and e["data"]["kind"] == "referral_packet"
    )
    before = [e for e in events if e["seq"] < packet_event["seq"]]
    assert len(history) == sum(e["kind"] != "document_generated" for e in before)  # up to the approval
    assert history[0][1] == "Report filed" and history[0][2] == "Test officer"
    assert all("Document generated" not in r[1] for r in history)
    exhibits = log_after(doc, "Exhibits", by=False)
    assert [r[0] for r in exhibits][:2] == ["A1", "A2"]
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
    # This session's worker makes no PDF (tests/test_pdfs.py has one that does, and reads the signed PDF attached).
    assert attachment.get_filename() == f"{case['case_number']}-referral-packet-v1.docx"
    assert attachment.get_content() == docs[("referral_packet", 1)]
    assert "There is no signed PDF of it: no PDF converter is configured" in mail.get_body(("plain",)).get_content()


async def test_the_packet_e_mail_links_the_desk_page_which_a_sign_in_comes_back_to(
    referred, smtp_sink, settings, api, people
):
    """The link is the case's desk page (not the JSON API, which wants a bearer token); followed signed out it asks for
    a sign-in, and the sign-in lands on the case."""
    case, _, _ = referred
    [mail] = [
        m
        for m in smtp_sink.messages
        if m["To"] == CHICAGO.prosecutor.intake_email and case["case_number"] in m["Subject"]
    ]
    links = re.findall(r"https?://\S+", mail.get_body(("plain",)).get_content())
    desk_page = f"{settings.public_url.rstrip('/')}/desk/cases/{case['id']}"
    assert links and set(links) == {desk_page}, links
    path = urlsplit(desk_page).path
    async with browser(api) as page:
        followed = await page.get(path)
        assert followed.status_code == 303
        sign_in_page = followed.headers["location"]
        assert sign_in_page == f"/desk/sign-in?next={path}"
        form = await page.get(sign_in_page)
        assert form.status_code == 200 and hidden(form.text, "next") == path
        signed = await page.post(
            "/desk/sign-in",
            data={
                "token": people.tokens["liaison"],
                "csrf_token": hidden(form.text, "csrf_token"),
                "next": hidden(form.text, "next"),
            },
        )
        assert signed.status_code == 303 and signed.headers["location"] == path, signed.text
        landed = await page.get(signed.headers["location"])
        assert landed.status_code == 200 and case["case_number"] in landed.text


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
    history = [r[1] for r in log_after(packet, "Appendix: processing history")]
    assert "Charging decision recorded: Charged" in history
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
    assert len(log_after(doc, "Appendix: processing history")) == 200
    # The benchmark's comparison, the same content written with plain python-docx, still writes it all.
    from bench.render_packet import plain_python_docx

    plain = open_docx(plain_python_docx(ctx))
    assert "Narrative" in headings(plain) and len(plain.tables) == 6


@pytest.mark.parametrize("summary", ["one line", "two lines\nand a tab\there"])
def test_a_template_is_patched_once_and_renders_exactly_as_docxtpl_does(summary):
    """The render keeps docxtpl's patched XML of each template part and skips its tab and line-break walk when
    no run holds one: the bytes are docxtpl's own (with identifiers' hyphens made non-breaking), and a newline in
    a value is still Word's line break."""
    from docxtpl import DocxTemplate

    from bench.render_packet import large_case
    from referrals.documents.render import _fixed_times, unbreakable_ids

    class Plain(DocxTemplate):
        def resolve_listing(self, xml: str) -> str:
            return unbreakable_ids(super().resolve_listing(xml))

    ctx = large_case() | {"summary": summary}
    template = TEMPLATES / "documents" / "referral_packet.docx"
    plain = Plain(template)
    plain.render(ctx, jinja_env=_ENVIRONMENT)
    out = io.BytesIO()
    plain.save(out)
    ours = [render(template, ctx) for _ in range(2)]  # the second from the patched parts kept
    assert ours[0] == ours[1] == _fixed_times(out.getvalue())
    body = open_docx(ours[0]).element.body.xml
    told = next(p for p in open_docx(ours[0]).paragraphs if summary.split("\n")[0] in p.text)._p.xml
    assert ("<w:br/>" in told and "<w:tab/>" in told) is ("\n" in summary)
    # "CPD-2026-000001" never breaks across lines: its hyphens are Word's non-breaking ones (text reads "-").
    assert re.search(
        r"CPD</w:t>\s*<w:noBreakHyphen/>\s*<w:t xml:space=\"preserve\">2026</w:t>\s*<w:noBreakHyphen/>", body
    )
    assert "CPD-2026-000001" in all_text(open_docx(ours[0]))


async def test_a_held_subject_is_left_out_then_referred_in_the_next_version(api, people):
    """A review refers one agent and holds the other until a day: the packet names only the referred one among the
    charges; the held one's later review refers them, and the packet's next version adds them, saying so."""
    from datetime import timedelta

    from tests.support.scenario import SUBJECT

    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    review_by = (date.today() + timedelta(days=30)).isoformat()
    held = {
        **SUBJECT,
        "subject": "agent in black jacket",
        "agency": "CBP",
        "disposition": "held",
        "held": {"awaiting": "CBP's answer to Touhy request T1", "review_by": review_by},
    }
    bad = {**REFER, "subjects": [{**SUBJECT, "charges": [{**SUBJECT["charges"][0]}]}]}
    bad["subjects"][0]["charges"][0]["elements"] = [
        {**e, "exhibits": [{"evidence": 7}]} for e in SUBJECT["charges"][0]["elements"]
    ]
    refused = await d.step(cid, "legal-review", "reviewer", bad)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "subjects[0].charges[0].elements[0].exhibits[0].evidence"
    await d.ok(cid, "legal-review", "reviewer", {**REFER, "subjects": [SUBJECT, held]})
    case = await d.ok(cid, "command-approval", "commander", APPROVE)
    assert case["tasks"]["held_subject_review"]["status"] == "open"
    first = all_text(open_docx((await documents_of(api, people, cid))[("referral_packet", 1)]))
    cover = first[: first.index("Contents")]
    assert "unidentified agent in grey vest (ICE): 720 ILCS 5/12-3 (Battery)" in cover
    assert "agent in black jacket (CBP): held back from the referral, awaiting CBP's answer" in cover
    assert "agent in black jacket (CBP): 720 ILCS" not in first
    await d.ok(
        cid,
        "held-subject-review",
        "reviewer",
        {"subject": "agent in black jacket", "disposition": "referred", "rationale": "CBP's video shows the blow."},
    )
    second = all_text(open_docx((await documents_of(api, people, cid))[("referral_packet", 2)]))
    assert "agent in black jacket (CBP): 720 ILCS 5/12-3 (Battery). Immunity finding: not immune." in second
    assert "This version 2 supersedes version 1 of" in second and "now referred" in second
