"""The human steps: each declared once, beside its check and its change (pure functions over CaseState).

`STEPS` lists them in the order declared: the investigation's, the review's, the prosecution's, those taken at
any stage, the closing and the evidence's. A new step is one `declare(...)` in the module of its stage
(referrals/domain/steps/declaration.py says what a declaration holds; README.md's "Adding a step").
"""

from referrals.domain.steps import closing, evidence, investigation, people, prosecution, review
from referrals.domain.steps.closing import WITHDRAW, close
from referrals.domain.steps.declaration import REGISTRY, StepSpec, declare, describe_roles
from referrals.domain.steps.evidence import ADD_EVIDENCE, REMOVE_EVIDENCE
from referrals.domain.steps.investigation import FOOTAGE_HOLD, SUPERVISOR_IDENTIFICATION, VIOLATION_REPORT
from referrals.domain.steps.people import ADD_PERSON, FILE_SUPPLEMENT
from referrals.domain.steps.prosecution import (
    ARRAIGNMENT,
    CHARGING_DECISION,
    PROSECUTION_OUTCOME,
    REMOVAL_NOTICE,
    REMOVAL_OUTCOME,
)
from referrals.domain.steps.review import (
    COMMAND_APPROVAL,
    HELD_SUBJECT_REVIEW,
    LEGAL_REVIEW,
    REFERRAL_ACKNOWLEDGEMENT,
    TOUHY_RESPONSE,
)

STEPS: list[StepSpec] = REGISTRY  # every declaration, as declared (a step declared later is listed as well)


def step(name: str) -> StepSpec | None:
    return next((s for s in STEPS if s.name == name), None)


__all__ = [
    "ADD_EVIDENCE",
    "ADD_PERSON",
    "ARRAIGNMENT",
    "CHARGING_DECISION",
    "COMMAND_APPROVAL",
    "FILE_SUPPLEMENT",
    "FOOTAGE_HOLD",
    "HELD_SUBJECT_REVIEW",
    "LEGAL_REVIEW",
    "PROSECUTION_OUTCOME",
    "REFERRAL_ACKNOWLEDGEMENT",
    "REMOVAL_NOTICE",
    "REMOVAL_OUTCOME",
    "REMOVE_EVIDENCE",
    "STEPS",
    "SUPERVISOR_IDENTIFICATION",
    "TOUHY_RESPONSE",
    "VIOLATION_REPORT",
    "WITHDRAW",
    "StepSpec",
    "close",
    "closing",
    "declare",
    "describe_roles",
    "evidence",
    "investigation",
    "people",
    "prosecution",
    "review",
    "step",
]
