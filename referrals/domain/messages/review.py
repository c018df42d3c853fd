"""The review: the legal analysis per federal subject, charge and element (the two prongs of Supremacy Clause
immunity), the records to ask federal agencies for, the legal review, the command's approval, the prosecutor's
acknowledgement and a withdrawal.
"""

from typing import Annotated, Any, Self

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from referrals.domain.enums import (
    INVESTIGATION_TASKS,
    ApprovalDecision,
    FederalRecord,
    ImmunityFinding,
    LegalBasis,
    ProngFinding,
    ReviewDecision,
    SubjectDisposition,
    Task,
)
from referrals.domain.messages.base import RequestModel, _unique
from referrals.domain.messages.clock import Happened, Until
from referrals.domain.messages.fields import Line, Name, Short, Text
from referrals.domain.words import phrase


class StatementOf(RequestModel):
    person: Annotated[int, Field(ge=1, le=10_000)]  # the person's number (P2 is 2)
    number: Annotated[int, Field(ge=1, le=1_000)]  # their statement's number, in the order taken


EXHIBIT_KINDS = ("recording", "evidence", "statement", "touhy")


class Exhibit(RequestModel):
    """One exhibit an element's facts cite, exactly one of: a body-worn camera recording of the case (by its camera),
    optionally `at` a moment in it, {"recording": "X6031234", "at": "…"}; an evidence item by its number (C3 is 3),
    {"evidence": 3}; a person's statement, {"statement": {"person": 2, "number": 1}}; a Touhy request of the case,
    {"touhy": "T1"}."""

    recording: Short | None = None
    at: AwareDatetime | None = None
    evidence: Annotated[int, Field(ge=1, le=100_000)] | None = None
    statement: StatementOf | None = None
    touhy: Annotated[str, Field(pattern=r"^T[1-9][0-9]{0,3}$")] | None = None

    @model_validator(mode="after")
    def _one_exhibit(self) -> Self:
        if sum(getattr(self, kind) is not None for kind in EXHIBIT_KINDS) != 1:
            raise ValueError("must name one exhibit: a recording, an evidence item, a statement or a Touhy request")
        if self.at is not None and self.recording is None:
            raise ValueError("'at' is a moment in a recording: name the recording")
        return self


class ElementProof(RequestModel):
    """One element of a charge (by its number in the statute catalogue), what proves it, and the exhibits that
    show it."""

    element: Annotated[int, Field(ge=1, le=20)]
    facts: Text
    exhibits: list[Exhibit] = Field(default_factory=list, max_length=50)


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


def _optional_never_null(schema: dict[str, Any]) -> None:
    """A field whose default the validators replace (never null): optional in the schema, without a default."""
    schema.pop("default", None)


class Held(RequestModel):
    """Why a subject is held back from the referral, and when the review looks at them again."""

    awaiting: Line  # "ICE's answer to Touhy request T1: the agents' body-camera video"
    review_by: Until


def held_fits(value: Held | None, info: ValidationInfo) -> Held | None:
    """`held` is given with the disposition 'held', and only then."""
    if "disposition" not in info.data:
        return value  # (its own error is named)
    held = info.data["disposition"] == SubjectDisposition.HELD
    if held and value is None:
        raise ValueError("is required when the disposition is held: what is awaited, and when to review again")
    if value is not None and not held:
        raise ValueError("applies only when the disposition is held")
    return value


