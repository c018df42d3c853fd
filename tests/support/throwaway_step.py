"""A step that exists only in this process, from one declaration: `python -m tests.support.throwaway_step <settings>`
declares it, then starts the worker and the API as the product does, takes the step through the API and prints what
came back as JSON (tests/test_adding_a_step.py reads it). Nothing but the declaration below names the step."""

import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from referrals.domain.case import CaseState
from referrals.domain.enums import Role
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import Line, RequestModel, Step
from referrals.domain.policy import Policy
from referrals.domain.steps import declare
from referrals.domain.steps.declaration import require_not_closed


class CaseNote(RequestModel):
    note: Line


def check_case_note(state: CaseState, step: Step[CaseNote], policy: Policy) -> None:
    require_not_closed(state, "it takes no note")
    if "tbd" in step.payload.note.lower():
        raise Rejection(RejectionKind.INVALID, "a note says what is known, not what is to be decided", "note")


def note_case(state: CaseState, step: Step[CaseNote], now: datetime, policy: Policy) -> dict[str, Any] | None:
    return {"words": len(step.payload.note.split())}


CASE_NOTE = declare(
    name="case_note",
    request=CaseNote,
    event="case_note_added",
    roles=frozenset({Role.OFFICER, Role.SUPERVISOR}),
    check=check_case_note,
    change=note_case,
    summary="Add a note to the case",
    chronicle="Note added",
    title="Add a note",
    button="Add the note",
    done="Note added.",
    folded="Add a note to the case",
)


async def main(config: dict[str, Any]) -> dict[str, Any]:
    # Imported after the declaration, as a deployment's own module would be: the workflow and the API are built
    # from the steps declared when they are imported.
    import httpx

    from referrals.api.main import create_app
    from referrals.config import Settings
    from referrals.domain.messages import NewUser
    from referrals.store import users
    from referrals.store.engine import async_engine, session_factory
    from referrals.temporal_client import connect
    from referrals.worker import build_worker
    from tests.support.scenario import filing

    settings = Settings(**config)
    engine = async_engine(settings.database_url)
    sessions = session_factory(engine)
    tokens = {}
    async with sessions() as session:
        for who, roles in {"officer": ["officer"], "custodian": ["evidence_custodian"]}.items():
            new = NewUser(
                name=f"Note {who}",
                email=f"note.{who}.{settings.task_queue}@test.invalid",
                roles=roles,
                district="010",
                star="55555" if who == "officer" else None,
            )
            _, tokens[who] = await users.create_user(session, new)
    client = await connect(settings)
    app = create_app(settings)
    seen: dict[str, Any] = {}
    async with build_worker(client, settings, sessions), app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:

            def as_(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            operation = (await api.get("/openapi.json")).json()["paths"]["/incidents/{case_id}/case-note"]["post"]
            seen["operation"] = {
                "summary": operation["summary"],
                "body": list(
                    (await api.get("/openapi.json")).json()["components"]["schemas"]["CaseNote"]["properties"]
                ),
            }
            case = (await api.post("/incidents", json=filing(), headers=as_("officer"))).json()
            url = f"/incidents/{case['id']}/case-note"
            for name, who, body in [
                ("custodian", "custodian", {"note": "Seen at the corner"}),
                ("refused", "officer", {"note": "Witness TBD"}),
                ("missing", "officer", {}),
                ("taken", "officer", {"note": "Second witness found at the corner store"}),
            ]:
                answer = await api.post(url, json=body, headers=as_("officer" if who == "officer" else who))
                seen[name] = {"status": answer.status_code, "body": answer.json()}
            events = (await api.get(f"/incidents/{case['id']}/events", headers=as_("officer"))).json()["items"]
            seen["events"] = [{"kind": e["kind"], "data": e["data"]} for e in events]
    await engine.dispose()
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
