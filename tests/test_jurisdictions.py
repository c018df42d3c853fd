"""Each shipped policy carries a whole case, through the API, in its own words: its precincts, its flags and
their retention, its badge word, its prosecutor and letterhead, its statutes, its clock. And a policy file is
checked before it is deployed (`referrals policy check`)."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from markupsafe import escape
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from referrals.activities.notifier import build_notifier
from referrals.api.main import create_app
from referrals.cli import main as referrals
from referrals.config import ROOT
from referrals.domain.case import workflow_id_for
from referrals.domain.enums import Role, Task
from referrals.domain.events import EscalationNotice
from referrals.domain.messages import NewUser
from referrals.domain.policy import load_policy
from referrals.domain.words import sentence
from referrals.store import users
from referrals.store.tables import Incident
from tests.support.desk_client import signed_in
from tests.support.documents import all_text, documents_of, open_docx, table_after
from tests.support.people import PEOPLE, People
from tests.support.scenario import ACK, APPROVE, DECLINED, FILING, HOLD_1, HOLD_2, IDENTIFIED, SUBJECT, Driver

SHIPPED = ["minneapolis", "new_york_city"]


@pytest.fixture(scope="module", params=SHIPPED)
async def jurisdiction(request, settings, worker, sessions):
    """The API under a shipped policy (on the suite's worker: a case carries its policy), and its staff."""
    path = ROOT / "policy" / f"{request.param}.toml"
    policy = load_policy(path)
    precinct, elsewhere = policy.districts[2].code, policy.districts[3].code
    # The suite's people again, in the policy's precincts (supervisors act on their own precinct's cases).
    run, staff = uuid.uuid4().hex[:8], People()
    async with sessions() as session:
        for who, (roles, district, star) in PEOPLE.items():
            new = NewUser(
                name=f"{request.param} {who}",
                email=f"{who}.{run}@{request.param}.invalid",
                roles=roles,
                district={None: None, "010": precinct}.get(district, elsewhere),
                star=star,
            )
            user, staff.tokens[who] = await users.create_user(session, new)
            staff.ids[who] = user.id
    own = settings.model_copy(update={"policy_file": path})
    app = create_app(own)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
            yield api, policy, precinct, staff, own
    async with sessions() as session:  # revoked after: later tests' escalations notify only their own people
        for user_id in staff.ids.values():
            await users.revoke(session, user_id)


def kept_days(policy) -> tuple[list[str], int]:
    """Two flags of the policy that each keep a recording longer than an unflagged one (if it has such), and
    how long the longer of them keeps it."""
    longer = sorted(
        (f for f in policy.recording_flags if f.retention_days and f.retention_days < 3650),
        key=lambda f: f.retention_days,
    )
    flags = [f.code for f in (longer or policy.recording_flags)[:2]]
    return flags, policy.retention_days(flags)


def filing_under(policy, precinct: str, started: datetime) -> dict:
    flags, _ = kept_days(policy)
    recordings = [
        {
            **r,
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=30)).isoformat(),
            "flag_reasons": flags if i == 0 else [],
        }
        for i, r in enumerate(FILING["recordings"])
    ]
    return {
        **FILING,
        "district": precinct,
        "occurred_at": (started + timedelta(minutes=3)).isoformat(),
        "recordings": recordings,
    }


def referral(statute) -> dict:
    """The scenario's review, charging the policy's own statute, element by element."""
    elements = [
        {"element": n, "facts": f"Proof of element {n} (witness P2; camera X6031234)."}
        for n in range(1, len(statute.elements) + 1)
    ]
    return {
        "decision": "refer",
        "rationale": "The force was gratuitous.",
        "subjects": [{**SUBJECT, "charges": [{"statute": statute.citation, "elements": elements}]}],
    }


