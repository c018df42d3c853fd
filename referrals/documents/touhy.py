"""What the Touhy request letter is given: one agency's request, the proceeding it serves, each record or
testimony sought with why it is relevant, as 6 CFR 5.45 and 28 CFR 16.22 ask (the letter's wording is the
template's, templates/documents/touhy_request.docx)."""

from datetime import datetime

from referrals.documents.common import common
from referrals.documents.text import Clock, clean, paragraphs
from referrals.domain.case import CaseState
from referrals.domain.enums import ChargingKind
from referrals.domain.events import Letterhead
from referrals.domain.words import label


def touhy_request(state: CaseState, letterhead: Letterhead, generated_at: datetime, version: int) -> dict:
    when = Clock(letterhead)
    request = state.touhy_requests[version - 1]  # the Nth letter is request T N's
    to = letterhead.touhy.get(request.agency, {})
    review = state.legal_reviews[request.review - 1]
    proceeding = [
        f"A criminal investigation by the {clean(letterhead.department)} of an incident on "
        f"{when(state.details.occurred_at)} at {clean(state.details.location)} involving federal "
        f"personnel (case {state.case_number}), for referral to the {clean(letterhead.prosecutor.name)} "
        "for a charging decision under state law."
    ]
    if state.acknowledgement is not None:
        number = state.acknowledgement.payload.prosecutor_case_number
        proceeding.append(f"The prosecutor's case number is {clean(number)}.")
    prosecution = state.prosecution
    if (
        prosecution is not None
        and prosecution.decision is not None
        and prosecution.decision.decision == ChargingKind.CHARGED
    ):
        proceeding.append(
            f"Charges are filed in the state court under case number {clean(prosecution.decision.court_case_number)}."
        )
    return dict(
        common(state, letterhead, generated_at, when),
        request_id=request.id,
        agency=clean(to.get("agency", request.agency)),
        office=clean(to.get("office", "")),
        address=paragraphs(to.get("address", "")),
        regulations=clean(to.get("regulations", "")),
        prosecutor=dict(name=clean(letterhead.prosecutor.name), unit=clean(letterhead.prosecutor.unit)),
        proceeding=proceeding,
        records=[
            dict(number=str(n), kind=label(r.kind), description=clean(r.description), relevance=clean(r.relevance))
            for n, r in enumerate(request.records, 1)
        ],
        testimony=any(r.kind == "testimony" for r in request.records),
        letter_date=when.formal(request.requested_at),
        requested_at=when.formal(request.requested_at),
        due=when.formal(request.due_at),
        reviewer=clean(review.by.name),
    )
