"""The desk's evidence upload form as a person fills it in: found on the case page, typed into, and sent as a browser
sends it; and the case's evidence read back through the JSON API."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.support.pages import Forms

CHICAGO = ZoneInfo("America/Chicago")
# An hour ago: after the scenario's incident (two hours ago, tests/support/scenario.py), which it may not precede.
COLLECTED = (datetime.now(UTC) - timedelta(hours=1)).astimezone(CHICAGO).replace(second=0, microsecond=0, tzinfo=None)


def evidence_form(page: str) -> dict | None:
    """The upload form of the case page ({action, fields, selects}), or None when the page has none."""
    parser = Forms()
    parser.feed(page)
    return next((f for f in parser.forms if (f["action"] or "").endswith("/evidence")), None)


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select id="[^"]+" name="{re.escape(name)}".*?</select>', page, re.S).group(0)
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


TYPED = {
    "kind": "photo",
    "source": "cpd",
    "description": "injury to the left palm",
    "collected_by": "P.O. Ana Ruiz, star 12345",
    "collected_at": COLLECTED.strftime("%Y-%m-%dT%H:%M"),
    "person_id": "P1",
}


async def post(
    page: httpx.AsyncClient, form: dict, typed: dict, content: bytes | None, filename: str = "palm.jpg"
) -> httpx.Response:
    """The form as a browser sends it: its fields in order (the CSRF token first), the file part last."""
    fields = {name: typed.get(name, value) for name, value in form["fields"] if name != "file"}
    unknown = set(typed) - set(fields)
    assert not unknown, f"no fields {unknown} in the form"
    file = ("", b"") if content is None else (filename, content)  # a browser sends an empty part when none is chosen
    return await page.post(form["action"], data=fields, files={"file": (*file, "application/octet-stream")})


async def items(api, people, case_id: str) -> list[dict]:
    listed = await api.get(f"/incidents/{case_id}/evidence", headers=people.headers("auditor"))
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]
