"""`referrals versions`: each workflow patch's step, and the open cases that keep it from the next."""

import argparse
import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from referrals.config import get_settings

if TYPE_CHECKING:  # imported where used: the commands that need no Temporal client load none
    from temporalio.client import Client

    from referrals.workflows.versions import Progress

OPEN_CASES = "WorkflowType = 'IncidentWorkflow' AND ExecutionStatus = 'Running'"


async def versions_report(
    client: "Client",
    patches: Sequence[str] | None = None,
    deprecated: Collection[str] | None = None,
    query: str | None = None,
) -> "list[Progress]":
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


async def show_versions(args: argparse.Namespace) -> int:
    from referrals.temporal_client import connect
    from referrals.workflows import versions

    settings = get_settings()
    report = await versions_report(await connect(settings)) if versions.PATCHES else []
    found: list[dict[str, Any]] = [
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
        print("no patches: every open case runs the workflow code as released")
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
