"""What the fast tier builds its cases from.

- Chicago's policy as shipped (`CHICAGO`), and a fixed clock (`NOW`: a Monday, 09:00 in Chicago).
- The people who act (`OFFICER` files the cases; one actor per role besides).
- The scenario's request bodies, as dicts, so that a test changes one field: `{**HOLD_1, "camera_id": "NOPE"}`.
- `Case`: a CaseState driven through the human steps as the workflow drives it (referrals/workflows/incident.py):
  each step's `validate` then `take`, the documents it asks for queued, and the run loop's reaction (the next
  stage entered with its task opened, tasks reopened by a return, the case closed) replayed in memory.
"""

import copy
import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from referrals.config import ROOT
from referrals.domain import steps
from referrals.domain.case import CaseState, DocumentRef, IncidentInput, new_case, open_task
from referrals.domain.enums import (
    INVESTIGATION_TASKS,
    STAGE_TASK,
    ApprovalDecision,
    ChargingKind,
    Disposition,
    ReviewDecision,
    Role,
    Stage,
    Task,
    TaskStatus,
)
from referrals.domain.errors import Rejection
from referrals.domain.messages import Actor, IncidentFiling, Person, Step
from referrals.domain.policy import Policy, load_policy
from referrals.domain.steps import StepSpec

POLICIES = ROOT / "policy"
CHICAGO = load_policy(POLICIES / "chicago.toml")

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 2 March 2026, 09:00 in Chicago
RECORDED = NOW - timedelta(hours=2)
FLAGGED_DAYS, UNFLAGGED_DAYS = 730, 90  # Chicago's retention of a flagged and an unflagged recording
PURGE_DATE = (RECORDED + timedelta(days=FLAGGED_DAYS)).date()  # the scenario's recordings are flagged
KEEP_UNTIL = (PURGE_DATE + timedelta(days=365)).isoformat()


def at(minutes: int) -> str:
    """A moment of the incident, `minutes` after the first recording started."""
    return (RECORDED + timedelta(minutes=minutes)).isoformat()


# --- who acts --------------------------------------------------------------------------------------------------


def actor(*roles: Role, user_id: str | None = None, district: str | None = None) -> Actor:
    who = "+".join(r.value for r in roles) or "nobody"
    return Actor(user_id=user_id or f"u-{who}", name=f"Test {who}", roles=list(roles), district=district)


OFFICER = Actor(user_id="u-officer", name="P.O. Ana Ruiz", roles=[Role.OFFICER], district="010", star="12345")
SUPERVISOR = actor(Role.SUPERVISOR, district="010")
CUSTODIAN = actor(Role.EVIDENCE_CUSTODIAN)
REVIEWER = actor(Role.LEGAL_REVIEWER)
COMMANDER = actor(Role.COMMAND)
LIAISON = actor(Role.PROSECUTOR_LIAISON)
AUDITOR = actor(Role.AUDITOR)
ADMIN = actor(Role.ADMIN)

# --- the scenario's bodies -------------------------------------------------------------------------------------

CAMERA_1, CAMERA_2 = "X6031234", "X6039999"
FILING: dict[str, Any] = {
    "occurred_at": at(3),
    "location": "W 26th St & S Pulaski Rd",
    "district": "010",
    "event_number": "2603104512",
    "summary": "Federal agents detained two people; a bystander was struck",
    "narrative": "At 07:05 P.O. Ruiz observed masked agents detain two people; one struck a bystander.",
    "injuries": True,
    "ems_called": True,
    "officers": [{"name": "P.O. Ana Ruiz", "star": "12345"}],
    "recordings": [
        {
            "camera_id": CAMERA_1,
            "officer_star": "12345",
            "started_at": at(0),
            "ended_at": at(38),
            "flag_reasons": ["use_of_force", "detention_or_arrest"],
        },
        {
            "camera_id": CAMERA_2,
            "officer_star": "67890",
            "started_at": at(2),
            "ended_at": at(33),
            "flag_reasons": ["use_of_force"],
        },
    ],
    "federal_personnel": [{"agency": "ICE", "description": "masked; vest marked POLICE ICE"}],
}


