"""A refusal and its footprint: the status and error the API answers, and proof that nothing changed (the same
history length, trail, event sequence and stage before and after)."""

from referrals.domain.case import workflow_id_for
from tests.support.scenario import Driver, quiet


async def footprint(d: Driver, dev_server, cid: str) -> tuple:
    handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
    await quiet(handle)  # the documents that follow the last step are made
    history = await handle.fetch_history()
    case = (await d.get(cid)).json()
    return len(history.events), len((await d.events(cid))["items"]), case["event_seq"], case["stage"]


async def refused(d: Driver, dev_server, cid, path, who, body, status, field=None, says=None):
    before = await footprint(d, dev_server, cid)
    response = await d.step(cid, path, who, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if field:
        assert any(x["field"] == field for x in error["details"]), error
        assert field in error["message"]
    if says:
        assert says in error["message"], error["message"]
    assert await footprint(d, dev_server, cid) == before
    return error
