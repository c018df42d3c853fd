"""Patches after 1.0 (referrals/workflows/versions.py): a case started before a patch keeps running without it, a case
started after takes it, and `referrals versions` lists the cases that keep the patch from its next step.

The workflow here is a stand-in for IncidentWorkflow, released three times under one workflow type: before the
patch, with it (`patched`), and with it deprecated (`deprecate_patch`, the old branch gone).
"""

import asyncio
import json
import os
import subprocess
import sys
import uuid

from temporalio import workflow

from referrals.workflows import versions

with workflow.unsafe.imports_passed_through():
    from temporalio.worker import Worker

    from referrals.cli.versions import OPEN_CASES, versions_report
    from referrals.config import ROOT

PATCH = "test-patch"
PROBE = "VersionsProbe"


class _Probe:
    """Waits to be finished. Each poke is a workflow task, in which the code asks which side of the patch it
    is on (a worker that has not run the case before replays its history first)."""

    patches: tuple[str, ...] = ()
    deprecated: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self._taken: list[str] = []
        self._sides: list[str] = []
        self._pokes = 0
        self._done = False

    async def _run(self) -> None:
        self._taken = versions.decide(self.patches, self.deprecated)
        seen = 0
        while True:
            await workflow.wait_condition(lambda seen=seen: self._done or self._pokes > seen)
            if self._done:
                return
            seen = self._pokes
            self._sides.append(self._side())

    def _side(self) -> str:
        return "old"

    @workflow.signal
    def poke(self) -> None:
        self._pokes += 1

    @workflow.signal
    def finish(self) -> None:
        self._done = True

    @workflow.query
    def taken(self) -> list[str]:
        return self._taken

    @workflow.query
    def sides(self) -> list[str]:
        return self._sides


@workflow.defn(name=PROBE)
class BeforeThePatch(_Probe):
    @workflow.run
    async def run(self) -> None:
        await self._run()


@workflow.defn(name=PROBE)
class Patched(_Probe):
    patches = (PATCH,)

    @workflow.run
    async def run(self) -> None:
        await self._run()

    def _side(self) -> str:
        return "new" if versions.has(PATCH, self.patches, self.deprecated) else "old"


@workflow.defn(name=PROBE)
class Deprecated(_Probe):
    patches = (PATCH,)
    deprecated = frozenset({PATCH})

    @workflow.run
    async def run(self) -> None:
        await self._run()

    def _side(self) -> str:
        return "new"  # the old branch is gone


async def _eventually(probe, check, timeout: float = 30.0):
    """`await probe()` until `check` holds of its result (queries before a first workflow task, visibility a
    moment behind); the last result, or the last error, fails the test."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = await probe()
            if check(result):
                return result
            failure = AssertionError(f"still {result!r}")
        except Exception as error:
            failure = error
        if asyncio.get_running_loop().time() > deadline:
            raise failure
        await asyncio.sleep(0.3)


def _holding(report) -> list[tuple[str, str, list[str]]]:
    return [(p.patch, p.step, sorted(c.workflow_id for c in p.holding)) for p in report]


def _referrals_versions(
    settings, query: str, patches: tuple[str, ...] = (), deprecated: frozenset = frozenset(), as_json: bool = True
):
    """`referrals versions` in a process of its own, with the registry and the open-case query given: its JSON
    (`--json`), or its lines."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REFERRALS_ENV": "test",
        "TEMPORAL_ADDRESS": settings.temporal.address,
        "REFERRALS_ENCRYPTION_KEYS": settings.encryption_keys,
        "REFERRALS_ACTOR_KEYS": settings.actor_keys.get_secret_value(),
        "REFERRALS_TEMPORAL_UI_URL": settings.temporal_ui_url,
    }
    script = (
        "import json, sys\nfrom referrals import cli\nfrom referrals.cli import versions as command\n"
        "from referrals.workflows import versions\n"
        "versions.PATCHES = tuple(json.loads(sys.argv[1]))\n"
        "versions.DEPRECATED = frozenset(json.loads(sys.argv[2]))\n"
        "command.OPEN_CASES = sys.argv[3]\n"
        "sys.argv = ['referrals', 'versions', *sys.argv[4:]]\n"
        "cli.run()\n"
    )  # (the command's own way out: see cli.run)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            json.dumps(patches),
            json.dumps(sorted(deprecated)),
            query,
            *(["--json"] if as_json else []),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if as_json else done.stdout.splitlines()


