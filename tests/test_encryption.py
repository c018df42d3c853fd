"""Encrypted history: whoever reads the Temporal server's database sees no names, narratives or badges."""

import base64
import json
import logging
import re

import pytest
from google.protobuf import json_format
from structlog.testing import capture_logs
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from referrals.codec import EncryptionCodec, parse_keys
from referrals.domain.case import workflow_id_for
from referrals.temporal_client import data_converter
from referrals.workflows.incident import IncidentWorkflow
from tests.support.keys import TEST_KEYS
from tests.support.scenario import SECRETS, VICTIM, WITNESS, Driver, filing

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Ids and digests in what is logged: random hex, in which a badge number or a phone's last digits may show up.
HEX = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,}")
# The suite's mail receiver (aiosmtpd) logs each line it receives: the prosecutor's e-mail carries the packet, as it
# must. What it received is not what the product logged (the notifications' tests read the e-mails themselves).
RECEIVER = "mail.log"


async def test_raw_history_search_attributes_and_logs_hold_no_personal_data(api, people, dev_server, settings, caplog):
    d = Driver(api, people)
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logged:  # the API's and the worker's structlog events, all of them
        cid = (await d.new_case(body=filing(people=[VICTIM])))["id"]
        await d.ok(cid, "supplements", "officer", {"narrative": "A witness came forward.", "people": [WITNESS]})
        await d.refer_to_the_end(cid)
        await d.decline_charges(cid)
        await dev_server.client.get_workflow_handle(workflow_id_for(cid)).result()
    ours = "\n".join(caplog.handler.format(r) for r in caplog.records if not r.name.startswith(RECEIVER))
    written = HEX.sub("<hex>", repr(logged) + ours)
    assert any(event.get("case_id") == cid for event in logged)  # the logs do speak of the case
    for secret in SECRETS:
        assert secret not in written, secret

    # A client without the codec: what the Temporal server stores and anyone with its database sees.
    raw = await Client.connect(settings.temporal_address, data_converter=pydantic_data_converter)
    history = await raw.get_workflow_handle(workflow_id_for(cid)).fetch_history()
    stored = b"".join(event.SerializeToString() for event in history.events)
    stored = UUID.sub(b"<uuid>", stored)  # ids are random hex: a badge number may show up inside one
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
    assert b"binary/encrypted" in stored
    # Query answers are encrypted too; with the codec they read back.
    try:
        answer = await raw.get_workflow_handle(workflow_id_for(cid)).query(IncidentWorkflow.case)
    except Exception as exc:  # the converter cannot read what it cannot decrypt
        answer = exc
    assert not hasattr(answer, "details")
    case = await dev_server.client.get_workflow_handle(workflow_id_for(cid)).query(IncidentWorkflow.case)
    assert case.details.officers[0].name == "P.O. Ana Ruiz"

    # What the Temporal UI lists and shows without any key: the search attributes and the summary.
    described = await dev_server.client.get_workflow_handle(workflow_id_for(cid)).describe()
    shown = (
        repr(described.typed_search_attributes)
        + repr(await described.static_summary())
        + repr(await described.static_details())
    )
    assert case.case_number in shown
    for secret in SECRETS:
        assert secret not in shown, secret


async def test_a_history_written_under_an_old_key_replays_after_rotation(api, people, dev_server, settings):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    history = await dev_server.client.get_workflow_handle(workflow_id_for(cid)).fetch_history()
    # After rotation: a new key first, the test keys (which wrote this history) after it.
    rotated = "test-3:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=," + TEST_KEYS
    result = await Replayer(workflows=[IncidentWorkflow], data_converter=data_converter(rotated)).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None
    # Without the key that wrote it, nothing decrypts.
    stranger = "other:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    with pytest.raises(ValueError, match="not configured"):
        started = history.events[0].workflow_execution_started_event_attributes
        await EncryptionCodec(parse_keys(stranger)).decode(started.input.payloads)


