"""Running a pipeline: parallel steps, data passed as files and folders, parameters, outputs."""

from __future__ import annotations

import json

from hyperpipe.pipeline.core import Pipeline, PipelineData, PipelineParameter

PREP = """
import json, os, sys
out = sys.argv[1]
os.makedirs(out)  # a FOLDER output: the path does not exist yet
with open(os.path.join(out, "words.txt"), "w") as f:
    f.write("prep")
print("FACTS", json.dumps({"out_arg": out, "out_env": os.environ.get("AZUREML_DATAREFERENCE_prepped")}))
"""

# a and b each wait until the other one has started: the test only passes if they run together.
MIDDLE = """
import json, os, sys, time
src, out, meet, me = sys.argv[1:5]
open(os.path.join(meet, me), "w").close()
deadline = time.time() + 20
while not os.path.exists(os.path.join(meet, "b" if me == "a" else "a")):
    if time.time() > deadline:
        sys.exit("the other middle step never ran alongside this one")
    time.sleep(0.01)
with open(out, "w") as f:  # a FILE output: the path itself is written
    f.write(open(os.path.join(src, "words.txt")).read() + "->" + me)
print("FACTS", json.dumps({
    "in_arg": src, "in_env": os.environ.get("AZUREML_DATAREFERENCE_prepped"),
    "out_arg": out, "out_env": os.environ.get(f"AZUREML_DATAREFERENCE_{me}_out"),
}))
"""

JOIN = """
import os, sys
a, b, out = sys.argv[1:4]
os.makedirs(out)
with open(os.path.join(out, "joined.txt"), "w") as f:
    f.write(open(a).read() + "|" + open(b).read())
"""


def _diamond(make_step, meet):
    prepped = PipelineData("prepped")
    a_out, b_out = PipelineData("a_out"), PipelineData("b_out")
    joined = PipelineData("joined", pipeline_output_name="result")
    prep = make_step("prep", PREP, arguments=[prepped], outputs=[prepped])
    a = make_step(
        "a", MIDDLE, arguments=[prepped, a_out, str(meet), "a"], inputs=[prepped], outputs=[a_out]
    )
    b = make_step(
        "b", MIDDLE, arguments=[prepped, b_out, str(meet), "b"], inputs=[prepped], outputs=[b_out]
    )
    join = make_step(
        "join", JOIN, arguments=[a_out, b_out, joined], inputs=[a_out, b_out], outputs=[joined]
    )
    return [prep, a, b, join]


def test_diamond_runs_its_middle_steps_at_the_same_time_and_finishes(
    ws, experiment, make_step, tmp_path
):
    meet = tmp_path / "meet"
    meet.mkdir()
    pipeline = Pipeline(ws, _diamond(make_step, meet))
    run = experiment.submit(pipeline)

    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.get_status() == "Finished"
    steps = {s.name: s for s in run.get_steps()}
    assert {name: s.get_status() for name, s in steps.items()} == {
        "prep": "Finished",
        "a": "Finished",
        "b": "Finished",
        "join": "Finished",
    }
    a, b = steps["a"]._record, steps["b"]._record
    assert a.started_at < b.ended_at and b.started_at < a.ended_at  # the spans overlap
    prep, join = steps["prep"]._record, steps["join"]._record
    assert prep.ended_at <= min(a.started_at, b.started_at)
    assert join.started_at >= max(a.ended_at, b.ended_at)


def test_pipeline_data_passes_a_folder_and_a_file_and_is_named_in_environment_variables(
    ws, experiment, make_step, facts, tmp_path
):
    meet = tmp_path / "meet"
    meet.mkdir()
    run = experiment.submit(Pipeline(ws, _diamond(make_step, meet)))
    run.wait_for_completion(show_output=False)
    steps = {s.name: s for s in run.get_steps()}

    folder = steps["prep"].get_output_data("prepped").local_path()
    assert folder.is_dir() and (folder / "words.txt").read_text() == "prep"
    file = steps["a"].get_output_data("a_out").local_path()
    assert file.is_file() and file.read_text() == "prep->a"
    assert steps["b"].get_output_data("b_out").local_path().read_text() == "prep->b"
    joined = steps["join"].get_output_data("joined").local_path()
    assert (joined / "joined.txt").read_text() == "prep->a|prep->b"

    # Producers and consumers both get AZUREML_DATAREFERENCE_<name>, equal to the argument.
    prep_facts = facts(steps["prep"])
    assert prep_facts["out_env"] == prep_facts["out_arg"]
    for name in ("a", "b"):
        seen = facts(steps[name])
        assert seen["in_env"] == seen["in_arg"] and seen["out_env"] == seen["out_arg"]
        assert open(f"{seen['in_arg']}/words.txt").read() == "prep"  # the committed folder
    assert facts(steps["a"])["out_env"] != facts(steps["b"])["out_env"]


