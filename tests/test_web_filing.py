"""Filing an incident from the desk's form, as a browser would: rows added and removed by the server,
times typed in Chicago's wall clock, refusals shown beside their fields, one case per form."""

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import func, select

from referrals.store.tables import Incident
from tests.support.desk_client import signed_in

CHICAGO = ZoneInfo("America/Chicago")  # policy/chicago.toml's time_zone


class _Form(HTMLParser):
    """The fields a browser sends for the page's form (buttons only when pressed, so none here)."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None  # a list's name, and the value of its option selected (else its first)
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            else:
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self.fields.append((self._select, chosen[0] if chosen else ""))
            self._select = None


def fields_of(html: str) -> list[tuple[str, str]]:
    """The filing form's fields (the page's other form, signing out, comes first and is skipped)."""
    start = html.index('<form method="post" action="/desk/file"')
    parser = _Form()
    parser.feed(html[start : html.index("</form>", start)])
    return parser.fields


def fill(fields: list[tuple[str, str]], values: dict[str, str | list[str]]) -> list[tuple[str, str]]:
    """Types into text fields and ticks checkboxes (a list: each value ticked)."""
    out = [
        (name, values[name] if name in values and isinstance(values[name], str) else value) for name, value in fields
    ]
    for name, value in values.items():
        if isinstance(value, list):
            out += [(name, one) for one in value]
        elif name not in dict(fields):
            out.append((name, value))
    return out


async def send(page: httpx.AsyncClient, fields: list[tuple[str, str]]) -> httpx.Response:
    """Posts the form as a browser does: urlencoded, in order, a field repeated for each ticked box."""
    return await page.post(
        "/desk/file", content=urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


def wall(day: date, hour: int, minute: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}"


def instant(typed: str) -> datetime:
    return datetime.fromisoformat(typed).replace(tzinfo=CHICAGO).astimezone(UTC)


YESTERDAY = (datetime.now(CHICAGO) - timedelta(days=1)).date()
TOMORROW = (datetime.now(CHICAGO) + timedelta(days=1)).date()


def incident(event_number: str, day: date = YESTERDAY) -> dict[str, str | list[str]]:
    return {
        "occurred_at": wall(day, 13, 5),
        "location": "W 26th St & S Pulaski Rd",
        "district": "010",
        "event_number": event_number,
        "summary": "Federal agents detained two people; a bystander was struck",
        "narrative": "At 13:05 masked agents detained two people.\nOne struck a bystander who was filming.",
        "injuries": "on",
        "recordings[0].camera_id": "X6031234",
        "recordings[0].officer_star": "12345",
        "recordings[0].started_at": wall(YESTERDAY, 13, 0),
        "recordings[0].ended_at": wall(YESTERDAY, 13, 38),
        "recordings[0].flag_reasons": ["use_of_force", "detention_or_arrest"],
        "federal_personnel[0].agency": "ICE",
        "federal_personnel[0].description": "masked; vest marked POLICE ICE",
        # "Someone was injured" asks who.
        "people[0].part": "bystander",
        "people[0].name_withheld": "unknown",
        "people[0].injuries.description": "abrasions to both palms",
    }


async def refused_filing(api, people, sessions, values: dict, status: int) -> tuple[str, list[tuple[str, str]]]:
    """The officer's form filled with `values` and sent: refused with `status`, no case filed; the page that came
    back, and the form's fields as first served."""
    async with signed_in(api, back_to="/desk/file", token=people.tokens["officer"]) as page:
        fields = fields_of((await page.get("/desk/file")).text)
        before = await count_incidents(sessions)
        refused = await send(page, fill(fields, values))
        assert refused.status_code == status
        assert await count_incidents(sessions) == before
    return refused.text, fields


def problems_summary(html: str) -> str:
    """The summary of the problems on top of a refused form."""
    return html[html.index('id="error-summary"') : html.index("<form", html.index('id="error-summary"'))]


def errors_beside(html: str) -> dict[str, str]:
    """Each field's error as the form shows it beside the field: {field id: message}."""
    return {m.group(1): m.group(2) for m in re.finditer(r'<p class="error" id="f-([^"]+)-error">(.*?)</p>', html)}


async def count_incidents(sessions) -> int:
    async with sessions() as s:
        return (await s.exec(select(func.count()).select_from(Incident))).one()