def filing(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(FILING)
    body.update(changes)
    return body


HOLD_1 = {"camera_id": CAMERA_1, "hold_reference": "AXON-2026-0042", "retained_until": KEEP_UNTIL}
HOLD_2 = {"camera_id": CAMERA_2, "hold_reference": "AXON-2026-0043", "retained_until": KEEP_UNTIL}
IDENTIFIED = {
    "outcome": "identified",
    "name": "J. Doe",
    "agency": "ICE",
    "title": "Supervisory Deportation Officer",
    "badge": "4411",
    "verification": "credential_viewed",
    "camera_id": CAMERA_1,
}
BATTERY = "720 ILCS 5/12-3"  # two elements in Chicago's catalogue
VIOLATIONS = {
    "allegations": [{"statute": BATTERY, "person": "agent in grey vest", "facts": "Struck a bystander filming."}],
    "narrative": "The bystander stood 3 m away and made no threatening move.",
}
PROVED = [
    {"element": 1, "facts": "He swung at her deliberately."},
    {"element": 2, "facts": "Abrasions to both palms, treated by EMS."},
]
SUBJECT = {
    "subject": "unidentified agent in grey vest",
    "agency": "ICE",
    "acts": "Struck a bystander who was filming from the sidewalk.",
    "charges": [{"statute": BATTERY, "elements": PROVED}],
    "authority": {
        "operation": "Arrest of one named person",
        "legal_basis": "administrative_warrant",
        "within_authority": "The warrant reached one person; it did not reach the bystander.",
        "finding": "not_met",
    },
    "necessary_and_proper": {
        "conduct": "A blow to a bystander who was filming.",
        "alternatives": "Asking her to step back.",
        "objective_reasonableness": "Not reasonable: she made no threatening move.",
        "finding": "not_met",
    },
    "finding": "not_immune",
}
IMMUNE = {
    **SUBJECT,
    "subject": "agent in blue cap",
    "authority": {**SUBJECT["authority"], "legal_basis": "judicial_warrant", "finding": "met"},
    "necessary_and_proper": {**SUBJECT["necessary_and_proper"], "finding": "met"},
    "finding": "immune",
}
REFER = {"decision": "refer", "rationale": "The force was gratuitous.", "subjects": [SUBJECT]}
DECLINE = {"decision": "decline", "rationale": "Within the warrant's scope.", "subjects": [IMMUNE]}
RETURN = {"decision": "return", "rationale": "Ask the supervisor again.", "return_tasks": ["supervisor_identification"]}
BODY_CAMERAS = {"kind": "body_camera", "description": "The agents' recordings", "relevance": "The blow."}
PLAN = {"kind": "operation_plan", "description": "The operation plan", "relevance": "The authority claimed."}


def asking(*agencies: str, review: dict | None = None) -> dict:
    """A review that asks each agency for records (a Touhy request each)."""
    return {**(review or REFER), "federal_evidence": [{"agency": a, "records": [BODY_CAMERAS]} for a in agencies]}


APPROVE = {"decision": "approve", "note": "Approved for referral."}
REJECT = {"decision": "reject", "note": "Not yet."}
ACK_AT = RECORDED + timedelta(minutes=600)  # the prosecutor's acknowledgement: eight hours after NOW's approval
ACK = {"prosecutor_case_number": "26-FR-0193", "received_by": "ASA M. Lee", "received_at": ACK_AT.isoformat()}
# In the order of the lifecycle: approved at NOW, acknowledged at ACK (NOW + 8 h), decided an hour after.
DECIDED = NOW + timedelta(hours=9)  # the prosecutor's charging decision, the evening of NOW's day in Chicago
ARRAIGNED = date(2026, 3, 4)  # a Wednesday: day 30 is Friday 3 April 2026
CHARGED = {
    "decision": "charged",
    "decided_at": DECIDED.isoformat(),
    "court_case_number": "26-CR-01234",
    "charges": [{"subject": SUBJECT["subject"], "statutes": [BATTERY]}],
    "arraignment_date": ARRAIGNED.isoformat(),
}
CHARGED_NOT_YET_ARRAIGNED = {k: v for k, v in CHARGED.items() if k != "arraignment_date"}
DECLINED = {"decision": "declined", "decided_at": DECIDED.isoformat(), "reason": "Insufficient evidence."}
GRAND_JURY = {"decision": "grand_jury", "decided_at": DECIDED.isoformat(), "grand_jury_date": "2026-04-15"}
FURTHER = {
    "decision": "further_investigation",
    "decided_at": DECIDED.isoformat(),
    "requested": "The agents' radio traffic.",
    "return_tasks": ["violation_report"],
}
REMOVAL = {
    "filed_on": "2026-03-10",
    "district_court": "U.S. District Court for the Northern District of Illinois",
    "federal_case_number": "1:26-cr-00077",
}
REMANDED = {"result": "remanded", "decided_on": "2026-03-20", "note": "No colorable federal defence."}
DISMISSED = {"outcome": "dismissed", "decided_on": "2026-03-25"}
CONVICTED = {"outcome": "convicted", "decided_on": "2026-03-25"}
STATEMENT = {"text": "The agent swung at her.", "taken_by": "P.O. Ana Ruiz", "taken_at": at(25), "place": "on scene"}
WITNESS = {"part": "witness", "name_withheld": "declined", "statements": [STATEMENT]}
VICTIM = {"part": "victim", "name": "Jane Roe", "language": "es", "interpreter": True}
SEALED = {"key_id": "k1", "data": "bm9uY2UgYW5kIGNpcGhlcnRleHQ="}  # a person's contact details as the case keeps them
NEW_CAMERA = {
    "camera_id": "X6035555",
    "officer_star": "24680",
    "started_at": at(1),
    "ended_at": at(30),
    "flag_reasons": ["use_of_force"],
}
PHOTO = {
    "id": "e-1",
    "kind": "photo",
    "description": "injury to the left palm",
    "source": "cpd",
    "collected_by": "P.O. A. Rivera, star 12345",
    "collected_at": at(60),
    "filename": "palm.jpg",
    "content_type": "image/jpeg",
    "size": 1024,
    "sha256": "ab" * 32,
}
HOSPITAL_RECORD = {
    "id": "e-2",
    "kind": "medical_record",
    "description": "ER notes",
    "source": "hospital",
    "collected_by": "Det. K. Moss",
    "collected_at": at(300),
    "held_elsewhere": {"system": "Mount Sinai records", "reference": "MS-2026-1"},
}
WITHDRAWAL = {"reason": "Filed in error."}
ANSWERED = {"outcome": "produced", "received_on": NOW.date().isoformat()}


def answer(request_id: str, **changes: Any) -> dict:
    return {**ANSWERED, "request_id": request_id, **changes}


# --- a case, driven as the workflow drives it ------------------------------------------------------------------


class Case:
    """One case in memory. `step` takes a human step as the workflow's update handler does (its check, its
    change, the documents it asks for) and then moves the case on as the workflow's run loop would."""

    def __init__(self, state: CaseState, policy: Policy = CHICAGO, now: datetime = NOW):
        self.state = state
        self.policy = policy
        self.now = now

    @classmethod
    def filed(
        cls,
        body: dict | None = None,
        *,
        people: list[dict] = (),
        by: Actor = OFFICER,
        policy: Policy = CHICAGO,
        now: datetime = NOW,
    ) -> "Case":
        filing_ = IncidentFiling.model_validate(FILING if body is None else body)
        inp = IncidentInput(
            case_id="c-1",
            case_number=f"{policy.case_prefix}-2026-000001",
            filed_by=by,
            filing=filing_,
            policy=policy,
            request_hash=hashlib.sha256(filing_.model_dump_json().encode()).hexdigest(),
            people=[Person.model_validate(p) for p in people],
        )
        return cls(new_case(inp, now), policy, now)

    # --- the clock

    def later(self, **delta: float) -> "Case":
        self.now += timedelta(**delta)
        return self

    # --- a step

    def step(self, spec: StepSpec, who: Actor, body: dict, *, move_on: bool = True) -> dict:
        """Takes the step (it must be accepted): what its audit event records."""
        step = Step(actor=who, payload=spec.workflow_payload.model_validate(body))
        spec.validate(self.state, step, self.policy)
        data = spec.take(self.state, step, self.now, self.policy)
        self.state.documents_pending.extend(spec.documents(self.state))
        if move_on:
            self.move_on()
        return data

    def refusal(self, spec: StepSpec, who: Actor, body: dict) -> Rejection:
        """The step's refusal; the case is left exactly as it was."""
        before = self.state.model_dump()
        step = Step(actor=who, payload=spec.workflow_payload.model_validate(body))
        with pytest.raises(Rejection) as refused:
            spec.validate(self.state, step, self.policy)
        assert self.state.model_dump() == before, "a refused step changed the case"
        return refused.value

    # --- the run loop's reaction to a completed task (referrals/workflows/incident.py, `run`)

    def move_on(self) -> None:
        state = self.state
        while not state.closed:
            if state.stage == Stage.INVESTIGATION:
                if any(state.tasks[t].status == TaskStatus.OPEN for t in INVESTIGATION_TASKS):
                    return
                self._enter(Stage.LEGAL_REVIEW)
                continue
            if state.tasks[STAGE_TASK[state.stage]].status != TaskStatus.DONE:
                return
            if state.stage == Stage.LEGAL_REVIEW:
                review = state.legal_reviews[-1].payload
                if review.decision == ReviewDecision.RETURN:
                    self._reopen(review.return_tasks)
                elif review.decision == ReviewDecision.DECLINE:
                    steps.close(state, Disposition.DECLINED, self.now)
                else:
                    self._enter(Stage.COMMAND_APPROVAL)
            elif state.stage == Stage.COMMAND_APPROVAL:
                if state.command_decisions[-1].payload.decision == ApprovalDecision.REJECT:
                    steps.close(state, Disposition.DECLINED, self.now)
                else:
                    self._enter(Stage.REFERRAL)
            elif state.stage == Stage.REFERRAL:
                self._enter(Stage.PROSECUTION)
            else:  # the prosecution: charged, it lasts until the outcome
                prosecution = state.prosecution
                if prosecution.decision.decision == ChargingKind.FURTHER_INVESTIGATION:
                    self._reopen(prosecution.decision.return_tasks)
                elif prosecution.charged and prosecution.outcome is None:
                    return
                else:
                    steps.close(state, Disposition.REFERRED, self.now)

    def _enter(self, stage: Stage) -> None:
        self.state.stage = stage
        open_task(self.state, STAGE_TASK[stage], self.now, self.policy)

    def _reopen(self, tasks: list[Task]) -> None:
        self.state.investigation_round += 1
        self.state.stage = Stage.INVESTIGATION
        for task in tasks:
            open_task(self.state, task, self.now, self.policy)

    # --- the documents asked for, made (the workflow's document activity, without its bytes)

    def make_documents(self) -> list[DocumentRef]:
        made = []
        for kind in self.state.documents_pending:
            version = 1 + sum(d.kind == kind for d in self.state.documents)
            ref = DocumentRef(
                id=f"d-{len(self.state.documents) + 1}",
                kind=kind,
                version=version,
                filename=f"{kind.value}-v{version}.docx",
                size=1,
                sha256="0" * 64,
                created_at=self.now,
            )
            self.state.documents.append(ref)
            made.append(ref)
        self.state.documents_pending = []
        return made

    # --- the lifecycle, stage by stage

    def investigated(self) -> "Case":
        self.step(steps.FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, HOLD_2]})
        self.step(steps.SUPERVISOR_IDENTIFICATION, OFFICER, IDENTIFIED)
        self.step(steps.VIOLATION_REPORT, OFFICER, VIOLATIONS)
        return self

    def reviewed(self, review: dict = REFER) -> "Case":
        self.step(steps.LEGAL_REVIEW, REVIEWER, review)
        return self

    def approved(self) -> "Case":
        self.step(steps.COMMAND_APPROVAL, COMMANDER, APPROVE)
        return self

    def acknowledged(self) -> "Case":
        """Acknowledged eight hours after the case's clock (as ACK is after NOW): after the approval, taken then."""
        received = self.now + (ACK_AT - NOW)
        self.step(steps.REFERRAL_ACKNOWLEDGEMENT, LIAISON, {**ACK, "received_at": received.isoformat()})
        return self

    def in_prosecution(self, review: dict = REFER) -> "Case":
        return self.investigated().reviewed(review).approved().acknowledged()

    def charged(self, body: dict = CHARGED) -> "Case":
        self.in_prosecution()
        self.step(steps.CHARGING_DECISION, LIAISON, body)
        return self

    def withdrawn(self) -> "Case":
        self.step(steps.WITHDRAW, COMMANDER, WITHDRAWAL)
        return self


def filed(body: dict | None = None, **kwargs: Any) -> Case:
    return Case.filed(body, **kwargs)
