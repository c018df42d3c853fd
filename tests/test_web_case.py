"""The case page of the desk: what each person sees of a case, and the steps they take through its forms.

Each person signs in through the real sign-in form and keeps a cookie jar of their own; what the forms
change is then read back through the JSON API (the PostgreSQL read model) and its audit trail."""

import asyncio
import html
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text as sql

from referrals.domain.content_types import DOCX
from referrals.web.routes import cases as cases_page
from tests.support.desk_client import browser, filled, send, step_form
from tests.support.pages import Tables, error_beside, repeated_ids, text
from tests.support.scenario import (
    FLAGGED_DAYS,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    KEEP_UNTIL,
    REFER,
    VICTIM,
    VIOLATIONS,
    WITNESS,
    Driver,
    filing,
)


async def confirm(page: httpx.AsyncClient, asked: httpx.Response, operation: str) -> httpx.Response:
    """The confirmation page's "Confirm": what was entered, sent again with `confirmed`."""
    assert asked.status_code == 200 and 'id="consequence"' in asked.text, asked.text
    form = step_form(asked.text, operation)
    assert form is not None, f"no confirmation of {operation}"
    return await send(page, form, [*form["fields"], ("confirmed", "yes")])


async def events(d: Driver, case_id: str) -> list[str]:
    """The trail's kinds once the documents the last step asked for are made."""
    return [e["kind"] for e in (await d.settled(case_id))["items"]]


