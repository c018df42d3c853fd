"""Changes to released workflow code: the product's patch ids, decided once at the start of every run.

1.0.0 is released: its histories (tests/histories/1.0.0/) are the baseline every later release replays (README,
"Changing released workflow code"). Every change that would issue different commands for an old history goes
through three steps, one release (at least) apart:

1. `patched`: add its id at the end of `PATCHES` (a constant here, its comment saying what old cases do)
   and branch on it where the code changed:

       if versions.has(versions.PACKET_COVER_LETTER):
           ...   # the new code
       else:
           ...   # what released code did, for cases started before this release

   A case started on this release takes the new side; a case started before it replays on the old side
   until it closes. `referrals versions` lists the open cases that run without the patch.
2. `deprecate_patch`: once `referrals versions` shows no open case without it, add the id to `DEPRECATED`
   (it stays in `PATCHES`, in its place) and delete the old branch and the `has` call. Every run then calls
   `workflow.deprecate_patch(id)` instead of `workflow.patched(id)`. `referrals versions` now lists the open
   cases started before this step: their histories hold the patch's marker, which code that no longer
   mentions the id cannot replay.
3. Removal: once `referrals versions` shows no open case started before the deprecation, remove the id from
   `PATCHES` and `DEPRECATED`.

`decide` asks about every id at the start of the run, in the order introduced (the markers it records
must come back in the same order on replay: never reorder `PATCHES`). The SDK remembers each answer for
the run, so `has` gives the same answer wherever the run's code asks. The answers are upserted as the
`Patches` search attribute, the ids whose new code the run takes, which `referrals versions` reads. A run
continued as new has no old history: it decides again and takes every patch. (Temporal's own
`TemporalChangeVersion` attribute lists every marker's id, deprecated or not: it cannot tell step 3.)

Deterministic and sandbox-safe: called from workflow code.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from referrals.domain import search_attributes as sa

# 1.1.0: a run continued as new carries the case and the audit chain's head, not every event and document request
# (issue 32: the carried input stays the case's own size). Cases started before it carry as 1.0.0 did until their
# next run, which takes the patch and reads what the old run carried.
CARRY_CHAIN_HEAD = "carry-chain-head"
# 1.1.0: a step's write asks for its documents in the outbox (its own transaction), the document maker beside the
# worker makes them, and the case records them at its next write or once quiet (issue 32: a step never waits for a
# document). Cases started before it make their documents as activities of their own until their next run.
DOCUMENTS_OUTBOX = "documents-outbox"
# 1.1.0: a step's event names the workflow update that recorded it (issue 33: a step sent again with the same
# Idempotency-Key after its case continued as new is answered as the first time, not 409). Cases started before it
# record their steps without it until their next run.
STEP_UPDATE_IDS = "step-update-ids"
# 1.1.0: a step's write sends its edits to the case (referrals/domain/case_edits.py), not the whole case, once the run
# has written it whole (issue 32: a big case's steps no longer carry hundreds of kilobytes that did not change).
# Cases started before it send the whole case with every write until their next run.
STEP_WRITES_EDITS = "step-writes-edits"

# The product's patch ids, in the order introduced (1.0.0 is the code every case started on).
PATCHES: tuple[str, ...] = (CARRY_CHAIN_HEAD, DOCUMENTS_OUTBOX, STEP_UPDATE_IDS, STEP_WRITES_EDITS)
# The ids of PATCHES whose old branch is gone (step 2): decided with `workflow.deprecate_patch`.
DEPRECATED: frozenset[str] = frozenset()


def decide(patches: Sequence[str] = PATCHES, deprecated: Collection[str] = DEPRECATED) -> list[str]:
    """At the start of every run, before anything else: decide every patch for the run and upsert
    `Patches`. Returns the ids whose new code the run takes (deprecated ones excluded).

    The upsert is made even when the list is empty, so that no step changes the commands of an old history
    (the first patch added, or the only one a case took deprecated)."""
    taken = []
    for id in patches:
        if id in deprecated:
            workflow.deprecate_patch(id)
        elif workflow.patched(id):
            taken.append(id)
    workflow.upsert_search_attributes([sa.PATCHES.value_set(taken)])
    return taken


def has(id: str, patches: Sequence[str] = PATCHES, deprecated: Collection[str] = DEPRECATED) -> bool:
    """Whether the run takes the new code of patch `id`: the answer `decide` got at the start of the run.

    A query handler may not call it (queries record nothing): keep the list `decide` returned for those.
    An id not in `patches`, or deprecated (its old branch is gone), is a mistake in the code: the workflow
    task fails, and is retried until a worker with corrected code takes it."""
    if id not in patches:
        raise ValueError(f"patch {id!r} is not in workflows.versions.PATCHES")
    if id in deprecated:
        raise ValueError(f"patch {id!r} is deprecated: its old branch is gone, ask no more")
    return workflow.patched(id)


@dataclass(frozen=True)
class OpenCase:
    """An open case as visibility shows it: `patches` is its `Patches` search attribute (None if unset)."""

    workflow_id: str
    case_number: str | None
    patches: Sequence[str] | None


@dataclass(frozen=True)
class Progress:
    """Where one patch stands. `holding` are the open cases that keep it from its next step: for a patched id,
    the cases that run without it; for a deprecated one, the cases started before the deprecation."""

    patch: str
    step: str  # "patched" or "deprecated"
    next_step: str  # "deprecate_patch" or "remove"
    open_cases: int
    holding: list[OpenCase]

    @property
    def ready(self) -> bool:
        return not self.holding


def progress(
    cases: Iterable[OpenCase], patches: Sequence[str] = PATCHES, deprecated: Collection[str] = DEPRECATED
) -> list[Progress]:
    """Each patch's step and the open cases holding it there, in the order introduced.

    A case whose `Patches` is unset (started before its first workflow task, or before this module) counts
    as running without any patch."""
    cases = list(cases)
    found = []
    for id in patches:
        if id in deprecated:
            holding = [c for c in cases if id in (c.patches or ())]
            found.append(Progress(id, "deprecated", "remove", len(cases), holding))
        else:
            holding = [c for c in cases if id not in (c.patches or ())]
            found.append(Progress(id, "patched", "deprecate_patch", len(cases), holding))
    return found