async def test_the_codec_endpoints_decode_for_those_who_see_every_case(api, people, dev_server, settings):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    history = await dev_server.client.get_workflow_handle(workflow_id_for(cid)).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    body = json_format.MessageToJson(started.input)
    decoded = await api.post(
        "/codec/decode", content=body, headers={**people.headers("auditor"), "Content-Type": "application/json"}
    )
    assert decoded.status_code == 200, decoded.text
    assert "P.O. Ana Ruiz" in base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
    for who, status in (("officer", 403), ("supervisor", 403)):
        refused = await api.post("/codec/decode", content=body, headers=people.headers(who))
        assert refused.status_code == status
    assert (await api.post("/codec/decode", content=body)).status_code == 401
    bad = await api.post(
        "/codec/decode", content=b"{not json", headers={**people.headers("auditor"), "Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "payloads"
    # Round trip through encode.
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"hello"').decode(),
            }
        ]
    }
    sealed = await api.post("/codec/encode", json=plain, headers=people.headers("admin"))
    assert b"hello" not in base64.b64decode(sealed.json()["payloads"][0]["data"])
    opened = await api.post("/codec/decode", json=sealed.json(), headers=people.headers("admin"))
    assert opened.json() == plain


async def test_the_codec_takes_json_from_its_own_origin_and_encodes_for_admins_only(api, people, settings, sessions):
    """A text or form body is what another site's page may send with no CORS preflight: 415, naming the header.
    A page of another origin is refused, and so is encoding for anyone but an admin: each refusal in the trail."""
    from referrals.api.routes.codec import origin_of
    from tests.support.access_log import newest

    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"hello"').decode(),
            }
        ]
    }
    sealed = (await api.post("/codec/encode", json=plain, headers=people.headers("admin"))).json()
    body = json.dumps(sealed)
    for path, who in (("decode", "auditor"), ("encode", "admin")):
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            None,
            "application/json; charset=iso-8859-1",
            "application/json-patch+json",
        ):
            headers = people.headers(who) | ({"Content-Type": content_type} if content_type else {})
            refused = await api.post(f"/codec/{path}", content=body, headers=headers)
            assert refused.status_code == 415, (path, content_type, refused.text)
            assert refused.json()["error"]["code"] == "unsupported_media_type"
            assert refused.json()["error"]["details"][0]["field"] == "Content-Type"
    own = origin_of(settings.public_url)
    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"):
        decoded = await api.post(
            "/codec/decode",
            content=body,
            headers={**people.headers("auditor"), "Content-Type": content_type, "Origin": own},
        )
        assert decoded.status_code == 200 and decoded.json() == plain, decoded.text

    for origin in ("https://evil.example", settings.temporal_ui_url, "null", own.replace("http://", "https://")):
        elsewhere = await api.post(
            "/codec/decode", json=sealed, headers={**people.headers("auditor"), "Origin": origin}
        )
        assert elsewhere.status_code == 403, (origin, elsewhere.text)
        assert elsewhere.json()["error"]["details"][0]["field"] == "Origin"
        entry = await newest(sessions, user_id=people.ids["auditor"])
        assert (entry.action, entry.outcome, entry.component) == ("decode_payloads", "refused", "codec")

    for who in ("auditor", "reviewer", "commander", "custodian", "liaison", "officer"):
        refused = await api.post("/codec/encode", json=plain, headers=people.headers(who))
        assert refused.status_code == 403, (who, refused.text)
        assert refused.json()["error"]["message"] == "encode_payloads needs the role admin"
        entry = await newest(sessions, user_id=people.ids[who])
        assert (entry.action, entry.outcome, entry.details) == (
            "encode_payloads",
            "refused",
            '{"operation":"encode_payloads"}',
        )
    assert (await api.post("/codec/decode", json=sealed, headers=people.headers("reviewer"))).status_code == 200


def test_an_origin_is_compared_as_a_browser_writes_it():
    from referrals.api.routes.codec import origin_of

    assert origin_of("https://referrals.example.gov/desk/") == "https://referrals.example.gov"
    assert origin_of("HTTPS://Referrals.Example.gov:443") == "https://referrals.example.gov"
    assert origin_of("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert origin_of("http://[::1]:8000/") == "http://[::1]:8000"
    assert origin_of("null") != origin_of("http://localhost:8000")


async def test_cors_admits_only_the_temporal_ui(api, settings):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    ok = await api.options("/codec/decode", headers={"Origin": settings.temporal_ui_url, **preflight})
    assert ok.headers.get("access-control-allow-origin") == settings.temporal_ui_url
    other = await api.options("/codec/decode", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
