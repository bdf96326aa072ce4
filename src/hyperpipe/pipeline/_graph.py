"""The step graph: which step waits for which, checked when a pipeline is built.

Edges come from data (a step consuming a ``PipelineData`` waits for its producer) and from
``run_after``. Every problem is an error that names the steps involved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperpipe._record import Record, field
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.core._pipeline_data import PipelineDataInput

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hyperpipe.pipeline.core._pipeline_data import PipelineData
    from hyperpipe.pipeline.steps._base import PipelineStep

__all__ = ["Graph", "build_graph"]


class Graph(Record, frozen=False):
    """Steps by name (in a valid execution order) and what each waits for."""

    steps: dict[str, PipelineStep]
    deps: dict[str, set[str]] = field(default_factory=dict)

    def dependents(self, name: str) -> set[str]:
        return {other for other, waits in self.deps.items() if name in waits}


def build_graph(roots: Iterable[PipelineStep], resolve_closure: bool = True) -> Graph:
    """Collect the steps (pulling in producers and ``run_after`` targets) and order them."""
    steps: dict[str, PipelineStep] = {}
    pending = list(roots)
    while pending:
        step = pending.pop(0)
        known = steps.get(step.name)
        if known is step:
            continue
        if known is not None:
            raise UserErrorException(
                f"two different steps are named {step.name!r}; give each step a unique name="
            )
        steps[step.name] = step
        if resolve_closure:
            pending.extend(step._run_after)
            for binding in step._inputs:
                if isinstance(binding, PipelineDataInput):
                    pending.extend(binding.data._producers)

    deps: dict[str, set[str]] = {name: set() for name in steps}
    for step in steps.values():
        for before in step._run_after:
            if before.name not in steps:
                raise UserErrorException(
                    f"step {step.name!r} runs after {before.name!r}, which is not in the pipeline"
                )
            deps[step.name].add(before.name)
        for data in step._outputs:  # also when no step of the pipeline consumes it
            _check_one_producer(data)
        for binding in step._inputs:
            if not isinstance(binding, PipelineDataInput):
                continue
            producers = binding.data._producers
            if not producers or producers[0].name not in steps:
                raise UserErrorException(
                    f"input {binding.data.name!r} of step {step.name!r} is not produced by any "
                    "step of the pipeline; add the step that lists it in outputs=[...]"
                )
            _check_one_producer(binding.data)
            producer = producers[0]
            if producer.name == step.name:
                raise UserErrorException(
                    f"step {step.name!r} consumes {binding.data.name!r}, which it produces itself"
                )
            if _waits_for(producer, step):
                raise UserErrorException(
                    f"step {step.name!r} consumes {binding.data.name!r} produced by "
                    f"{producer.name!r}, but {producer.name!r} is set to run after it "
                    f"(run_after); remove that run_after"
                )
            deps[step.name].add(producer.name)
    ordered = _order(deps)
    return Graph({name: steps[name] for name in ordered}, deps)


def _check_one_producer(data: PipelineData) -> None:
    producers = data._producers
    if len({p.name for p in producers}) > 1:
        names = " and ".join(repr(p.name) for p in producers)
        raise UserErrorException(
            f"PipelineData {data.name!r} is an output of two steps, {names}; "
            "each PipelineData has exactly one producer"
        )


def _waits_for(step: PipelineStep, other: PipelineStep) -> bool:
    """Whether ``step`` runs after ``other`` through ``run_after`` links."""
    seen: set[int] = set()
    pending = list(step._run_after)
    while pending:
        current = pending.pop()
        if current is other:
            return True
        if id(current) not in seen:
            seen.add(id(current))
            pending.extend(current._run_after)
    return False


def _order(deps: dict[str, set[str]]) -> list[str]:
    """Topological order, stable in declaration order; a cycle is an error naming its steps."""
    ordered: list[str] = []
    state: dict[str, int] = {}  # 1: visiting, 2: done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise UserErrorException(
                f"the pipeline has a cycle: {' -> '.join(cycle)} (each step waits for the next); "
                "remove a run_after or a data dependency"
            )
        state[name] = 1
        for before in sorted(deps[name], key=list(deps).index):
            visit(before, [*path, name])
        state[name] = 2
        ordered.append(name)

    for name in deps:
        visit(name, [])
    return ordered
