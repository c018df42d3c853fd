"""`referrals publish`: a snapshot of the public figures published now, and recorded in the access trail."""

import argparse
import json
import uuid

from referrals.cli.common import cli_entry
from referrals.config import get_settings
from referrals.store import access_log
from referrals.store.engine import async_engine, session_factory


async def publish(args: argparse.Namespace) -> int:
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
            cli_entry("publish_snapshot", str(entry.id), period_end=entry.period_end, sha256=entry.sha256),
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
