"""Bad input: bodies over the size limit get 413; NUL bytes, huge arrays, wrong time zones and impossible
or absurd dates get 422 naming the field; and a rejected request stores nothing. End to end, one case of each
kind; the variations of each rule are the unit tier's (tests/unit/)."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from referrals.store.tables import CaseTask, Incident, Person, Recording
from tests.support.refusals import footprint, refused
from tests.support.scenario import FILING, HOLD_1, VIOLATIONS, Driver, filing

NOW = datetime.now(UTC)
FUTURE = (NOW + timedelta(days=2)).isoformat()
RECORDING = FILING["recordings"][0]
JSON = {"Content-Type": "application/json"}


def recording(**changes) -> dict:
    return {**RECORDING, **changes}


async def stored_rows(sessions) -> dict[str, int]:
    """Rows of the tables a filing writes while its request is answered."""
    async with sessions() as s:
        return {
            table.__name__: (await s.exec(select(func.count()).select_from(table))).one()
            for table in (Incident, CaseTask, Recording, Person)
        }


async def refused_filing(api, people, sessions, status: int = 422, headers: dict | None = None, **request) -> dict:
    before = await stored_rows(sessions)
    response = await api.post("/incidents", headers={**people.headers("officer"), **(headers or {})}, **request)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert await stored_rows(sessions) == before
    return error


def names(error: dict, field: str) -> bool:
    return any(detail["field"] == field for detail in error["details"]) and field in error["message"]


# --- 413 -----------------------------------------------------------------------------------------


def oversized(settings) -> bytes:
    """A filing one byte over the limit, valid in every other way."""
    body = json.dumps(filing(narrative="")).encode()
    padding = settings.max_body_bytes + 1 - len(body)
    return json.dumps(filing(narrative="x" * padding)).encode()


async def test_a_declared_content_length_over_the_limit_gets_413(api, people, sessions, settings):
    body = oversized(settings)
    assert len(body) == settings.max_body_bytes + 1
    error = await refused_filing(api, people, sessions, 413, content=body, headers=JSON)
    assert error["code"] == "too_large"
    assert str(settings.max_body_bytes) in error["message"]


async def test_a_chunked_body_over_the_limit_gets_413(api, people, sessions, settings):
    body = oversized(settings)

    async def chunks():  # no Content-Length: the body streams in pieces
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    error = await refused_filing(api, people, sessions, 413, content=chunks(), headers=JSON)
    assert error["code"] == "too_large"


async def test_a_chunked_step_over_the_limit_changes_nothing(api, people, dev_server, settings):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    padding = "x" * settings.max_body_bytes
    body = json.dumps({**VIOLATIONS, "narrative": padding}).encode()

    async def chunks():
        yield body[:1000]
        yield body[1000:]

    before = await footprint(d, dev_server, cid)
    response = await api.post(
        f"/incidents/{cid}/violation-report", content=chunks(), headers={**people.headers("officer"), **JSON}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert await footprint(d, dev_server, cid) == before


async def test_the_largest_valid_filing_fits_under_the_limit(api, people, settings):
    """Every list at its maximum length and every text at its maximum, in 4-byte UTF-8 characters."""
    wide = "\N{GRINNING FACE}"
    started = (NOW - timedelta(hours=2)).isoformat()
    body = filing(
        location=wide * 500,
        summary=wide * 500,
        narrative=wide * 20_000,
        event_number=wide * 64,
        officers=[{"name": wide * 200, "star": f"{i:064d}"} for i in range(50)],
        federal_personnel=[
            {"agency": wide * 64, "name": wide * 200, "badge": wide * 64, "description": wide * 500} for _ in range(100)
        ],
        recordings=[
            recording(
                camera_id=f"{i:064d}",
                officer_star=wide * 64,
                started_at=started,
                ended_at=started,
                flag_reasons=["use_of_force"] * 7,
            )
            for i in range(200)
        ],
    )
    size = len(json.dumps(body, ensure_ascii=False).encode())
    assert settings.max_body_bytes / 2 < size < settings.max_body_bytes
    response = await api.post(
        "/incidents",
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={**people.headers("officer"), **JSON},
    )
    assert response.status_code == 201, response.text[:500]
    assert len(response.json()["recordings"]) == 200


# --- 422 on the filing ---------------------------------------------------------------------------


# The other bad values of a filing, each named by its field: NUL bytes, lists over their length, times without a
# zone or that do not exist, before 1900: tests/unit/test_request_models.py; times in the future:
# tests/unit/test_arrival_checks.py; bidirectional controls: tests/test_text_characters.py.
@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        # Text that is not Unicode: only JSON's \u escapes can send it, so only the API can be sent it.
        (filing(narrative="half a surrogate \ud800"), "narrative", "unicode string"),
        # The clock's rule, checked when the request arrives.
        (filing(occurred_at=FUTURE), "occurred_at", "must not be in the future"),
    ],
)
async def test_bad_values_in_a_filing_are_refused_naming_the_field(api, people, sessions, body, field, says):
    # Encoded as most clients do, with \u escapes: the one way to send a lone surrogate.
    error = await refused_filing(api, people, sessions, content=json.dumps(body).encode(), headers=JSON)
    assert error["code"] == "invalid"
    assert names(error, field), error
    assert says in error["message"], error["message"]


@pytest.mark.parametrize(
    ("content", "says"),
    [(b'{"occurred_at": ', "not valid JSON"), (b'{"narrative": "\xc3\x28"}', "not readable as JSON")],
)
async def test_a_body_that_is_not_json_names_the_body(api, people, sessions, content, says):
    error = await refused_filing(api, people, sessions, content=content, headers=JSON)
    assert error["details"][0]["field"] == "body" and says in error["message"]


# --- 422 on the steps ----------------------------------------------------------------------------

YESTERDAY_BUT_ONE = (NOW - timedelta(days=2)).date().isoformat()


async def test_a_bad_value_in_a_step_is_refused_and_changes_nothing(api, people, dev_server):
    """The clock's rule on a step, checked when the request arrives. A step's other bad values (NUL bytes, lists
    over their length, dates that do not exist or lack a zone): tests/unit/test_request_models.py; the clock and
    the text rule in every step's body: tests/unit/test_arrival_checks.py, tests/test_text_characters.py."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    body = {"holds": [{**HOLD_1, "retained_until": YESTERDAY_BUT_ONE}]}
    await refused(
        d, dev_server, cid, "footage-hold", "custodian", body, 422, "holds[0].retained_until", "must not be in the past"
    )


