"""Every input the API accepts and the workflow receives: strict pydantic models.

Unknown fields are rejected, and so is any field that asks for a person's immigration status
or citizenship (Illinois TRUST Act, Chicago Welcoming City Ordinance).
"""

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from referrals.domain.enums import (
    INVESTIGATION_TASKS,
    ApprovalDecision,
    ChargingKind,
    EvidenceKind,
    EvidenceSource,
    FederalRecord,
    ImmunityFinding,
    LegalBasis,
    NameWithheld,
    PersonPart,
    ProngFinding,
    ProsecutionOutcome,
    RemovalResult,
    ReviewDecision,
    Role,
    SupervisorOutcome,
    Task,
    TouhyOutcome,
    Verification,
)

# Field names asking about immigration status, citizenship, nationality, country or place of birth
# or an alien registration number, in any spelling: matched on the name lowercased with everything
# but letters and digits removed ("Country-of-Birth", "placeOfBirth", "a_number" alike).
FORBIDDEN_FIELD = re.compile(
    r"immigra|citizen|nationalit|visa|alien|deport|legalstatus|countryofbirth|birthcountry|placeofbirth"
    r"|birthplace|countryoforigin|^anumber$|^ano$|^anum$|uscis"
)
PRIVACY_RULE = (
    "the product never collects the immigration status, citizenship, nationality, country or place of "
    "birth or alien number of any person (Illinois TRUST Act, 5 ILCS 805; Chicago Welcoming City "
    "Ordinance, MCC 2-173)"
)


def asks_status(field_name: str) -> bool:
    """Whether a field's name asks for what PRIVACY_RULE forbids, however it is spelt."""
    return bool(FORBIDDEN_FIELD.search(re.sub(r"[^a-z0-9]", "", field_name.lower())))


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): in a name or a narrative they
# make a page or a document show the text in another order than it was typed ("Ruiz" shown as "ziuR", a file
# "statement_fdp.exe" shown as "statement_exe.pdf").
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def bidi_problem(value: str) -> str | None:
    """Why a text is refused for a bidirectional control character in it, or None."""
    found = BIDI_CONTROLS.search(value)
    if found is None:
        return None
    character = found.group(0)
    return (
        f"contains a {unicodedata.name(character).lower()} character (U+{ord(character):04X}), which makes "
        "text show in another order than it was typed: remove it"
    )


# What the validators and the checks on arrival hold a string to, said in the schema too, so that a client (or a
# fuzzer) which keeps to the schema is not refused for its shape: no NUL character, and text is more than white
# space and holds no bidirectional control character.
NO_NUL = r"^[^\u0000]*$"
_NOT_IN_TEXT = r"\u0000\u202a-\u202e\u2066-\u2069"
TEXT = rf"^[^{_NOT_IN_TEXT}]*$"
NOT_BLANK = rf"^[^{_NOT_IN_TEXT}]*[^\s{_NOT_IN_TEXT}][^{_NOT_IN_TEXT}]*$"


class _OnArrival:
    """A rule checked by `clock_problems` when a request arrives, never in a validator: a validator runs again
    whenever a workflow replays its input or the API reads a stored case, which may hold what the rule refuses
    now (a time that has since passed, text taken before the rule)."""

    def problem(self, value, now: datetime) -> str | None:
        raise NotImplementedError


class _PlainText(_OnArrival):
    """Free text that reaches documents and pages: no bidirectional control character."""

    def problem(self, value: str, now: datetime) -> str | None:
        return bidi_problem(value)


