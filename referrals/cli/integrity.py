"""`referrals audit verify` and `referrals evidence verify`: each case's hash chain and its evidence items' chains
of custody checked, and every stored evidence file read back against its SHA-256."""

import argparse
import asyncio
import hashlib
import sys
from datetime import UTC, datetime

from referrals.cli import published
from referrals.config import get_settings
from referrals.domain.case import CaseState
from referrals.store import cases, evidence
from referrals.store.audit import verify_chain
from referrals.store.blobs import blob_store_named
from referrals.store.engine import async_engine, session_factory
from referrals.store.evidence import Custody


async def verify_audit(args: argparse.Namespace) -> int:
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
    if args.published is None:
        return 1 if broken else 0
    return max(1 if broken else 0, await _verify_published(args.published, incidents[0].id if args.case else None))


async def _verify_published(source: str, case_id: str | None) -> int:
    """Every chain against every root published at `source` (referrals/cli/published.py)."""
    try:
        snapshots = await asyncio.to_thread(published.read_source, source)
    except published.SourceError as exc:
        print(f"referrals: {exc}", file=sys.stderr)
        return 2
    engine = async_engine(get_settings().database_url)
    try:
        async with engine.connect() as conn:
            roots, lines = await published.problems(conn, snapshots, case_id)
    finally:
        await engine.dispose()
    for line in lines:
        print(line)
    if not roots:
        print(f"no snapshot published at {source} carries a root: nothing to check the chains against")
    else:
        print(
            f"{len(snapshots)} published snapshot(s), {roots} with a root, checked: "
            f"{'every chain as published' if not lines else f'{len(lines)} rewritten after publication'}"
        )
    return 1 if lines or not roots else 0


async def verify_evidence(args: argparse.Namespace) -> int:
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
