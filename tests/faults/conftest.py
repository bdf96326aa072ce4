"""The fault tier: real workloads, real kills, real full disks (see ``hyperpipe.testing.faults``).

Cases run in their own folders under the test's ``tmp_path``; what each must hold is checked by
the harness and reported as a list of problems, which the tests print when they fail.
"""

from __future__ import annotations

import pytest

from hyperpipe.testing.faults import CaseResult


def assert_held(result: CaseResult) -> None:
    """Fail with every problem the harness found, and what was killed."""
    assert result.ok(), (
        f"case {result.case.name} (killed {result.killed or 'nothing'}, run {result.run_id}, "
        f"ended {result.final_status} after {result.resumes} resume(s)):\n  "
        + "\n  ".join(result.problems)
    )


@pytest.fixture(name="assert_held")
def assert_held_fixture():
    return assert_held