def _text(max_length: int, min_length: int = 1):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
        _PlainText(),
        Field(json_schema_extra={"pattern": NOT_BLANK if min_length else TEXT}),
    ]


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def _since_1900(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError("must not be before 1900")
    return value


class _Clock(_OnArrival):
    """A rule against the clock."""


class _NotFuture(_Clock):
    def problem(self, value: datetime, now: datetime) -> str | None:
        if value > now + CLOCK_SKEW:
            return f"must not be in the future (it is {now:%Y-%m-%dT%H:%M}Z now)"
        return None


class _NotPast(_Clock):
    def problem(self, value: date, now: datetime) -> str | None:
        # Yesterday in UTC is still today somewhere west of Greenwich.
        if value < (now - timedelta(days=1)).date():
            return f"must not be in the past (it is {now:%Y-%m-%d} now)"
        return None


# Rules against the clock are marks, checked by `clock_problems` when a request arrives: never in a
# validator, which would run again, at another time, whenever the workflow replays its input.
def _not_a_number(value: Any) -> Any:
    # pydantic would read a number as seconds since 1970; the schema says an ISO-8601 string.
    if isinstance(value, (int, float)):
        raise ValueError("must be an ISO-8601 time with its offset, not a number")
    return value


class _NotFutureDay(_Clock):
    def problem(self, value: date, now: datetime) -> str | None:
        # Tomorrow in UTC is already today somewhere east of Greenwich.
        if value > (now + timedelta(days=1)).date():
            return f"must not be in the future (it is {now:%Y-%m-%d} now)"
        return None


def _day_since_1900(value: date) -> date:
    if value < EARLIEST.date():
        raise ValueError("must not be before 1900")
    return value


Happened = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_since_1900), _NotFuture()]
Until = Annotated[date, BeforeValidator(_not_a_number), _NotPast()]
# A day that has come (a court's decision, a notice filed), and a court date that may be ahead.
Day = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_day_since_1900), _NotFutureDay()]
CourtDate = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_day_since_1900)]
# An id or cursor in a path or query: PostgreSQL text holds no NUL character.
Key = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(_no_nul), Field(json_schema_extra={"pattern": NO_NUL})
]
District = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,10}$")]
# A yes or no: true or false, never 0, 1 or "yes" (the schema says boolean, and the API holds to it).
Flag = Annotated[bool, Strict()]
Name = _text(200)
Short = _text(64)
Line = _text(500)
FlagCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]  # a policy's recording flag
Text = _text(20_000)