async def test_a_patch_from_patched_to_deprecated_with_the_cases_holding_each_step(dev_server, settings):
    client = dev_server.client
    queue = f"versions-{uuid.uuid4()}"
    open_probes = f"WorkflowType = '{PROBE}' AND ExecutionStatus = 'Running' AND TaskQueue = '{queue}'"

    async def report(deprecated=frozenset()):
        return await versions_report(client, (PATCH,), deprecated, open_probes)

    async def side(handle, expected: list[str]) -> None:
        await handle.signal(_Probe.poke)
        await _eventually(lambda: handle.query(_Probe.sides), lambda sides: sides == expected)

    # The release before the patch: its case decides nothing, and its `Patches` is empty.
    async with Worker(client, task_queue=queue, workflows=[BeforeThePatch]):
        old = await client.start_workflow(BeforeThePatch.run, id=f"{queue}-old", task_queue=queue)
        await side(old, ["old"])

    # The release with the patch: the old case replays without it, a new case takes it.
    async with Worker(client, task_queue=queue, workflows=[Patched]):
        new = await client.start_workflow(Patched.run, id=f"{queue}-new", task_queue=queue)
        await side(new, ["new"])
        await side(old, ["old", "old"])
        assert (await old.query(_Probe.taken), await new.query(_Probe.taken)) == ([], [PATCH])

        # The old case keeps the patch from being deprecated.
        found = await _eventually(report, lambda r: _holding(r) == [(PATCH, "patched", [old.id])])
        assert [(p.next_step, p.open_cases, p.ready) for p in found] == [("deprecate_patch", 2, False)]
        listed = await asyncio.to_thread(_referrals_versions, settings, open_probes, (PATCH,))
        assert listed == [
            {
                "patch": PATCH,
                "step": "patched",
                "next_step": "deprecate_patch",
                "ready": False,
                "open_cases": 2,
                "holding": [{"case_number": None, "workflow_id": old.id, "temporal_ui": settings.workflow_url(old.id)}],
            }
        ]
        lines = await asyncio.to_thread(_referrals_versions, settings, open_probes, (PATCH,), frozenset(), False)
        assert lines == [
            f"{PATCH}: patched; 1 of 2 open case(s) run without it; deprecate_patch when none is left",
            f"    {'-':<18} {settings.workflow_url(old.id)}",
        ]

        # Once it closes, the patch may be deprecated.
        await old.signal(_Probe.finish)
        await old.result()
        found = await _eventually(report, lambda r: _holding(r) == [(PATCH, "patched", [])])
        assert [(p.next_step, p.open_cases, p.ready) for p in found] == [("deprecate_patch", 1, True)]

    # The release with the patch deprecated: the case started with `patched` replays, a newer one records a
    # deprecated marker only, and the first keeps the id from being removed until it closes.
    async with Worker(client, task_queue=queue, workflows=[Deprecated]):
        newer = await client.start_workflow(Deprecated.run, id=f"{queue}-newer", task_queue=queue)
        await side(newer, ["new"])
        await side(new, ["new", "new"])
        assert await newer.query(_Probe.taken) == []
        gone = frozenset({PATCH})
        found = await _eventually(lambda: report(gone), lambda r: _holding(r) == [(PATCH, "deprecated", [new.id])])
        assert [(p.next_step, p.open_cases, p.ready) for p in found] == [("remove", 2, False)]
        await new.signal(_Probe.finish)
        await new.result()
        await _eventually(lambda: report(gone), lambda r: _holding(r) == [(PATCH, "deprecated", [])])
        await newer.signal(_Probe.finish)
        await newer.result()


async def test_referrals_versions_with_the_products_registry(settings):
    listed = await asyncio.to_thread(_referrals_versions, settings, OPEN_CASES, versions.PATCHES, versions.DEPRECATED)
    assert [entry["patch"] for entry in listed] == list(versions.PATCHES)
    if not versions.PATCHES:
        env = {**os.environ, "DATABASE_URL": settings.database_url, "REFERRALS_ENV": "test"}
        done = subprocess.run(
            [sys.executable, "-m", "referrals.cli", "versions"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "no patches: every open case runs the workflow code as released"


def test_progress_counts_unset_patches_as_none_taken():
    cases = [
        versions.OpenCase("a", "TS-1", None),
        versions.OpenCase("b", "TS-2", ["p1"]),
        versions.OpenCase("c", "TS-3", ["p1", "p2"]),
    ]
    found = versions.progress(cases, ("p1", "p2", "p3"), frozenset({"p1"}))
    assert [
        (p.patch, p.step, p.next_step, p.open_cases, [c.workflow_id for c in p.holding], p.ready) for p in found
    ] == [
        ("p1", "deprecated", "remove", 3, ["b", "c"], False),  # b and c started before its deprecation
        ("p2", "patched", "deprecate_patch", 3, ["a", "b"], False),
        ("p3", "patched", "deprecate_patch", 3, ["a", "b", "c"], False),
    ]
    assert versions.progress([], ("p1",), frozenset())[0].ready
    assert versions.progress(cases, (), frozenset()) == []


def test_the_registry_is_consistent():
    assert len(set(versions.PATCHES)) == len(versions.PATCHES)
    assert versions.DEPRECATED <= set(versions.PATCHES)
