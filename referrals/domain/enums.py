"""One vocabulary for the API, the workflow, search attributes, notifications and documents."""

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    EVIDENCE_CUSTODIAN = "evidence_custodian"
    LEGAL_REVIEWER = "legal_reviewer"
    COMMAND = "command"
    PROSECUTOR_LIAISON = "prosecutor_liaison"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Task(StrEnum):
    FOOTAGE_HOLD = "footage_hold"
    SUPERVISOR_IDENTIFICATION = "supervisor_identification"
    VIOLATION_REPORT = "violation_report"
    LEGAL_REVIEW = "legal_review"
    COMMAND_APPROVAL = "command_approval"
    REFERRAL_ACKNOWLEDGEMENT = "referral_acknowledgement"
    CHARGING_DECISION = "charging_decision"  # the prosecutor's, recorded by the liaison (prosecution stage)
    # The federal agencies' answers to the case's Touhy requests: open while one is unanswered, due when the
    # earliest unanswered one is; each request runs the task's ladder from its own due time.
    TOUHY_RESPONSE = "touhy_response"
    # The review of the subjects a referral holds back (awaiting a Touhy answer, a laboratory result): open while
    # one is held, due on the earliest held subject's review date.
    HELD_SUBJECT_REVIEW = "held_subject_review"


INVESTIGATION_TASKS = (Task.FOOTAGE_HOLD, Task.SUPERVISOR_IDENTIFICATION, Task.VIOLATION_REPORT)

# Who acts on each task; supervisors act on officers' tasks in their own district.
TASK_OWNER: dict[Task, Role] = {
    Task.FOOTAGE_HOLD: Role.EVIDENCE_CUSTODIAN,
    Task.SUPERVISOR_IDENTIFICATION: Role.OFFICER,
    Task.VIOLATION_REPORT: Role.OFFICER,
    Task.LEGAL_REVIEW: Role.LEGAL_REVIEWER,
    Task.COMMAND_APPROVAL: Role.COMMAND,
    Task.REFERRAL_ACKNOWLEDGEMENT: Role.PROSECUTOR_LIAISON,
    Task.CHARGING_DECISION: Role.PROSECUTOR_LIAISON,
    Task.TOUHY_RESPONSE: Role.PROSECUTOR_LIAISON,
    Task.HELD_SUBJECT_REVIEW: Role.LEGAL_REVIEWER,
}


class TaskStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Stage(StrEnum):
    INVESTIGATION = "investigation"
    LEGAL_REVIEW = "legal_review"
    COMMAND_APPROVAL = "command_approval"
    REFERRAL = "referral"
    PROSECUTION = "prosecution"  # acknowledged by the prosecutor: the charging decision and what follows it
    CLOSED = "closed"


class Disposition(StrEnum):
    REFERRED = "referred"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class SubjectDisposition(StrEnum):
    """What a legal review does with one federal subject: refers them, holds them back until a date (awaiting
    what the review names), or does not charge them."""

    REFERRED = "referred"
    HELD = "held"
    NOT_CHARGED = "not_charged"


class SupervisorOutcome(StrEnum):
    IDENTIFIED = "identified"
    REFUSED = "refused"
    NOT_PRESENT = "not_present"
    UNKNOWN = "unknown"


class Verification(StrEnum):
    CREDENTIAL_VIEWED = "credential_viewed"
    BADGE_VIEWED = "badge_viewed"
    STATED_ONLY = "stated_only"


class ReviewDecision(StrEnum):
    REFER = "refer"
    DECLINE = "decline"
    RETURN = "return"


class ImmunityFinding(StrEnum):
    IMMUNE = "immune"
    NOT_IMMUNE = "not_immune"
    DISPUTED = "disputed"


class ProngFinding(StrEnum):
    """Whether one prong of Supremacy Clause immunity (In re Neagle) is made out for the agent."""

    MET = "met"
    NOT_MET = "not_met"
    DISPUTED = "disputed"


class LegalBasis(StrEnum):
    """What the federal operation claimed as its authority."""

    JUDICIAL_WARRANT = "judicial_warrant"
    ADMINISTRATIVE_WARRANT = "administrative_warrant"  # an ICE Form I-200 or I-205: no judge signed it
    STATUTE = "statute"
    NONE_KNOWN = "none_known"


class ApprovalDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


# The one task of each stage after the investigation.
STAGE_TASK = {
    Stage.LEGAL_REVIEW: Task.LEGAL_REVIEW,
    Stage.COMMAND_APPROVAL: Task.COMMAND_APPROVAL,
    Stage.REFERRAL: Task.REFERRAL_ACKNOWLEDGEMENT,
    Stage.PROSECUTION: Task.CHARGING_DECISION,
}


class EvidenceKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    MEDICAL_RECORD = "medical_record"
    STATEMENT = "statement"
    OTHER = "other"


class EvidenceSource(StrEnum):
    CPD = "cpd"
    CIVILIAN = "civilian"
    HOSPITAL = "hospital"
    OEMC = "oemc"  # the city's emergency communications: 911 calls, dispatch
    FEDERAL_AGENCY = "federal_agency"
    OTHER = "other"


class DocumentKind(StrEnum):
    PRESERVATION_REQUEST = "preservation_request"  # while a recording is not yet held
    HOLD_CONFIRMATION = "hold_confirmation"  # once every recording is held: what is held, until when
    LEGAL_REVIEW_MEMO = "legal_review_memo"
    REFERRAL_PACKET = "referral_packet"
    TOUHY_REQUEST = "touhy_request"  # version N is the case's Nth request (T N), to one agency


class PersonPart(StrEnum):
    """A civilian's part in the incident."""

    VICTIM = "victim"
    WITNESS = "witness"
    COMPLAINANT = "complainant"
    BYSTANDER = "bystander"
    OTHER = "other"


class NameWithheld(StrEnum):
    """Why a person involved has no name in the case."""

    DECLINED = "declined"  # would not give it
    UNKNOWN = "unknown"  # left before it was asked, or could not be identified


class ChargingKind(StrEnum):
    """The prosecutor's charging decision."""

    CHARGED = "charged"
    DECLINED = "declined"
    GRAND_JURY = "grand_jury"
    FURTHER_INVESTIGATION = "further_investigation"


class RemovalResult(StrEnum):
    """What the federal district court did with a notice of removal (28 U.S.C. § 1455(b)(4)-(5))."""

    REMANDED = "remanded"  # back to the state court
    RETAINED = "retained"  # the federal court keeps the prosecution; its outcome is the final outcome


class ProsecutionOutcome(StrEnum):
    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISMISSED = "dismissed"
    PLEA = "plea"
    NOLLE = "nolle"  # nolle prosequi


class FederalRecord(StrEnum):
    """What a Touhy request may ask a federal agency for."""

    BODY_CAMERA = "body_camera"
    DASH_CAMERA = "dash_camera"
    RADIO_TRAFFIC = "radio_traffic"
    OPERATION_PLAN = "operation_plan"
    WARRANT = "warrant"
    REPORTS = "reports"
    TESTIMONY = "testimony"
    OTHER = "other"


class TouhyOutcome(StrEnum):
    PRODUCED = "produced"
    PARTLY_PRODUCED = "partly_produced"
    REFUSED = "refused"  # with the ground the agency stated (for DOJ, one of 28 CFR 16.26)
    NO_ANSWER = "no_answer"