class RequestModel(BaseModel):
    """A body as people send it: no field it does not declare, none asking for status (PRIVACY_RULE), frozen.
    (Named so as not to shadow pydantic's `Strict`.)"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_status_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if isinstance(key, str) and asks_status(key) and key not in cls.model_fields:
                    raise ValueError(f"field '{key}' is refused: {PRIVACY_RULE}")
        return data


class Actor(RequestModel):
    """Who acts: always taken from the bearer token, never from a request body."""

    user_id: str
    name: str
    roles: list[Role]
    district: str | None = None
    star: str | None = None

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)


class Officer(RequestModel):
    name: Name
    star: Short


class RecordingIn(RequestModel):
    camera_id: Short
    officer_star: Short
    started_at: Happened
    ended_at: Happened
    # The policy's flag codes (`recording_flags`): none for an unflagged recording. Checked against the policy.
    flag_reasons: list[FlagCode] = Field(default_factory=list, max_length=7)

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, value, info: ValidationInfo):
        started = info.data.get("started_at")
        if started is not None and value < started:
            raise ValueError("must not be before started_at")
        return value


class FederalPerson(RequestModel):
    agency: Short
    name: Name | None = None
    badge: Short | None = None
    description: Line | None = None


class IncidentDetails(RequestModel):
    occurred_at: Happened
    location: Line
    district: District
    event_number: Short
    summary: Line
    narrative: Text
    injuries: Flag = False
    ems_called: Flag = False
    officers: list[Officer] = Field(min_length=1, max_length=50)
    federal_personnel: list[FederalPerson] = Field(default_factory=list, max_length=100)


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} '{value}' appears more than once")
        seen.add(value)


def _cameras_once(value: list[RecordingIn]) -> list[RecordingIn]:
    _unique([r.camera_id for r in value], "camera_id")
    return value


# Recordings as a filing or a supplement lists them: each camera once.
Recordings = Annotated[list[RecordingIn], Field(max_length=200), AfterValidator(_cameras_once)]


class IncidentFiling(IncidentDetails):
    recordings: Recordings = Field(default_factory=list)


class Hold(RequestModel):
    camera_id: Short
    hold_reference: Short
    retained_until: Until


class FootageHold(RequestModel):
    holds: list[Hold] = Field(min_length=1, max_length=200)

    @field_validator("holds")
    @classmethod
    def _unique_cameras(cls, value: list[Hold]) -> list[Hold]:
        _unique([h.camera_id for h in value], "camera_id")
        return value


class SupervisorIdentification(RequestModel):
    outcome: SupervisorOutcome
    name: Name | None = Field(default=None, validate_default=True)
    agency: Short | None = Field(default=None, validate_default=True)
    title: Name | None = None
    badge: Short | None = Field(default=None, validate_default=True)
    verification: Verification | None = None
    camera_id: Short | None = Field(default=None, validate_default=True)
    notes: Text | None = None

    @field_validator("name", "agency", "badge", "camera_id")
    @classmethod
    def _outcome_needs(cls, value, info: ValidationInfo):
        outcome = info.data.get("outcome")
        if value is None and outcome == SupervisorOutcome.IDENTIFIED:
            raise ValueError("is required when outcome is 'identified'")
        if value is None and outcome == SupervisorOutcome.REFUSED and info.field_name == "camera_id":
            raise ValueError("is required when outcome is 'refused': the camera that recorded the refusal")
        return value


class Allegation(RequestModel):
    statute: Short
    person: Line
    facts: Text


class ViolationReport(RequestModel):
    allegations: list[Allegation] = Field(min_length=1, max_length=100)
    narrative: Text


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
    def _return_names_tasks(cls, value, info: ValidationInfo):
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
    def _refer_needs_an_analysis(self):
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


class SubjectCharges(RequestModel):
    """The charges filed against one subject, as the prosecutor filed them."""

    subject: Line
    statutes: list[Short] = Field(min_length=1, max_length=20)


class ChargingDecision(RequestModel):
    """The prosecutor's charging decision, recorded by the liaison."""

    decision: ChargingKind
    decided_at: Happened
    court_case_number: Short | None = Field(default=None, validate_default=True)  # charged
    charges: list[SubjectCharges] = Field(default_factory=list, max_length=50, validate_default=True)  # charged
    arraignment_date: Day | None = None  # charged, once held: it opens the removal window
    reason: Text | None = Field(default=None, validate_default=True)  # declined
    grand_jury_date: CourtDate | None = Field(default=None, validate_default=True)  # grand_jury
    requested: Text | None = Field(default=None, validate_default=True)  # further_investigation: what is asked
    return_tasks: list[Task] = Field(default_factory=list, max_length=3, validate_default=True)

    @field_validator("court_case_number", "charges")
    @classmethod
    def _charged_needs(cls, value, info: ValidationInfo):
        charged = info.data.get("decision") == ChargingKind.CHARGED
        if charged and not value:
            raise ValueError("is required when the decision is 'charged'")
        if not charged and value:
            raise ValueError("is only for decision 'charged'")
        return value

    @field_validator("reason")
    @classmethod
    def _declined_needs_reason(cls, value, info: ValidationInfo):
        if info.data.get("decision") == ChargingKind.DECLINED and value is None:
            raise ValueError("is required when the decision is 'declined': the reason the prosecutor gave")
        return value

    @field_validator("grand_jury_date")
    @classmethod
    def _grand_jury_needs_date(cls, value, info: ValidationInfo):
        decision = info.data.get("decision")
        if decision == ChargingKind.GRAND_JURY and value is None:
            raise ValueError("is required when the decision is 'grand_jury'")
        if decision != ChargingKind.GRAND_JURY and value is not None:
            raise ValueError("is only for decision 'grand_jury'")
        return value

    @field_validator("requested")
    @classmethod
    def _further_needs_request(cls, value, info: ValidationInfo):
        if info.data.get("decision") == ChargingKind.FURTHER_INVESTIGATION and value is None:
            raise ValueError("is required when the decision is 'further_investigation': what the prosecutor asks")
        return value

    @field_validator("return_tasks")
    @classmethod
    def _further_names_tasks(cls, value, info: ValidationInfo):
        reopens = info.data.get("decision") == ChargingKind.FURTHER_INVESTIGATION
        return tasks_to_reopen(value, reopens, "further_investigation")

    @field_validator("arraignment_date")
    @classmethod
    def _arraignment_when_charged(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("decision") != ChargingKind.CHARGED:
            raise ValueError("is only for decision 'charged'")
        return value


class Arraignment(RequestModel):
    """The arraignment in the state court, when it was not known at the charging decision."""

    arraignment_date: Day


class RemovalNotice(RequestModel):
    """A notice of removal to federal court under 28 U.S.C. § 1442(a)(1), filed by the defence."""

    filed_on: Day
    district_court: Line  # "U.S. District Court for the Northern District of Illinois"
    federal_case_number: Short
    subject: Line | None = None  # the defendant who removed, where the case has several


class RemovalOutcome(RequestModel):
    result: RemovalResult
    decided_on: Day
    note: Text | None = None


class TouhyAnswer(RequestModel):
    """The body of POST /incidents/{id}/touhy-requests/{request_id}/response: what the agency did."""

    outcome: TouhyOutcome
    received_on: Day  # when the answer came (for no_answer: when the liaison gave up waiting)
    ground: Text | None = Field(default=None, validate_default=True)  # refused: the ground the agency stated
    note: Text | None = None

    @field_validator("ground")
    @classmethod
    def _refusal_states_its_ground(cls, value, info: ValidationInfo):
        if info.data.get("outcome") == TouhyOutcome.REFUSED and value is None:
            raise ValueError("is required when the outcome is 'refused': the ground the agency stated")
        return value


class TouhyResponse(TouhyAnswer):
    """The answer as the workflow receives it: which request it answers (from the path)."""

    request_id: Short


class ProsecutionOutcomeIn(RequestModel):
    """The final outcome of the prosecution: it closes the case (its disposition stays `referred`)."""

    outcome: ProsecutionOutcome
    decided_on: Day
    note: Text | None = None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, itself or in a list or an optional: Hold of list[Hold], Contact of Contact | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _inner_model(arg)) is not None:
            return found
    return None


