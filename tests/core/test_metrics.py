"""The metric journal: on a full disk the process lives and every value reaches the store; a
writer that closes with every value stored leaves no journal to replay; a launched run's writer
that never reached the store leaves its values, at exit, to the replay of whoever ends the run."""

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


def test_a_writer_closed_with_every_value_stored_leaves_no_journal(tmp_path):
    from hyperpipe.core._metrics import MetricWriter, replay_journals, to_point
    from hyperpipe.store import get_store

    store = get_store(f"sqlite:///{tmp_path / 'store.db'}")
    run = store.create_run(experiment_name="e", run_id="r1", run_type="run")
    journals = tmp_path / "journal"
    writer = MetricWriter(store, run.key, journals)
    for i in range(20_000):  # past the journal's first chunk: it grows
        writer.append(to_point("i", "scalar", float(i), "", None))
    assert len(list(journals.glob("*.jsonl"))) == 1
    writer.close()
    assert not list(journals.glob("*.jsonl"))
    assert replay_journals(store, run.key, journals) == 0
    assert len(store.get_metrics([run.key])[run.key][0].points) == 20_000


def test_a_replayed_writer_that_never_wrote_leaves_its_values_to_the_replay_at_exit(tmp_path):
    from hyperpipe.core._metrics import MetricWriter, replay_journals, to_point
    from hyperpipe.store import get_store

    store = get_store(f"sqlite:///{tmp_path / 'store.db'}")
    run = store.create_run(experiment_name="e", run_id="r1", run_type="run")
    journals = tmp_path / "journal"
    writer = MetricWriter(store, run.key, journals, replayed=True)
    for i in range(3):
        writer.append(to_point("i", "scalar", float(i), "", None))
    writer.close(at_exit=True)
    assert store.get_metrics([run.key]) == {}, "nothing is written by the exiting process"
    assert len(list(journals.glob("*.jsonl"))) == 1
    assert replay_journals(store, run.key, journals) == 3
    assert [p.value for p in store.get_metrics([run.key])[run.key][0].points] == [0.0, 1.0, 2.0]
    assert replay_journals(store, run.key, journals) == 0, "a second replay adds nothing"


def test_a_replayed_writer_that_wrote_before_writes_the_rest_itself_at_exit(tmp_path):
    from hyperpipe.core._metrics import MetricWriter, to_point
    from hyperpipe.store import get_store

    store = get_store(f"sqlite:///{tmp_path / 'store.db'}")
    run = store.create_run(experiment_name="e", run_id="r1", run_type="run")
    journals = tmp_path / "journal"
    writer = MetricWriter(store, run.key, journals, replayed=True)
    writer.append(to_point("i", "scalar", 0.0, "", None))
    writer.flush()  # its connection is open: writing the rest costs it one transaction
    writer.append(to_point("i", "scalar", 1.0, "", None))
    writer.close(at_exit=True)
    assert [p.value for p in store.get_metrics([run.key])[run.key][0].points] == [0.0, 1.0]
    assert not list(journals.glob("*.jsonl"))