# --- parameters and the codec: each once a 5xx --------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/incidents/%00", "case_id"),
        ("POST", "/incidents/%00/withdrawal", "case_id"),
        ("GET", "/incidents?district=%00", "district"),
        ("GET", "/notifications?cursor=2147483648", "cursor"),
        ("POST", "/notifications/26503960030640/read", "notification_id"),
    ],
)
async def test_parameters_postgresql_cannot_hold_get_422(api, people, method, url, field):
    response = await api.request(method, url, headers=people.headers("admin"), json={"reason": "x"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field


async def test_a_document_id_with_nul_gets_422(api, people):
    cid = (await Driver(api, people).new_case())["id"]
    response = await api.get(f"/incidents/{cid}/documents/%00", headers=people.headers("auditor"))
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "document_id"


async def test_an_email_with_nul_gets_422(api, people):
    body = {"name": "Sgt. Nul", "email": f"nul\x00{uuid.uuid4().hex[:6]}@test.invalid", "roles": ["auditor"]}
    response = await api.post("/users", json=body, headers=people.headers("admin"))
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "email"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("encode", b"\x80"),  # not UTF-8
        (
            "decode",
            json.dumps(
                {
                    "payloads": [
                        {  # sealed, one would think, but the bytes were altered
                            "metadata": {
                                "encoding": base64.b64encode(b"binary/encrypted").decode(),
                                "encryption-key-id": base64.b64encode(b"test-1").decode(),
                            },
                            "data": base64.b64encode(b"0123456789ab altered").decode(),
                        }
                    ]
                }
            ).encode(),
        ),
    ],
)
async def test_the_codec_refuses_what_it_cannot_read_with_422(api, people, path, body):
    who = "admin" if path == "encode" else "auditor"  # encoding is for admins only
    response = await api.post(
        f"/codec/{path}", content=body, headers={**people.headers(who), "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "payloads"