def _marks(annotation: Any, in_list: bool = False) -> list[tuple[_OnArrival, Any, bool]]:
    """The rules on arrival a field's type carries, each with the type it judges and whether the field holds a
    list of them: those of Day for `Day | None`, of Line for `list[Line]`."""
    if get_origin(annotation) is Annotated:
        return [(mark, annotation, in_list) for mark in annotation.__metadata__ if isinstance(mark, _OnArrival)]
    found = []
    for arg in get_args(annotation):
        found += _marks(arg, in_list or get_origin(annotation) is list)
    return found


def _field_marks(field) -> list[tuple[_OnArrival, Any, bool]]:
    own = [(mark, field.annotation, False) for mark in field.metadata if isinstance(mark, _OnArrival)]
    return own + _marks(field.annotation)


def _judged(mark: _OnArrival, judged: Any, value: Any) -> tuple[bool, Any]:
    """(whether the value is of the type the mark judges, the value as that type)."""
    if isinstance(mark, _PlainText):
        return isinstance(value, str), value
    try:
        return True, TypeAdapter(judged).validate_python(value)
    except ValidationError:
        return False, None


def clock_problems_in(model: type[BaseModel], data: Any, now: datetime, path: str = "") -> list[dict[str, str]]:
    """Each field of `data` (the body of a `model`, valid or not; nested ones too) whose value a rule on arrival
    refuses at `now` (a time the clock refuses, a text with a bidirectional control character): [{field,
    message}]. A value that is not even of the field's type is left to the model's validation."""
    problems: list[dict[str, str]] = []
    if not isinstance(data, dict):
        return problems
    for name, field in model.model_fields.items():
        if data.get(name) is None:
            continue
        value, where = data[name], f"{path}.{name}" if path else name
        for mark, judged, in_list in _field_marks(field):
            values = list(enumerate(value)) if in_list and isinstance(value, list) else [(None, value)]
            for i, one in values:
                fits, read = _judged(mark, judged, one)
                if fits and (message := mark.problem(read, now)):
                    problems.append({"field": where if i is None else f"{where}[{i}]", "message": message})
        if (inner := _inner_model(field.annotation)) is not None:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    problems += clock_problems_in(inner, item, now, f"{where}[{i}]")
            else:
                problems += clock_problems_in(inner, value, now, where)
    return problems


