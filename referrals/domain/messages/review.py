"""The review: the legal analysis per federal subject, charge and element (the two prongs of Supremacy Clause
immunity), the records to ask federal agencies for, the legal review, the command's approval, the prosecutor's
acknowledgement and a withdrawal.
"""

from typing import Annotated, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from referrals.domain.enums import (
    INVESTIGATION_TASKS,
    ApprovalDecision,
    FederalRecord,
    ImmunityFinding,
    LegalBasis,
    ProngFinding,
    ReviewDecision,
    Task,
)
from referrals.domain.messages.base import RequestModel, _unique
from referrals.domain.messages.clock import Happened
from referrals.domain.messages.fields import Line, Name, Short, Text


class ElementProof(RequestModel):
    """One element of a charge (by its number in the statute catalogue), and what proves it."""

    element: Annotated[int, Field(ge=1, le=20)]
    facts: Text
    evidence: list[Short] = Field(default_factory=list, max_length=50)  # the case's evidence item ids


class ChargeAnalysis(RequestModel):
    statute: Short
    elements: list[ElementProof] = Field(default_factory=list, max_length=20)

    @field_validator("elements")
    @classmethod
    def _each_element_once(cls, value: list[ElementProof]) -> list[ElementProof]:
        _unique([str(e.element) for e in value], "element")
        return value


class Authority(RequestModel):
    """Prong 1 (In re Neagle): was the agent doing what federal law authorised?"""

    operation: Line  # the federal operation
    legal_basis: LegalBasis
    basis_detail: Line | None = None  # the warrant or statute as cited
    target: Line | None = None  # whom the operation was after (a description, never a status)
    within_authority: Text  # was the act within that authority, and why
    finding: ProngFinding


class NecessaryAndProper(RequestModel):
    """Prong 2: did the agent do no more than was necessary and proper, judged as the circuit asks?"""

    conduct: Text  # what was done
    alternatives: Text  # what else could have been done
    objective_reasonableness: Text
    subjective_belief: Text | None = None  # where the circuit also asks for the agent's honest belief
    finding: ProngFinding


def overall_finding(authority: ProngFinding, necessary: ProngFinding) -> ImmunityFinding:
    """Immune only when both prongs are met; not immune when either is not met; disputed otherwise."""
    if ProngFinding.NOT_MET in (authority, necessary):
        return ImmunityFinding.NOT_IMMUNE
    if authority == necessary == ProngFinding.MET:
        return ImmunityFinding.IMMUNE
    return ImmunityFinding.DISPUTED


class SubjectAnalysis(RequestModel):
    """One federal subject, on their own: an identified agent, or "unidentified agent in grey vest"."""

    subject: Line
    agency: Short
    acts: Text  # the acts attributed to them
    charges: list[ChargeAnalysis] = Field(default_factory=list, max_length=20)
    authority: Authority
    necessary_and_proper: NecessaryAndProper
    finding: ImmunityFinding  # overall, for this subject
    disputed_facts: list[Line] = Field(default_factory=list, max_length=50)

    @field_validator("charges")
    @classmethod
    def _each_statute_once(cls, value: list[ChargeAnalysis]) -> list[ChargeAnalysis]:
        _unique([c.statute for c in value], "statute")
        return value

    @field_validator("finding")
    @classmethod
    def _finding_follows_the_prongs(cls, value: ImmunityFinding, info: ValidationInfo) -> ImmunityFinding:
        authority, necessary = info.data.get("authority"), info.data.get("necessary_and_proper")
        if authority is None or necessary is None:
            return value  # (their own errors are named)
        expected = overall_finding(authority.finding, necessary.finding)
        if value != expected:
            raise ValueError(
                f"with prong 1 '{authority.finding.value}' and prong 2 '{necessary.finding.value}' the "
                f"overall finding is '{expected.value}'"
            )
        return value


