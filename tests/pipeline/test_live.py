"""The view of a pipeline run while waiting for it: a step that sweeps shows how far its sweep
has got (trials done of all, running, best so far, time left), as a bare sweep's view does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from hyperpipe.core import ScriptRunConfig
from hyperpipe.core._paths import DRIVER_LOG
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import HyperDriveStep, PythonScriptStep
from hyperpipe.train.hyperdrive import (
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from hyperpipe.core import Experiment, Workspace

STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO|WARNING|ERROR) +\S")

TRIAL = """
import argparse, time
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
args = parser.parse_args()
time.sleep(1.5)
Run.get_context().log("accuracy", 0.5 + args.lr)
"""


def test_a_sweeping_step_shows_progress_while_waited_on_and_logs_readable_lines(
    ws: Workspace,
    target: str,
    experiment: Experiment,
    write_script: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = PipelineData("metrics_data")
    sweep = HyperDriveStep(
        name="hypertrain",
        hyperdrive_config=HyperDriveConfig(
            run_config=ScriptRunConfig(
                write_script("trial", TRIAL), "trial.py", compute_target=target
            ),
            hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.1, 0.2, 0.3, 0.4)}),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=4,
            max_concurrent_runs=2,
        ),
        estimator_entry_script_arguments=[],
        metrics_output=metrics,
    )
    after = PythonScriptStep(
        "after.py",
        name="after",
        source_directory=write_script("after", "print('done')", file="after.py"),
        arguments=["--metrics", metrics],
        inputs=[metrics],
        compute_target=target,
    )
    run = experiment.submit(Pipeline(ws, [sweep, after]))
    assert run.wait_for_completion(show_output=True) == "Finished"
    lines = [line for line in capsys.readouterr().out.splitlines() if "step hypertrain: [" in line]
    found = [re.search(r"\[(\d)/4 done, (\d) running", line) for line in lines]
    assert all(found), lines
    done = [int(m.group(1)) for m in found if m]
    assert done == sorted(done) and done[-1] == 4 and len(set(done)) >= 2, lines
    assert "best accuracy 0.9]" in lines[-1]  # 0.5 + 0.4, and no time left once all are done
    assert any(re.search(r"about \d+ s left", line) for line in lines), lines
    # The step's log: lines of timestamp, level and message, a line per trial, no JSON blob.
    step = run.find_step_run("hypertrain")[0]
    text = Path(step.get_details()["logFiles"][DRIVER_LOG]).read_text()
    lines = text.splitlines()
    stamped = [line for line in lines if STAMPED.match(line)]
    assert len(stamped) >= 7 and max(len(line) for line in lines) < 200, text
    assert (
        sum(
            bool(re.search(r"INFO +trial \d \S+_\d: Completed, accuracy 0\.\d", line))
            for line in lines
        )
        == 4
    )
    best = re.search(r"INFO +best: trial (\d) \S+, accuracy 0\.9$", text, re.MULTILINE)
    assert best and re.search(
        rf"trial {best[1]} \S+: Completed, accuracy 0.9, {{\"--lr\": 0.4}}", text
    )
    assert all(STAMPED.match(line) for line in lines), text  # Optuna's too
    assert '{"' + step.id not in text and "Metrics for HyperDrive run" not in text
    # A step that reuses the sweep's results has no sweep of its own to show.
    capsys.readouterr()
    again = experiment.submit(Pipeline(ws, [sweep, after]))
    assert again.wait_for_completion(show_output=True) == "Finished"
    out = capsys.readouterr().out
    assert "hypertrain: Finished (reused)" in out and "step hypertrain: [" not in out
