"""The metric journal on a full disk: the process lives and every value reaches the store."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hyperpipe.testing.faults import MountNotAllowed, tmpfs

WRITER = """
import sys
from pathlib import Path
from hyperpipe.core._metrics import MetricWriter, to_point
from hyperpipe.store import get_store

store = get_store(sys.argv[1])
run = store.create_run(experiment_name="e", run_id="r1", run_type="run")
writer = MetricWriter(store, run.key, Path(sys.argv[2]))
for i in range(1000):
    writer.append(to_point("i", "scalar", float(i), "", None))
writer.close()
print(len(store.get_metrics([run.key])[run.key][0].points))
"""


def test_a_full_disk_costs_the_journal_not_the_process_or_its_metrics(tmp_path):
    try:
        with tmpfs(tmp_path / "full", "64k") as disk:
            filler = disk / "filler"
            with open(filler, "wb", buffering=0) as out:  # every byte of the small disk taken
                try:
                    while True:
                        out.write(b"x" * 4096)
                except OSError:
                    pass
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    textwrap.dedent(WRITER),
                    f"sqlite:///{tmp_path / 'store.db'}",
                    str(disk / "journal"),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
    except MountNotAllowed as exc:
        pytest.skip(f"mounting a small tmpfs is not allowed here: {exc}")
    assert done.returncode == 0, f"the writer died ({done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.strip() == "1000"
    assert "could not write the metric journal: no space left on tmpfs at " in done.stderr