def test_pipeline_output_downloads_to_azureml_step_run_id_output_name(
    ws, experiment, make_step, tmp_path
):
    meet = tmp_path / "meet"
    meet.mkdir()
    run = experiment.submit(Pipeline(ws, _diamond(make_step, meet)))
    run.wait_for_completion(show_output=False)
    join_run = run.find_step_run("join")[0]

    output = run.get_pipeline_output("result")
    assert output.path_on_datastore == f"azureml/{join_run.id}/joined"
    local = tmp_path / "download"
    assert output.download(local) == 1
    downloaded = local / "azureml" / join_run.id / "joined" / "joined.txt"
    assert downloaded.read_text() == "prep->a|prep->b"


PARAMS = """
import json, os, sys
print("FACTS", json.dumps({
    "argv": sys.argv[1:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("AML_PARAMETER_")},
}))
"""


def test_pipeline_parameters_reach_arguments_and_params_with_default_or_submitted_value(
    ws, experiment, make_step, facts
):
    greeting = PipelineParameter("greeting", "hello")
    times = PipelineParameter("times", 2)
    step = make_step(
        "show",
        PARAMS,
        arguments=["--greeting", greeting, "--times", times],
        params={"mode": greeting, "repeat-count": times, "fixed": "yes"},
    )
    pipeline = Pipeline(ws, [step])

    default = experiment.submit(pipeline)
    assert default.wait_for_completion(show_output=False) == "Finished"
    override = experiment.submit(pipeline, pipeline_parameters={"greeting": "bonjour", "times": 5})
    assert override.wait_for_completion(show_output=False) == "Finished"

    assert facts(default.find_step_run("show")[0]) == {
        "argv": ["--greeting", "hello", "--times", "2"],
        "env": {
            "AML_PARAMETER_mode": "hello",
            "AML_PARAMETER_repeat_count": "2",
            "AML_PARAMETER_fixed": "yes",
        },
    }
    assert facts(override.find_step_run("show")[0]) == {
        "argv": ["--greeting", "bonjour", "--times", "5"],
        "env": {
            "AML_PARAMETER_mode": "bonjour",
            "AML_PARAMETER_repeat_count": "5",
            "AML_PARAMETER_fixed": "yes",
        },
    }


# Records how the step was started and what it sees of itself, then waits a moment the first
# time, so the run's step server is ready for the steps after it.
WHO = """
import json, os, sys, time
import psutil
from hyperpipe.core import Run
parent = " ".join(psutil.Process(os.getppid()).cmdline())
seen = {"forked": "_zygote_server" in parent, "name": __name__,
        "spare": "_standby.py" in " ".join(psutil.Process().cmdline()),
        "script": os.path.basename(sys.argv[0]), "cwd": os.getcwd(),
        "run": Run.get_context().id == os.environ["AZUREML_RUN_ID"]}
if sys.argv[1] == "-":
    time.sleep(1)
os.makedirs(sys.argv[2])
json.dump(seen, open(os.path.join(sys.argv[2], "seen.json"), "w"))
"""


def test_a_chain_steps_after_the_first_start_as_forks_of_a_step_server_seeing_what_a_script_would(
    experiment, make_step
):
    steps, previous = [], None
    for i in range(4):
        out = PipelineData(f"out{i}")
        inputs = [previous] if previous is not None else []
        steps.append(
            make_step(
                f"s{i}",
                WHO,
                arguments=[previous if previous is not None else "-", out],
                inputs=inputs,
                outputs=[out],
            )
        )
        previous = out

    run = experiment.submit(Pipeline(experiment.workspace, steps))
    assert run.wait_for_completion(show_output=False) == "Finished"

    seen = {}
    for step in run.get_steps():
        folder = step.get_output_data(f"out{step.name[1:]}").local_path()
        seen[step.name] = json.loads((folder / "seen.json").read_text())
    # The first starts while the server is still starting (from the spare interpreter the
    # orchestrator started at once); the others are its forks.
    assert {name: (s["forked"], s["spare"]) for name, s in seen.items()} == {
        "s0": (False, True),
        "s1": (True, False),
        "s2": (True, False),
        "s3": (True, False),
    }
    for name, s in seen.items():
        assert (s["name"], s["script"], s["run"]) == ("__main__", f"{name}.py", True)
        assert s["cwd"].endswith("/wd")


def test_a_pipeline_of_few_steps_starts_each_from_a_spare_interpreter_not_a_fork_server(
    experiment, make_step
):
    # Too few to repay a fork server's start-up: each step becomes an interpreter started ahead
    # (the first while the orchestrator was being recorded, the second while the first ran).
    first, second = PipelineData("out0"), PipelineData("out1")
    steps = [
        make_step("s0", WHO, arguments=["-", first], outputs=[first]),
        make_step("s1", WHO, arguments=[first, second], inputs=[first], outputs=[second]),
    ]
    run = experiment.submit(Pipeline(experiment.workspace, steps))
    assert run.wait_for_completion(show_output=False) == "Finished"
    for step in run.get_steps():
        folder = step.get_output_data(f"out{step.name[1:]}").local_path()
        seen = json.loads((folder / "seen.json").read_text())
        assert (seen["forked"], seen["spare"], seen["script"]) == (False, True, f"{step.name}.py")