def clock_problems(model: BaseModel, now: datetime) -> list[dict[str, str]]:
    """Each field of a valid request a rule on arrival refuses at `now` (see `clock_problems_in`), and each
    correction whose new value would be refused as the field it corrects (an incident moved into the future), or
    is text with a bidirectional control character (whatever field it corrects: a person's name too)."""
    problems = clock_problems_in(type(model), model.model_dump(), now)
    for i, correction in enumerate(getattr(model, "corrections", None) or []):
        found = [
            problem["message"]
            for problem in clock_problems_in(IncidentDetails, {correction.field: correction.value}, now)
        ]
        if isinstance(correction.value, str) and (bidi := bidi_problem(correction.value)) and bidi not in found:
            found.append(bidi)
        problems += [{"field": f"corrections[{i}].value", "message": message} for message in found]
    return problems


P = TypeVar("P", bound=BaseModel)


class Step(BaseModel, Generic[P]):
    """One human step as the workflow receives it: who, what, and the API request's id."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    payload: P


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+", value):
        raise ValueError("is not an e-mail address")
    return value.lower()


class NewUser(RequestModel):
    name: Name
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=254),
        AfterValidator(_email),
        Field(json_schema_extra={"format": "email"}),
    ]
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    district: Short | None = None
    star: Short | None = None
    token_valid_days: int | None = Field(default=None, ge=1, le=3650)  # None: until revoked

    @field_validator("name", "district", "star")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        # A validator is safe here: a new user is never read back as this model (a case's texts are checked on
        # arrival instead, see _OnArrival).
        if value is not None and (problem := bidi_problem(value)):
            raise ValueError(problem)
        return value


# --- the people involved: civilians, their contact details, injuries and statements

# Digits with the usual separators, and an extension: "312-555-0100", "+1 (312) 555-0100 ext. 12".
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().\-]{7,25}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$")
]


class Contact(RequestModel):
    """How to reach a person: need-to-know, sealed (encrypted) by the API before it goes anywhere."""

    phone: Phone | None = None
    email: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=254),
            AfterValidator(_email),
            Field(json_schema_extra={"format": "email"}),
        ]
        | None
    ) = None
    address: Line | None = None

    @model_validator(mode="after")
    def _something(self) -> "Contact":
        if self.phone is None and self.email is None and self.address is None:
            raise ValueError("give a phone, an e-mail or an address, or leave contact out")
        return self


class SealedContact(RequestModel):
    """Contact details encrypted with the key `key_id` (AES-256-GCM, `data`: nonce + ciphertext, base64)."""

    key_id: Short
    data: Annotated[str, StringConstraints(max_length=4000)]


class Injuries(RequestModel):
    description: Line
    ems_treated: Flag = False
    hospital: Name | None = None  # taken to, if anywhere
    treatment_refused: Flag = False


class StatementIn(RequestModel):
    text: Text
    taken_by: Name
    taken_at: Happened
    place: Line
    camera_id: Short | None = None  # the body camera that recorded it, if any
    interpreter: Name | None = None


class _PersonFields(RequestModel):
    part: PersonPart
    name: Name | None = None
    name_withheld: NameWithheld | None = Field(default=None, validate_default=True)
    language: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None = None
    interpreter: Flag = False
    injuries: Injuries | None = None
    statements: list[StatementIn] = Field(default_factory=list, max_length=50)

    @field_validator("name_withheld")
    @classmethod
    def _name_or_why_not(cls, value, info: ValidationInfo):
        name = info.data.get("name")
        if name is None and value is None:
            raise ValueError("give the person's name, or 'declined' or 'unknown' here")
        if name is not None and value is not None:
            raise ValueError("is only for a person without a name")
        return value


class PersonIn(_PersonFields):
    """A person involved as the API accepts them: contact details in the clear, over TLS."""

    contact: Contact | None = None


class Person(_PersonFields):
    """A person involved as the workflow receives and the case keeps them: contact details sealed."""

    contact: SealedContact | None = None


class FilingRequest(IncidentFiling):
    """The body of POST /incidents: the filing and the people involved."""

    people: list[PersonIn] = Field(default_factory=list, max_length=100)

    @field_validator("people")
    @classmethod
    def _statements_name_filed_cameras(cls, value: list[PersonIn], info: ValidationInfo) -> list[PersonIn]:
        cameras = {r.camera_id for r in info.data.get("recordings") or []}
        for i, person in enumerate(value):
            for j, statement in enumerate(person.statements):
                if statement.camera_id is not None and statement.camera_id not in cameras:
                    raise ValueError(
                        f"people[{i}].statements[{j}].camera_id: camera '{statement.camera_id}' "
                        "is not among this filing's recordings"
                    )
        return value


# --- supplementary reports: what was found or put right after the filing

CorrectionPath = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=120, pattern=r"^[A-Za-z_]+(\[[A-Za-z0-9]+\])?(\.[A-Za-z_]+)?$"),
]


class Correction(RequestModel):
    """A filed fact put right: the field's path (`location`, `officers[0].star`, `people[P1].name`), its new
    value and why. The case shows the new value; the old one stays in the audit trail and the supplement."""

    field: CorrectionPath
    value: Any
    reason: Line


class StatementAdded(StatementIn):
    """A statement of a person already in the case."""

    person_id: Short


class _SupplementFields(RequestModel):
    narrative: Text | None = None
    recordings: Recordings = Field(default_factory=list)
    statements: list[StatementAdded] = Field(default_factory=list, max_length=100)
    federal_personnel: list[FederalPerson] = Field(default_factory=list, max_length=100)
    corrections: list[Correction] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _something(self):
        if not (
            self.narrative
            or self.recordings
            or self.statements
            or self.federal_personnel
            or self.corrections
            or getattr(self, "people", None)
        ):
            raise ValueError(
                "a supplement needs at least one of narrative, recordings, people, statements, "
                "federal_personnel or corrections"
            )
        return self


class SupplementIn(_SupplementFields):
    """The body of POST /incidents/{id}/supplements: new people's contact details in the clear."""

    people: list[PersonIn] = Field(default_factory=list, max_length=100)


