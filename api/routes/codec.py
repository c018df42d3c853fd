"""Temporal's remote codec endpoints, so the Temporal UI can show decrypted payloads to those allowed."""

from fastapi import APIRouter, Request, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.deps import permits
from api.errors import ApiError
from domain.permissions import Operation

router = APIRouter(prefix="/codec", tags=["temporal codec"], dependencies=[permits(Operation.DECODE_PAYLOADS)])


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError as exc:
        raise ApiError(422, f"payloads: {exc}", [{"field": "payloads", "message": str(exc)}]) from None


def _answer(payloads) -> Response:
    return Response(json_format.MessageToJson(Payloads(payloads=payloads)), media_type="application/json")


@router.post("/encode")
async def encode(request: Request):
    codec = request.app.state.temporal.data_converter.payload_codec
    return _answer(await codec.encode((await _payloads(request)).payloads))


@router.post("/decode")
async def decode(request: Request):
    codec = request.app.state.temporal.data_converter.payload_codec
    try:
        return _answer(await codec.decode((await _payloads(request)).payloads))
    except ValueError as exc:  # a key this deployment does not hold
        raise ApiError(422, f"payloads: {exc}", [{"field": "payloads", "message": str(exc)}]) from None
