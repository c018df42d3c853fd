"""Evidence at the desk: the case page's upload form, a photo's thumbnail (a small copy: not custody), an item's
bytes opened or played in the page (<video>, <audio>, a photo opened) or to keep (custody), and its chain of custody.

The upload is the API's own code path (referrals/api/evidence_upload.py): the file streams to storage, typed from its bytes,
and only then does the case learn of the item; a refusal keeps nothing and shows the case page again with the
message beside the field. These paths stream past the body limit and the request deadline (referrals/api/bodylimit.py)."""

import asyncio
import re
from contextlib import aclosing
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.types import Message

from referrals.api import trail
from referrals.api.deps import ClientDep, SessionDep, SettingsDep, actor_of, visible_incident
from referrals.api.errors import ApiError
from referrals.api.evidence_upload import FIELDS_LIMIT, add_upload, metadata_from
from referrals.api.routes.evidence import serve_file, stored_file
from referrals.api.upload import Part, multipart
from referrals.documents.custody import clock_in, court_chain, entry_text
from referrals.domain import steps
from referrals.domain.case import CaseState, EvidenceEntry, PersonRef
from referrals.domain.messages import EvidenceMetadata, Key
from referrals.domain.permissions import allowed, describe
from referrals.domain.refusal_words import text_of
from referrals.store import evidence
from referrals.store.audit import verify_chain
from referrals.store.blobs import blob_store_named
from referrals.store.evidence import Custody
from referrals.store.tables import Incident
from referrals.web import thumbnails
from referrals.web.auth import Desk, DeskDep, check_csrf
from referrals.web.forms import nest, problems_by_field
from referrals.web.pages import render
from referrals.web.routes.case import Refused, case_page
from referrals.web.step_forms import drop_blank_groups

router = APIRouter(prefix="/desk/cases", include_in_schema=False)

OPERATION = steps.ADD_EVIDENCE.name
REFUSALS = (409, 413, 415, 422)  # shown beside the form; anything else is the error page
TOKENS = ("csrf_token", "idempotency_key")
CHOSEN = "file"  # (among the leading fields: the name of the file chosen, which the form sends last)
# What a page may show inline; anything else (a PDF, a Word file, text) is only downloaded.
INLINE = re.compile(r"^(image/(jpeg|png)|video/(mp4|quicktime)|audio/(mpeg|wav|mp4))$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


async def leading_fields(request: Request) -> tuple[dict[str, str], Request]:
    """The form's small fields, read up to its file part (the form sends the file last), and a request that
    replays the body from its start for add_upload; so the CSRF token and the Idempotency-Key are known before a
    byte of the file is stored. Reads at most FIELDS_LIMIT bytes of fields (add_upload refuses more)."""
    seen: list[Message] = []

    async def recording() -> Message:
        message = await request.receive()
        seen.append(message)
        return message

    fields: dict[str, str] = {}
    name, raw, kept = None, bytearray(), 0
    async with aclosing(multipart(Request(request.scope, recording))) as items:
        async for item in items:
            if isinstance(item, Part):
                kept += len(item.name)
                if item.name == "file" and item.filename:  # its name, to say it was not kept if refused
                    fields.setdefault(CHOSEN, item.filename)
                if item.name == "file" or kept > FIELDS_LIMIT:  # add_upload refuses what is over the limit
                    break
                name = item.name
            elif item is None:
                if name is not None:
                    fields.setdefault(name, raw.decode("utf-8", "replace"))
                name, raw = None, bytearray()
            else:
                kept += len(item)
                if kept > FIELDS_LIMIT:
                    break
                raw += item

    async def replayed() -> Message:
        return seen.pop(0) if seen else await request.receive()

    return fields, Request(request.scope, replayed)


def metadata_reader(desk: Desk, zone: ZoneInfo):
    """add_upload's `metadata_of` for the form: its fields named as the API's (`held_elsewhere.system`), a
    datetime-local read on the department's clock, the "held elsewhere" pair left out when both are blank."""

    def metadata_of(fields: dict[str, str]) -> EvidenceMetadata:
        sent = list(fields.items())
        check_csrf(desk.csrf_token, sent)
        return metadata_from(nest(drop_blank_groups(sent, ("held_elsewhere",)), zone), "", zone)

    return metadata_of


@router.post("/{case_id}/evidence")
async def add(
    request: Request, case_id: Key, desk: DeskDep, session: SessionDep, client: ClientDep, settings: SettingsDep
):
    try:
        if not allowed(OPERATION, actor_of(desk.user).roles):
            await trail.record(
                request,
                OPERATION,
                trail.REFUSED,
                user=desk.user,
                case_id=case_id,
                details={"operation": OPERATION},
            )
            raise ApiError(403, f"{OPERATION} needs the role {describe(OPERATION)}")
        incident = await visible_incident(request, case_id, desk.user, session)
        await session.commit()  # no database connection held while the body arrives
        fields, body = await leading_fields(request)
        check_csrf(desk.csrf_token, list(fields.items()))  # before a byte of the file is stored
    except ApiError as exc:  # refused before the file: the rest of the body is never read
        exc.headers = {**(exc.headers or {}), "Connection": "close"}
        raise
    key = fields.get("idempotency_key", "").strip()[:200] or None
    try:
        entry, _ = await add_upload(
            body,
            incident,
            desk.user,
            client,
            session,
            settings,
            key,
            metadata_reader(desk, request.app.state.policy.zone),
            prefix="",
        )
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        values: dict[str, str | list[str]] = {
            name: value for name, value in fields.items() if name not in (*TOKENS, CHOSEN)
        }
        errors = problems_by_field(exc.details)
        if fields.get(CHOSEN) and "file" not in errors:  # a browser cannot be given a file back: say it plainly
            errors["file"] = f"The file you chose ({fields[CHOSEN]}) was not kept: choose it again"
        message = "; ".join(errors.values()) if errors else text_of(None, exc.message)
        refused = Refused(OPERATION, message, errors, values)
        await session.refresh(incident)
        page = await case_page(request, desk, session, settings, incident, exc.status, refused=refused)
        page.headers.update(exc.headers or {})
        return page
    return RedirectResponse(
        f"/desk/cases/{incident.id}?done={OPERATION}&item={entry.number}#evidence-{entry.number}", status_code=303
    )


async def _item(
    request: Request, session, case_id: str, evidence_id: str, desk: Desk
) -> tuple[Incident, CaseState, EvidenceEntry]:
    incident = await visible_incident(request, case_id, desk.user, session)
    state = CaseState.model_validate(incident.state)
    entry = state.evidence_item(evidence_id)
    if entry is None:
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=desk.user, case_id=incident.id, target=evidence_id
        )
        raise ApiError(404, f"no evidence {evidence_id} in this case")
    return incident, state, entry