async def test_an_officer_files_through_the_form_with_rows_added_by_the_server(api, people):
    async with signed_in(api, back_to="/desk/file", token=people.tokens["officer"]) as page:
        blank = await page.get("/desk/file")
        assert blank.status_code == 200
        fields = fields_of(blank.text)
        sent = dict(fields)
        # One row of each group to start with; the officer's own name, star and district are filled in.
        assert sent["officers[0].name"] == "Test officer" and sent["officers[0].star"] == "12345"
        assert sent["district"] == "010" and "recordings[0].camera_id" in sent and "federal_personnel[0].agency" in sent
        assert "recordings[1].camera_id" not in sent and 'name="remove" value="recordings[0]"' in blank.text
        key = sent["idempotency_key"]

        # "Add a recording" twice, then "Remove" the third: the server renders the rows, keeping every value.
        typed = fill(fields, incident("WEB-FILE-1"))
        more = await send(page, typed + [("add", "recordings")])
        assert more.status_code == 200 and "<legend>Recording 2</legend>" in more.text
        again = fields_of(more.text)
        assert sorted(f for f in again if not f[0].startswith("recordings[1]")) == sorted(typed)
        assert {name: value for name, value in again if name.startswith("recordings[1]")} == {
            "recordings[1].camera_id": "",
            "recordings[1].officer_star": "",
            "recordings[1].started_at": "",
            "recordings[1].ended_at": "",
        }
        typed = fill(
            again,
            {
                "recordings[1].camera_id": "X6039999",
                "recordings[1].officer_star": "67890",
                "recordings[1].started_at": wall(YESTERDAY, 13, 2),
                "recordings[1].ended_at": wall(YESTERDAY, 13, 33),
                "recordings[1].flag_reasons": ["use_of_force"],  # one box ticked: still a list
            },
        )
        third = await send(page, typed + [("add", "recordings")])
        assert "<legend>Recording 3</legend>" in third.text
        removed = await send(page, fields_of(third.text) + [("remove", "recordings[2]")])
        assert removed.status_code == 200 and "Recording 3" not in removed.text
        final = fields_of(removed.text)
        assert sorted(final) == sorted(typed) and dict(final)["idempotency_key"] == key

        filed = await send(page, final)
        assert filed.status_code == 303, filed.text
        match = re.fullmatch(r"/desk/cases/([0-9a-f-]{36})\?done=file", filed.headers["location"])
        assert match

    case = (await api.get(f"/incidents/{match.group(1)}", headers=people.headers("officer"))).json()
    details = case["details"]
    assert datetime.fromisoformat(details["occurred_at"]) == instant(wall(YESTERDAY, 13, 5))
    assert instant(wall(YESTERDAY, 13, 5)).hour in (18, 19)  # 13:05 in Chicago is 18:05 or 19:05 UTC
    assert {k: details[k] for k in ("location", "district", "event_number", "summary", "injuries", "ems_called")} == {
        "location": "W 26th St & S Pulaski Rd",
        "district": "010",
        "event_number": "WEB-FILE-1",
        "summary": "Federal agents detained two people; a bystander was struck",
        "injuries": True,
        "ems_called": False,
    }
    assert details["narrative"].replace("\r\n", "\n") == incident("x")["narrative"]
    assert details["officers"] == [{"name": "Test officer", "star": "12345"}]
    assert details["federal_personnel"] == [
        {"agency": "ICE", "name": None, "badge": None, "description": "masked; vest marked POLICE ICE"}
    ]
    recordings = [
        {k: r[k] for k in ("camera_id", "officer_star", "started_at", "ended_at", "flag_reasons")}
        for r in case["recordings"]
    ]
    for r in recordings:
        r["started_at"], r["ended_at"] = datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["ended_at"])
    assert recordings == [
        {
            "camera_id": "X6031234",
            "officer_star": "12345",
            "started_at": instant(wall(YESTERDAY, 13, 0)),
            "ended_at": instant(wall(YESTERDAY, 13, 38)),
            "flag_reasons": ["use_of_force", "detention_or_arrest"],
        },
        {
            "camera_id": "X6039999",
            "officer_star": "67890",
            "started_at": instant(wall(YESTERDAY, 13, 2)),
            "ended_at": instant(wall(YESTERDAY, 13, 33)),
            "flag_reasons": ["use_of_force"],
        },
    ]


