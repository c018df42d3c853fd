"""The garbage collector of the API's process. (The worker's keeps Python's defaults: settled the same way, it gained
nothing measurable; docs/performance.md, "Lifecycles". It pauses only while a snapshot is counted: `paused`.)

Python's cyclic collector, left at its defaults, scans the whole heap every few seconds under load: a request makes
thousands of objects, the youngest generation (700) fills many times during it, and what the request still holds is
promoted until a full collection is due. At 200,000 cases (bench.scale) each full collection of the API's ~270,000
objects took 180-210 ms, once every 2-4 s of searches: the 2 or 3 slow answers that made the p99 of three search
series 160-270 ms while their p50 was 9-35 ms.

`settle()`, once the process has started: what it loaded to start (modules, the policy, templates, table
definitions, clients) is frozen out of every later collection, and a request's objects are collected while young.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Objects allocated (less those freed) before the youngest generation is collected: a request's own die in it.
YOUNG = 50_000


def settle() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection meanwhile (objects are still freed as their last reference goes): for work that makes
    hundreds of thousands of objects that live until it ends, such as a snapshot's count of every case, through which
    the collector would scan them again and again. At 200,000 cases (bench.scale), publishing took 5.8-6.1 s in the
    worker with the collector running and 3.3-3.5 s with it paused. The pause is the process's: whatever else runs
    meanwhile (the worker's other tasks, for those seconds) is collected once it ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
