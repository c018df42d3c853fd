"""Temporal's remote codec endpoints, so the Temporal UI can show decrypted payloads to those allowed."""

import json
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payloads

from referrals.api import trail
from referrals.api.deps import SessionDep, bearer, current_user
from referrals.api.errors import ApiError, documented
from referrals.domain.enums import Role
from referrals.domain.permissions import Operation, allowed, describe
from referrals.web.auth import SESSION_COOKIE, find_desk


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, as a browser's Origin header writes it (a default port left out)."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # not a port at all
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != {"http": 80, "https": 443}.get(scheme) else "")


def _json_media_type(content_type: str | None) -> str | None:
    """Why a Content-Type is not JSON in UTF-8, or None when it is (`application/json`, perhaps with a charset)."""
    media, _, parameters = (content_type or "").partition(";")
    if media.strip().lower() != "application/json":
        return "must be application/json"
    for parameter in filter(str.strip, parameters.split(";")):
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset":
            return f"takes no parameter but charset (got {name.strip()})"
        if value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return "must be UTF-8 when a charset is given"
    return None


async def _refused(request: Request, user, operation: str, message: str, field: str | None = None, **noted) -> ApiError:
    """The 403 to raise, its refusal recorded in the access trail as the others are."""
    await trail.record(
        request, trail.action_of(request), trail.REFUSED, user=user, details={"operation": operation, **noted}
    )
    if field is None:
        return ApiError(403, message)
    return ApiError(403, f"{field}: {message}", [{"field": field, "message": message}])


async def _caller(
    request: Request, session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """A bearer token, or the desk's session cookie: the Temporal UI served at the product's own origin sends the
    cookie, so people allowed to see every case read payloads decrypted there. A call sent from a page of any
    other origin is refused, and so is a body that is not JSON (which no browser sends cross-origin without a
    CORS preflight). Encoding is for admins only: anyone who can encode can make a payload Temporal takes as ours,
    and a read-only UI never needs it."""
    desk = await find_desk(request, session) if credentials is None and SESSION_COOKIE in request.cookies else None
    user = desk.user if desk else await current_user(request, session, credentials)
    operation = Operation.ENCODE_PAYLOADS if request.url.path.endswith("/encode") else Operation.DECODE_PAYLOADS
    origin = request.headers.get("origin")
    own = origin_of(request.app.state.settings.public_url)
    if origin is not None and origin_of(origin) != own:
        raise await _refused(
            request,
            user,
            operation.value,
            f"the codec answers pages of {own} only, not {origin[:200]}",
            "Origin",
            origin=origin[:200],
        )
    if not allowed(operation, [Role(r) for r in user.roles]):
        raise await _refused(request, user, operation.value, f"{operation.value} needs the role {describe(operation)}")
    if problem := _json_media_type(request.headers.get("content-type")):
        raise ApiError(415, f"Content-Type: {problem}", [{"field": "Content-Type", "message": problem}])
    request.state.codec_user = user  # for the trail's entry of the use (_used)


router = APIRouter(
    prefix="/codec",
    tags=["temporal codec"],
    dependencies=[Depends(_caller)],
    responses=documented(401, 403, 413, 415, 422, 429, 503),
)


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
_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": PayloadsJson, "description": "the payloads, encoded or decoded"}
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PayloadsJson"}}},
    }
}


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
PreserveStorageRefs = Annotated[
    bool | None, Query(alias="preserveStorageRefs", description="sent by the Temporal UI; changes nothing here")
]


async def _used(request: Request, outcome: str, payloads) -> None:
    await trail.record(
        request, trail.action_of(request), outcome, user=request.state.codec_user, details={"payloads": len(payloads)}
    )


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
