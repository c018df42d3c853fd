"""What the Touhy request letter is given: one agency's request as a department sends it. Dated formally, addressed
to the office the policy's agency table names, under the agency's own regulation (cited as a lawyer cites it); the
matter, each record or testimony sought with its relevance (the statement 6 C.F.R. § 5.45(a) and 28 C.F.R.
§ 16.22(c)–(d) ask for), the date a reply is asked by, the signature block of the official the policy names, and
the copies. What the department has not verified (an office's address, a placeholder for the signing official)
never goes in the letter: the desk and the legal review memo tell the reviewer instead. The wording is the
template's (templates/documents/touhy_request.docx)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from referrals.documents.common import common
from referrals.documents.text import Clock, clean
from referrals.domain.agencies import NBSP, lawyers_cite, the
from referrals.domain.case import CaseState, TouhyRequestState
from referrals.domain.enums import ChargingKind, FederalRecord
from referrals.domain.events import Letterhead
from referrals.domain.words import label

WJ = "\u2060"  # a word joiner: no line breaks beside it


def _unbroken(cite: str) -> str:
    """A cite the page never breaks at its en dash ('§§ 5.41–5.49' stays on one line; the policy's non-breaking
    spaces keep the rest together)."""
    return cite.replace("–", f"{WJ}–{WJ}")


def _on_one_line(day: str) -> str:
    """'March 2, 2026' with its month and day kept together."""
    return day.replace(" ", NBSP, 1)


def _lines(text: str | None) -> list[str]:
    return [clean(line.strip()) for line in (text or "").splitlines() if line.strip()]


def _time_of_day(moment: datetime, zone: ZoneInfo) -> str:
    """'7:05 a.m.', as a letter gives the time."""
    local = moment.astimezone(zone)
    return f"{local.hour % 12 or 12}:{local:%M} {'a.m.' if local.hour < 12 else 'p.m.'}"


def _sought(request: TouhyRequestState) -> str:
    """'records', 'testimony' or 'records and testimony', as the request asks."""
    testimony = any(r.kind == FederalRecord.TESTIMONY for r in request.records)
    records = any(r.kind != FederalRecord.TESTIMONY for r in request.records)
    return " and ".join(w for w, asked in (("records", records), ("testimony", testimony)) if asked)


def addressee(to: dict[str, str], agency: str) -> list[str]:
    """The letter's inside address: the office, and its address only once the department has verified it."""
    office = _lines(to.get("office")) or [clean(agency)]
    return office + (_lines(to.get("address")) if to.get("verified") else [])


def signature(letterhead: Letterhead) -> dict:
    """The signature block: the official the policy names (their name, title, the department, how to reach them),
    or, for a placeholder or a request from before the policy named one, none (a line to sign and complete by
    hand)."""
    who = letterhead.touhy_signatory
    named = bool(who.get("name")) and not who.get("placeholder")
    if not named:
        return dict(named=False, block="")
    contact = " · ".join(
        f"{what}: {clean(who[key])}" for key, what in (("phone", "Telephone"), ("email", "E-mail")) if who.get(key)
    )
    lines = [who["name"], who.get("title", ""), letterhead.department, contact]
    return dict(named=True, block="\n".join(clean(line) for line in lines if line))


def touhy_request(state: CaseState, letterhead: Letterhead, generated_at: datetime, version: int) -> dict:
    when = Clock(letterhead)
    zone = ZoneInfo(letterhead.time_zone)
    request = state.touhy_requests[version - 1]  # the Nth letter is request T N's
    to = letterhead.touhy.get(request.agency, {})
    agency = clean(to.get("agency", request.agency))
    regulation = _unbroken(lawyers_cite(clean(to.get("regulations", ""))))  # (a request from before: loosely cited)
    details = state.details
    occurred = _on_one_line(when.formal(details.occurred_at))
    name, unit = clean(letterhead.prosecutor.name), clean(letterhead.prosecutor.unit)
    prosecutor = f"{name}, {unit}," if unit else name
    matter = [
        f"This request concerns a criminal investigation by the {clean(letterhead.department)} of an incident on "
        f"{occurred}, at about {_time_of_day(details.occurred_at, zone)}, at {clean(details.location)}, in which "
        f"federal personnel were involved (case {state.case_number}). The investigation is being referred to the "
        f"{prosecutor} for a charging decision under state law."
    ]
    numbers = [f"{clean(letterhead.department)} case {state.case_number}, request {request.id}"]
    if state.acknowledgement is not None:
        number = clean(state.acknowledgement.payload.prosecutor_case_number)
        matter.append(f"The prosecutor's case number is {number}.")
        numbers.append(f"prosecutor's case {number}")
    decided = state.prosecution.decision if state.prosecution is not None else None
    if decided is not None and decided.decision == ChargingKind.CHARGED:
        court = clean(decided.court_case_number)
        matter.append(f"Charges are pending in the state court under case number {court}.")
        numbers.append(f"court case {court}")
    sought = _sought(request)
    copies = [*_lines(to.get("copies")), *(clean(c) for c in letterhead.touhy_copies)]
    return dict(
        common(state, letterhead, generated_at, when),
        request_id=request.id,
        agency=agency,
        the_agency=the(agency),
        regulation=regulation,
        relevance_rule=_unbroken(lawyers_cite(clean(to.get("relevance_rule")))) or "the regulation",
        letter_date=when.formal(request.requested_at),
        due=_on_one_line(when.formal(request.due_at)),
        addressee=addressee(to, request.agency),
        re=[
            f"Request under {regulation} for {sought} of {the(agency)}"
            if regulation
            else f"Request for {sought} of {the(agency)}",
            f"Incident of {occurred}, at {clean(details.location)}",
            "; ".join(numbers),
            f"Reply requested by {_on_one_line(when.formal(request.due_at))}",
        ],
        sought=sought,
        matter=matter,
        records=[
            dict(number=str(n), kind=label(r.kind), description=clean(r.description), relevance=clean(r.relevance))
            for n, r in enumerate(request.records, 1)
        ],
        testimony="testimony" in sought,
        signatory=signature(letterhead),
        copies=copies,
        cc="\n\t".join(copies),  # (one paragraph: "cc:", a tab, each copy on its line)
    )
