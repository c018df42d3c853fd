"""Scaled-down drills and benchmarks that each start a stack of their own, run at once: each in a process of its own
(a stack's parts are stopped and started by blocking calls that must not hold up another's people), only those the
session selected, and each test reads its own report.

    @pytest.mark.stack_run("worker_kill")
    async def test_...(report): ...
"""

import asyncio
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

import pytest

MARKER = "stack_run"


def _name(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker(MARKER)
    return marker.args[0] if marker else None


@contextmanager
def started(request: pytest.FixtureRequest, run: Callable[[str], dict]) -> Iterator[dict[str, Future]]:
    """Starts `run(name)` for every name the module's selected tests are marked with; `run` must be a module-level
    function (a spawned process imports it)."""
    names = sorted({name for item in request.session.items
                    if item.module is request.module and (name := _name(item)) is not None})
    with ProcessPoolExecutor(max(1, len(names)), mp_context=multiprocessing.get_context("spawn")) as pool:
        yield {name: pool.submit(run, name) for name in names}


async def report(request: pytest.FixtureRequest, futures: dict[str, Future]) -> dict:
    """The report of the run the requesting test is marked with."""
    return await asyncio.wrap_future(futures[_name(request.node)])
