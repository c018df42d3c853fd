"""Every input the API accepts and the workflow receives: strict pydantic models.

Unknown fields are rejected, and so is any field that asks for a person's immigration status
or citizenship (Illinois TRUST Act, Chicago Welcoming City Ordinance).

Import from here (`from referrals.domain.messages import X`); the modules, in the order they build on each other:

- `fields`: the constrained field types (Key, District, Flag, Name, Short, Line, FlagCode, Text) and the refusal
  of NUL and bidirectional control characters (BIDI_CONTROLS, bidi_problem, the schema's patterns).
- `clock`: times and days and their rules against the clock (Happened, Until, Day, CourtDate; EARLIEST,
  CLOCK_SKEW): not in the future, not in the past, not before 1900.
- `privacy`: the privacy rule (PRIVACY_RULE, FORBIDDEN_FIELD, asks_status).
- `base`: RequestModel (which applies the privacy rule to every body, at any depth), Actor and Step.
- `people`: persons, their contact details (Contact in the clear, SealedContact), injuries and statements.
- `filing`: the incident, its officers, federal personnel and recordings; IncidentFiling and FilingRequest.
- `investigation`: the footage hold, the supervisor's identification, the violation report.
- `supplements`: supplementary reports and their corrections.
- `evidence`: an evidence item's metadata, the item as the case keeps it, its removal.
- `review`: the legal analysis per subject (the two prongs), Touhy records sought, the legal review, command
  approval, the prosecutor's acknowledgement, withdrawal.
- `prosecution`: the charging decision, arraignment, removal notice and outcome, Touhy answers, the prosecution's
  outcome.
- `admin`: the admin's requests (NewUser).
- `arrival`: the checks on arrival (clock_problems, clock_problems_in): the rules the field types carry as marks,
  checked once when a request arrives, never in a validator.
"""

from referrals.domain.messages.admin import (
    NewUser,
)
from referrals.domain.messages.arrival import (
    clock_problems,
    clock_problems_in,
)
from referrals.domain.messages.base import (
    Actor,
    P,
    RequestModel,
    Step,
)
from referrals.domain.messages.clock import (
    CLOCK_SKEW,
    EARLIEST,
    CourtDate,
    Day,
    Happened,
    Until,
)
from referrals.domain.messages.evidence import (
    SHA256_HEX,
    EvidenceItem,
    EvidenceMetadata,
    EvidenceRemoval,
    HeldElsewhere,
)
from referrals.domain.messages.fields import (
    BIDI_CONTROLS,
    NO_NUL,
    NOT_BLANK,
    TEXT,
    District,
    Flag,
    FlagCode,
    Key,
    Line,
    Name,
    Short,
    Text,
    bidi_problem,
)
from referrals.domain.messages.filing import (
    FederalPerson,
    FilingRequest,
    IncidentDetails,
    IncidentFiling,
    Officer,
    RecordingIn,
    Recordings,
)
from referrals.domain.messages.investigation import (
    Allegation,
    FootageHold,
    Hold,
    SupervisorIdentification,
    ViolationReport,
)
from referrals.domain.messages.people import (
    Contact,
    Injuries,
    Person,
    PersonIn,
    Phone,
    SealedContact,
    StatementIn,
)
from referrals.domain.messages.privacy import (
    FORBIDDEN_FIELD,
    PRIVACY_RULE,
    asks_status,
)
from referrals.domain.messages.prosecution import (
    Arraignment,
    ChargingDecision,
    ProsecutionOutcomeIn,
    RemovalNotice,
    RemovalOutcome,
    SubjectCharges,
    TouhyAnswer,
    TouhyResponse,
)
from referrals.domain.messages.review import (
    REFER_NEEDS,
    Authority,
    ChargeAnalysis,
    CommandApproval,
    ElementProof,
    Exhibit,
    FederalEvidence,
    Held,
    HeldSubjectReview,
    LegalReview,
    LegalReviewIn,
    NecessaryAndProper,
    ReferralAcknowledgement,
    SoughtRecord,
    SubjectAnalysis,
    Withdrawal,
    overall_finding,
    tasks_to_reopen,
)
from referrals.domain.messages.supplements import (
    Correction,
    CorrectionPath,
    StatementAdded,
    Supplement,
    SupplementIn,
)

__all__ = [
    # fields
    "BIDI_CONTROLS",
    "NOT_BLANK",
    "NO_NUL",
    "TEXT",
    "District",
    "Flag",
    "FlagCode",
    "Key",
    "Line",
    "Name",
    "Short",
    "Text",
    "bidi_problem",
    # clock
    "CLOCK_SKEW",
    "EARLIEST",
    "CourtDate",
    "Day",
    "Happened",
    "Until",
    # privacy
    "FORBIDDEN_FIELD",
    "PRIVACY_RULE",
    "asks_status",
    # base
    "P",
    "Actor",
    "RequestModel",
    "Step",
    # people
    "Contact",
    "Injuries",
    "Person",
    "PersonIn",
    "Phone",
    "SealedContact",
    "StatementIn",
    # filing
    "FederalPerson",
    "FilingRequest",
    "IncidentDetails",
    "IncidentFiling",
    "Officer",
    "RecordingIn",
    "Recordings",
    # investigation
    "Allegation",
    "FootageHold",
    "Hold",
    "SupervisorIdentification",
    "ViolationReport",
    # supplements
    "Correction",
    "CorrectionPath",
    "StatementAdded",
    "Supplement",
    "SupplementIn",
    # evidence
    "SHA256_HEX",
    "EvidenceItem",
    "EvidenceMetadata",
    "EvidenceRemoval",
    "HeldElsewhere",
    # review
    "REFER_NEEDS",
    "Authority",
    "ChargeAnalysis",
    "CommandApproval",
    "ElementProof",
    "Exhibit",
    "Held",
    "HeldSubjectReview",
    "FederalEvidence",
    "LegalReview",
    "LegalReviewIn",
    "NecessaryAndProper",
    "ReferralAcknowledgement",
    "SoughtRecord",
    "SubjectAnalysis",
    "Withdrawal",
    "overall_finding",
    "tasks_to_reopen",
    # prosecution
    "Arraignment",
    "ChargingDecision",
    "ProsecutionOutcomeIn",
    "RemovalNotice",
    "RemovalOutcome",
    "SubjectCharges",
    "TouhyAnswer",
    "TouhyResponse",
    # admin
    "NewUser",
    # arrival
    "clock_problems",
    "clock_problems_in",
]