async def test_a_refused_filing_shows_each_problem_beside_its_field_keeps_the_values_and_files_nothing(
    api, people, sessions
):
    values = incident("WEB-FILE-REFUSED", day=TOMORROW)  # in the future
    values["recordings[0].ended_at"] = wall(YESTERDAY, 12, 50)  # before it started
    html, fields = await refused_filing(api, people, sessions, values, 422)
    beside = errors_beside(html)
    assert "Recording 1: ended at must not be before the recording" in beside["recordings-0-ended_at"]
    assert "must not be in the future" in beside["occurred_at"]
    assert (
        'id="f-recordings-0-ended_at" name="recordings[0].ended_at" type="datetime-local" '
        f'value="{wall(YESTERDAY, 12, 50)}"' in html
    )
    assert re.search(r'<input id="f-occurred_at" [^>]*aria-invalid="true"', html)
    # The summary on top links to each field.
    summary = problems_summary(html)
    assert "There is a problem" in summary and 'tabindex="-1" autofocus' in summary
    assert '<a href="#f-recordings-0-ended_at">Recording 1: ended at must not be before' in summary
    assert '<a href="#f-occurred_at">When it happened must not be in the future' in summary
    # Every value as typed, the ticks too, and the same form (same idempotency key) to send again.
    kept = dict(fields_of(html))
    for name, value in values.items():
        if isinstance(value, str):
            assert kept[name].replace("\r\n", "\n") == value, name
    assert fields_of(html).count(("recordings[0].flag_reasons", "detention_or_arrest")) == 1
    assert kept["idempotency_key"] == dict(fields)["idempotency_key"]


async def test_a_district_not_the_officers_own_comes_back_beside_the_district_and_files_nothing(api, people, sessions):
    html, _ = await refused_filing(api, people, sessions, incident("WEB-FILE-ELSEWHERE") | {"district": "012"}, 403)
    beside = errors_beside(html)
    assert beside == {
        "district": '<span class="visually-hidden">Error:</span> District: you may file only in your own district, 010, '
        "not in district 012"
    }
    assert re.search(r'<select id="f-district" [^>]*aria-invalid="true"', html)
    summary = problems_summary(html)
    assert '<a href="#f-district">District: you may file only in your own district' in summary
    assert dict(fields_of(html))["district"] == "012"  # as typed, to be put right


async def test_the_same_form_sent_twice_files_one_case(api, people, sessions):
    async with signed_in(api, back_to="/desk/file", token=people.tokens["officer"]) as page:
        form = fill(fields_of((await page.get("/desk/file")).text), incident("WEB-FILE-TWICE"))
        before = await count_incidents(sessions)
        first = await send(page, form)
        second = await send(page, form)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        # Back to the same form, changed and sent again: not a second case, and not the first one changed.
        changed = await send(page, fill(form, {"summary": "Something else"}))
        assert changed.status_code == 409 and "already sent, with other values" in changed.text
    assert await count_incidents(sessions) == before + 1


async def test_the_custodian_may_not_file(api, people):
    async with signed_in(api, back_to="/desk/file", token=people.tokens["custodian"]) as page:
        shown = await page.get("/desk/file")
        assert shown.status_code == 403 and "file needs the role officer or supervisor" in shown.text
        assert 'href="/desk/file"' not in shown.text  # not offered in the navigation either
        sent = await send(page, [("csrf_token", "x"), ("event_number", "WEB-FILE-CUSTODIAN")])
        assert sent.status_code == 403


async def test_a_form_without_its_csrf_token_files_nothing(api, people, sessions):
    async with signed_in(api, back_to="/desk/file", token=people.tokens["officer"]) as page:
        form = fill(fields_of((await page.get("/desk/file")).text), incident("WEB-FILE-FORGED"))
        before = await count_incidents(sessions)
        forged = await send(page, [f for f in form if f[0] != "csrf_token"])
        wrong = await send(page, fill(form, {"csrf_token": "not-the-token"}))
        assert forged.status_code == wrong.status_code == 403
        assert "did not come from this site" in forged.text
        assert await count_incidents(sessions) == before
