"""Temporal's remote codec endpoints, so the Temporal UI can show decrypted payloads to those allowed."""

import json
import re
from typing import Annotated

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payloads

from api import trail
from api.deps import SessionDep, bearer, current_user
from api.errors import ApiError, documented
from domain.enums import Role
from domain.permissions import Operation, allowed, describe
from web.auth import SESSION_COOKIE, find_desk


async def _decoder(request: Request, session: SessionDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """A bearer token, or the desk's session cookie: the Temporal UI in the same browser (its codec setting
    "include cross-origin credentials") sends the cookie, so people allowed to see every case read payloads
    decrypted there. The cookie is safe here: a JSON POST from another origin needs a CORS preflight, which
    only the Temporal UI's origin passes."""
    desk = await find_desk(request, session) if credentials is None and SESSION_COOKIE in request.cookies else None
    user = desk.user if desk else await current_user(request, session, credentials)
    if not allowed(Operation.DECODE_PAYLOADS, [Role(r) for r in user.roles]):
        await trail.record(request, trail.action_of(request), trail.REFUSED, user=user,
                           details={"operation": Operation.DECODE_PAYLOADS.value})
        raise ApiError(403, f"{Operation.DECODE_PAYLOADS.value} needs the role {describe(Operation.DECODE_PAYLOADS)}")
    request.state.codec_user = user  # for the trail's entry of the use (_used)


router = APIRouter(prefix="/codec", tags=["temporal codec"], dependencies=[Depends(_decoder)],
                   responses=documented(401, 403, 413, 422, 429, 503))


# Standard or URL-safe alphabet, padded or not, as protobuf's JSON reads it; never a length of 4n + 1.
BASE64_TEXT = re.compile(r"^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$")
BASE64 = Annotated[str, Field(pattern=BASE64_TEXT.pattern)]


class PayloadJson(BaseModel):
    model_config = ConfigDict(extra="forbid")  # protobuf's parser refuses a field Payload does not have

    metadata: dict[str, BASE64] = {}
    data: BASE64 = ""


class PayloadsJson(BaseModel):
    """Temporal's `Payloads` in protobuf JSON, as the UI sends and reads them (parsed with protobuf, not pydantic)."""

    model_config = ConfigDict(extra="forbid")

    payloads: list[PayloadJson] = []


# The response declares the model in the components; the request body refers to it there.
_ANSWER = {200: {"model": PayloadsJson, "description": "the payloads, encoded or decoded"}}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/PayloadsJson"}}}}}


async def _payloads(request: Request) -> Payloads:
    body = await request.body()
    try:
        _as_documented(json.loads(body))  # protobuf's parser would take a null list or field as empty
        return json_format.Parse(body, Payloads())
    except (json_format.ParseError, UnicodeDecodeError, ValueError) as exc:
        field = exc.args[1] if isinstance(exc, _Shape) else "payloads"
        raise ApiError(422, f"{field}: {exc.args[0]}", [{"field": field, "message": str(exc.args[0])}]) from None


class _Shape(ValueError):
    """The body is JSON but not the shape PayloadsJson documents: (message, field)."""


def _as_documented(body) -> None:
    if not isinstance(body, dict):
        raise _Shape("must be an object with a list of payloads", "body")
    payloads = body.get("payloads", [])
    if not isinstance(payloads, list):
        raise _Shape("must be a list", "payloads")
    for i, payload in enumerate(payloads):
        if not isinstance(payload, dict):
            raise _Shape("must be an object", f"payloads[{i}]")
        metadata = payload.get("metadata", {})
        if not isinstance(metadata, dict) or not all(_base64(v) for v in metadata.values()):
            raise _Shape("must be an object of base64 strings", f"payloads[{i}].metadata")
        if not _base64(payload.get("data", "")):
            raise _Shape("must be a base64 string", f"payloads[{i}].data")


def _base64(value) -> bool:
    return isinstance(value, str) and BASE64_TEXT.fullmatch(value) is not None


def _answer(payloads) -> Response:
    return Response(json_format.MessageToJson(Payloads(payloads=payloads)), media_type="application/json")


# The Temporal UI (2.54) asks with `?preserveStorageRefs=true`; this codec keeps no payload elsewhere, so there is
# no reference to preserve and the answer is the same either way.
PreserveStorageRefs = Annotated[bool | None, Query(alias="preserveStorageRefs",
                                                   description="sent by the Temporal UI; changes nothing here")]


async def _used(request: Request, outcome: str, payloads) -> None:
    await trail.record(request, trail.action_of(request), outcome, user=request.state.codec_user,
                       details={"payloads": len(payloads)})


@router.post("/encode", openapi_extra=_BODY, responses=_ANSWER)
async def encode(request: Request, preserve_storage_refs: PreserveStorageRefs = None):
    codec = request.app.state.temporal.data_converter.payload_codec
    payloads = (await _payloads(request)).payloads
    answer = _answer(await codec.encode(payloads))
    await _used(request, trail.ALLOWED, payloads)
    return answer


@router.post("/decode", openapi_extra=_BODY, responses=_ANSWER)
async def decode(request: Request, preserve_storage_refs: PreserveStorageRefs = None):
    codec = request.app.state.temporal.data_converter.payload_codec
    payloads = (await _payloads(request)).payloads
    try:
        answer = _answer(await codec.decode(payloads))
    except (ValueError, InvalidTag) as exc:  # a key this deployment does not hold, or altered bytes
        await _used(request, trail.FAILED, payloads)
        message = str(exc) or "the encrypted bytes were altered"
        raise ApiError(422, f"payloads: {message}", [{"field": "payloads", "message": message}]) from None
    await _used(request, trail.ALLOWED, payloads)
    return answer
