"""The people the tests act as: one user per role (the `people` fixture creates them with their tokens), who of
them sees the scenario's case, and the filer of the cases the workflow tests start."""

from referrals.domain.enums import Role
from referrals.domain.messages import Actor


class People:
    """One user per role, plus the variations the visibility rules need; each with its token."""

    def __init__(self):
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.emails: dict[str, str] = {}

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


PEOPLE = {
    "officer": ([Role.OFFICER], "010", "12345"),
    "partner": ([Role.OFFICER], "010", "67890"),  # appears in the scenario's recordings
    "officer_elsewhere": ([Role.OFFICER], "010", "55555"),  # same district, not in the case
    "supervisor": ([Role.SUPERVISOR], "010", None),
    "supervisor_elsewhere": ([Role.SUPERVISOR], "012", None),
    "custodian": ([Role.EVIDENCE_CUSTODIAN], None, None),
    "reviewer": ([Role.LEGAL_REVIEWER], None, None),
    "commander": ([Role.COMMAND], None, None),
    "reviewer_commander": ([Role.LEGAL_REVIEWER, Role.COMMAND], None, None),
    "officer_commander": ([Role.OFFICER, Role.COMMAND], "010", "24680"),
    "liaison": ([Role.PROSECUTOR_LIAISON], None, None),
    "auditor": ([Role.AUDITOR], None, None),
    "admin": ([Role.ADMIN], None, None),
}
# Who sees the scenario case filed by "officer" (star 12345) in district 010.
SEES_CASE = set(PEOPLE) - {"officer_elsewhere", "supervisor_elsewhere"}
# Who files the cases the workflow tests start in the time-skipping server (the `start_case` fixture).
FILER = Actor(user_id="u-officer", name="P.O. Ana Ruiz", roles=[Role.OFFICER], district="010", star="12345")
