"""One declarative table of who may do what; the API routes and the workflow validators both use it."""

from enum import StrEnum

from referrals.domain.enums import Role


class Operation(StrEnum):
    FILE = "file"
    FOOTAGE_HOLD = "footage_hold"
    SUPERVISOR_IDENTIFICATION = "supervisor_identification"
    VIOLATION_REPORT = "violation_report"
    LEGAL_REVIEW = "legal_review"
    COMMAND_APPROVAL = "command_approval"
    REFERRAL_ACKNOWLEDGEMENT = "referral_acknowledgement"
    WITHDRAW = "withdraw"
    ADD_PERSON = "add_person"
    FILE_SUPPLEMENT = "file_supplement"
    ADD_EVIDENCE = "add_evidence"
    REMOVE_EVIDENCE = "remove_evidence"
    HOLD_EVIDENCE = "hold_evidence"
    CHARGING_DECISION = "charging_decision"
    ARRAIGNMENT = "arraignment"
    REMOVAL_NOTICE = "removal_notice"
    REMOVAL_OUTCOME = "removal_outcome"
    PROSECUTION_OUTCOME = "prosecution_outcome"
    TOUHY_RESPONSE = "touhy_response"
    READ_CONTACT = "read_contact"  # not a route: who sees a person's contact details rather than that they exist
    MANAGE_USERS = "manage_users"
    DECODE_PAYLOADS = "decode_payloads"
    ENCODE_PAYLOADS = "encode_payloads"
    READ_ACCESS_LOG = "read_access_log"
    PUBLISH_FIGURES = "publish_figures"


ALLOWED: dict[Operation, frozenset[Role]] = {
    Operation.FILE: frozenset({Role.OFFICER, Role.SUPERVISOR}),
    Operation.FOOTAGE_HOLD: frozenset({Role.EVIDENCE_CUSTODIAN}),
    Operation.SUPERVISOR_IDENTIFICATION: frozenset({Role.OFFICER, Role.SUPERVISOR}),
    Operation.VIOLATION_REPORT: frozenset({Role.OFFICER, Role.SUPERVISOR}),
    Operation.LEGAL_REVIEW: frozenset({Role.LEGAL_REVIEWER}),
    Operation.COMMAND_APPROVAL: frozenset({Role.COMMAND}),
    Operation.REFERRAL_ACKNOWLEDGEMENT: frozenset({Role.PROSECUTOR_LIAISON}),
    Operation.WITHDRAW: frozenset({Role.COMMAND, Role.ADMIN}),
    Operation.ADD_PERSON: frozenset({Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_REVIEWER}),
    Operation.FILE_SUPPLEMENT: frozenset({Role.OFFICER, Role.SUPERVISOR}),
    # Those who collect evidence, and the custodian who receives it.
    Operation.ADD_EVIDENCE: frozenset({Role.OFFICER, Role.SUPERVISOR, Role.EVIDENCE_CUSTODIAN}),
    # A wrongly attached file is taken off the case by an admin only, and leaves a tombstone in its custody log.
    Operation.REMOVE_EVIDENCE: frozenset({Role.ADMIN}),
    # The evidence custodian places and releases holds on items (a court's order): a held item cannot be removed.
    Operation.HOLD_EVIDENCE: frozenset({Role.EVIDENCE_CUSTODIAN}),
    # After the referral: the prosecutor's decisions and the courts' as the liaison learns them; command may record too.
    Operation.CHARGING_DECISION: frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND}),
    Operation.ARRAIGNMENT: frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND}),
    Operation.REMOVAL_NOTICE: frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND}),
    Operation.REMOVAL_OUTCOME: frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND}),
    Operation.PROSECUTION_OUTCOME: frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND}),
    Operation.TOUHY_RESPONSE: frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND}),
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


def allowed(operation: Operation, roles: list[Role]) -> bool:
    return any(role in ALLOWED[operation] for role in roles)


def describe(operation: Operation) -> str:
    return " or ".join(sorted(r.value for r in ALLOWED[operation]))
