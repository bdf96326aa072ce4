"""Eight scripts submitting into one SQLite workspace at the same moment."""

from __future__ import annotations

import pytest

from hyperpipe.testing.faults import concurrent_case


@pytest.mark.slow
def test_eight_concurrent_submitters_all_finish_with_every_metric(tmp_path, assert_held):
    result = concurrent_case(8, tmp_path, values=5, files=1, kib=16)
    assert_held(result)
    assert result.final_status == "Finished"
