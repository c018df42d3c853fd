"""The Chicago scenario of the issue, as request bodies, and a small driver for the API."""

import asyncio
import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

# Recordings from two hours ago, flagged: two years from purge under Chicago's policy (an unflagged one: 90 days).
# (Old footage is its own test: it escalates at filing.)
RECORDED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
FLAGGED_DAYS, UNFLAGGED_DAYS = 730, 90
PURGE_DATE = (RECORDED + timedelta(days=FLAGGED_DAYS)).date()
# Holds keep them ten years: after the purge date even once the time-skipping tests have moved the clock on a year.
KEEP_UNTIL = (date.today() + timedelta(days=10 * 365)).isoformat()


def at(minutes: int) -> str:
    return (RECORDED + timedelta(minutes=minutes)).isoformat()


FILING = {
    "occurred_at": at(3),
    "location": "W 26th St & S Pulaski Rd",
    "district": "010",
    "event_number": "2603104512",
    "summary": "Federal agents detained two people; a bystander was struck",
    "narrative": "At 13:05 P.O. Ruiz observed masked agents detain two people; one struck a bystander.",
    "injuries": True,
    "ems_called": True,
    "officers": [{"name": "P.O. Ana Ruiz", "star": "12345"}],
    "recordings": [
        {
            "camera_id": "X6031234",
            "officer_star": "12345",
            "started_at": at(0),
            "ended_at": at(38),
            "flag_reasons": ["use_of_force", "detention_or_arrest"],
        },
        {
            "camera_id": "X6039999",
            "officer_star": "67890",
            "started_at": at(2),
            "ended_at": at(33),
            "flag_reasons": ["use_of_force"],
        },
    ],
    "federal_personnel": [
        {"agency": "ICE", "name": None, "badge": None, "description": "masked; vest marked POLICE ICE"}
    ],
}

HOLD_1 = {"camera_id": "X6031234", "hold_reference": "AXON-2026-0042", "retained_until": KEEP_UNTIL}
HOLD_2 = {"camera_id": "X6039999", "hold_reference": "AXON-2026-0043", "retained_until": KEEP_UNTIL}
IDENTIFIED = {
    "outcome": "identified",
    "name": "J. Doe",
    "agency": "ICE",
    "title": "Supervisory Deportation Officer",
    "badge": "4411",
    "verification": "credential_viewed",
    "camera_id": "X6031234",
    "notes": "Credential shown on camera at 13:21.",
}
VIOLATIONS = {
    "allegations": [
        {
            "statute": "720 ILCS 5/12-3",
            "person": "agent in grey vest",
            "facts": "Struck a bystander who was filming from the sidewalk.",
        }
    ],
    "narrative": "The bystander stood 3 m away and made no threatening move.",
}
SUBJECT = {
    "subject": "unidentified agent in grey vest",
    "agency": "ICE",
    "acts": "Struck a bystander who was filming from the sidewalk, 3 m from the arrest.",
    "charges": [
        {
            "statute": "720 ILCS 5/12-3",
            "elements": [
                {"element": 1, "facts": "He swung at her deliberately (witness P2; camera X6031234 at 13:09)."},
                {"element": 2, "facts": "Abrasions to both palms, treated by EMS (P1)."},
            ],
        }
    ],
    "authority": {
        "operation": "Arrest of one named person",
        "legal_basis": "administrative_warrant",
        "basis_detail": "Form I-200",
        "target": "the person named in the warrant, not the bystander",
        "within_authority": "The warrant reached one person; it did not reach the bystander.",
        "finding": "not_met",
    },
    "necessary_and_proper": {
        "conduct": "A blow to a bystander who was filming.",
        "alternatives": "Asking her to step back; the arrest was complete.",
        "objective_reasonableness": "Not reasonable: she made no threatening move.",
        "finding": "not_met",
    },
    "finding": "not_immune",
    "disputed_facts": ["Whether the bystander stepped towards the arrest before the blow"],
}
REFER = {"decision": "refer", "rationale": "The force was gratuitous.", "subjects": [SUBJECT]}
# A review in the form taken before the per-subject analysis: refused now (its review-level fields are unknown).
REFER_SINGLE_BLOCK = {
    "decision": "refer",
    "charges": ["720 ILCS 5/12-3"],
    "rationale": "The force was gratuitous.",
    "return_tasks": [],
    "immunity": {
        "federal_authority": "Administrative warrant for one person, not the bystander.",
        "necessary_and_proper": "Striking a non-resisting bystander was not necessary.",
        "finding": "not_immune",
    },
}
VICTIM = {
    "part": "victim",
    "name": "Jane Roe",
    "contact": {"phone": "312-555-0100", "email": "jane.roe@example.org", "address": "2700 S Pulaski Rd"},
    "language": "es",
    "interpreter": True,
    "injuries": {
        "description": "abrasions to both palms",
        "ems_treated": True,
        "hospital": "Mount Sinai Hospital",
        "treatment_refused": False,
    },
    "statements": [
        {
            "text": "He pushed me while I was filming.",
            "taken_by": "P.O. Ana Ruiz (12345)",
            "taken_at": at(20),
            "place": "on scene",
            "camera_id": "X6031234",
            "interpreter": "P.O. Luis Vega",
        }
    ],
}
WITNESS = {
    "part": "witness",
    "name_withheld": "declined",
    "contact": {"phone": "773-555-0199"},
    "statements": [
        {
            "text": "The agent in the grey vest swung at her.",
            "taken_by": "P.O. Ana Ruiz (12345)",
            "taken_at": at(25),
            "place": "2650 W 26th St",
        }
    ],
}
APPROVE = {"decision": "approve", "note": "Approved for referral to the CCSAO."}


