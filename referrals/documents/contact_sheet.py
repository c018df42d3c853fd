"""What the prosecutor's confidential contact sheet is given: how to reach each person involved, in the
packet's order. Made from the contacts opened at the moment it is asked for, and never stored."""

from datetime import datetime

from referrals.documents.common import common
from referrals.documents.packet import language, ordered_people, person_name
from referrals.documents.text import Clock, clean
from referrals.domain.case import CaseState
from referrals.domain.events import Letterhead
from referrals.domain.words import label


def contact_sheet(state: CaseState, letterhead: Letterhead, generated_at: datetime, contacts: dict) -> dict:
    """The prosecutor's confidential contact sheet: `contacts` maps a person's id to their opened Contact."""
    when = Clock(letterhead)
    rows = []
    for p in ordered_people(state):
        contact = contacts.get(p.id)
        lines = [
            f"Phone: {clean(contact.phone)}" if contact and contact.phone else "",
            f"E-mail: {clean(contact.email)}" if contact and contact.email else "",
            f"Address: {clean(contact.address)}" if contact and contact.address else "",
        ]
        rows.append(
            dict(
                person=f"{p.id} {person_name(p)} ({label(p.part).lower()})",
                language=language(p),
                contact=[line for line in lines if line] or ["None given"],
            )
        )
    acknowledged = state.acknowledgement
    # Once the prosecutor has acknowledged the referral, the sheet carries their own case number too.
    number = clean(acknowledged.payload.prosecutor_case_number) if acknowledged is not None else ""
    return dict(common(state, letterhead, generated_at, when), people=rows, prosecutor_case_number=number)
