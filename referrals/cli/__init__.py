"""`referrals`: the command line for administrators."""

import argparse
import asyncio
import getpass
import hashlib
import json
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import ValidationError

from referrals.config import get_settings
from referrals.domain.case import CaseState, workflow_id_for
from referrals.domain.enums import Role
from referrals.domain.messages import NewUser
from referrals.domain.policy import PolicyError, load_policy
from referrals.domain.policy_report import described
from referrals.store import access_log, auth_limits, cases, evidence, users, web_sessions
from referrals.store.audit import verify_chain
from referrals.store.blobs import blob_store_named
from referrals.store.engine import async_engine, session_factory
from referrals.store.evidence import Custody


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referrals", description="Incident referral administration")
    commands = parser.add_subparsers(dest="command", required=True)
    users_cmd = commands.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    add = users_cmd.add_parser("add", help="create a user and print its token (shown once)")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", dest="roles", action="append", required=True, choices=[r.value for r in Role])
    add.add_argument("--district")
    add.add_argument("--star", help="the officer's star (badge) number: officers see the cases they appear in")
    add.add_argument("--valid-days", type=int, help="the token expires after this many days (default: never)")
    add.add_argument("--json", action="store_true", help='print {"id", "token"} as JSON')
    revoke = users_cmd.add_parser("revoke", help="revoke a user's token at once, and end their desk sessions")
    revoke.add_argument("user", help="the user's e-mail or id")
    unlock = users_cmd.add_parser("unlock", help="unlock an account locked after failed sign-ins")
    unlock.add_argument("user", help="the user's e-mail or id")
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="check every case's hash chain; exit 1 naming the first broken event")
    verify.add_argument("case", nargs="?", help="a case id or case number (default: every case)")
    evidence_cmd = commands.add_parser("evidence", help="evidence files").add_subparsers(dest="action", required=True)
    check = evidence_cmd.add_parser(
        "verify",
        help="re-read every stored file and recompute its SHA-256; exit 1 naming the first item whose bytes changed",
    )
    check.add_argument("case", nargs="?", help="a case id or case number (default: every case)")
    rebuild = commands.add_parser(
        "rebuild", help="write cases back into PostgreSQL from their workflows (after a restore); needs a worker"
    )
    rebuild.add_argument("case", nargs="?", help="a case id or case number (default: every case Temporal holds)")
    rebuild.add_argument("--json", action="store_true", help="print one JSON object per case")
    trail = commands.add_parser(
        "access-log", help="the access trail (every read, search, sign-in, codec use)"
    ).add_subparsers(dest="action", required=True)
    trail.add_parser("verify", help="check the trail's hash chain; exit 1 naming the first broken entry")
    trail.add_parser("prune", help="delete the entries older than the policy's access_log_retention_days")
    policy = commands.add_parser("policy", help="jurisdiction policy files").add_subparsers(
        dest="action", required=True
    )
    policy_check = policy.add_parser(
        "check", help="validate a policy file and print what it sets; exit 1 naming each problem"
    )
    policy_check.add_argument("file", help="a policy file, e.g. policy/minneapolis.toml")
    publish = commands.add_parser(
        "publish",
        help="publish a snapshot of the public figures now (the figures through the end of last month); needs a worker",
    )
    publish.add_argument("--json", action="store_true", help="print the snapshot's listing entry as JSON")
    stuck = commands.add_parser("stuck", help="list overdue tasks: case, task, escalation level, Temporal UI link")
    stuck.add_argument("--json", action="store_true", help="print a JSON array")
    versions_cmd = commands.add_parser(
        "versions",
        help="each workflow patch's step, and the open cases that keep "
        'it from the next (README, "Changing released workflow code")',
    )
    versions_cmd.add_argument("--json", action="store_true", help="print a JSON array, one object per patch")
    return parser


def _cli_entry(action: str, target: str | None, outcome: str = "allowed", **details) -> access_log.AccessEntry:
    """An administration action taken on the command line, in the access trail: who ran it is the operating
    system's user, from this machine."""
    return access_log.AccessEntry(
        at=datetime.now(UTC),
        action=action,
        outcome=outcome,
        component="cli",
        client=socket.gethostname(),
        user_id=None,
        user_name=None,
        who=f"cli:{getpass.getuser()}",
        case_id=None,
        target=target,
        details=details,
    )


