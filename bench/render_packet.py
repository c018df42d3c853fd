"""Benchmark: render the referral packet of a large case (20 recordings, 15 allegations, 200 audit
events) from the docxtpl template, beside plain python-docx writing the same content.

    .venv/bin/python -m bench.render_packet [--runs 30]

Prints JSON: median and p99 milliseconds for each, and the documents' sizes.
"""

import argparse
import io
import json
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from docx import Document

from referrals.config import ROOT
from referrals.documents import packet
from referrals.documents.render import FOLDER, render
from referrals.domain.case import IncidentInput, PersonRef, Recorded, new_case
from referrals.domain.enums import Role
from referrals.domain.events import Letterhead
from referrals.domain.messages import (
    Actor,
    Allegation,
    CommandApproval,
    IncidentFiling,
    LegalReview,
    SubjectAnalysis,
    SupervisorIdentification,
    ViolationReport,
)
from referrals.domain.policy import load_policy
from referrals.store.tables import CaseEventRow


def large_case():
    policy = load_policy(ROOT / "policy" / "chicago.toml")
    start = datetime.now(UTC) - timedelta(days=2)
    filing = IncidentFiling(
        occurred_at=start,
        location="W 26th St & S Pulaski Rd",
        district="010",
        event_number="2603104512",
        summary="Federal agents detained several people; bystanders were struck",
        narrative="Narrative. " * 800,
        injuries=True,
        ems_called=True,
        officers=[{"name": f"P.O. Officer {i}", "star": f"{10000 + i}"} for i in range(8)],
        recordings=[
            {
                "camera_id": f"X60{i:05d}",
                "officer_star": f"{10000 + i % 8}",
                "started_at": start,
                "ended_at": start + timedelta(minutes=40),
                "flag_reasons": ["use_of_force"],
            }
            for i in range(20)
        ],
        federal_personnel=[{"agency": "ICE", "description": f"agent {i}, masked"} for i in range(6)],
    )
    actor = Actor(user_id="u1", name="P.O. Officer 0", roles=[Role.OFFICER])
    state = new_case(
        IncidentInput(
            case_id="bench",
            case_number="CPD-2026-000001",
            filed_by=actor,
            filing=filing,
            policy=policy,
            request_hash="h",
        ),
        start,
    )
    for r in state.recordings:
        r.hold_reference, r.retained_until = f"AXON-{r.camera_id}", date(2028, 2, 1)
    by = PersonRef(id="u2", name="ASA Reviewer")
    statutes = [s.citation for s in policy.statutes]
    report = ViolationReport(
        narrative="x",
        allegations=[
            Allegation(statute=statutes[i % len(statutes)], person=f"agent {i}", facts="Facts. " * 60)
            for i in range(15)
        ],
    )
    state.violation_report = Recorded(payload=report, by=by, at=start)
    state.supervisor_identification = Recorded(
        payload=SupervisorIdentification(
            outcome="identified", name="J. Doe", agency="ICE", badge="4411", camera_id="X6000000"
        ),
        by=by,
        at=start,
    )
    review = LegalReview(
        decision="refer",
        rationale="Rationale. " * 100,
        subjects=[
            SubjectAnalysis(
                subject="unidentified agent in grey vest",
                agency="ICE",
                acts="Acts. " * 60,
                charges=[
                    {
                        "statute": s,
                        "elements": [
                            {"element": n, "facts": "Facts. " * 30}
                            for n in range(1, len(policy.statute(s).elements) + 1)
                        ],
                    }
                    for s in statutes[:5]
                ],
                authority={
                    "operation": "Arrest of one named person",
                    "legal_basis": "administrative_warrant",
                    "within_authority": "Authority. " * 100,
                    "finding": "disputed",
                },
                necessary_and_proper={
                    "conduct": "Conduct. " * 30,
                    "alternatives": "Alternatives. " * 30,
                    "objective_reasonableness": "Proper. " * 100,
                    "finding": "disputed",
                },
                finding="disputed",
            )
        ],
    )
    state.legal_reviews.append(Recorded(payload=review, by=by, at=start))
    state.command_decisions.append(Recorded(payload=CommandApproval(decision="approve"), by=by, at=start))
    events = [
        CaseEventRow(
            case_id="bench",
            seq=i + 1,
            kind="task_escalated",
            actor_name=None,
            at=start + timedelta(minutes=i),
            data={"task": "footage_hold"},
            prev_hash="",
            hash="",
        )
        for i in range(200)
    ]
    letterhead = Letterhead.of(policy)
    return packet.referral_packet(state, letterhead, datetime.now(UTC), events, 1)


def plain_python_docx(ctx: dict) -> bytes:
    doc = Document()
    doc.add_heading("Referral packet", 1)
    for title, key, columns in (
        ("CPD members", "officers", ["name", "star"]),
        (
            "Recordings",
            "recordings",
            ["camera_id", "officer_star", "started_at", "ended_at", "hold", "retained_until", "purge_at"],
        ),
        ("Alleged offences", "allegations", ["statute", "title", "person", "facts"]),
        ("Decision chain", "decisions", ["step", "name", "role", "decision", "at"]),
        ("Processing history", "history", ["at", "what", "by"]),
        ("Exhibits", "exhibits", ["label", "description"]),
    ):
        doc.add_heading(title, 2)
        table = doc.add_table(rows=1, cols=len(columns))
        for cell, column in zip(table.rows[0].cells, columns, strict=True):
            cell.text = column
        for item in ctx[key]:
            for cell, column in zip(table.add_row().cells, columns, strict=True):
                cell.text = str(item[column])
    doc.add_heading("Narrative", 3)
    analysis = [
        p for subject in ctx["subjects"] for part in ("authority", "necessary") for p in subject[part]["analysis"]
    ]
    for paragraph in ctx["narrative"] + analysis + ctx["rationale"]:
        doc.add_paragraph(paragraph)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def timed(fn, runs: int) -> tuple[dict, int]:
    samples, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(fn())
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return {"median_ms": round(statistics.median(samples), 1), "p99_ms": round(p99, 1), "bytes": size}, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    ctx = large_case()
    template = FOLDER / "referral_packet.docx"
    docxtpl_result, _ = timed(lambda: render(template, ctx), runs)
    plain_result, _ = timed(lambda: plain_python_docx(ctx), runs)
    print(
        json.dumps(
            {
                "case": {
                    "recordings": len(ctx["recordings"]),
                    "allegations": len(ctx["allegations"]),
                    "audit_events": len(ctx["history"]),
                },
                "runs": runs,
                "docxtpl_template": docxtpl_result,
                "plain_python_docx": plain_result,
                "ratio_median": round(docxtpl_result["median_ms"] / plain_result["median_ms"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
