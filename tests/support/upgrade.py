"""The release after 1.0.0 as tests/test_upgrade.py makes it: IncidentWorkflow with one change behind a patch, made
the way README's "Changing released workflow code" says: its id added at the end of `PATCHES`, and the changed code
branching on `versions.has`.

The change: a case that takes the patch says, in its `case_closed` event, that it closed under the upgrade
(`UPGRADE_NOTE`); a case started before it closes as the release closed it.

What the product would edit in referrals/workflows/ is made here without copying the released lifecycle: a subclass
registered under the same workflow type, whose `patches` (IncidentWorkflow's class attribute, which its `run` decides
at the start of every run) end with the test's id. Imported by the workflow sandbox on each run, as the product's
workflow modules are."""

from typing import Any

from temporalio import workflow

from referrals.workflows import versions
from referrals.workflows.incident import IncidentWorkflow

with workflow.unsafe.imports_passed_through():
    from referrals.domain.case import CaseState, IncidentInput, PersonRef
    from referrals.domain.events import EventKind

UPGRADE = "upgrade-test"
UPGRADE_NOTE = "Closed under the upgrade's closing rule."


@workflow.defn(name="IncidentWorkflow")  # the workflow type running cases have: the worker's code is what changes
class UpgradedIncidentWorkflow(IncidentWorkflow):
    """Every handler, query and step is the release's (inherited); `@workflow.run` is declared again, as the SDK
    asks of a subclass."""

    patches = (*versions.PATCHES, UPGRADE)  # its id added at the end of PATCHES

    @workflow.run
    async def run(self, inp: IncidentInput) -> CaseState:
        return await super().run(inp)

    def _record(self, kind: str, actor: PersonRef | None, data: dict[str, Any], update_id: str | None = None) -> None:
        if kind == EventKind.CASE_CLOSED and versions.has(UPGRADE, self.patches, self.deprecated):
            data = {**data, "note": UPGRADE_NOTE}  # the new behaviour
        # else: what the release did, for cases started before the upgrade
        super()._record(kind, actor, data, update_id)