async def test_a_whole_case_under_each_shipped_policy(jurisdiction, sessions):
    api, policy, precinct, staff, own = jurisdiction
    d = Driver(api, staff)
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    statute = next(s for s in policy.statutes if s.elements)

    # Refused before anything is stored: a precinct the policy does not list, a flag it does not have.
    for body, field, words in (
        (
            {**filing_under(policy, precinct, started), "district": "ZZ9"},
            "district",
            f"is not a {policy.words.district} of the {policy.department}",
        ),
        (
            {
                **filing_under(policy, precinct, started),
                "recordings": [{**FILING["recordings"][0], "flag_reasons": ["not_a_flag"]}],
            },
            "recordings[0].flag_reasons[0]",
            "is not a recording flag of this policy",
        ),
    ):
        refused = await d.file("officer", body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == field
        assert words in refused.json()["error"]["details"][0]["message"]
    async with sessions() as session:
        assert (await session.exec(select(Incident).where(Incident.district == "ZZ9"))).all() == []

    case = await d.new_case("officer", filing_under(policy, precinct, started))
    cid = case["id"]
    assert case["case_number"].startswith(f"{policy.case_prefix}-") and case["district"] == precinct
    # Each recording's purge date follows its flags under this policy: the flagged one kept longer.
    _, days = kept_days(policy)
    purge = {r["camera_id"]: datetime.fromisoformat(r["purge_at"]) for r in case["recordings"]}
    assert purge["X6031234"] == started + timedelta(days=days)
    assert purge["X6039999"] == started + timedelta(days=policy.bwc_retention_days)

    holds = [
        {**h, "retained_until": (started + timedelta(days=days + 400)).date().isoformat()} for h in (HOLD_1, HOLD_2)
    ]
    await d.ok(cid, "footage-hold", "custodian", {"holds": holds})
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await d.ok(
        cid,
        "violation-report",
        "supervisor",
        {
            "allegations": [
                {
                    "statute": statute.citation,
                    "person": "agent in grey vest",
                    "facts": "Struck a bystander who was filming.",
                }
            ],
            "narrative": "The bystander stood 3 m away and made no threatening move.",
        },
    )
    await d.ok(cid, "legal-review", "reviewer", referral(statute))
    await d.ok(cid, "command-approval", "commander", APPROVE)
    await d.ok(cid, "referral-acknowledgement", "liaison", ACK)
    # A supplement's new recording is checked against the case's own policy: a flag it does not list is refused.
    new = {**FILING["recordings"][0], "camera_id": "X7777777", "flag_reasons": ["not_a_flag"]}
    refused = await d.step(cid, "supplements", "officer", {"recordings": [new], "narrative": "Found a third camera."})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "recordings[0].flag_reasons[0]"
    closed = await d.ok(cid, "charging-decision", "liaison", DECLINED)
    assert (closed["stage"], closed["disposition"]) == ("closed", "referred")

    docs = await documents_of(api, staff, cid)
    zone, badge = ZoneInfo(policy.time_zone), policy.words.badge
    occurred = (started + timedelta(minutes=3)).astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")
    district = policy.district(precinct)

    hold = open_docx(docs[("preservation_request", 1)])
    text = all_text(hold)
    assert f"From: {policy.department}." in text
    assert f"{policy.words.event_number} {FILING['event_number']}" in text
    assert f"{sentence(policy.words.district)} {precinct} ({district.name})" in text
    assert f"under {policy.retention_law}" in text and f"destroyed {policy.bwc_retention_days} days" in text
    assert occurred in text  # the incident's time on the department's clock
    rows = table_after(hold, "Recordings")
    assert rows[0][1] == f"Officer {badge}"
    assert rows[1][4] == ", ".join(policy.flag_label(code) for code in kept_days(policy)[0])
    assert rows[2][4] == "not flagged"
    assert rows[1][3] == purge["X6031234"].astimezone(zone).strftime("%a %d %b %Y")

    packet = open_docx(docs[("referral_packet", 1)])
    text = all_text(packet)
    p = policy.prosecutor
    assert f"To: {p.name}, {p.unit}, {p.address}" in text and f"From: {policy.department}" in text
    assert f"({policy.words.district} {precinct} ({district.name}))" in text and occurred in text
    assert table_after(packet, "Department members")[0] == ["Name", sentence(badge)]
    offences = table_after(packet, "Alleged offences")
    assert offences[1][:2] == [statute.citation, statute.title]
    missing = [e for e in statute.elements if e not in text]
    assert not missing, (missing, text[-3000:])  # the catalogue's own words, element by element
    for other in ("Chicago", "Cook County", "ILCS", "OEMC", "star"):
        assert other not in text, other

    # The desk speaks the same words.
    async with signed_in(api, staff.tokens["officer"]) as page:
        form = (await page.get("/desk/file")).text
        assert f">{sentence(policy.words.district)} <span" in form
        assert f"{sentence(badge)} number" in form
        assert all(escape(f.label) in form for f in policy.recording_flags)
        shown = (await page.get(f"/desk/cases/{cid}")).text
        assert f"({badge} 12345)" in shown and escape(district.name) in shown
        assert f"<dt>{sentence(policy.words.event_number)}</dt>" in shown  # as written: "ICAD", not "Icad"

    # And so do the notifications: an escalation, as the worker's notifier sends it under this policy.
    notice = EscalationNotice(
        workflow_id=workflow_id_for(cid),
        case_id=cid,
        case_number=case["case_number"],
        district=precinct,
        filed_by_id="nobody",
        event_seq=999,
        task=Task.LEGAL_REVIEW,
        level=1,
        roles=[Role.SUPERVISOR],
        due_at=started,
        escalated_at=started + timedelta(days=1),
    )
    assert await ActivityEnvironment().run(build_notifier(sessions, own, policy).notify, notice) == 1  # the supervisor
    inbox = (await api.get("/notifications", headers=staff.headers("supervisor"))).json()["items"]
    body = next(n["body"] for n in inbox if n["kind"] == "escalation")
    assert body.startswith(f"Case {case['case_number']} ({policy.words.district} {precinct}): ")


@pytest.mark.parametrize("name", ["chicago", *SHIPPED])
def test_policy_check_validates_and_prints_what_a_file_sets(name, capsys):
    assert referrals(["policy", "check", str(ROOT / "policy" / f"{name}.toml")]) == 0
    out = capsys.readouterr().out
    policy = load_policy(ROOT / "policy" / f"{name}.toml")
    assert f"jurisdiction: {policy.jurisdiction}" in out and f"time zone: {policy.time_zone}" in out
    assert f"prosecutor: {policy.prosecutor.name}" in out
    assert f"{policy.words.district}s ({len(policy.districts)}):" in out
    assert f"words: badge '{policy.words.badge}'" in out
    for flag in policy.recording_flags:
        assert f"flag {flag.code} ({flag.label}): kept {flag.retention_days or policy.bwc_retention_days} days" in out


def test_policy_check_names_what_is_wrong(tmp_path, capsys):
    text = (ROOT / "policy" / "chicago.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(
        text.replace('time_zone = "America/Chicago"', 'time_zone = "Mars/Olympus"').replace(
            'code = "complaint"', 'code = "Complaint!"'
        )
    )
    assert referrals(["policy", "check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "time_zone: Value error, unknown time zone 'Mars/Olympus'" in err
    assert "recording_flags.0.code: String should match pattern" in err
    # A file must list its districts and flags (a case's copy may leave them out: those filed before).
    bare = tmp_path / "bare.toml"
    bare.write_text(text.replace("districts = [", "old_districts = [", 1))
    assert referrals(["policy", "check", str(bare)]) == 1
    assert "districts: must be listed in the file" in capsys.readouterr().err
    assert referrals(["policy", "check", str(tmp_path / "missing.toml")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_a_case_filed_before_flags_were_policy_keeps_its_purge_dates():
    """A case's copy of the policy from before: Illinois's seven flags, every recording kept 90 days."""
    import tomllib

    from referrals.domain.policy import Policy

    raw = tomllib.loads((ROOT / "policy" / "chicago.toml").read_text())
    for key in ("recording_flags", "districts", "words", "publication", "retention_law"):
        raw.pop(key, None)
    old = Policy.model_validate(raw)
    assert [f.code for f in old.recording_flags][:2] == ["complaint", "use_of_force"] and len(old.recording_flags) == 7
    assert old.retention_days(["use_of_force", "complaint"]) == 90
    assert old.admits_district("944") and old.words.badge == "star"


async def test_the_api_tells_a_client_the_policys_words_districts_flags_and_statutes(jurisdiction):
    api, policy, _, staff, _ = jurisdiction
    response = await api.get("/policy", headers=staff.headers("officer"))
    assert response.status_code == 200
    body = response.json()
    assert (body["jurisdiction"], body["time_zone"]) == (policy.jurisdiction, policy.time_zone)
    assert body["words"] == policy.words.model_dump()
    assert [d["code"] for d in body["districts"]] == [d.code for d in policy.districts]
    assert {f["code"]: f["retention_days"] for f in body["recording_flags"]} == {
        f.code: max(f.retention_days or 0, policy.bwc_retention_days) for f in policy.recording_flags
    }
    assert [s["citation"] for s in body["statutes"]] == [s.citation for s in policy.statutes]
    assert (await api.get("/policy")).status_code == 401