async def test_the_case_page_shows_the_case_and_only_the_steps_each_person_may_take(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer")
    url = f"/desk/cases/{case['id']}"

    officer = await desk("officer")
    page = await officer.get(url)
    assert page.status_code == 200, page.text
    seen = text(page.text)
    assert case["case_number"] in seen
    assert case["details"]["narrative"] in seen
    for heading in (
        "Summary",
        "What you can do now",
        "Tasks",
        "Recordings",
        "Federal personnel and supervisor",
        "Allegations",
        "Decisions",
        "Documents",
        "Audit trail",
    ):
        assert re.search(rf"<h2[^>]*>{heading}</h2>", page.text), heading
    # Recordings with the days left before their purge date, in the department's clock.
    for recording in case["recordings"]:
        assert recording["camera_id"] in seen
        left = (datetime.fromisoformat(recording["purge_at"]) - datetime.now(UTC)).days
        assert left == FLAGGED_DAYS - 1
        assert f"{left} days left" in seen
        purge = datetime.fromisoformat(recording["purge_at"]).astimezone(ZoneInfo("America/Chicago"))
        assert purge.strftime("%d %b %Y") in seen
    # The tasks of the investigation, open and due.
    for task in ("Footage hold", "Supervisor identification", "Violation report"):
        assert re.search(rf"<strong>{task}</strong>\s*<span class=\"badge warn\">Open</span>", page.text), task
    assert "Legal review</strong>" in page.text and ">Pending</span>" in page.text
    assert seen.count("Due in ") >= 3
    assert "Open in Temporal UI" in seen and f"/workflows/{case['workflow_id']}" in page.text
    assert "Chain valid" in seen and "Case filed" in seen
    # The officer identifies the supervisor and reports violations; the custodian holds footage.
    assert step_form(page.text, "supervisor_identification") and step_form(page.text, "violation_report")
    assert step_form(page.text, "footage_hold") is None and step_form(page.text, "withdraw") is None

    custodian = (await (await desk("custodian")).get(url)).text
    hold = step_form(custodian, "footage_hold")
    assert hold is not None and step_form(custodian, "violation_report") is None
    assert ("holds[0].camera_id", "X6031234") in hold["fields"] and ("holds[1].camera_id", "X6039999") in hold["fields"]
    assert {name for name, _ in hold["fields"]} >= {
        "csrf_token",
        "idempotency_key",
        "holds[0].hold_reference",
        "holds[0].retained_until",
        "holds[1].retained_until",
    }
    assert 'name="holds[0].retained_until" type="date"' in custodian

    commander = (await (await desk("commander")).get(url)).text
    assert step_form(commander, "withdraw") is not None and step_form(commander, "command_approval") is None

    auditor = (await (await desk("auditor")).get(url)).text
    assert "<form" in auditor and not any(step_form(auditor, op) for op in ("footage_hold", "withdraw"))
    assert "Nothing on this case waits for you now" in text(auditor)

    # A supervisor of another district does not see the case: as if it did not exist.
    elsewhere = await (await desk("supervisor_elsewhere")).get(url)
    assert elsewhere.status_code == 404 and "Not found" in elsewhere.text
    assert case["case_number"] not in elsewhere.text
    unknown = await officer.get("/desk/cases/no-such-case")
    assert unknown.status_code == 404


async def test_the_custodian_holds_footage_through_the_form_once_even_when_sent_twice(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer")
    url = f"/desk/cases/{case['id']}"
    custodian = await desk("custodian")
    form = step_form((await custodian.get(url)).text, "footage_hold")
    fields = filled(
        form,
        {
            "holds[0].hold_reference": "AXON-2026-0100",
            "holds[0].retained_until": KEEP_UNTIL,
            "holds[1].hold_reference": "AXON-2026-0101",
            "holds[1].retained_until": KEEP_UNTIL,
        },
    )
    first = await send(custodian, form, fields)
    assert first.status_code == 303, first.text
    assert first.headers["location"] == f"{url}?done=footage_hold"
    again = await send(custodian, form, fields)  # a double click: the same idempotency key and body
    assert again.status_code == 303, again.text
    assert (await events(d, case["id"])).count("footage_hold_confirmed") == 1

    page = await custodian.get(first.headers["location"])
    assert re.search(r'class="notice" role="status">Footage hold recorded\.<', page.text)
    seen = text(page.text)
    assert "AXON-2026-0100" in seen and "AXON-2026-0101" in seen and "held by Test custodian" in seen
    assert re.search(r"<strong>Footage hold</strong>\s*<span class=\"badge ok\">Done</span>", page.text)
    assert "by Test custodian" in seen and step_form(page.text, "footage_hold") is None

    stored = (await d.get(case["id"])).json()
    assert [r["hold_reference"] for r in stored["recordings"]] == ["AXON-2026-0100", "AXON-2026-0101"]
    assert {r["retained_until"] for r in stored["recordings"]} == {KEEP_UNTIL}
    assert stored["tasks"]["footage_hold"]["status"] == "done"


async def test_a_refused_hold_comes_back_with_the_message_beside_its_row(api, people, desk):
    """A row left blank is not sent; the refusal of the row after it still lands beside that row."""
    d = Driver(api, people)
    case = await d.new_case("officer")
    url = f"/desk/cases/{case['id']}"
    custodian = await desk("custodian")
    form = step_form((await custodian.get(url)).text, "footage_hold")
    before = await events(d, case["id"])

    # Refused by the model: the date is missing.
    missing = await send(custodian, form, filled(form, {"holds[1].hold_reference": "AXON-TRY-1"}))
    assert missing.status_code == 422, missing.text
    assert (
        error_beside(missing.text, "holds[1].retained_until") == "Error: Recording hold 2: retained until is required"
    )
    assert error_beside(missing.text, "holds[0].retained_until") is None
    assert 'value="AXON-TRY-1"' in missing.text

    # Refused by the workflow's validator: kept only until tomorrow, before the purge date.
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    early = await send(
        custodian, form, filled(form, {"holds[1].hold_reference": "AXON-TRY-2", "holds[1].retained_until": tomorrow})
    )
    assert early.status_code == 422, early.text
    beside = error_beside(early.text, "holds[1].retained_until")
    assert beside and "must be after the recording's purge date" in beside
    assert f'value="{tomorrow}"' in early.text
    # The error summary on top of the form, focused as the page loads, links to the field in the same words.
    assert re.search(r'class="error-summary"[^>]*tabindex="-1" autofocus', early.text)
    assert re.search(r'<a href="#f-holds-1-retained_until">Recording hold 2: retained until must be after', early.text)
    assert 'aria-describedby="f-holds-1-retained_until-hint f-holds-1-retained_until-error"' in early.text
    assert await events(d, case["id"]) == before


async def test_a_refused_legal_review_keeps_what_was_typed_and_changes_nothing(api, people, desk):
    d = Driver(api, people)
    case_id = (await d.new_case("officer"))["id"]
    await d.investigate(case_id)
    url = f"/desk/cases/{case_id}"
    reviewer = await desk("reviewer")
    page = (await reviewer.get(url)).text
    form = step_form(page, "legal_review")
    charge = "subjects[0].charges[0].statute"
    assert (charge, "720 ILCS 5/12-3") in form["boxes"]
    assert ("return_tasks", "footage_hold") in form["boxes"]
    assert "Element 2: caused bodily harm" in page  # the statute's elements from the catalogue, one row each
    before = await events(d, case_id)

    # The subject's section opens with the federal person recorded at filing; the overall finding is not asked.
    assert ("subjects[0].subject", "masked; vest marked POLICE ICE") in form["fields"]
    assert ("subjects[0].agency", "ICE") in form["fields"]
    assert not any(name == "subjects[0].finding" for name, _ in form["fields"])
    # A charge ticked, its elements given, prong 1 found met and prong 2 not, but what was done left blank: refused.
    typed = {
        "decision": "refer",
        "rationale": "The force was gratuitous.",
        "subjects[0].subject": "unidentified agent in grey vest",
        "subjects[0].agency": "ICE",
        "subjects[0].acts": "Struck a bystander.",
        "subjects[0].charges[0].elements[0].facts": "He swung at her.",
        "subjects[0].charges[0].elements[1].facts": "Abrasions to both palms.",
        "subjects[0].authority.operation": "Arrest of one person",
        "subjects[0].authority.legal_basis": "administrative_warrant",
        "subjects[0].authority.within_authority": "The warrant named someone else.",
        "subjects[0].authority.finding": "met",
        "subjects[0].necessary_and_proper.alternatives": "Stepping back.",
        "subjects[0].necessary_and_proper.objective_reasonableness": "Not reasonable.",
        "subjects[0].necessary_and_proper.finding": "not_met",
        "subjects[0].disputed_facts": "Whether she stepped forward\nWhether he saw the phone",
    }
    refused = await send(reviewer, form, filled(form, typed, [(charge, "720 ILCS 5/12-3")]))
    assert refused.status_code == 422, refused.text
    assert error_beside(refused.text, "subjects[0].necessary_and_proper.conduct")
    # The finding the two prongs determine, shown without script.
    assert "Immunity finding for this subject: Not immune" in text(refused.text)
    again = step_form(refused.text, "legal_review")
    assert ("decision", "refer") in again["fields"]
    assert ("rationale", "The force was gratuitous.") in again["fields"]
    assert (charge, "720 ILCS 5/12-3") in again["fields"]  # still ticked
    assert ("subjects[0].charges[0].elements[1].facts", "Abrasions to both palms.") in again["fields"]
    assert await events(d, case_id) == before
    assert (await d.get(case_id)).json()["stage"] == "legal_review"

    # A return with no task named: the message beside the boxes.
    no_tasks = await send(reviewer, form, filled(form, {"decision": "return", "rationale": "More facts."}))
    assert no_tasks.status_code == 422
    assert "needs the investigation tasks to reopen" in error_beside(no_tasks.text, "return_tasks")


async def test_a_review_charges_only_the_statutes_ticked_and_names_each_box_as_the_form_does(api, people, desk):
    """Two statutes alleged, one charged: the other's boxes are left as they are. Facts typed under a charge
    not ticked are refused beside its box, not dropped; a refusal of the second element lands beside it."""
    d = Driver(api, people)
    case_id = (await d.new_case("officer"))["id"]
    await d.ok(case_id, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(case_id, "supervisor-identification", "officer", IDENTIFIED)
    assault = {"statute": "720 ILCS 5/12-1", "person": "agent in grey vest", "facts": "Raised a baton at her."}
    await d.ok(
        case_id, "violation-report", "officer", {**VIOLATIONS, "allegations": [assault, *VIOLATIONS["allegations"]]}
    )
    reviewer = await desk("reviewer")
    form = step_form((await reviewer.get(f"/desk/cases/{case_id}")).text, "legal_review")
    battery = "subjects[0].charges[1]"  # the alleged statutes in order: 12-1, then 12-3
    assert (f"{battery}.statute", "720 ILCS 5/12-3") in form["boxes"]
    subject = REFER["subjects"][0]
    typed = {
        "decision": "refer",
        "rationale": "The force was gratuitous.",
        "subjects[0].subject": subject["subject"],
        "subjects[0].agency": "ICE",
        "subjects[0].acts": subject["acts"],
        f"{battery}.elements[0].facts": "He swung at her.",
        f"{battery}.elements[1].facts": "Abrasions.",
        **{f"subjects[0].authority.{k}": v for k, v in subject["authority"].items()},
        **{f"subjects[0].necessary_and_proper.{k}": v for k, v in subject["necessary_and_proper"].items()},
    }
    before = await events(d, case_id)
    stray = await send(
        reviewer,
        form,
        filled(
            form,
            {**typed, "subjects[0].charges[0].elements[0].facts": "A baton."},
            [(f"{battery}.statute", "720 ILCS 5/12-3")],
        ),
    )
    assert stray.status_code == 422, stray.text
    assert "not ticked" in error_beside(stray.text, "subjects[0].charges[0].statute")
    # The first element left blank, the second too long: the refusal names the second element's box.
    long = await send(
        reviewer,
        form,
        filled(
            form,
            {**typed, f"{battery}.elements[0].facts": "", f"{battery}.elements[1].facts": "x" * 20_001},
            [(f"{battery}.statute", "720 ILCS 5/12-3")],
        ),
    )
    assert long.status_code == 422, long.text
    assert "at most 20000" in error_beside(long.text, f"{battery}.elements[1].facts")
    assert await events(d, case_id) == before
    # The ICE's recordings asked for in the second record row (the first left blank).
    asked = {
        "federal_evidence[0].agency": "ICE",
        "federal_evidence[0].records[1].kind": "body_camera",
        "federal_evidence[0].records[1].description": "The agents' body-worn cameras, 13:00-13:45",
        "federal_evidence[0].records[1].relevance": "The blow, from the agents' side.",
    }
    done = await send(reviewer, form, filled(form, {**typed, **asked}, [(f"{battery}.statute", "720 ILCS 5/12-3")]))
    assert done.status_code == 303, done.text
    stored = (await d.get(case_id)).json()
    review = stored["legal_reviews"][0]["payload"]
    assert [c["statute"] for c in review["subjects"][0]["charges"]] == ["720 ILCS 5/12-3"]
    assert [(r["id"], r["agency"], [x["kind"] for x in r["records"]]) for r in stored["touhy_requests"]] == [
        ("T1", "ICE", ["body_camera"])
    ]

    # The liaison records the agency's answer at the desk: refused, with the ground it stated.
    liaison = await desk("liaison")
    page = (await liaison.get(f"/desk/cases/{case_id}")).text
    assert "touhy-requests" in page and "awaited" in text(page)
    answer = step_form(page, "touhy_response")
    no_ground = await send(
        liaison,
        answer,
        filled(answer, {"request_id": "T1", "outcome": "refused", "received_on": date.today().isoformat()}),
    )
    assert no_ground.status_code == 422 and "required when the answer is refused" in error_beside(
        no_ground.text, "touhy_response-ground"
    )
    answered = await send(
        liaison,
        answer,
        filled(
            answer,
            {
                "request_id": "T1",
                "outcome": "refused",
                "received_on": date.today().isoformat(),
                "ground": "Law enforcement privilege.",
            },
        ),
    )
    assert answered.status_code == 303, answered.text
    after = (await liaison.get(answered.headers["location"])).text
    assert "Touhy answer recorded." in after and "Refused" in text(after) and "Law enforcement privilege." in after
    assert step_form(after, "touhy_response") is None  # nothing more awaited


async def test_the_whole_lifecycle_through_the_forms(api, people, desk):
    """Each step by its own person at the desk, times typed in the department's clock."""
    d = Driver(api, people)
    case_id = (await d.new_case("officer"))["id"]
    url = f"/desk/cases/{case_id}"

    two_roles = {who: await desk(who) for who in ("officer_commander", "reviewer_commander")}

    async def take(who: str, operation: str, values: dict, ticked=()) -> str:
        # At each stage the people holding two roles get every form of both on one page: no id repeats.
        for many, their_page in two_roles.items():
            seen = (await their_page.get(url)).text
            assert "/steps/withdraw" in seen and repeated_ids(seen) == [], (many, operation)
        page = await desk(who)
        form = step_form((await page.get(url)).text, operation)
        assert form is not None, f"{who} has no {operation} form"
        done = await send(page, form, filled(form, values, ticked))
        if operation == "prosecution_outcome":  # the final outcome closes the case: confirmed first
            assert "closes case" in text(done.text)
            done = await confirm(page, done, operation)
        assert done.status_code == 303, done.text
        return (await page.get(done.headers["location"])).text

    await take(
        "custodian",
        "footage_hold",
        {
            "holds[0].hold_reference": "AXON-1",
            "holds[0].retained_until": KEEP_UNTIL,
            "holds[1].hold_reference": "AXON-2",
            "holds[1].retained_until": KEEP_UNTIL,
        },
    )
    await take(
        "officer",
        "supervisor_identification",
        {
            "outcome": "identified",
            "name": "J. Doe",
            "agency": "ICE",
            "badge": "4411",
            "verification": "credential_viewed",
            "camera_id": "X6031234",
            "notes": "Credential shown on camera.",
        },
    )
    report = await take(
        "officer",
        "violation_report",
        {  # rows 0 and 2 left blank
            "allegations[1].statute": "720 ILCS 5/12-3",
            "allegations[1].person": "agent in grey vest",
            "allegations[1].facts": "Struck a bystander who was filming.",
            "narrative": "The bystander made no move.",
        },
    )
    assert "Violation report recorded." in report
    assert "Battery" in text(report) or "720 ILCS 5/12-3" in text(report)
    subject = REFER["subjects"][0]
    await take(
        "reviewer",
        "legal_review",
        {
            "decision": "refer",
            "rationale": "The force was gratuitous.",
            "subjects[0].subject": subject["subject"],
            "subjects[0].agency": "ICE",
            "subjects[0].acts": subject["acts"],
            # (the second subject's section left blank: ignored)
            "subjects[0].charges[0].elements[0].facts": subject["charges"][0]["elements"][0]["facts"],
            "subjects[0].charges[0].elements[1].facts": subject["charges"][0]["elements"][1]["facts"],
            **{f"subjects[0].authority.{k}": v for k, v in subject["authority"].items()},
            **{f"subjects[0].necessary_and_proper.{k}": v for k, v in subject["necessary_and_proper"].items()},
            "subjects[0].disputed_facts": "Whether she stepped forward",
        },
        [("subjects[0].charges[0].statute", "720 ILCS 5/12-3")],
    )
    await take("commander", "command_approval", {"decision": "approve", "note": "Approved."})
    # Acknowledged once approved, on Chicago's wall clock; decided and arraigned after it, the courts' days today.
    chicago = ZoneInfo("America/Chicago")
    typed = datetime.now(chicago).replace(second=0, microsecond=0)
    prosecution = await take(
        "liaison",
        "referral_acknowledgement",
        {
            "prosecutor_case_number": "26-FR-0200",
            "received_by": "ASA M. Lee",
            "received_at": typed.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert "Prosecutor&#39;s acknowledgement recorded." in prosecution
    assert "26-FR-0200" in prosecution and "Charging decision" in text(prosecution)
    arraigned = datetime.now(chicago).date().isoformat()
    charged = await take(
        "liaison",
        "charging_decision",
        {
            "decision": "charged",
            "decided_at": datetime.now(chicago).strftime("%Y-%m-%dT%H:%M"),
            "court_case_number": "26-CR-0042",
            "arraignment_date": arraigned,
        },
        [("charges[0].statutes", "720 ILCS 5/12-3")],
    )
    assert "Charging decision recorded." in charged
    found = re.search(r"a notice of removal is due by \w{3} \d\d \w{3} \d{4} \((\d+) days left\)", text(charged))
    assert found and 26 <= int(found[1]) <= 33, text(charged)
    # My work lists the window with its days left (until a notice is filed, below).
    number = (await d.get(case_id)).json()["case_number"]
    work = (await (await desk("liaison")).get("/desk/")).text
    row = next(r for r in Tables(work).tables["removal-windows"] if number in r.text)
    assert row.cells[-1] == found[1], row.text
    removed = await take(
        "liaison",
        "removal_notice",
        {
            "filed_on": date.today().isoformat(),
            "district_court": "U.S. District Court for the Northern District of Illinois",
            "federal_case_number": "1:26-cr-00077",
        },
    )
    assert "Notice of removal recorded." in removed and "a notice was filed" in text(removed)
    assert step_form(removed, "removal_notice") is None
    remanded = await take(
        "commander", "removal_outcome", {"result": "remanded", "decided_on": date.today().isoformat()}
    )
    assert "Removal outcome recorded." in remanded and "Remanded" in text(remanded)
    closed = await take("liaison", "prosecution_outcome", {"outcome": "plea", "decided_on": date.today().isoformat()})
    assert "Final outcome recorded." in closed and "The case is closed" in text(closed)

    stored = (await d.get(case_id)).json()
    assert stored["stage"] == "closed" and stored["disposition"] == "referred"
    assert [a["statute"] for a in stored["violation_report"]["payload"]["allegations"]] == ["720 ILCS 5/12-3"]
    review = stored["legal_reviews"][0]["payload"]
    assert [(s["subject"], s["finding"]) for s in review["subjects"]] == [(subject["subject"], "not_immune")]
    assert [e["element"] for e in review["subjects"][0]["charges"][0]["elements"]] == [1, 2]
    assert review["subjects"][0]["disputed_facts"] == ["Whether she stepped forward"]
    decision = stored["prosecution"]["decisions"][0]["payload"]
    assert decision["charges"] == [{"subject": subject["subject"], "statutes": ["720 ILCS 5/12-3"]}]
    assert stored["prosecution"]["outcome"]["payload"]["outcome"] == "plea"
    received = datetime.fromisoformat(stored["acknowledgement"]["payload"]["received_at"])
    assert received == typed and received.utcoffset() == typed.utcoffset()  # as typed, on Chicago's wall clock


async def test_a_forged_or_misdirected_step_changes_nothing(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer")
    url = f"/desk/cases/{case['id']}"
    commander = await desk("commander")
    form = step_form((await commander.get(url)).text, "withdraw")
    before = await events(d, case["id"])

    forged = [(n, "forged" if n == "csrf_token" else v) for n, v in filled(form, {"reason": "Filed twice."})]
    refused = await send(commander, form, forged)
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert await events(d, case["id"]) == before

    # Another person's page cannot send a step for someone lacking the role, nor an unknown one.
    officer = await desk("officer")
    officer_csrf = dict(step_form((await officer.get(url)).text, "violation_report")["fields"])["csrf_token"]
    hold = await officer.post(
        f"{url}/steps/footage_hold", data={"csrf_token": officer_csrf, "holds[0].camera_id": "X6031234"}
    )
    assert hold.status_code == 403 and "footage_hold needs the role evidence_custodian" in hold.text
    unknown = await officer.post(f"{url}/steps/approve_everything", data={"csrf_token": officer_csrf})
    assert unknown.status_code == 404
    assert await events(d, case["id"]) == before

    # A forged confirmation skips neither the CSRF check nor the role's.
    forged_confirmed = await send(commander, form, [*forged, ("confirmed", "yes")])
    assert forged_confirmed.status_code == 403 and "did not come from this site" in forged_confirmed.text
    by_officer = {"csrf_token": officer_csrf, "reason": "Filed twice.", "confirmed": "yes"}
    not_command = await officer.post(f"{url}/steps/withdraw", data=by_officer)
    assert not_command.status_code == 403 and "withdraw needs the role" in not_command.text
    assert await events(d, case["id"]) == before

    asked = await send(commander, form, filled(form, {"reason": "Filed twice."}))
    withdrawn = await confirm(commander, asked, "withdraw")
    assert withdrawn.status_code == 303
    page = await commander.get(withdrawn.headers["location"])
    assert "Case withdrawn." in page.text and "Filed twice." in page.text
    assert (await d.get(case["id"])).json()["disposition"] == "withdrawn"


async def test_withdrawal_is_confirmed_first_and_its_cancel_changes_nothing(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer")
    url = f"/desk/cases/{case['id']}"
    commander = await desk("commander")
    form = step_form((await commander.get(url)).text, "withdraw")
    before = await events(d, case["id"])
    reason = 'Filed twice "by mistake" <script>alert(1)</script> & more'

    asked = await send(commander, form, filled(form, {"reason": reason}))
    assert asked.status_code == 200, asked.text
    assert (
        f"Withdrawing closes case {case['case_number']} for good: its open tasks are cancelled and no step can be "
        "taken on it again." in text(asked.text)
    )
    assert "<script>alert(1)" not in asked.text  # carried escaped
    confirming = step_form(asked.text, "withdraw")
    carried = dict(confirming["fields"])
    assert carried["reason"] == reason and carried["csrf_token"] == dict(form["fields"])["csrf_token"]
    assert carried["idempotency_key"] == dict(form["fields"])["idempotency_key"]
    assert 'href="/desk/cases/' + case["id"] + '"' in asked.text  # Cancel: back to the case
    assert await events(d, case["id"]) == before
    assert (await d.get(case["id"])).json()["stage"] != "closed"

    # "Change what I entered": the case page with the form as it was typed, nothing sent.
    back = await send(commander, confirming, [*confirming["fields"], ("back", "yes")])
    assert back.status_code == 200 and "nothing was sent" in back.text
    assert dict(step_form(back.text, "withdraw")["fields"])["reason"] == reason
    cancelled = await commander.get(url)
    assert cancelled.status_code == 200 and step_form(cancelled.text, "withdraw") is not None
    assert await events(d, case["id"]) == before

    withdrawn = await confirm(commander, asked, "withdraw")
    assert withdrawn.status_code == 303, withdrawn.text
    assert (await d.get(case["id"])).json()["disposition"] == "withdrawn"
    assert (await events(d, case["id"]))[-1] == "case_withdrawn"


async def test_a_declined_charging_decision_is_confirmed_first(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer")
    await d.refer_to_the_end(case["id"])
    url = f"/desk/cases/{case['id']}"
    liaison = await desk("liaison")
    form = step_form((await liaison.get(url)).text, "charging_decision")
    before = await events(d, case["id"])
    values = {
        "decision": "declined",
        "decided_at": datetime.now(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M"),  # after the acknowledgement
        "reason": "Insufficient evidence.",
    }

    asked = await send(liaison, form, filled(form, values))
    assert asked.status_code == 200, asked.text
    assert "declined to charge closes case " + case["case_number"] + " for good" in text(asked.text)
    assert await events(d, case["id"]) == before
    assert (await d.get(case["id"])).json()["stage"] == "prosecution"

    cancelled = await liaison.get(url)
    assert step_form(cancelled.text, "charging_decision") is not None
    assert await events(d, case["id"]) == before

    done = await confirm(liaison, asked, "charging_decision")
    assert done.status_code == 303, done.text
    stored = (await d.get(case["id"])).json()
    assert stored["stage"] == "closed" and stored["prosecution"]["decisions"][-1]["payload"]["decision"] == "declined"


async def test_documents_download_as_word_files_for_those_who_see_the_case(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer")
    url = f"/desk/cases/{case['id']}"
    for _ in range(100):  # the preservation request is written just after filing
        listing = (await api.get(f"/incidents/{case['id']}/documents", headers=people.headers("auditor"))).json()
        if listing["items"]:
            break
        await asyncio.sleep(0.1)
    document = listing["items"][0]
    link = f"{url}/documents/{document['id']}"

    custodian = await desk("custodian")
    page = (await custodian.get(url)).text
    assert f'href="{link}"' in page and "Preservation request" in page
    got = await custodian.get(link)
    assert got.status_code == 200
    assert got.headers["content-type"] == DOCX and got.content.startswith(b"PK")
    assert f'filename="{document["filename"]}"' in got.headers["content-disposition"]
    assert document["filename"].endswith(".docx") and len(got.content) == document["size"]

    assert (await (await desk("supervisor_elsewhere")).get(link)).status_code == 404
    assert (await custodian.get(f"{url}/documents/no-such-document")).status_code == 404
    async with browser(api) as stranger:  # no session: off to the sign-in page
        signed_out = await stranger.get(link)
        assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/desk/sign-in")


async def test_recordings_near_or_past_their_purge_date_and_an_overdue_hold_stand_out(api, people, desk):
    now = datetime.now(UTC).replace(microsecond=0)
    old = [
        {
            "camera_id": "OLD-NEAR",
            "officer_star": "12345",
            "started_at": (now - timedelta(days=86)).isoformat(),
            "ended_at": (now - timedelta(days=86) + timedelta(minutes=20)).isoformat(),
            "flag_reasons": [],
        },
        {
            "camera_id": "OLD-GONE",
            "officer_star": "12345",
            "started_at": (now - timedelta(days=95)).isoformat(),
            "ended_at": (now - timedelta(days=95) + timedelta(minutes=20)).isoformat(),
            "flag_reasons": [],
        },
    ]
    d = Driver(api, people)
    case = await d.new_case("officer", filing(occurred_at=(now - timedelta(days=95)).isoformat(), recordings=old))
    page = (await (await desk("custodian")).get(f"/desk/cases/{case['id']}")).text
    near = re.search(r'<tr id="recording-OLD-NEAR">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'<span class="badge bad">3 days left</span>', near)
    assert "inside the 7-day safety margin" in near
    gone = re.search(r'<tr id="recording-OLD-GONE">(.*?)</tr>', page, re.S).group(1)
    assert '<span class="badge bad">purge date passed</span>' in gone
    hold = re.search(r'<li id="task-footage_hold" class="overdue">(.*?)</li>', page, re.S).group(1)
    assert '<span class="badge bad">Open, overdue</span>' in hold and " ago (" in hold


async def test_the_case_page_shows_a_document_being_generated(api, people, desk, sessions):
    d = Driver(api, people)
    auditor = await desk("auditor")
    async with sessions() as blocker, blocker.begin():
        await blocker.exec(sql("LOCK TABLE document IN EXCLUSIVE MODE"))  # no document can be stored yet
        case = await d.new_case("officer")
        page = (await auditor.get(f"/desk/cases/{case['id']}")).text
        assert "Preservation request: being generated" in page and "No document yet." not in page
    await d.settled(case["id"])
    page = (await auditor.get(f"/desk/cases/{case['id']}")).text
    assert "being generated" not in page and "-preservation-request-v1.docx" in page


async def test_the_case_page_shows_the_people_and_their_contact_details_only_to_those_who_need_them(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer", filing(people=[VICTIM]))
    await d.ok(case["id"], "people", "reviewer", WITNESS)
    url = f"/desk/cases/{case['id']}"
    for who, reads in (("reviewer", True), ("liaison", True), ("commander", False), ("custodian", False)):
        seen = text((await (await desk(who)).get(url)).text)
        assert re.search(r"Victim: Jane Roe \(P1\)", seen) and re.search(r"Witness: name declined \(P2\)", seen), seen
        assert "He pushed me while I was filming." in seen and "taken to Mount Sinai Hospital" in seen
        assert ("312-555-0100" in seen) is reads and ("773-555-0199" in seen) is reads, who
        assert ("on file (need-to-know)" in seen) is not reads, who


async def test_people_and_supplements_through_the_desk_forms(api, people, desk):
    d = Driver(api, people)
    case_id = (await d.new_case("officer"))["id"]
    url = f"/desk/cases/{case_id}"
    officer = await desk("officer")
    page = (await officer.get(url)).text
    assert not repeated_ids(page)
    form = step_form(page, "add_person")
    sent = await send(
        officer,
        form,
        filled(
            form,
            {
                "part": "victim",
                "name": "Jane Roe",
                "language": "es",
                "contact.phone": "312-555-0100",
                "injuries.description": "abrasions to both palms",
                "injuries.hospital": "Mount Sinai Hospital",
                "statements[0].text": "He pushed me while I was filming.",
                "statements[0].taken_by": "P.O. Ana Ruiz (12345)",
                "statements[0].taken_at": datetime.now(ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M"),
                "statements[0].place": "on scene",
                "statements[0].camera_id": "X6031234",
            },
        ),
    )
    assert sent.status_code == 303, sent.text
    case = (await d.get(case_id, "reviewer")).json()
    [person] = case["people"]
    assert person["name"] == "Jane Roe" and person["contact"]["phone"] == "312-555-0100"
    assert person["injuries"]["hospital"] == "Mount Sinai Hospital" and not person["injuries"]["ems_treated"]
    assert [s["camera_id"] for s in person["statements"]] == ["X6031234"]  # the blank second statement left out

    page = (await officer.get(url)).text
    form = step_form(page, "file_supplement")
    # A correction the case cannot take: refused beside its field, what was typed kept, nothing changed.
    before = await events(d, case_id)
    refused = await send(
        officer,
        form,
        filled(
            form,
            {
                "narrative": "Canvass of the block.",
                "corrections[1].field": "officers[0].star",
                "corrections[1].value": "",
                "corrections[1].reason": "typo",
            },
        ),
    )
    assert refused.status_code == 422, refused.text
    # The form's second row is the API's first (blank rows are left out): the message lands on the row typed in.
    assert error_beside(refused.text, "supplement-corrections[1].value") == (
        "Error: Correction 2: correct value is required"
    ), refused.text
    again = step_form(refused.text, "file_supplement")
    assert ("narrative", "Canvass of the block.") in again["fields"]
    assert await events(d, case_id) == before
    done = await send(
        officer,
        form,
        filled(
            form,
            {
                "narrative": "Canvass of the block.",
                "corrections[0].field": "location",
                "corrections[0].value": "W 26th St & S Karlov Ave",
                "corrections[0].reason": "the next block",
                "federal_personnel[0].agency": "CBP",
                "federal_personnel[0].description": "driver of the grey SUV",
            },
        ),
    )
    assert done.status_code == 303, done.text
    case = (await d.get(case_id)).json()
    assert case["details"]["location"] == "W 26th St & S Karlov Ave"
    assert case["details"]["federal_personnel"][-1]["agency"] == "CBP"
    seen = text((await officer.get(url)).text)
    assert "Supplement 1:" in seen and "Canvass of the block." in seen
    assert "Location W 26th St & S Pulaski Rd W 26th St & S Karlov Ave the next block" in seen


async def test_the_cases_page_finds_cases_with_the_same_search_and_pages_through_them(api, people, desk):
    d = Driver(api, people)
    word = "w" + __import__("uuid").uuid4().hex[:10]
    # Filed away from the scenario's officer, district and cameras, so that these many cases add nothing to the
    # work queues other tests read (tests/test_web_work.py).
    body = filing(
        summary=f"Agents and a {word} crowd",
        district="012",
        recordings=[],
        officers=[{"name": "P.O. Kim Lee", "star": "24680"}],
    )
    made = [(await d.new_case("officer_commander", body))["case_number"] for _ in range(cases_page.PAGE + 2)]
    officer = await desk("officer_commander")
    page = await officer.get(
        "/desk/cases", params={"q": word, "stage": "", "district": "", "occurred_from": "", "occurred_to": ""}
    )
    assert page.status_code == 200, page.text
    assert not repeated_ids(page.text)
    first = re.findall(r">(CPD-\d{4}-\d{6})</a>", page.text)
    assert len(first) == cases_page.PAGE
    # The next page keeps the search and holds the rest.
    more = html.unescape(re.search(r'href="([^"]+)" rel="next"', page.text).group(1))
    assert f"q={word}" in more
    rest = re.findall(r">(CPD-\d{4}-\d{6})</a>", (await officer.get(more)).text)
    assert sorted(first + rest) == sorted(made)
    # Filters narrow it, and a range that ends before it starts is refused, saying so.
    assert "No case you can see matches." in text(
        (await officer.get("/desk/cases", params={"q": word, "district": "010"})).text
    )
    refused = await officer.get("/desk/cases", params={"occurred_from": "2026-02-01", "occurred_to": "2026-01-31"})
    assert refused.status_code == 422 and "must not be before occurred_from" in text(refused.text)
    # Someone who may not see these cases finds none of them.
    elsewhere = await desk("officer_elsewhere")
    assert re.findall(r">(CPD-\d{4}-\d{6})</a>", (await elsewhere.get("/desk/cases", params={"q": word})).text) == []


async def test_rows_of_the_person_and_supplement_forms_are_added_and_removed_by_the_server(api, people, desk):
    d = Driver(api, people)
    case_id = (await d.new_case("officer"))["id"]
    officer = await desk("officer")
    page = (await officer.get(f"/desk/cases/{case_id}")).text
    form = step_form(page, "add_person")
    before = await events(d, case_id)
    typed = filled(form, {"part": "witness", "statements[0].text": "First.", "statements[1].text": "Second."})
    more = await send(officer, form, typed + [("add", "statements")])
    assert more.status_code == 200, more.text
    again = step_form(more.text, "add_person")
    assert ("statements[2].text", "") in again["fields"]  # a third row, blank
    assert ("statements[1].text", "Second.") in again["fields"] and ("part", "witness") in again["fields"]
    assert 'id="f-person-statements-2-text"' in more.text and not repeated_ids(more.text)
    fewer = await send(officer, again, again["fields"] + [("remove", "statements[0]")])
    left = step_form(fewer.text, "add_person")
    assert ("statements[0].text", "Second.") in left["fields"]  # the rows after the removed one moved up
    assert not any(name == "statements[2].text" for name, _ in left["fields"])
    assert await events(d, case_id) == before  # nothing was sent to the case

    supplement = step_form(page, "file_supplement")
    grown = await send(officer, supplement, supplement["fields"] + [("add", "federal_personnel")])
    assert any(name == "federal_personnel[1].agency" for name, _ in step_form(grown.text, "file_supplement")["fields"])


async def test_a_held_subject_is_reviewed_again_at_the_desk(api, people, desk):
    """A subject the review held back: the reviewer's case page offers their review, with the held subject to
    choose; not charged, with the "if held again" fields left blank, closes the held subjects' task."""
    d = Driver(api, people)
    case_id = (await d.new_case("officer"))["id"]
    await d.investigate(case_id)
    subject = REFER["subjects"][0]
    held = {
        **subject,
        "subject": "agent in black jacket",
        "agency": "CBP",
        "disposition": "held",
        "held": {"awaiting": "CBP's recordings", "review_by": (date.today() + timedelta(days=20)).isoformat()},
    }
    await d.ok(case_id, "legal-review", "reviewer", {**REFER, "subjects": [subject, held]})
    reviewer = await desk("reviewer")
    page = (await reviewer.get(f"/desk/cases/{case_id}")).text
    assert "Held back" in text(page) and "awaiting CBP's recordings" in text(page)
    form = step_form(page, "held_subject_review")
    done = await send(
        reviewer,
        form,
        filled(form, {"subject": "agent in black jacket", "disposition": "not_charged", "rationale": "Not him."}),
    )
    assert done.status_code == 303, done.text
    stored = (await d.get(case_id)).json()
    assert [r["payload"]["disposition"] for r in stored["subject_reviews"]] == ["not_charged"]
    assert stored["tasks"]["held_subject_review"]["status"] == "done"


async def test_a_command_rejection_is_confirmed_first_and_an_approval_is_not(api, people, desk):
    d = Driver(api, people)
    rejected, approved = (await d.new_case("officer"))["id"], (await d.new_case("officer"))["id"]
    for case_id in (rejected, approved):
        await d.investigate(case_id)
        await d.ok(case_id, "legal-review", "reviewer", REFER)
    commander = await desk("commander")

    form = step_form((await commander.get(f"/desk/cases/{approved}")).text, "command_approval")
    done = await send(commander, form, filled(form, {"decision": "approve", "note": "Approved."}))
    assert done.status_code == 303, done.text  # nothing closed: no confirmation

    form = step_form((await commander.get(f"/desk/cases/{rejected}")).text, "command_approval")
    before = await events(d, rejected)
    asked = await send(commander, form, filled(form, {"decision": "reject", "note": "Not enough."}))
    assert "Rejecting the referral closes case" in text(asked.text)
    assert await events(d, rejected) == before
    done = await confirm(commander, asked, "command_approval")
    assert done.status_code == 303, done.text
    stored = (await d.get(rejected)).json()
    assert stored["stage"] == "closed" and stored["disposition"] == "declined"