class SubjectAnalysis(RequestModel):
    """One federal subject, on their own: an identified agent, or "unidentified agent in grey vest"."""

    subject: Line
    agency: Short
    acts: Text  # the acts attributed to them
    charges: list[ChargeAnalysis] = Field(default_factory=list, max_length=20)
    authority: Authority
    necessary_and_proper: NecessaryAndProper
    # Overall, for this subject: what the prongs determine (left out, it is derived from them; given, it must agree).
    finding: ImmunityFinding = Field(default=None, validate_default=True, json_schema_extra=_optional_never_null)
    disputed_facts: list[Line] = Field(default_factory=list, max_length=50)
    # Referred, held back or not charged. Left out: referred when charged and not found immune, else not charged.
    disposition: SubjectDisposition | None = None
    held: Held | None = Field(default=None, validate_default=True)  # held: what is awaited, the next review's day

    @field_validator("disposition")
    @classmethod
    def _referred_with_charges(
        cls, value: SubjectDisposition | None, info: ValidationInfo
    ) -> SubjectDisposition | None:
        if value == SubjectDisposition.REFERRED:
            if not info.data.get("charges"):
                raise ValueError("a subject is referred with at least one charge")
            if info.data.get("finding") == ImmunityFinding.IMMUNE:
                raise ValueError("a subject found immune is not referred")
        return value

    @field_validator("held")
    @classmethod
    def _held_when_held(cls, value: Held | None, info: ValidationInfo) -> Held | None:
        return held_fits(value, info)

    @property
    def outcome(self) -> SubjectDisposition:
        """The disposition, given or implied."""
        if self.disposition is not None:
            return self.disposition
        if self.charges and self.finding != ImmunityFinding.IMMUNE:
            return SubjectDisposition.REFERRED
        return SubjectDisposition.NOT_CHARGED

    @field_validator("charges")
    @classmethod
    def _each_statute_once(cls, value: list[ChargeAnalysis]) -> list[ChargeAnalysis]:
        _unique([c.statute for c in value], "statute")
        return value

    @field_validator("finding", mode="before")
    @classmethod
    def _derive_finding(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            return value
        authority, necessary = info.data.get("authority"), info.data.get("necessary_and_proper")
        if authority is None or necessary is None:
            return ImmunityFinding.DISPUTED  # (never kept: the prong's own error refuses the subject)
        return overall_finding(authority.finding, necessary.finding)

    @field_validator("finding")
    @classmethod
    def _finding_follows_the_prongs(cls, value: ImmunityFinding, info: ValidationInfo) -> ImmunityFinding:
        authority, necessary = info.data.get("authority"), info.data.get("necessary_and_proper")
        if authority is None or necessary is None:
            return value  # (their own errors are named)
        expected = overall_finding(authority.finding, necessary.finding)
        if value != expected:
            raise ValueError(
                f"with prong 1 {phrase(authority.finding)} and prong 2 {phrase(necessary.finding)} the "
                f"overall finding is {phrase(expected)}"
            )
        return value


def tasks_to_reopen(value: list[Task], reopens: bool, decision: str) -> list[Task]:
    """The investigation tasks a decision sends back (a review's return, a prosecutor's further investigation)."""
    if not reopens:
        if value:
            raise ValueError(f"applies only when the decision is {phrase(decision)}")
        return value
    if not value:
        raise ValueError(f"the decision {phrase(decision)} needs the investigation tasks to reopen")
    wrong = [t.value for t in value if t not in INVESTIGATION_TASKS]
    if wrong:
        raise ValueError(f"may name investigation tasks only, not {', '.join(phrase(t) for t in wrong)}")
    _unique([t.value for t in value], "task")
    return value


class SoughtRecord(RequestModel):
    """One record or testimony a Touhy request asks for, as specifically as the regulations want it."""

    kind: FederalRecord
    description: Line  # "body-worn camera recordings of the agents on scene, 13:00-13:45"
    relevance: Text  # why it matters to the charges


class FederalEvidence(RequestModel):
    """What one federal agency holds that the case needs: it becomes a Touhy request to that agency."""

    agency: Short  # as the policy's [[touhy.agencies]] name it: ICE, CBP, USCIS, FBI, DEA, ATF, USMS
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
        """The subjects this review refers: referred, or (left out) charged and not found immune."""
        return [s for s in self.subjects if s.outcome == SubjectDisposition.REFERRED]

    def held_subjects(self) -> list[SubjectAnalysis]:
        return [s for s in self.subjects if s.outcome == SubjectDisposition.HELD]

    def _refer_needs_a_chargeable_subject(self) -> None:
        _chargeable(self.decision, self.subjects)


REFER_NEEDS = "the decision refer needs at least one referred subject: one with charges, not found immune, and not held"


def _chargeable(decision: ReviewDecision | None, subjects: list[SubjectAnalysis]) -> None:
    if decision != ReviewDecision.REFER:
        for i, s in enumerate(subjects):
            if s.disposition in (SubjectDisposition.REFERRED, SubjectDisposition.HELD):
                raise ValueError(
                    f"subject {i + 1} ({s.subject}): the disposition {phrase(s.disposition)} applies only when the "
                    "decision is refer"
                )
        return
    if not any(s.outcome == SubjectDisposition.REFERRED for s in subjects):
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


class HeldSubjectReview(RequestModel):
    """The body of POST /incidents/{id}/held-subject-review: a subject the referral held back, reviewed again:
    referred (the referral's next version adds them), not charged, or held until a later day."""

    subject: Line  # as the legal review named them
    disposition: SubjectDisposition
    held: Held | None = Field(default=None, validate_default=True)
    # The subject's analysis brought up to date (what the awaited answer showed); left out, the held one stands.
    analysis: SubjectAnalysis | None = None
    rationale: Text

    @field_validator("held")
    @classmethod
    def _held_when_held(cls, value: Held | None, info: ValidationInfo) -> Held | None:
        return held_fits(value, info)

    @field_validator("analysis")
    @classmethod
    def _analysis_of_the_subject(cls, value: SubjectAnalysis | None, info: ValidationInfo) -> SubjectAnalysis | None:
        if value is None:
            return value
        if "subject" in info.data and value.subject != info.data["subject"]:
            raise ValueError(f"is the analysis of '{value.subject}', not of the subject reviewed")
        if value.disposition is not None and value.disposition != info.data.get("disposition"):
            raise ValueError("its disposition, if given, is the review's")
        return value

    def applied_to(self, held: SubjectAnalysis) -> SubjectAnalysis:
        """The subject as this review leaves them."""
        base = self.analysis or held
        return base.model_copy(update={"disposition": self.disposition, "held": self.held})


class CommandApproval(RequestModel):
    decision: ApprovalDecision
    note: Text | None = None


class ReferralAcknowledgement(RequestModel):
    prosecutor_case_number: Short
    received_by: Name
    received_at: Happened


class Withdrawal(RequestModel):
    reason: Text
