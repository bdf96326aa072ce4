"""``hyperpipe pipelines ...`` as a real process: list, show, why, resume and cancel."""

from __future__ import annotations

import subprocess
import sys
import time

from hyperpipe.pipeline.core import Pipeline, PipelineData


def hyperpipe(ws, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "-w", str(ws.root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _two_steps(ws, make_step, target, word: str):
    data = PipelineData("words")
    first = make_step(
        "first",
        f"import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(sys.argv[1] + '/w', 'w').write({word!r})\n",
        arguments=[data],
        outputs=[data],
        compute_target=target,
    )
    second = make_step(
        "second",
        "import sys\nprint(open(sys.argv[1] + '/w').read())\n",
        arguments=[data],
        inputs=[data],
        compute_target=target,
    )
    return Pipeline(ws, [first, second])


def test_list_show_and_why_explain_a_rerun(ws, experiment, make_step, target):
    first = experiment.submit(_two_steps(ws, make_step, target, "one"))
    assert first.wait_for_completion(show_output=False) == "Finished"
    second = experiment.submit(_two_steps(ws, make_step, target, "two"))
    assert second.wait_for_completion(show_output=False) == "Finished"

    listing = hyperpipe(ws, "pipelines", "list").stdout
    assert first.id in listing and second.id in listing and "2/2" in listing
    shown = hyperpipe(ws, "pipelines", "show", second.id).stdout
    assert "first" in shown and "second" in shown and "Finished" in shown

    step = second.find_step_run("first")[0]
    why = hyperpipe(ws, "pipelines", "why", step.id).stdout
    assert "ran" in why and "source file changed: first.py" in why
    downstream = second.find_step_run("second")[0]
    assert (
        "input 'words' content changed" in hyperpipe(ws, "pipelines", "why", downstream.id).stdout
    )

    third = experiment.submit(_two_steps(ws, make_step, target, "two"))
    third.wait_for_completion(show_output=False)
    reused = hyperpipe(ws, "pipelines", "why", third.find_step_run("first")[0].id).stdout
    assert "reused" in reused and step.id in reused


def test_resume_and_cancel_refuse_what_they_cannot_do(ws, experiment, make_step, target):
    run = experiment.submit(_two_steps(ws, make_step, target, "x"))
    run.wait_for_completion(show_output=False)
    finished = hyperpipe(ws, "pipelines", "resume", run.id, check=False)
    assert finished.returncode == 1
    assert "only Failed, Canceled or Crashed pipeline runs can be resumed" in finished.stderr
    step_id = run.find_step_run("first")[0].id
    wrong = hyperpipe(ws, "pipelines", "show", step_id, check=False)
    assert wrong.returncode == 1 and "not a pipeline run" in wrong.stderr


def test_cancel_then_resume_from_the_command_line(ws, experiment, make_step, target):
    step = make_step("sleeper", "import time\ntime.sleep(60)\n", compute_target=target)
    run = experiment.submit(Pipeline(ws, [step]))
    deadline = time.monotonic() + 30
    while not any(s.get_status() == "Running" for s in run.get_steps()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "Cancel requested" in hyperpipe(ws, "pipelines", "cancel", run.id).stdout
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"
    resumed = hyperpipe(ws, "pipelines", "resume", run.id, "--no-wait")
    assert "Resumed" in resumed.stderr
    run.cancel()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"


def test_runs_show_on_a_step_whose_arguments_hold_pipeline_data(ws, experiment, make_step, target):
    run = experiment.submit(_two_steps(ws, make_step, target, "one"))
    assert run.wait_for_completion(show_output=False) == "Finished"
    step = run.find_step_run("first")[0]
    shown = hyperpipe(ws, "runs", "show", step.id)
    assert "Traceback" not in shown.stderr
    assert step.id in shown.stdout and "script     first.py" in shown.stdout


def test_why_prints_only_the_changed_setting_as_a_diff(ws, experiment, make_step, target):
    arguments = ["--epochs", 3, "--lr", 0.1, "--batch", 64, "--seed", 1]
    code = "print('training')\n"
    first = experiment.submit(Pipeline(ws, [make_step("train", code, arguments=arguments)]))
    assert first.wait_for_completion(show_output=False) == "Finished"
    changed = [*arguments[:3], 0.2, *arguments[4:]]
    second = experiment.submit(Pipeline(ws, [make_step("train", code, arguments=changed)]))
    assert second.wait_for_completion(show_output=False) == "Finished"

    why = hyperpipe(ws, "pipelines", "why", second.find_step_run("train")[0].id).stdout
    lines = why.strip().splitlines()
    assert lines[0].endswith(": ran")
    assert lines[1:3] == ["  - arguments[3]: '0.1'", "  + arguments[3]: '0.2'"]
    # The unchanged entries are left out (checked by line: a run id may well contain "64").
    assert [line for line in lines if "arguments[" in line] == lines[1:3]
    assert "--epochs" not in why