async def _add_user(args: argparse.Namespace) -> int:
    try:
        new = NewUser(
            name=args.name,
            email=args.email,
            roles=args.roles,
            district=args.district,
            star=args.star,
            token_valid_days=args.valid_days,
        )
    except ValidationError as exc:
        for err in exc.errors():
            print(f"referrals: --{'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 2
    engine = async_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            user, token = await users.create_user(session, new)
        await access_log.append(session_factory(engine), _cli_entry("user_create", user.id, roles=user.roles))
    except users.EmailTaken:
        print(f"referrals: a user with e-mail {args.email} exists already", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if args.json:
        print(json.dumps({"id": user.id, "token": token}))
    else:
        print(f"created {user.name} ({', '.join(user.roles)}), id {user.id}\ntoken (shown once): {token}")
    return 0


async def _on_user(
    args: argparse.Namespace, action: str, change: Callable[..., Awaitable[dict[str, Any]]], done: str
) -> int:
    """An administration action on one user, by e-mail or id, recorded in the access trail."""
    engine = async_engine(get_settings().database_url)
    try:
        async with session_factory(engine)() as session:
            user = await users.find_by_email_or_id(session, args.user)
            details = await change(session, user) if user is not None else None
        if user is not None:
            assert details is not None  # the change made them for the user
            await access_log.append(session_factory(engine), _cli_entry(action, user.id, **details))
    finally:
        await engine.dispose()
    if user is None:
        print(f"referrals: no user {args.user}", file=sys.stderr)
        return 1
    print(f"{done} {user.name} ({user.email})")
    return 0


async def _revoke_user(session, user) -> dict:
    await users.revoke(session, user.id)
    return {"sessions_ended": await web_sessions.close_all(session, user.id)}


async def _unlock_user(session, user) -> dict:
    await auth_limits.unlock(session, user)
    return {}


async def _stuck(args: argparse.Namespace) -> int:
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


OPEN_CASES = "WorkflowType = 'IncidentWorkflow' AND ExecutionStatus = 'Running'"


async def versions_report(client, patches=None, deprecated=None, query: str | None = None) -> list:
    """`referrals versions`: where each patch of referrals/workflows/versions.py stands (the registry's unless `patches`
    and `deprecated` are given), from the `Patches` search attribute of the open cases (OPEN_CASES unless
    `query` is given).

    One listing of the open cases, compared here: visibility stores differ on whether `Patches != 'id'`
    finds a case whose attribute is unset."""
    from referrals.domain import search_attributes as sa
    from referrals.workflows import versions

    patches = versions.PATCHES if patches is None else patches
    deprecated = versions.DEPRECATED if deprecated is None else deprecated
    if not patches:
        return []
    cases = [
        versions.OpenCase(
            w.id, w.typed_search_attributes.get(sa.CASE_NUMBER), w.typed_search_attributes.get(sa.PATCHES)
        )
        async for w in client.list_workflows(query or OPEN_CASES)
    ]
    return versions.progress(cases, patches, deprecated)


async def _versions(args: argparse.Namespace) -> int:
    from referrals.temporal_client import connect
    from referrals.workflows import versions

    settings = get_settings()
    report = await versions_report(await connect(settings)) if versions.PATCHES else []
    found = [
        {
            "patch": p.patch,
            "step": p.step,
            "next_step": p.next_step,
            "ready": p.ready,
            "open_cases": p.open_cases,
            "holding": [
                {
                    "case_number": c.case_number,
                    "workflow_id": c.workflow_id,
                    "temporal_ui": settings.workflow_url(c.workflow_id),
                }
                for c in p.holding
            ],
        }
        for p in report
    ]
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no patches: workflow code changes record the histories again until 1.0")
    else:
        for f in found:
            held = (
                f"{len(f['holding'])} of {f['open_cases']} open case(s) run without it"
                if f["step"] == "patched"
                else f"{len(f['holding'])} of {f['open_cases']} open case(s) started before its deprecation"
            )
            print(
                f"{f['patch']}: {f['step']}; {held}; "
                + (f"{f['next_step']} may come now" if f["ready"] else f"{f['next_step']} when none is left")
            )
            for c in f["holding"]:
                print(f"    {c['case_number'] or '-':<18} {c['temporal_ui']}")
    return 0


async def _verify(args: argparse.Namespace) -> int:
    engine = async_engine(get_settings().database_url)
    broken = checked = events = 0
    try:
        async with session_factory(engine)() as session:
            incidents = await cases.find(session, args.case) if args.case else await cases.all_incidents(session)
            if args.case and not incidents:
                print(f"referrals: no case {args.case}", file=sys.stderr)
                return 2
            chains = 0
            for incident in incidents:
                rows = await cases.list_events(session, incident.id)
                checked, events = checked + 1, events + len(rows)
                if (failure := verify_chain(incident.id, rows)) is not None:
                    broken += 1
                    print(f"BROKEN {incident.case_number} ({incident.id}): event {failure.seq}: {failure.reason}")
                # Each evidence item's chain of custody too.
                for evidence_id, custody in (await evidence.custody_of_case(session, incident.id)).items():
                    chains += 1
                    if (failure := verify_chain(evidence_id, custody)) is not None:
                        broken += 1
                        print(
                            f"BROKEN {incident.case_number} ({incident.id}): evidence {evidence_id} custody "
                            f"event {failure.seq}: {failure.reason}"
                        )
    finally:
        await engine.dispose()
    print(
        f"{checked} case(s), {events} event(s), {chains} custody chain(s) checked: "
        f"{'all chains intact' if not broken else f'{broken} broken'}"
    )
    return 1 if broken else 0


async def _verify_evidence(args: argparse.Namespace) -> int:
    """Every stored file read back through its storage adapter, its SHA-256 recomputed and the check noted in its
    custody log; the first whose bytes changed is named and the command exits 1."""
    settings = get_settings()
    engine = async_engine(settings.database_url)
    sessions = session_factory(engine)
    checked = 0
    try:
        async with sessions() as session:
            incidents = await cases.find(session, args.case) if args.case else None
            if args.case and not incidents:
                print(f"referrals: no case {args.case}", file=sys.stderr)
                return 2
            rows = await evidence.files(session, incidents[0].id if incidents else None)
            incidents = incidents or await cases.all_incidents(session)
            numbers = {i.id: i.case_number for i in incidents}
            # Items the cases hold as files here whose bytes storage does not have (a restore from an older backup).
            stored = {row.id for row in rows}
            recorded = {}  # each file's SHA-256 as its case recorded it (covered by the case's hash chain)
            for incident in incidents:
                for entry in CaseState.model_validate(incident.state).evidence:
                    recorded[entry.item.id] = entry.item.sha256
                    if entry.item.sha256 and entry.removed is None and entry.item.id not in stored:
                        print(
                            f"MISSING {incident.case_number}: evidence {entry.item.id} ({entry.item.filename}): "
                            f"no stored bytes for SHA-256 {entry.item.sha256}"
                        )
                        return 1
            for row in rows:
                digest, size = hashlib.sha256(), 0
                async for piece in blob_store_named(row.storage, settings, sessions).read(row.key):
                    digest.update(piece)
                    size += len(piece)
                intact = digest.hexdigest() == row.sha256 == recorded.get(row.id, row.sha256) and size == row.size
                await evidence.append_custody(
                    session,
                    row.id,
                    row.case_id,
                    Custody.INTEGRITY_CHECKED,
                    datetime.now(UTC),
                    {"sha256": digest.hexdigest(), "size": size, "intact": intact, "by": "referrals evidence verify"},
                )
                await session.commit()
                checked += 1
                if not intact:
                    print(
                        f"CHANGED {numbers.get(row.case_id, row.case_id)}: evidence {row.id} ({row.filename}): "
                        f"recorded SHA-256 {recorded.get(row.id, row.sha256)}, stored {row.sha256}, {row.size} "
                        f"bytes; read back {digest.hexdigest()}, {size} bytes"
                    )
                    return 1
    finally:
        await engine.dispose()
    print(f"{checked} file(s) read back: every SHA-256 matches")
    return 0


async def _verify_access_log(args: argparse.Namespace) -> int:
    engine = async_engine(get_settings().database_url)
    checked: list = []
    try:
        failure = await access_log.verify(session_factory(engine), checked=checked)
    finally:
        await engine.dispose()
    if failure is not None:
        print(f"BROKEN access trail: entry {failure.seq}: {failure.reason}")
        return 1
    done = checked[0]
    if not done.entries:
        print("the access trail is empty")
    else:
        anchor = "the genesis hash" if done.first_seq == 1 else f"entry {done.first_seq}'s prev_hash {done.anchor}"
        print(
            f"{done.entries} access trail entries ({done.first_seq} to {done.last_seq}) checked from {anchor}: "
            "chain intact"
        )
    return 0


async def _prune_access_log(args: argparse.Namespace) -> int:
    settings = get_settings()
    days = load_policy(settings.policy_file).access_log_retention_days
    engine = async_engine(settings.database_url)
    try:
        deleted = await access_log.prune(session_factory(engine), days, datetime.now(UTC))
    finally:
        await engine.dispose()
    print(f"{deleted} access trail entries older than {days} days deleted")
    return 0


async def _workflow_ids(client, case: str | None, session) -> list[str]:
    if case is None:
        return [w.id async for w in client.list_workflows("WorkflowType = 'IncidentWorkflow'")]
    if found := await cases.find(session, case):
        return [incident.workflow_id for incident in found]
    # Not in PostgreSQL (filed after the backup was taken): Temporal knows it by id or number.
    by_number = [w.id async for w in client.list_workflows(f"CaseNumber = '{case.replace(chr(39), '')}'")]
    return by_number or [workflow_id_for(case)]


async def _rebuild(args: argparse.Namespace) -> int:
    from temporalio.service import RPCError, RPCStatusCode

    from referrals.activities.documents import DocumentWriter
    from referrals.store import rebuild
    from referrals.temporal_client import connect
    from referrals.workflows.incident import IncidentWorkflow

    settings = get_settings()
    engine = async_engine(settings.database_url)
    sessions = session_factory(engine)
    writer = DocumentWriter(sessions)
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
            async with sessions() as session, session.begin():
                result = await rebuild.write_back(session, trail)
            remade = []
            for request in result.documents_missing:
                row = await writer.write(request)
                expected = next(d.sha256 for d in trail.state.documents if d.id == request.document_id)
                remade.append(
                    {"id": row.id, "kind": row.kind, "version": row.version, "same_bytes": row.sha256 == expected}
                )
            async with sessions() as session, session.begin():
                result.deliveries_added = await rebuild.restore_deliveries(session, trail)
                result.chain_break = await rebuild.chain_break(session, trail.state.case_id)
            ok = (
                not result.conflict
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
                "deliveries_added": result.deliveries_added,
                "conflict": result.conflict,
                "chain_break": result.chain_break,
            }
            if args.json:
                print(json.dumps(report))
            else:
                print(
                    f"{'OK ' if ok else 'BAD'} {result.case_number}: {result.events_added} event(s) added, "
                    f"{len(remade)} document(s) made again, {result.deliveries_added} delivery record(s) added"
                    + (f"; {len(result.documents_lost)} document(s) lost" if result.documents_lost else "")
                    + (f"; CONFLICT: {result.conflict}" if result.conflict else "")
                    + (f"; BROKEN CHAIN at {result.chain_break}" if result.chain_break else "; chain intact")
                )
    finally:
        await engine.dispose()
    if not args.json:
        print(f"{len(workflow_ids)} case(s) rebuilt, {failed} with problems")
    return 1 if failed else 0


async def _publish(args: argparse.Namespace) -> int:
    from referrals.temporal_client import connect
    from referrals.workflows.publication import NOW_PREFIX, PublishStatsWorkflow

    settings = get_settings()
    client = await connect(settings)
    entry = await client.execute_workflow(
        PublishStatsWorkflow.run, id=f"{NOW_PREFIX}{uuid.uuid4()}", task_queue=settings.task_queue
    )
    engine = async_engine(settings.database_url)
    try:
        await access_log.append(
            session_factory(engine),
            _cli_entry("publish_snapshot", str(entry.id), period_end=entry.period_end, sha256=entry.sha256),
        )
    finally:
        await engine.dispose()
    if args.json:
        print(
            json.dumps(
                {
                    "id": entry.id,
                    "published_on": entry.published_on.isoformat(),
                    "period_end": entry.period_end,
                    "sha256": entry.sha256,
                    "json": f"/public/snapshots/{entry.id}",
                    "csv": f"/public/snapshots/{entry.id}.csv",
                }
            )
        )
    else:
        print(f"published snapshot {entry.id}: figures through the end of {entry.period_end}, sha256 {entry.sha256}")
    return 0


def _check_policy(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        print(f"referrals: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: valid")
    print("\n".join(described(policy)))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "policy":  # needs no configuration: a file being written, before it is deployed
        return _check_policy(args)
    try:
        get_settings()
    except ValidationError as exc:
        print(
            f"referrals: configuration: {'; '.join(e['msg'].removeprefix('Value error, ') for e in exc.errors())}",
            file=sys.stderr,
        )
        return 2
    if args.command == "users" and args.action == "add":
        return asyncio.run(_add_user(args))
    if args.command == "users" and args.action == "revoke":
        return asyncio.run(_on_user(args, "token_revoke", _revoke_user, "revoked the token of"))
    if args.command == "users" and args.action == "unlock":
        return asyncio.run(_on_user(args, "account_unlock", _unlock_user, "unlocked"))
    if args.command == "rebuild":
        return asyncio.run(_rebuild(args))
    if args.command == "stuck":
        return asyncio.run(_stuck(args))
    if args.command == "versions":
        return asyncio.run(_versions(args))
    if args.command == "publish":
        return asyncio.run(_publish(args))
    if args.command == "audit" and args.action == "verify":
        return asyncio.run(_verify(args))
    if args.command == "evidence" and args.action == "verify":
        return asyncio.run(_verify_evidence(args))
    if args.command == "access-log" and args.action == "verify":
        return asyncio.run(_verify_access_log(args))
    if args.command == "access-log" and args.action == "prune":
        return asyncio.run(_prune_access_log(args))
    return 2


def run() -> None:
    """The `referrals` command: out without the interpreter's finalization once the command has done its work
    (the Temporal client's runtime threads may still be winding down, and finalizing under them can abort the
    process with SIGABRT, its exit status lost)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
