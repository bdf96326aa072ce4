"""Step reuse: what re-runs when one part changes, and the reasons given for it."""

from __future__ import annotations

import os

import pytest

from hyperpipe.core import Dataset, Datastore
from hyperpipe.pipeline.core import Pipeline, PipelineData

PREP = """
import os, sys
os.makedirs(sys.argv[1])
open(os.path.join(sys.argv[1], "base.txt"), "w").write("base")
"""

# a and b append their argument to what prep wrote; join concatenates both.
MIDDLE = """
import os, sys
src, out, suffix = sys.argv[1:4]
open(out, "w").write(open(os.path.join(src, "base.txt")).read() + suffix)
"""

JOIN = """
import sys
a, b, out = sys.argv[1:4]
open(out, "w").write(open(a).read() + "|" + open(b).read())
"""


@pytest.fixture
def build(ws, make_step, write_script):
    """A diamond prep -> (a, b) -> join built afresh from the scripts in the step folders (as a
    new session would build it); a test edits a folder between two submits."""
    for name, code in (("prep", PREP), ("a", MIDDLE), ("b", MIDDLE), ("join", JOIN)):
        write_script(name, code)

    def make(a_suffix="-a", prep_reuse=True):
        prepped, a_out, b_out, joined = (PipelineData(n) for n in ("prepped", "a", "b", "joined"))
        steps = [
            make_step("prep", None, arguments=[prepped], outputs=[prepped], allow_reuse=prep_reuse),
            make_step(
                "a", None, arguments=[prepped, a_out, a_suffix], inputs=[prepped], outputs=[a_out]
            ),
            make_step(
                "b", None, arguments=[prepped, b_out, "-b"], inputs=[prepped], outputs=[b_out]
            ),
            make_step(
                "join",
                None,
                arguments=[a_out, b_out, joined],
                inputs=[a_out, b_out],
                outputs=[joined],
            ),
        ]
        return Pipeline(ws, steps)

    return make


def _run(experiment, pipeline, **kwargs):
    run = experiment.submit(pipeline, **kwargs)
    assert run.wait_for_completion(show_output=False) == "Finished"
    return {s.name: s for s in run.get_steps()}


def _reused(steps):
    return {name: s.reuse_decision["reused"] for name, s in steps.items()}


def test_unchanged_resubmit_reuses_every_step_and_its_outputs(experiment, build):
    first = _run(experiment, build())
    assert _reused(first) == {"prep": False, "a": False, "b": False, "join": False}
    assert first["prep"].reuse_decision["reasons"] == ["no earlier run of this step"]

    second = _run(experiment, build())
    assert _reused(second) == {"prep": True, "a": True, "b": True, "join": True}
    for name, step in second.items():
        assert step.get_status() == "Finished"
        assert step.reuse_decision["reused_run_id"] == first[name].id
        assert step.reuse_decision["reasons"] == [
            f"reused the outputs of step run {first[name].id} (same key)"
        ]
    joined = second["join"].get_output_data("joined")
    assert joined.path_on_datastore == f"azureml/{first['join'].id}/joined"
    assert joined.local_path().read_text() == "base-a|base-b"


def test_changed_argument_reruns_that_step_and_the_consumer_of_its_changed_output(
    experiment, build
):
    _run(experiment, build(a_suffix="-a"))
    steps = _run(experiment, build(a_suffix="-A"))

    assert _reused(steps) == {"prep": True, "a": False, "b": True, "join": False}
    assert [r.split(":")[0] for r in steps["a"].reuse_decision["reasons"]] == [
        "arguments[2] changed"
    ]
    assert steps["join"].reuse_decision["reasons"] == [
        "input 'a' content changed (output 'a' of step 'a')"
    ]
    assert steps["join"].get_output_data("joined").local_path().read_text() == "base-A|base-b"


def test_changed_source_file_reruns_only_that_step_when_its_output_is_the_same(
    experiment, build, write_script
):
    _run(experiment, build())
    write_script("b", MIDDLE + "# a comment changes the file, not what it writes\n")
    steps = _run(experiment, build())

    assert _reused(steps) == {"prep": True, "a": True, "b": False, "join": True}
    assert steps["b"].reuse_decision["reasons"] == ["source file changed: b.py"]


def test_added_source_file_in_one_step_folder_leaves_other_steps_reused(
    experiment, build, write_script
):
    _run(experiment, build())
    write_script("a", "HELPER = 1\n", file="helper.py")
    steps = _run(experiment, build())

    assert _reused(steps) == {"prep": True, "a": False, "b": True, "join": True}
    assert steps["a"].reuse_decision["reasons"] == ["source file added: helper.py"]


def test_upstream_rerun_with_identical_output_lets_its_consumers_be_reused(experiment, build):
    _run(experiment, build())
    steps = _run(experiment, build(prep_reuse=False))

    assert _reused(steps) == {"prep": False, "a": True, "b": True, "join": True}
    assert steps["prep"].reuse_decision["reasons"] == ["allow_reuse=False"]


def test_upstream_rerun_with_changed_output_reruns_every_consumer(experiment, build, write_script):
    _run(experiment, build())
    write_script("prep", PREP.replace('write("base")', 'write("BASE")'))
    steps = _run(experiment, build())

    assert _reused(steps) == {"prep": False, "a": False, "b": False, "join": False}
    assert steps["prep"].reuse_decision["reasons"] == ["source file changed: prep.py"]
    for name in ("a", "b"):
        assert steps[name].reuse_decision["reasons"] == [
            "input 'prepped' content changed (output 'prepped' of step 'prep')"
        ]
    assert steps["join"].get_output_data("joined").local_path().read_text() == "BASE-a|BASE-b"