class Supplement(_SupplementFields):
    """A supplement as the workflow receives and the case keeps it: contact details sealed."""

    people: list[Person] = Field(default_factory=list, max_length=100)


SHA256_HEX = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class HeldElsewhere(RequestModel):
    """Evidence kept in another system, recorded by its reference there, with no bytes here."""

    system: Short  # "Axon Evidence.com", "Mount Sinai Hospital medical records"
    reference: Short  # the item's id or record number in that system


class EvidenceMetadata(RequestModel):
    """The `metadata` part of POST /incidents/{id}/evidence: what the item is and where it came from."""

    kind: EvidenceKind
    description: Line
    source: EvidenceSource
    collected_by: Name  # "P.O. (name, star)"
    collected_at: Happened
    person_id: Short | None = None  # the person it concerns ("P1"), if any
    held_elsewhere: HeldElsewhere | None = None  # instead of a file
    touhy_request_id: Short | None = None  # material a federal agency produced: the request it answers ("T1")


class EvidenceItem(EvidenceMetadata):
    """An item as the workflow receives and the case keeps it: what the bytes are, never the bytes."""

    id: Short  # a uuid; the stored bytes' key
    filename: Name | None = None  # as the client named the file, made safe
    content_type: Short | None = None  # detected from the bytes
    size: Annotated[int, Field(ge=1)] | None = None
    sha256: SHA256_HEX | None = None
    received_from: Short | None = None  # the client address it was uploaded from, for its chain of custody
    # Where the bytes are (the adapter, and the key there): so that `referrals rebuild` can find them again.
    storage: Short | None = None
    storage_key: Name | None = None

    @model_validator(mode="after")
    def _bytes_or_reference(self):
        if (self.held_elsewhere is None) == (self.sha256 is None):
            raise ValueError("an item is either a file here or a reference to one held elsewhere")
        return self


class EvidenceRemoval(RequestModel):
    """An admin takes a wrongly attached item off the case; its custody log keeps a tombstone."""

    evidence_id: Short
    reason: Line
