"""What every template is given: the case's number and particulars, the department's letterhead, the
policy's words, the moment the document was made."""

from datetime import datetime

from referrals.documents.text import Clock, clean
from referrals.domain.case import CaseState
from referrals.domain.events import Letterhead
from referrals.domain.policy import Words
from referrals.domain.words import sentence


def policy_words(letterhead: Letterhead) -> Words:
    return Words.model_validate(letterhead.words)


def common(state: CaseState, letterhead: Letterhead, generated_at: datetime, when: Clock) -> dict:
    d, words = state.details, policy_words(letterhead)
    district_name = letterhead.districts.get(state.district)
    return dict(
        badge=clean(words.badge),
        Badge=clean(sentence(words.badge)),
        district_word=clean(words.district),
        District_word=clean(sentence(words.district)),
        event_word=clean(words.event_number),
        district_name=f" ({clean(district_name)})" if district_name else "",
        retention_law=clean(letterhead.retention_law),
        case_number=state.case_number,
        case_id=state.case_id,
        district=state.district,
        department=clean(letterhead.department),
        department_address=clean(letterhead.department_address),
        generated_at=when(generated_at),
        event_number=clean(d.event_number),
        occurred_at=when(d.occurred_at),
        location=clean(d.location),
        retention_days=letterhead.retention_days,
    )
