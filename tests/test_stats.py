"""GET /stats and the desk's dashboard: the same counts, over the cases the caller may see, and nothing personal."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from referrals.domain.enums import ChargingKind, Disposition, ProsecutionOutcome, Stage, Task
from referrals.store.stats import last_months
from referrals.store.tables import CaseTask
from tests.support.desk_client import signed_in
from tests.support.pages import Tables
from tests.support.policies import CHICAGO as POLICY
from tests.support.scenario import CHARGED, Driver, filing

CHICAGO = POLICY.zone  # the settings' policy: the department's calendar


async def stats(api, token_or_who, people=None) -> dict:
    headers = people.headers(token_or_who) if people else {"Authorization": f"Bearer {token_or_who}"}
    response = await api.get("/stats", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def dashboard_figures(html: str) -> dict:
    """The dashboard's tables as /stats names its figures."""
    assert "style=" not in html and "<script" not in html  # the CSP would block them
    tables = Tables(html).tables

    def counts(table: str) -> dict[str, int]:
        return {r.attrs["data-key"]: int(r.cells[-1]) for r in tables[table] if "data-key" in r.attrs}

    stage = counts("stage")
    total = stage.pop("total")
    overdue, disposition, referrals = counts("overdue"), counts("disposition"), counts("referrals")
    for table in (overdue, disposition, referrals):
        table.pop("total")

    def crosstab(table: str) -> dict[str, dict[str, int]]:
        kinds = ChargingKind if table.startswith("charging") else ProsecutionOutcome
        return {
            r.attrs["data-key"]: dict(zip([k.value for k in kinds], map(int, r.cells[1:]), strict=True))
            for r in tables[table]
            if "data-key" in r.attrs
        }

    removal = counts("removal")
    return {
        "total_cases": total,
        "cases_by_stage": stage,
        "closed_by_disposition": disposition,
        "overdue_by_task": overdue,
        "allegations_by_statute": counts("statute"),
        "referrals_by_month": [{"month": m, "count": c} for m, c in referrals.items()],
        "charging_decisions_by_month": [{"month": m, **c} for m, c in crosstab("charging").items()],
        "outcomes_by_month": [{"month": m, **c} for m, c in crosstab("outcomes").items()],
        "charging_decisions_by_statute": crosstab("charging-statute"),
        "outcomes_by_statute": crosstab("outcome-statute"),
        "open_removal_windows": removal["open"],
        "removal_windows_closing_within_7_days": removal["closing_within_7_days"],
    }


