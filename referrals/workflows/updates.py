"""The human steps as workflow updates: one update and its validator per declared step (referrals/domain/steps),
named as the step, taking `Step[<its payload>]` and answering `StepResult`."""

from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from referrals.domain.events import StepResult
    from referrals.domain.messages import Step
    from referrals.domain.steps import STEPS, StepSpec

W = TypeVar("W", bound=type)


def human_steps(cls: W) -> W:
    """Adds an update per declared step to the workflow class (before `@workflow.defn` reads it). Each validator
    refuses a step before anything enters history; each handler makes it (the class's `_validate` and `_apply`)."""
    for spec in STEPS:
        if hasattr(cls, spec.name):
            raise TypeError(f"{cls.__name__} already has an attribute named {spec.name!r}, the name of a step")
        setattr(cls, spec.name, _update(spec))
    return cls


def _update(spec: StepSpec) -> Callable[..., Any]:
    async def handler(self: Any, step: Any) -> StepResult:
        return await self._apply(spec, step)  # type: ignore[no-any-return]

    def validator(self: Any, step: Any) -> None:
        self._validate(spec, step)

    # The payload converter reads the argument's type from the annotations: the step's own payload model.
    handler.__annotations__ = {"step": Step[spec.workflow_payload], "return": StepResult}  # type: ignore[name-defined]
    validator.__annotations__ = {"step": Step[spec.workflow_payload], "return": None}  # type: ignore[name-defined]
    handler.__name__ = handler.__qualname__ = spec.name
    validator.__name__ = validator.__qualname__ = f"_validate_{spec.name}"
    update = workflow.update(name=spec.name)(handler)
    update.validator(validator)
    return update
