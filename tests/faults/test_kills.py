"""``kill -9`` of every kind of process, at seeded random moments, then at most one resume."""

from __future__ import annotations

import pytest

from hyperpipe.testing.faults import KINDS, plan, run_case

# Two cases per kind: one killed within 100 ms of the process appearing, one later.
CASES = {c.name: c for c in plan(2 * len(KINDS), seed=8, root=None, values=6)}  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_killed_process_loses_nothing_and_leaves_nothing(name, tmp_path, assert_held):
    case = CASES[name]
    case.root = tmp_path
    result = run_case(case)
    assert result.killed is not None
    assert_held(result)


@pytest.mark.slow
def test_every_kind_of_process_is_killed_by_the_tier():
    assert {c.kill for c in CASES.values()} == set(KINDS)
    assert any(c.early for c in CASES.values()) and not all(c.early for c in CASES.values())