async def new_officer(api, people) -> tuple[str, str]:
    """An officer of our own, with a star no case names: they see exactly the cases they file."""
    star = str(uuid.uuid4().int % 10**7)
    created = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={
            "name": "P.O. Stat Counter",
            "email": f"stats.{uuid.uuid4().hex[:8]}@test.invalid",
            "roles": ["officer"],
            "district": "010",
            "star": star,
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["token"], created.json()["id"]


async def test_stats_need_a_token(api):
    response = await api.get("/stats")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_the_figures_cover_only_the_callers_cases_and_name_no_one(api, people, sessions):
    token, _ = await new_officer(api, people)
    empty = await stats(api, token)
    months = last_months(datetime.now(UTC), CHICAGO)
    assert empty["total_cases"] == 0
    assert empty["cases_by_stage"] == {s.value: 0 for s in Stage}
    assert empty["closed_by_disposition"] == {d.value: 0 for d in Disposition}
    assert empty["overdue_by_task"] == {t.value: 0 for t in Task}
    assert empty["allegations_by_statute"] == {}
    assert empty["referrals_by_month"] == [{"month": m, "count": 0} for m in months]
    assert len(months) == 12 and months[-1] == datetime.now(CHICAGO).strftime("%Y-%m")

    d = Driver(api, people)
    people.tokens["stats_officer"] = token  # so that the driver can file as them
    try:
        case = await d.new_case("stats_officer")
    finally:
        del people.tokens["stats_officer"]
    one = await stats(api, token)
    assert one["total_cases"] == 1 and one["cases_by_stage"]["investigation"] == 1
    assert sum(one["overdue_by_task"].values()) == 0

    async with sessions() as s:  # the read model is ours: the footage hold falls overdue
        task = (
            await s.exec(select(CaseTask).where(CaseTask.case_id == case["id"], CaseTask.task == "footage_hold"))
        ).one()
        task.due_at = datetime.now(UTC) - timedelta(hours=3)
        await s.commit()
    assert (await stats(api, token))["overdue_by_task"] == {**empty["overdue_by_task"], "footage_hold": 1}

    assert empty["charging_decisions_by_month"] == [{"month": m, **{k.value: 0 for k in ChargingKind}} for m in months]
    assert empty["outcomes_by_statute"] == {} and empty["open_removal_windows"] == 0

    await d.refer_to_the_end(case["id"])  # the officer of the scenario appears in the case and reports on it
    referred = await stats(api, token)
    assert referred["cases_by_stage"] == {**empty["cases_by_stage"], "prosecution": 1}
    assert referred["referrals_by_month"][-1] == {"month": months[-1], "count": 1}
    assert sum(m["count"] for m in referred["referrals_by_month"]) == 1
    made = await d.ok(case["id"], "charging-decision", "liaison", CHARGED)
    charged = await stats(api, token)
    # The charging decision falls in the month it was made (the scenario's: when it was sent), under its statute.
    decided_at = made["prosecution"]["decisions"][0]["payload"]["decided_at"]
    decided = datetime.fromisoformat(decided_at).astimezone(CHICAGO).strftime("%Y-%m")
    assert next(m for m in charged["charging_decisions_by_month"] if m["month"] == decided)["charged"] == 1
    assert charged["charging_decisions_by_statute"] == {
        "720 ILCS 5/12-3": {**{k.value: 0 for k in ChargingKind}, "charged": 1}
    }
    assert (charged["open_removal_windows"], charged["removal_windows_closing_within_7_days"]) == (1, 0)
    await d.ok(
        case["id"], "prosecution-outcome", "liaison", {"outcome": "plea", "decided_on": date.today().isoformat()}
    )
    done = await stats(api, token)
    assert done["total_cases"] == 1
    assert done["cases_by_stage"] == {**empty["cases_by_stage"], "closed": 1}
    assert done["closed_by_disposition"] == {**empty["closed_by_disposition"], "referred": 1}
    assert done["allegations_by_statute"] == {"720 ILCS 5/12-3": 1}
    assert done["outcomes_by_month"][-1] == {
        "month": date.today().strftime("%Y-%m"),
        **{k.value: 0 for k in ProsecutionOutcome},
        "plea": 1,
    }
    assert done["outcomes_by_statute"]["720 ILCS 5/12-3"]["plea"] == 1
    assert done["open_removal_windows"] == 0  # closed
    assert done["overdue_by_task"] == empty["overdue_by_task"]  # the task was done

    text = repr(done)
    for personal in (case["id"], case["case_number"], "Ruiz", "12345", "bystander", "J. Doe"):
        assert personal not in text


async def test_filing_one_more_case_counts_once_and_only_where_it_is_seen(api, people):
    who = ("officer", "supervisor", "supervisor_elsewhere", "auditor")
    before = {w: await stats(api, w, people) for w in who}
    await Driver(api, people).new_case("officer")
    after = {w: await stats(api, w, people) for w in who}
    for w in ("officer", "supervisor", "auditor"):
        assert after[w]["total_cases"] - before[w]["total_cases"] == 1, w
        assert after[w]["cases_by_stage"]["investigation"] - before[w]["cases_by_stage"]["investigation"] == 1, w
    # District 012's supervisor counts no district 010 case.
    assert after["supervisor_elsewhere"]["total_cases"] == before["supervisor_elsewhere"]["total_cases"]
    assert after["supervisor_elsewhere"]["cases_by_stage"] == before["supervisor_elsewhere"]["cases_by_stage"]

    stranger = [{"name": "P.O. B. Stone", "star": "99999"}]
    await Driver(api, people).new_case("supervisor_elsewhere", filing(district="012", officers=stranger, recordings=[]))
    again = await stats(api, "supervisor_elsewhere", people)
    assert again["total_cases"] - after["supervisor_elsewhere"]["total_cases"] == 1
    assert (await stats(api, "supervisor", people))["total_cases"] == after["supervisor"]["total_cases"]


async def test_the_dashboard_shows_the_same_numbers_as_the_api(api, people):
    token, _ = await new_officer(api, people)
    people.tokens["stats_viewer"] = token
    try:
        await Driver(api, people).new_case("stats_viewer")
        for who in ("stats_viewer", "supervisor_elsewhere", "auditor"):
            async with signed_in(api, people.tokens[who]) as client:
                # Deadlines pass on their own in the shared database: read both until they agree (at most 3 times).
                for _ in range(3):
                    page = await client.get("/desk/dashboard")
                    assert page.status_code == 200, page.text
                    api_figures = await stats(api, who, people)
                    api_figures.pop("as_of")
                    if dashboard_figures(page.text) == api_figures:
                        break
                assert dashboard_figures(page.text) == api_figures, who
    finally:
        del people.tokens["stats_viewer"]

    html = page.text
    assert 'aria-current="page"' in html
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="referrals-chart-title referrals-chart-desc"' in svg
    assert '<title id="referrals-chart-title">Referrals by month</title>' in svg
    assert len(re.findall(r"<rect ", svg)) == 12
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    counts = [m["count"] for m in api_figures["referrals_by_month"]]
    if max(counts):  # bars in proportion to their counts: the highest is the full plot height
        full = max(heights)
        assert all(abs(h - full * c / max(counts)) < 0.2 for h, c in zip(heights, counts))
