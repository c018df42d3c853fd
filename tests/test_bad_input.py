"""Bad input: bodies over the size limit get 413; NUL bytes, huge arrays, wrong time zones and impossible
or absurd dates get 422 naming the field; and a rejected request stores nothing."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from referrals.store.tables import CaseTask, Incident, Person, Recording
from tests.support.refusals import footprint, refused
from tests.support.scenario import ACK, FILING, HOLD_1, IDENTIFIED, REFER, VIOLATIONS, Driver, filing

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


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        # NUL bytes and text that is not Unicode, anywhere in the tree
        (filing(officers=[{"name": "P.O. Ana\x00Ruiz", "star": "12345"}]), "officers[0].name", "NUL"),
        (filing(recordings=[recording(camera_id="X603\x001234")]), "recordings[0].camera_id", "NUL"),
        (
            filing(federal_personnel=[{"agency": "ICE", "description": "vest\x00"}]),
            "federal_personnel[0].description",
            "NUL",
        ),
        (filing(narrative="half a surrogate \ud800"), "narrative", "unicode string"),
        # Bidirectional overrides and isolates: a page or a document would show the text in another order
        (filing(summary="Agents \u202edehsup\u202c a vendor"), "summary", "right-to-left override character"),
        (
            filing(officers=[{"name": "P.O. \u2067Ruiz\u2069", "star": "12345"}]),
            "officers[0].name",
            "right-to-left isolate character (U+2067)",
        ),
        (filing(people=[{"part": "victim", "name": "Jane \u202dRoe"}]), "people[0].name", "left-to-right override"),
        # Arrays over their maximum length
        (filing(officers=[{"name": "P.O. X", "star": str(i)} for i in range(51)]), "officers", "at most 50"),
        (filing(recordings=[recording(camera_id=f"C{i}") for i in range(201)]), "recordings", "at most 200"),
        (filing(federal_personnel=[{"agency": "ICE"}] * 101), "federal_personnel", "at most 100"),
        (filing(recordings=[recording(flag_reasons=["use_of_force"] * 8)]), "recordings[0].flag_reasons", "at most 7"),
        # Times without a zone, or with one that does not exist
        (filing(recordings=[recording(started_at="2026-01-10T10:00:00")]), "recordings[0].started_at", "timezone"),
        (filing(recordings=[recording(ended_at="2026-01-10T10:00:00+25:00")]), "recordings[0].ended_at", None),
        (filing(occurred_at="2026-01-10T10:00:00 CST"), "occurred_at", None),
        # Dates that do not exist
        (filing(occurred_at="0000-01-10T10:00:00Z"), "occurred_at", None),
        (filing(occurred_at="2026-13-10T10:00:00Z"), "occurred_at", None),
        (filing(occurred_at="10000-01-01T00:00:00Z"), "occurred_at", None),
        (filing(recordings=[recording(started_at="2026-02-30T10:00:00-06:00")]), "recordings[0].started_at", None),
        # Dates that exist but not for an incident reported now
        (filing(occurred_at=FUTURE), "occurred_at", "must not be in the future"),
        (filing(occurred_at="1899-12-31T12:00:00-06:00"), "occurred_at", "must not be before 1900"),
        (filing(recordings=[recording(ended_at=FUTURE)]), "recordings[0].ended_at", "must not be in the future"),
        (
            filing(
                recordings=[recording(started_at="9999-12-31T23:00:00-12:00", ended_at="9999-12-31T23:59:00-12:00")]
            ),
            "recordings[0].started_at",
            "must not be in the future",
        ),
    ],
)
async def test_bad_values_in_a_filing_are_refused_naming_the_field(api, people, sessions, body, field, says):
    # Encoded as most clients do, with \u escapes: the one way to send a lone surrogate.
    error = await refused_filing(api, people, sessions, content=json.dumps(body).encode(), headers=JSON)
    assert error["code"] == "invalid"
    assert names(error, field), error
    if says:
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


@pytest.mark.parametrize(
    ("path", "who", "body", "field", "says"),
    [
        (
            "footage-hold",
            "custodian",
            {"holds": [{**HOLD_1, "retained_until": YESTERDAY_BUT_ONE}]},
            "holds[0].retained_until",
            "must not be in the past",
        ),
        (
            "footage-hold",
            "custodian",
            {"holds": [{**HOLD_1, "retained_until": "0000-01-01"}]},
            "holds[0].retained_until",
            None,
        ),
        (
            "footage-hold",
            "custodian",
            {"holds": [{**HOLD_1, "retained_until": "2027-13-01"}]},
            "holds[0].retained_until",
            None,
        ),
        (
            "footage-hold",
            "custodian",
            {"holds": [{**HOLD_1, "hold_reference": "AXON\x00"}]},
            "holds[0].hold_reference",
            "NUL",
        ),
        (
            "footage-hold",
            "custodian",
            {"holds": [{**HOLD_1, "camera_id": f"C{i}"} for i in range(201)]},
            "holds",
            "at most 200",
        ),
        ("supervisor-identification", "officer", {**IDENTIFIED, "name": "J.\x00Doe"}, "name", "NUL"),
        (
            "supervisor-identification",
            "officer",
            {**IDENTIFIED, "name": "J. \u202eeoD"},
            "name",
            "right-to-left override character (U+202E)",
        ),
        (
            "supplements",
            "officer",
            {"corrections": [{"field": "location", "value": "W 26th \u202bSt", "reason": "typo"}]},
            "corrections[0].value",
            "right-to-left embedding",
        ),
        (
            "violation-report",
            "officer",
            {**VIOLATIONS, "allegations": VIOLATIONS["allegations"] * 101},
            "allegations",
            "at most 100",
        ),
        (
            "violation-report",
            "officer",
            {**VIOLATIONS, "allegations": [{**VIOLATIONS["allegations"][0], "facts": "struck\x00"}]},
            "allegations[0].facts",
            "NUL",
        ),
        ("legal-review", "reviewer", {**REFER, "subjects": REFER["subjects"] * 51}, "subjects", "at most 50"),
        (
            "referral-acknowledgement",
            "liaison",
            {**ACK, "received_at": FUTURE},
            "received_at",
            "must not be in the future",
        ),
        (
            "referral-acknowledgement",
            "liaison",
            {**ACK, "received_at": "1066-10-14T09:00:00+00:00"},
            "received_at",
            "must not be before 1900",
        ),
        (
            "referral-acknowledgement",
            "liaison",
            {**ACK, "received_at": "2026-02-10T09:00:00+99:00"},
            "received_at",
            None,
        ),
        (
            "referral-acknowledgement",
            "liaison",
            {**ACK, "received_at": "2026-02-10T09:00:00"},
            "received_at",
            "timezone",
        ),
    ],
)
async def test_bad_values_in_a_step_are_refused_and_change_nothing(
    api, people, dev_server, path, who, body, field, says
):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await refused(d, dev_server, cid, path, who, body, 422, field, says)


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