class AtCall:
    """A date a body takes when it is sent (`dated`, which the Driver applies to every body): the moment of the call
    (`NOW_AT_CALL`) or its day in Chicago (`TODAY_AT_CALL`). The prosecution's dates follow the approval, which the
    case records when it is given, and may not lie in the future: so the acknowledgement, the charging decision and
    the courts' days are dated when they are sent, each after the step before it."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what} at the call>"

    def value(self) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        return now.isoformat() if self.what == "now" else now.astimezone(ZoneInfo("America/Chicago")).date().isoformat()


NOW_AT_CALL, TODAY_AT_CALL = AtCall("now"), AtCall("today")


def dated(body: Any) -> Any:
    """`body` with each `AtCall` date given its value now."""
    if isinstance(body, dict):
        return {key: dated(value) for key, value in body.items()}
    if isinstance(body, list):
        return [dated(value) for value in body]
    return body.value() if isinstance(body, AtCall) else body


ACK = {"prosecutor_case_number": "26-FR-0193", "received_by": "ASA M. Lee", "received_at": NOW_AT_CALL}
# The courts' days: the day they are sent, in Chicago (the removal window runs 30 days from the arraignment).
ARRAIGNED = TODAY_AT_CALL


def last_day_for_removal(arraigned: date, holidays=()) -> date:
    """30 days after the arraignment; a weekend or a court holiday runs on to the next court day."""
    last = arraigned + timedelta(days=30)
    while last.weekday() >= 5 or last in holidays:
        last += timedelta(days=1)
    return last


DECIDED = NOW_AT_CALL  # after the acknowledgement
CHARGED = {
    "decision": "charged",
    "decided_at": DECIDED,
    "court_case_number": "26-CR-01234",
    "charges": [{"subject": "unidentified agent in grey vest", "statutes": ["720 ILCS 5/12-3"]}],
    "arraignment_date": ARRAIGNED,
}
DECLINED = {
    "decision": "declined",
    "decided_at": DECIDED,
    "reason": "Insufficient evidence to identify the agent beyond a reasonable doubt.",
}
REMOVAL = {
    "filed_on": TODAY_AT_CALL,
    "district_court": "U.S. District Court for the Northern District of Illinois",
    "federal_case_number": "1:26-cr-00077",
}
REMANDED = {
    "result": "remanded",
    "decided_on": TODAY_AT_CALL,
    "note": "No colorable federal defence.",
}
CONVICTED = {"outcome": "convicted", "decided_on": TODAY_AT_CALL}
# The other ends of a review: returned to the supervisor, declined (the agent immune).
RETURN = {
    "decision": "return",
    "rationale": "Identify the supervisor again: the credential was not legible.",
    "return_tasks": ["supervisor_identification"],
}
IMMUNE = {
    **SUBJECT,
    "authority": {**SUBJECT["authority"], "legal_basis": "judicial_warrant", "finding": "met"},
    "necessary_and_proper": {**SUBJECT["necessary_and_proper"], "finding": "met"},
    "finding": "immune",
}
DECLINE = {"decision": "decline", "rationale": "The force used was within the warrant's scope.", "subjects": [IMMUNE]}
# A review that asks federal agencies for the evidence they hold (Touhy requests).
BODY_CAMERAS = {
    "kind": "body_camera",
    "description": "Body-worn camera recordings of the ICE agents on scene, W 26th St & S Pulaski Rd, 13:00-13:45",
    "relevance": "The blow to the bystander, from the agents' side.",
}
RADIO = {
    "kind": "radio_traffic",
    "description": "The operation's radio traffic, 12:30-14:00",
    "relevance": "Whether the agents were told to clear the sidewalk, and by whom.",
}
PLAN = {
    "kind": "operation_plan",
    "description": "The operation plan and the warrant it executed",
    "relevance": "The authority claimed (prong 1): whom the warrant named.",
}
ASKING = {
    **REFER,
    "federal_evidence": [{"agency": "ICE", "records": [BODY_CAMERAS, RADIO]}, {"agency": "FBI", "records": [PLAN]}],
}
# What is added later: a supplement (a second camera, the witness, a statement, corrections), an evidence item.
NEW_CAMERA = {
    "camera_id": "X6035555",
    "officer_star": "24680",
    "started_at": at(1),
    "ended_at": at(30),
    "flag_reasons": ["use_of_force"],
}
SUPPLEMENT = {
    "narrative": "A second camera was found; the victim gave a further statement at the hospital.",
    "recordings": [NEW_CAMERA],
    "people": [WITNESS],
    "statements": [
        {
            "person_id": "P1",
            "text": "The agent did not say who he was.",
            "taken_by": "Det. K. Moss",
            "taken_at": at(90),
            "place": "Mount Sinai Hospital",
        }
    ],
    "federal_personnel": [{"agency": "CBP", "description": "driver of the grey SUV"}],
    "corrections": [
        {"field": "location", "value": "W 26th St & S Karlov Ave", "reason": "the first address was the next block"},
        {"field": "officers[0].star", "value": "12346", "reason": "typed wrong at filing"},
        {"field": "people[P1].name", "value": "Janet Roe", "reason": "spelt from her ID at the hospital"},
    ],
}
PHOTO = {
    "kind": "photo",
    "description": "injury to the left palm",
    "source": "cpd",
    "collected_by": "P.O. A. Rivera, star 12345",
    "collected_at": at(60),  # an hour after the recordings began, after the incident
}
# Every clear-text contact detail of the scenario's people: none of it may be stored anywhere readable.
CLEAR = ["312-555-0100", "jane.roe@example.org", "2700 S Pulaski Rd", "773-555-0199"]
# What the Temporal server's histories and the traces must never hold in clear: names, badges, narratives, the
# people's contact details and what they said.
SECRETS = [
    "Ruiz",
    "12345",
    "67890",
    "J. Doe",
    "4411",
    "bystander",
    "grey vest",
    "Supervisory Deportation",
    "AXON-2026-0042",
    "Test officer",
    "Test reviewer",
    # the people involved: names, contact details, what they said
    "Jane Roe",
    "312-555-0100",
    "jane.roe@example.org",
    "2700 S Pulaski",
    "773-555-0199",
    "He pushed me",
    "swung at her",
    "Mount Sinai",
]


def recorded_at(started: datetime, body: dict = FILING, flags: list[str] | None = None) -> dict:
    """The filing with its recordings starting at `started` (the time-skipping server's clock moves on), and with
    `flags` for each recording's flag reasons if given ([]: unflagged, purged after 90 days)."""
    recordings = [
        {
            **r,
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=30)).isoformat(),
            **({"flag_reasons": flags} if flags is not None else {}),
        }
        for r in body["recordings"]
    ]
    return {**body, "recordings": recordings}