@router.get("/{case_id}/evidence/{evidence_id}")
async def download(
    request: Request, case_id: Key, evidence_id: Key, desk: DeskDep, session: SessionDep, settings: SettingsDep
):
    incident, _, entry = await _item(request, session, case_id, evidence_id, desk)
    return await serve_file(
        request, incident, entry, session, settings, PersonRef.of(actor_of(desk.user)), Custody.DOWNLOADED
    )


@router.get("/{case_id}/evidence/{evidence_id}/view")
async def view(
    request: Request, case_id: Key, evidence_id: Key, desk: DeskDep, session: SessionDep, settings: SettingsDep
):
    """The item opened or played: its bytes inline, in the ranges a player asks for; custody, as a download is
    (the pages fetch it only when the user opens the photo or presses play: their thumbnails are `thumbnail`)."""
    incident, _, entry = await _item(request, session, case_id, evidence_id, desk)
    if entry.item.content_type and not INLINE.match(entry.item.content_type):
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=desk.user, case_id=incident.id, target=evidence_id
        )
        raise ApiError(
            404, f"evidence {entry.number} ({entry.item.content_type}) is not shown in the page; download it instead"
        )
    response = await serve_file(
        request, incident, entry, session, settings, PersonRef.of(actor_of(desk.user)), Custody.OPENED, inline=True
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"  # opened on its own: inert
    return response


@router.get("/{case_id}/evidence/{evidence_id}/thumbnail")
async def thumbnail(
    request: Request, case_id: Key, evidence_id: Key, desk: DeskDep, session: SessionDep, settings: SettingsDep
):
    """A photo's thumbnail: a small copy made from it (referrals/web/thumbnails.py), never its own bytes, so not a
    custody event; the access trail records it."""
    incident, _, entry = await _item(request, session, case_id, evidence_id, desk)
    actor = PersonRef.of(actor_of(desk.user))
    row = await stored_file(request, incident, entry, session, actor)
    await session.commit()  # no database connection held while the photo is read and shrunk
    small = thumbnails.kept(row.sha256)
    if small is None:
        content = bytearray()
        if row.size <= thumbnails.MAX_BYTES:
            async for piece in blob_store_named(row.storage, settings, request.app.state.sessions).read(row.key):
                content += piece
        try:
            small = await asyncio.to_thread(thumbnails.thumbnail, bytes(content), row.content_type)
        except thumbnails.NoThumbnail:
            await trail.record(
                request, trail.action_of(request), trail.NOT_FOUND, user=actor, case_id=incident.id, target=evidence_id
            )
            raise ApiError(404, f"evidence {entry.number} has no thumbnail; open it instead") from None
        thumbnails.keep(row.sha256, small)
    await trail.allowed(request, actor, case_id=incident.id, target=evidence_id, details={"thumbnail": len(small)})
    return Response(
        small,
        media_type=row.content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def summary(data: dict) -> str:
    """A custody event's data in a line: 'client 203.0.113.7; bytes 0-99/100; SHA-256 9f86d081884c…'."""
    parts = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{v}" for v in value.values())
        shown = f"{value[:12]}…" if isinstance(value, str) and _HEX.match(value) else str(value)
        parts.append(f"{'SHA-256' if key == 'sha256' else key.replace('_', ' ')} {shown}")
    return "; ".join(parts)


@router.get("/{case_id}/evidence/{evidence_id}/custody")
async def custody(request: Request, case_id: Key, evidence_id: Key, desk: DeskDep, session: SessionDep):
    """The item and its chain of custody as a court reads it (its collection, its receipt, then what was done with
    it), whether the chain still holds, and every event of the chain with its details and hash."""
    incident, state, entry = await _item(request, session, case_id, evidence_id, desk)
    rows = await evidence.custody(session, evidence_id)
    person = next((p for p in state.people if p.id == entry.item.person_id), None)
    when = clock_in(request.app.state.policy.zone)
    page = render(
        request,
        "evidence.html",
        incident=incident,
        state=state,
        entry=entry,
        person=person,
        inline=bool(entry.item.content_type and INLINE.match(entry.item.content_type)),
        chain=[(told, entry_text(told, when)) for told in court_chain(rows, entry.item)],
        custody=[(row, summary(row.data)) for row in rows],
        chain_break=verify_chain(evidence_id, rows),
    )
    await trail.allowed(request, desk.user, case_id=incident.id, target=evidence_id)
    return page
