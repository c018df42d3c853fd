"""The jurisdiction's policy as a client needs it to build a filing: the words it uses for the API's fields, its
districts or precincts, its recording flags and their retention, its statute catalogue, its prosecutor."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from referrals.api.deps import CurrentUser, PolicyDep
from referrals.api.errors import documented
from referrals.domain.policy import PoliceDistrict, Prosecutor, Statute, Words

router = APIRouter(tags=["policy"], responses=documented(401, 429, 503))


class FlagOut(BaseModel):
    code: str = Field(description="as a recording's flag_reasons takes it")
    label: str
    retention_days: int = Field(
        description="a recording with this flag is kept at least this many days after it "
        "started (the longest of its flags and the unflagged retention wins)"
    )


class PolicyOut(BaseModel):
    """What a filing must agree with, and the words this jurisdiction uses for the API's fields: `star` and
    `officer_star` hold its `words.badge`, `district` its `words.district`, `event_number` its `words.event_number`."""

    jurisdiction: str
    department: str
    time_zone: str = Field(description="IANA name: the department's clock, in which documents print times")
    words: Words
    districts: list[PoliceDistrict] = Field(description="a filing's `district` is one of these codes")
    unflagged_retention_days: int
    retention_law: str
    recording_flags: list[FlagOut]
    statutes: list[Statute] = Field(description="the catalogue an allegation's `statute` is taken from")
    prosecutor: Prosecutor


@router.get("/policy", response_model=PolicyOut)
async def read_policy(user: CurrentUser, policy: PolicyDep) -> PolicyOut:
    """The policy new cases are filed under (a case keeps the one it was filed under)."""
    return PolicyOut(
        jurisdiction=policy.jurisdiction,
        department=policy.department,
        time_zone=policy.time_zone,
        words=policy.words,
        districts=policy.districts,
        unflagged_retention_days=policy.bwc_retention_days,
        retention_law=policy.retention_law,
        recording_flags=[
            FlagOut(code=f.code, label=f.label, retention_days=policy.retention_days([f.code]))
            for f in policy.recording_flags
        ],
        statutes=policy.statutes,
        prosecutor=policy.prosecutor,
    )