async def fresh_filing(time_env) -> dict:
    return recorded_at(await time_env.get_current_time() - timedelta(hours=2))


def filing(**changes) -> dict:
    body = copy.deepcopy(FILING)
    body.update(changes)
    return body


async def quiet(handle) -> None:
    """Until the workflow has nothing in flight: no document being made, no activity or workflow task
    pending (the documents and messages that follow a step run after it has answered), and every event it
    recorded stored (a document's record may wait up to a second on a timer to ride the next step's write)."""
    for _ in range(400):
        described = (await handle.describe()).raw_description
        if not described.pending_activities and not described.HasField("pending_workflow_task"):
            trail = await handle.query("audit_trail")
            if isinstance(trail, dict):
                pending, seq, written = (
                    trail["state"]["documents_pending"],
                    trail["state"]["event_seq"],
                    trail["written"],
                )
            else:
                pending, seq, written = trail.state.documents_pending, trail.state.event_seq, trail.written
            if not pending and written == seq:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} still busy after 20 s")


class Driver:
    def __init__(self, api: httpx.AsyncClient, people):
        self.api = api
        self.people = people

    async def file(self, who: str = "officer", body: dict | None = None, **headers) -> httpx.Response:
        return await self.api.post("/incidents", json=body or FILING, headers={**self.people.headers(who), **headers})

    async def new_case(self, who: str = "officer", body: dict | None = None) -> dict:
        response = await self.file(who, body)
        assert response.status_code == 201, response.text
        return response.json()

    async def step(self, case_id: str, path: str, who: str, body: dict) -> httpx.Response:
        return await self.api.post(f"/incidents/{case_id}/{path}", json=dated(body), headers=self.people.headers(who))

    async def ok(self, case_id: str, path: str, who: str, body: dict) -> dict:
        response = await self.step(case_id, path, who, body)
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, case_id: str, who: str = "auditor") -> httpx.Response:
        return await self.api.get(f"/incidents/{case_id}", headers=self.people.headers(who))

    async def events(self, case_id: str, who: str = "auditor") -> dict:
        response = await self.api.get(f"/incidents/{case_id}/events", headers=self.people.headers(who))
        assert response.status_code == 200, response.text
        return response.json()

    async def settled(self, case_id: str, who: str = "auditor") -> dict:
        """The case's audit trail once no document is being generated (they follow their steps). Up to 30 s: the
        document maker runs at the lowest priority, and `make test` keeps both cores busy with the tiers beside it."""
        for _ in range(600):
            if not (await self.get(case_id, who)).json()["documents_pending"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"documents of {case_id} still being generated after 30 s")
        return await self.events(case_id, who)

    async def investigate(self, case_id: str) -> dict:
        await self.ok(case_id, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
        await self.ok(case_id, "supervisor-identification", "officer", IDENTIFIED)
        return await self.ok(case_id, "violation-report", "officer", VIOLATIONS)

    async def refer_to_the_end(self, case_id: str) -> dict:
        """Investigation, a referral, its approval and the prosecutor's acknowledgement: the case is in prosecution."""
        await self.investigate(case_id)
        await self.ok(case_id, "legal-review", "reviewer", REFER)
        await self.ok(case_id, "command-approval", "commander", APPROVE)
        return await self.ok(case_id, "referral-acknowledgement", "liaison", ACK)

    async def decline_charges(self, case_id: str) -> dict:
        """The prosecutor declines to charge: the case closes, referred."""
        return await self.ok(case_id, "charging-decision", "liaison", DECLINED)
