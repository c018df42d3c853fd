"""`referrals stuck` and `referrals rebuild`: the overdue tasks of the cases, and the cases written back into
PostgreSQL from their workflows (after a restore)."""

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import cast

from referrals.config import get_settings
from referrals.domain.case import workflow_id_for
from referrals.store import cases
from referrals.store.engine import async_engine, session_factory


async def stuck(args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = async_engine(settings.database_url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session:
            rows = await cases.overdue_tasks(session, now)
    finally:
        await engine.dispose()
    found = [
        {
            "case_number": incident.case_number,
            "case_id": incident.id,
            "district": incident.district,
            "stage": incident.stage,
            "task": task.task,
            "escalation_level": task.escalation_level,
            # overdue_tasks: due before now
            "due_at": cast(datetime, task.due_at).isoformat(),
            "overdue": str(now - cast(datetime, task.due_at)).split(".")[0],
            "temporal_ui": settings.workflow_url(incident.workflow_id),
        }
        for incident, task in rows
    ]
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no overdue tasks")
    else:
        print(f"{'CASE':<18} {'DISTRICT':<8} {'TASK':<26} {'LEVEL':>5}  {'OVERDUE':<18} TEMPORAL UI")
        for f in found:
            print(
                f"{f['case_number']:<18} {f['district']:<8} {f['task']:<26} {f['escalation_level']:>5}  "
                f"{f['overdue']:<18} {f['temporal_ui']}"
            )
    return 0


async def _workflow_ids(client, case: str | None, session) -> list[str]:
    if case is None:
        return [w.id async for w in client.list_workflows("WorkflowType = 'IncidentWorkflow'")]
    if found := await cases.find(session, case):
        return [incident.workflow_id for incident in found]
    # Not in PostgreSQL (filed after the backup was taken): Temporal knows it by id or number.
    by_number = [w.id async for w in client.list_workflows(f"CaseNumber = '{case.replace(chr(39), '')}'")]
    return by_number or [workflow_id_for(case)]


async def _with_earlier_runs(client, trail, sessions):
    """A run continued as new holds its own events: while PostgreSQL lacks some before them, the earlier runs'
    are put in front, as long as Temporal still holds those runs (its namespace's retention)."""
    from temporalio.service import RPCError, RPCStatusCode

    from referrals.store import rebuild
    from referrals.workflows.incident import IncidentWorkflow

    async with sessions() as session:
        stored = await rebuild.stored_seq(session, trail.state.case_id)
    while trail.earlier is not None and stored < trail.earlier.seq and trail.continued_run_id:
        earlier_run = client.get_workflow_handle(trail.workflow_id, run_id=trail.continued_run_id)
        try:
            older = await earlier_run.query(IncidentWorkflow.audit_trail)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            break  # past the namespace's retention: the rebuild reports the events nobody holds
        trail = trail.after(older)
    return trail


async def rebuild_cases(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError, RPCStatusCode

    from referrals.activities.documents import DocumentWriter
    from referrals.activities.pdfs import PdfMaker
    from referrals.store import rebuild
    from referrals.temporal_client import connect
    from referrals.workflows.incident import IncidentWorkflow

    settings = get_settings()
    engine = async_engine(settings.database_url)
    sessions = session_factory(engine)
    # A document made again here has no PDF (no LibreOffice is started for a rebuild): the case says so.
    writer = DocumentWriter(
        sessions, pdfs=PdfMaker.none("this copy was made again by `referrals rebuild`, which makes no PDF")
    )
    client = await connect(settings)
    failed = 0
    try:
        async with sessions() as session:
            workflow_ids = await _workflow_ids(client, args.case, session)
        for workflow_id in workflow_ids:
            try:
                trail = await client.get_workflow_handle(workflow_id).query(IncidentWorkflow.audit_trail)
            except RPCError as exc:
                missing = exc.status == RPCStatusCode.NOT_FOUND
                print(
                    f"referrals: {f'no case {args.case}' if missing and args.case else workflow_id}: "
                    f"{'Temporal holds no such workflow' if missing else exc.message}",
                    file=sys.stderr,
                )
                failed += 1
                continue
            trail = await _with_earlier_runs(client, trail, sessions)
            async with sessions() as session, session.begin():
                result = await rebuild.write_back(session, trail)
            remade = []
            for request in result.documents_missing:
                row = await writer.write(request)
                expected = next(d.sha256 for d in trail.state.documents if d.id == request.document_id)
                remade.append(
                    {"id": row.id, "kind": row.kind, "version": row.version, "same_bytes": row.sha256 == expected}
                )
            for request in result.documents_asked:  # (its case records it at its next look)
                await writer.write(request)
            async with sessions() as session, session.begin():
                result.deliveries_added = await rebuild.restore_deliveries(session, trail)
                result.chain_break = await rebuild.chain_break(session, trail.state.case_id)
            ok = (
                not result.conflict
                and not result.gap
                and not result.chain_break
                and not result.documents_lost
                and all(d["same_bytes"] for d in remade)
            )
            failed += not ok
            report = {
                "case_number": result.case_number,
                "case_id": result.case_id,
                "ok": ok,
                "events_added": result.events_added,
                "documents_made_again": remade,
                "documents_lost": result.documents_lost,
                "documents_asked_made": len(result.documents_asked),
                "deliveries_added": result.deliveries_added,
                "conflict": result.conflict,
                "gap": list(result.gap) if result.gap else None,
                "chain_break": result.chain_break,
            }
            if args.json:
                print(json.dumps(report))
            else:
                print(
                    f"{'OK ' if ok else 'BAD'} {result.case_number}: {result.events_added} event(s) added, "
                    f"{len(remade)} document(s) made again, {result.deliveries_added} delivery record(s) added"
                    + (f", {len(result.documents_asked)} document(s) asked for made" if result.documents_asked else "")
                    + (f"; {len(result.documents_lost)} document(s) lost" if result.documents_lost else "")
                    + (f"; CONFLICT: {result.conflict}" if result.conflict else "")
                    + (
                        f"; GAP: events {result.gap[0]}-{result.gap[1]} are in neither PostgreSQL nor the runs "
                        "Temporal still holds (restore a later backup of PostgreSQL); nothing written"
                        if result.gap
                        else ""
                    )
                    + (
                        f"; BROKEN CHAIN at {result.chain_break}"
                        if result.chain_break
                        else ""  # (a gap or a conflict: PostgreSQL's chain was not what the rebuild checked)
                        if result.gap or result.conflict
                        else "; chain intact"
                    )
                )
    finally:
        await engine.dispose()
    if not args.json:
        print(f"{len(workflow_ids)} case(s) rebuilt, {failed} with problems")
    return 1 if failed else 0
