"""Scaled-down drills and benchmarks that each start a stack of their own, run at once: each in a process of its own
(a stack's parts are stopped and started by blocking calls that must not hold up another's people), only those the
session selected, and each test reads its own report. A module names its runs in RUNS (name: a coroutine function
returning the report); its tests take the fixture `report` (tests/conftest.py loads this module as a plugin):

    @pytest.mark.stack_run("worker_kill")
    async def test_...(report): ...
"""

import asyncio
import importlib
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

import pytest

MARKER = "stack_run"


def _name(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker(MARKER)
    return marker.args[0] if marker else None


def _run(module: str, name: str) -> dict:
    """In the spawned process: the module's run of that name, to its report."""
    return asyncio.run(importlib.import_module(module).RUNS[name]())


@pytest.fixture(scope="module")
def stack_runs(request: pytest.FixtureRequest):
    """Every run the module's selected tests are marked with, started at once."""
    names = sorted(
        {name for item in request.session.items if item.module is request.module and (name := _name(item)) is not None}
    )
    with ProcessPoolExecutor(max(1, len(names)), mp_context=multiprocessing.get_context("spawn")) as pool:
        yield {name: pool.submit(_run, request.module.__name__, name) for name in names}


@pytest.fixture
async def report(request: pytest.FixtureRequest, stack_runs: dict[str, Future]) -> dict:
    """The report of the run the test is marked with."""
    return await asyncio.wrap_future(stack_runs[_name(request.node)])
