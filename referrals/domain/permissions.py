"""One declarative table of who may do what; the API routes and the workflow validators both use it."""

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum

from referrals.domain.enums import Role
from referrals.domain.steps import STEPS, describe_roles, step


class Operation(StrEnum):
    """What is not a human step (each step is its own operation, named in its declaration: referrals/domain/steps)."""

    FILE = "file"
    HOLD_EVIDENCE = "hold_evidence"
    READ_CONTACT = "read_contact"  # not a route: who sees a person's contact details rather than that they exist
    MANAGE_USERS = "manage_users"
    DECODE_PAYLOADS = "decode_payloads"
    ENCODE_PAYLOADS = "encode_payloads"
    READ_ACCESS_LOG = "read_access_log"
    PUBLISH_FIGURES = "publish_figures"


OTHERS: dict[Operation, frozenset[Role]] = {
    Operation.FILE: frozenset({Role.OFFICER, Role.SUPERVISOR}),
    # The evidence custodian places and releases holds on items (a court's order): a held item cannot be removed.
    Operation.HOLD_EVIDENCE: frozenset({Role.EVIDENCE_CUSTODIAN}),
    # Need-to-know: those who take statements and follow up with the people involved, and the prosecutor's liaison.
    Operation.READ_CONTACT: frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.PROSECUTOR_LIAISON}),
    Operation.MANAGE_USERS: frozenset({Role.ADMIN}),
    # Decoding reads any case's history: only the roles that may see every case.
    Operation.DECODE_PAYLOADS: frozenset(Role) - {Role.OFFICER, Role.SUPERVISOR},
    # Whoever can encode can make a payload Temporal takes as the product's own; a read-only UI never needs it.
    Operation.ENCODE_PAYLOADS: frozenset({Role.ADMIN}),
    # The access trail (who read what): the auditors, who change nothing.
    Operation.READ_ACCESS_LOG: frozenset({Role.AUDITOR}),
    # A snapshot of the public figures at once, besides the schedule's.
    Operation.PUBLISH_FIGURES: frozenset({Role.ADMIN}),
}


class Matrix(Mapping[str, frozenset[Role]]):
    """Who may do what: each human step's roles, from its declaration, and the operations that are not steps."""

    def __getitem__(self, operation: str) -> frozenset[Role]:
        if operation in OTHERS:
            return OTHERS[Operation(operation)]
        if (spec := step(operation)) is not None:
            return spec.roles
        raise KeyError(operation)

    def __iter__(self) -> Iterator[str]:
        yield from (spec.name for spec in STEPS)
        yield from OTHERS

    def __len__(self) -> int:
        return len(STEPS) + len(OTHERS)


ALLOWED = Matrix()


def allowed(operation: str, roles: Iterable[str]) -> bool:
    """Whether any of the roles may: Role members, or a user's stored role names (a Role equals its value)."""
    return any(role in ALLOWED[operation] for role in roles)


def describe(operation: str) -> str:
    return describe_roles(ALLOWED[operation])
