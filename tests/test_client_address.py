"""Only the configured front door names the client's address: the API started as the Dockerfile (and compose, and
`make run`) start it, a request from loopback that only claims `X-Forwarded-For` is recorded, and counted by the
failure limit, as loopback's; with loopback listed in REFERRALS_TRUSTED_PROXIES the forwarded address is believed;
and started with uvicorn's defaults by mistake, the claim is still not believed."""

import uuid
from datetime import UTC, datetime

import httpx
import yaml
from sqlalchemy import delete
from sqlmodel import select
from structlog.testing import capture_logs

from referrals.api import client_address
from referrals.config import ROOT
from referrals.store.tables import AccessEntryRow, AuthFailure
from tests.support.browser import serving
from tests.support.processes import api_process, shipped_command

CLAIMED = "203.0.113.77"


async def listing_clients(sessions, since: datetime, user_id: str) -> list[str]:
    async with sessions() as s:
        return list(
            (
                await s.exec(
                    select(AccessEntryRow.client)
                    .where(
                        AccessEntryRow.at >= since,
                        AccessEntryRow.action == "list_cases",
                        AccessEntryRow.user_id == user_id,
                    )
                    .order_by(AccessEntryRow.seq)
                )
            ).all()
        )


async def failures_for(sessions, *keys: str) -> dict[str, int]:
    async with sessions() as s:
        rows = (
            await s.exec(select(AuthFailure.key).where(AuthFailure.kind == "client", AuthFailure.key.in_(keys)))
        ).all()
    return {key: rows.count(key) for key in keys if key in rows}


def test_compose_runs_the_api_as_the_dockerfile_does():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["api"]["command"] == shipped_command()


async def test_a_forwarded_address_only_claimed_from_loopback_is_not_believed(
    settings, worker, people, sessions, tmp_path
):
    limited = settings.model_copy(update={"auth_failures_per_minute": 3})
    async with sessions() as s:  # this test's own count for loopback, whatever the suite did from it before
        await s.exec(delete(AuthFailure).where(AuthFailure.kind == "client", AuthFailure.key == "127.0.0.1"))
        await s.commit()
    since = datetime.now(UTC)
    claims = [f"203.0.113.{n}" for n in (77, 78, 79, 80)]
    with api_process(limited, tmp_path / "api.log") as url:
        async with httpx.AsyncClient(base_url=url) as client:
            listed = await client.get(
                "/incidents",
                params={"district": "010"},
                headers={"X-Forwarded-For": CLAIMED, **people.headers("auditor")},
            )
            assert listed.status_code == 200
            statuses = [
                (
                    await client.get("/users/me", headers={"X-Forwarded-For": claim, "Authorization": "Bearer guessed"})
                ).status_code
                for claim in claims
            ]
            # A new claimed address each time, and still one count: loopback's.
            assert statuses == [401, 401, 401, 429]
            valid = await client.get("/users/me", headers={"X-Forwarded-For": claims[-1], **people.headers("auditor")})
            assert valid.status_code == 200
    assert await listing_clients(sessions, since, people.ids["auditor"]) == ["127.0.0.1"]
    assert await failures_for(sessions, "127.0.0.1", CLAIMED, *claims) == {"127.0.0.1": 3}


async def test_loopback_listed_as_a_trusted_proxy_is_believed(settings, worker, people, sessions, tmp_path):
    behind = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    claimed = f"203.0.113.{uuid.uuid4().int % 100 + 100}"
    since = datetime.now(UTC)
    with api_process(behind, tmp_path / "api.log") as url:
        async with httpx.AsyncClient(base_url=url) as client:
            listed = await client.get(
                "/incidents",
                params={"district": "010"},
                headers={"X-Forwarded-For": claimed, **people.headers("auditor")},
            )
            assert listed.status_code == 200
            refused = await client.get(
                "/users/me", headers={"X-Forwarded-For": claimed, "Authorization": "Bearer guessed"}
            )
            assert refused.status_code == 401
    assert await listing_clients(sessions, since, people.ids["auditor"]) == [claimed]
    assert await failures_for(sessions, claimed) == {claimed: 1}


async def test_started_with_uvicorns_defaults_the_claim_is_still_not_believed(
    settings, worker, people, sessions, monkeypatch
):
    """uvicorn by default puts a loopback request's X-Forwarded-For in the peer's place; the real peer is lost, so
    the address is `unknown`, and the log says once how to start the API."""
    monkeypatch.setattr(client_address, "_warned", False)
    since = datetime.now(UTC)
    async with serving(settings) as url:  # uvicorn.Config's defaults: proxy headers on
        async with httpx.AsyncClient(base_url=url) as client:
            with capture_logs() as logged:
                for _ in range(2):
                    listed = await client.get(
                        "/incidents",
                        params={"district": "010"},
                        headers={"X-Forwarded-For": CLAIMED, **people.headers("auditor")},
                    )
                    assert listed.status_code == 200
            plain = await client.get("/incidents", params={"district": "010"}, headers=people.headers("auditor"))
            assert plain.status_code == 200
    assert await listing_clients(sessions, since, people.ids["auditor"]) == ["unknown", "unknown", "127.0.0.1"]
    warnings = [e for e in logged if e["event"] == "client_address_rewritten_by_server"]
    assert len(warnings) == 1 and "--no-proxy-headers" in warnings[0]["advice"]