def tasks_to_reopen(value: list[Task], reopens: bool, decision: str) -> list[Task]:
    """The investigation tasks a decision sends back (a review's return, a prosecutor's further investigation)."""
    if not reopens:
        if value:
            raise ValueError(f"is only for decision '{decision}'")
        return value
    if not value:
        raise ValueError(f"decision '{decision}' needs the investigation tasks to reopen")
    wrong = [t.value for t in value if t not in INVESTIGATION_TASKS]
    if wrong:
        raise ValueError(f"may name investigation tasks only, not {', '.join(wrong)}")
    _unique([t.value for t in value], "task")
    return value


class SoughtRecord(RequestModel):
    """One record or testimony a Touhy request asks for, as specifically as the regulations want it."""

    kind: FederalRecord
    description: Line  # "body-worn camera recordings of the agents on scene, 13:00-13:45"
    relevance: Text  # why it matters to the charges


class FederalEvidence(RequestModel):
    """What one federal agency holds that the case needs: it becomes a Touhy request to that agency."""

    agency: Short  # as the policy's touhy.agencies name it: ICE, CBP, FBI, DEA, USMS, ATF
    records: list[SoughtRecord] = Field(min_length=1, max_length=30)


class _ReviewFields(RequestModel):
    decision: ReviewDecision
    rationale: Text
    return_tasks: list[Task] = Field(default_factory=list, max_length=3, validate_default=True)
    subjects: list[SubjectAnalysis] = Field(default_factory=list, max_length=50, validate_default=True)
    federal_evidence: list[FederalEvidence] = Field(default_factory=list, max_length=10)

    @field_validator("federal_evidence")
    @classmethod
    def _one_request_per_agency(cls, value: list[FederalEvidence]) -> list[FederalEvidence]:
        _unique([e.agency.casefold() for e in value], "agency")
        return value

    @field_validator("return_tasks")
    @classmethod
    def _return_names_tasks(cls, value: list[Task], info: ValidationInfo) -> list[Task]:
        return tasks_to_reopen(value, info.data.get("decision") == ReviewDecision.RETURN, "return")

    @field_validator("subjects")
    @classmethod
    def _subjects_once(cls, value: list[SubjectAnalysis]) -> list[SubjectAnalysis]:
        _unique([s.subject for s in value], "subject")
        return value

    def charged_subjects(self) -> list[SubjectAnalysis]:
        """The subjects this review would refer: with charges, and not found immune."""
        return [s for s in self.subjects if s.charges and s.finding != ImmunityFinding.IMMUNE]

    def _refer_needs_a_chargeable_subject(self) -> None:
        _chargeable(self.decision, self.subjects)


REFER_NEEDS = "decision 'refer' needs at least one subject with charges whose finding is not 'immune'"


def _chargeable(decision: ReviewDecision | None, subjects: list[SubjectAnalysis]) -> None:
    if decision == ReviewDecision.REFER and not any(
        s.charges and s.finding != ImmunityFinding.IMMUNE for s in subjects
    ):
        raise ValueError(REFER_NEEDS)


class LegalReviewIn(_ReviewFields):
    """The body of POST /incidents/{id}/legal-review: the analysis per federal subject, charge and element."""

    @field_validator("subjects")
    @classmethod
    def _refer_needs_subjects(cls, value: list[SubjectAnalysis], info: ValidationInfo) -> list[SubjectAnalysis]:
        _chargeable(info.data.get("decision"), value)
        return value


class LegalReview(_ReviewFields):
    """A review as the workflow receives and the case keeps it."""

    @model_validator(mode="after")
    def _refer_needs_an_analysis(self) -> Self:
        self._refer_needs_a_chargeable_subject()
        return self

    def all_charges(self) -> list[str]:
        """Every statute this review supports charging, each once, in order."""
        found: list[str] = []
        for subject in self.charged_subjects():
            found += [c.statute for c in subject.charges if c.statute not in found]
        return found


class CommandApproval(RequestModel):
    decision: ApprovalDecision
    note: Text | None = None


class ReferralAcknowledgement(RequestModel):
    prosecutor_case_number: Short
    received_by: Name
    received_at: Happened


class Withdrawal(RequestModel):
    reason: Text