def test_allow_reuse_false_reruns_the_step_every_time(experiment, build):
    _run(experiment, build(prep_reuse=False))
    steps = _run(experiment, build(prep_reuse=False))
    assert steps["prep"].reuse_decision == {
        "key": steps["prep"].reuse_decision["key"],
        "reused": False,
        "reasons": ["allow_reuse=False"],
    }


def test_regenerate_outputs_reruns_every_step(experiment, build):
    first = _run(experiment, build())
    steps = _run(experiment, build(), regenerate_outputs=True)

    assert _reused(steps) == {"prep": False, "a": False, "b": False, "join": False}
    for name, step in steps.items():
        assert step.reuse_decision["reasons"] == ["regenerate_outputs=True"]
        assert step.id != first[name].id


# -- where reuse is recorded ---------------------------------------------------------------------


def _driver(experiment, run_id):
    """The process a run's record names as responsible for it, and whether one was started in
    the background for it (it writes a driver log)."""
    from hyperpipe.core import _paths

    ws = experiment.workspace
    record = ws._store.get_run(run_id)
    return record.pid, (_paths.run_dir(ws.root, run_id) / "driver.log").exists()


def test_unchanged_resubmit_has_ended_when_submit_returns_without_a_background_process(
    experiment, build
):
    _run(experiment, build())

    run = experiment.submit(build())

    # No wait: every step was reused by the submitting process itself.
    assert run.get_status() == "Finished"
    assert _driver(experiment, run.id) == (os.getpid(), False)
    steps = {s.name: s for s in run.get_steps()}
    assert _reused(steps) == {"prep": True, "a": True, "b": True, "join": True}
    assert {_driver(experiment, s.id)[0] for s in steps.values()} == {os.getpid()}


def test_resubmit_hands_over_to_the_orchestrator_at_the_first_step_that_must_run(experiment, build):
    _run(experiment, build(a_suffix="-a"))

    run = experiment.submit(build(a_suffix="-A"))
    assert run.wait_for_completion(show_output=False) == "Finished"

    pid, started = _driver(experiment, run.id)
    assert started and pid != os.getpid()
    steps = {s.name: s for s in run.get_steps()}
    assert _reused(steps) == {"prep": True, "a": False, "b": True, "join": False}
    # prep was recorded before the hand-over; the orchestrator adopted it and did the rest.
    assert _driver(experiment, steps["prep"].id)[0] == os.getpid()
    assert {_driver(experiment, steps[n].id)[0] for n in ("a", "b", "join")} == {pid}
    assert steps["join"].get_output_data("joined").local_path().read_text() == "base-A|base-b"


def test_step_that_disallows_reuse_is_left_to_the_orchestrator_from_the_start(experiment, build):
    _run(experiment, build(prep_reuse=False))

    run = experiment.submit(build(prep_reuse=False))
    assert run.wait_for_completion(show_output=False) == "Finished"

    pid, started = _driver(experiment, run.id)
    assert started and pid != os.getpid()
    steps = {s.name: s for s in run.get_steps()}
    assert {_driver(experiment, s.id)[0] for s in steps.values()} == {pid}


# -- dataset inputs ------------------------------------------------------------------------------

COUNT = """
import os, sys
src, out = sys.argv[1:3]
names = sorted(os.listdir(src))
open(out, "w").write(",".join(f"{n}={open(os.path.join(src, n)).read()}" for n in names))
"""


@pytest.fixture
def docs(ws):
    """``docs/{1,2}.txt`` on the default datastore; ``docs.write(name, text)`` changes one and
    ``docs.register()`` registers the folder as dataset ``docs`` (a new version if changed)."""
    store = Datastore.get(ws, "workspaceblobstore")
    root = store._local_path("docs")
    root.mkdir(parents=True)

    class Docs:
        @staticmethod
        def write(name, text):
            (root / name).write_text(text)

        @staticmethod
        def register():
            return Dataset.File.from_files((store, "docs")).register(
                ws, "docs", create_new_version=True
            )

    Docs.write("1.txt", "one")
    Docs.write("2.txt", "two")
    return Docs


@pytest.fixture
def count_pipeline(ws, make_step):
    def make(dataset):
        counted = PipelineData("counted")
        step = make_step(
            "count",
            COUNT,
            arguments=[dataset.as_named_input("x").as_mount(), counted],
            outputs=[counted],
        )
        return Pipeline(ws, [step])

    return make


def test_dataset_version_with_changed_bytes_reruns_its_consumer(experiment, docs, count_pipeline):
    v1 = docs.register()
    first = _run(experiment, count_pipeline(v1))["count"]
    assert first.get_output_data("counted").local_path().read_text() == "1.txt=one,2.txt=two"

    docs.write("2.txt", "TWO")
    v2 = docs.register()
    assert (v1.version, v2.version) == (1, 2)
    step = _run(experiment, count_pipeline(v2))["count"]

    assert step.reuse_decision["reused"] is False
    assert step.reuse_decision["reasons"] == [
        "input 'x' content changed: dataset docs:1 -> dataset docs:2"
    ]
    assert step.get_output_data("counted").local_path().read_text() == "1.txt=one,2.txt=TWO"


def test_new_dataset_version_with_identical_bytes_is_reused(experiment, docs, count_pipeline):
    v1 = docs.register()
    first = _run(experiment, count_pipeline(v1))["count"]

    docs.write("2.txt", "changed for a while")
    docs.register()
    docs.write("2.txt", "two")  # back to the bytes of version 1
    v3 = docs.register()
    assert v3.version == 3 and v3.content_hash == v1.content_hash
    step = _run(experiment, count_pipeline(v3))["count"]

    assert step.reuse_decision["reused"] is True
    assert step.reuse_decision["reused_run_id"] == first.id
