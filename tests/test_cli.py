"""The command line, run as a real process: help, workspace, runs, logs --follow, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import typer

from hyperpipe.cli import app
from hyperpipe.core import Run, Workspace


def hyperpipe(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"hyperpipe {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    hyperpipe("init", str(tmp_path / "proj"), "--name", "cliws", cwd=tmp_path)
    code = tmp_path / "proj" / "code"
    code.mkdir()
    (code / "train.py").write_text(
        textwrap.dedent(
            """
            import sys
            from hyperpipe.core import Run
            run = Run.get_context()
            print("hello from", sys.argv[1:])
            run.log("accuracy", 0.75)
            if "--fail" in sys.argv:
                raise SystemExit("bad input data")
            """
        )
    )
    return tmp_path / "proj"


@pytest.mark.parametrize("columns", ["80", "200"])
def test_root_help_printed_without_typer_is_what_typer_prints(tmp_path, columns):
    env = {**os.environ, "COLUMNS": columns}
    through_typer = (
        "import sys; sys.argv = ['hyperpipe', '--help']\n"
        "from hyperpipe.cli._main import main\n"
        "main()\n"
    )
    printed = [
        subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        for cmd in (
            [sys.executable, "-m", "hyperpipe", "--help"],
            [sys.executable, "-c", through_typer],
        )
    ]
    assert printed[0].stdout == printed[1].stdout, "update hyperpipe/cli/_root_help.py"


def test_root_help_on_a_narrow_terminal_is_wrapped_by_typer(tmp_path):
    env = {**os.environ, "COLUMNS": "60"}
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert max(len(line) for line in result.stdout.splitlines()) <= 60
    assert "Commands" in result.stdout


def _commands(group: Any, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


def test_every_command_and_option_has_help(tmp_path):
    root = typer.main.get_command(app)
    seen = 0
    for path, command in _commands(root):
        assert command.help, f"`hyperpipe {' '.join(path)}` has no help text"
        for param in command.params:
            if param.name != "help":
                assert getattr(param, "help", None), (
                    f"`hyperpipe {' '.join(path)}` {param.name} has no help"
                )
        result = hyperpipe(*path, "--help", cwd=tmp_path)
        assert "Usage:" in result.stdout
        # Flags read as flags and docstrings as prose: no type on a flag, no reST quotes.
        assert "<bool>" not in result.stdout, f"hyperpipe {' '.join(path)} --help"
        assert "`" not in result.stdout, f"hyperpipe {' '.join(path)} --help"
        seen += 1
    assert seen >= 12


def test_run_streams_output_and_runs_are_listed_and_shown(project):
    result = hyperpipe("run", "code/train.py", "--lr", "0.1", "-e", "cli", cwd=project)
    assert "hello from ['--lr', '0.1', '-e', 'cli']" in result.stdout
    run_id = next(
        line.split()[2] for line in result.stderr.splitlines() if line.startswith("Submitted run")
    )
    listing = hyperpipe("runs", "list", cwd=project).stdout
    assert run_id[:12] in listing and "Completed" in listing
    assert re.search(r"Run 1\s+train\.py\s+default\s", listing)  # numbered and named, id last
    shown = hyperpipe("runs", "show", run_id, cwd=project).stdout
    assert "accuracy" in shown and "0.75" in shown and "Completed" in shown
    assert "hello from" in hyperpipe("runs", "logs", run_id, cwd=project).stdout
    assert "default" in hyperpipe("experiments", "list", cwd=project).stdout


def test_failed_run_exits_non_zero_with_its_error(project):
    result = hyperpipe("run", "code/train.py", "--fail", cwd=project, check=False)
    assert result.returncode == 1
    assert "Error: bad input data" in result.stderr or "Failed" in result.stderr


def test_unknown_run_id_is_a_one_line_error(project):
    for command in (("runs", "show", "nope"), ("runs", "logs", "nope"), ("runs", "cancel", "nope")):
        result = hyperpipe(*command, cwd=project, check=False)
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            "Error: no run with id 'nope' in this workspace; list runs with `hyperpipe runs list`"
        ]


def test_an_unknown_status_filter_lists_the_status_words(project):
    result = hyperpipe("runs", "list", "--status", "Done", cwd=project, check=False)
    assert result.returncode == 1
    assert "unknown status 'Done'; use one of: NotStarted" in result.stderr
    assert "Traceback" not in result.stderr


def test_commands_outside_a_workspace_say_how_to_create_one(tmp_path):
    result = hyperpipe("runs", "list", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert (
        "could not find a workspace config" in result.stderr and "hyperpipe init" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_logs_follow_streams_a_running_script(project):
    (project / "code" / "ticker.py").write_text(
        textwrap.dedent(
            """
            import os, time
            for i in range(3):
                print(f"tick {i}", flush=True)
                time.sleep(0.1)
            while not os.path.exists(os.environ["GO_FILE"]):
                time.sleep(0.05)
            print("done", flush=True)
            """
        )
    )
    go = project / "go"
    import os

    os.environ["GO_FILE"] = str(go)
    try:
        run_id = hyperpipe("run", "--no-wait", "code/ticker.py", cwd=project).stdout.strip()
    finally:
        del os.environ["GO_FILE"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "hyperpipe", "runs", "logs", run_id, "--follow"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [follower.stdout.readline() for _ in range(3)]
    assert [line.strip() for line in lines] == ["tick 0", "tick 1", "tick 2"]
    ws = Workspace.from_config(path=project)
    assert Run.get(ws, run_id).get_status() == "Running"  # streamed while it runs
    go.touch()
    out, err = follower.communicate(timeout=60)
    assert out.strip() == "done"
    assert "Completed" in err


def test_cancel_from_the_command_line(project):
    (project / "code" / "sleeper.py").write_text(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n"
    )
    run_id = hyperpipe("run", "--no-wait", "code/sleeper.py", cwd=project).stdout.strip()
    ws = Workspace.from_config(path=project)
    run = Run.get(ws, run_id)
    deadline = time.monotonic() + 30
    while run.get_status() != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Cancel requested" in hyperpipe("runs", "cancel", run_id, cwd=project).stdout
    run.wait_for_completion()
    assert run.get_status() == "Canceled"


def test_gpus_shared_by_several_runs_from_the_command_line(project):
    added = hyperpipe("compute", "add", "gpu", "--gpus", "0", "--trials-per-gpu", "4", cwd=project)
    assert "4 at once, GPUs [0], up to 4 runs per GPU" in added.stdout
    listing = hyperpipe("compute", "list", cwd=project).stdout
    assert re.search(r"gpu\s+local\s+4\s+0\s+4", listing)
    alone = hyperpipe("compute", "add", "x", "--trials-per-gpu", "2", cwd=project, check=False)
    assert alone.returncode == 1
    assert "--trials-per-gpu 2 needs --gpus (the GPUs to share)" in alone.stderr
    over = ["compute", "add", "x", "--gpus", "0", "--trials-per-gpu", "2", "--max-concurrency", "3"]
    too_many = hyperpipe(*over, cwd=project, check=False)
    assert too_many.returncode == 1
    assert "max_concurrency 3 would put more than 2 runs on a GPU" in too_many.stderr
    assert "x" not in hyperpipe("compute", "list", cwd=project).stdout.split()


def test_compute_targets_from_the_command_line(project):
    hyperpipe("compute", "add", "gpu", "--max-concurrency", "2", "--gpus", "0,1", cwd=project)
    listing = hyperpipe("compute", "list", cwd=project).stdout
    assert "gpu" in listing and "0,1" in listing
    bad = hyperpipe("compute", "add", "x", "--gpus", "zero", cwd=project, check=False)
    assert bad.returncode == 1 and "--gpus must be comma-separated integers" in bad.stderr
    hyperpipe("compute", "remove", "gpu", cwd=project)
    assert "gpu" not in hyperpipe("compute", "list", cwd=project).stdout
    unknown = hyperpipe("run", "-t", "nope", "code/train.py", cwd=project, check=False)
    assert (
        "compute target 'nope' is not defined" in unknown.stderr
        and "known targets: local" in unknown.stderr
    )


def test_a_ray_target_from_the_command_line_and_its_bad_input(project):
    added = hyperpipe(
        "compute",
        "add",
        "cluster",
        "--type",
        "ray",
        "--address",
        "10.0.0.5:6379",
        "--max-concurrency",
        "4",
        "--resources",
        '{"node_b": 1}',
        cwd=project,
    ).stdout
    assert "Ray cluster at 10.0.0.5:6379, 4 at once" in added
    listing = hyperpipe("compute", "list", cwd=project).stdout
    assert re.search(r"cluster\s+ray\s+4", listing)
    missing = hyperpipe("compute", "add", "x", "--type", "ray", cwd=project, check=False)
    assert missing.returncode == 1 and "--type ray needs --address" in missing.stderr
    bad = hyperpipe(
        "compute",
        "add",
        "x",
        "--type",
        "ray",
        "--address",
        "auto",
        "--resources",
        "{node",
        cwd=project,
        check=False,
    )
    assert bad.returncode == 1 and "--resources must be JSON like" in bad.stderr


def test_error_text_is_shown_as_it_is_never_read_as_markup(project):
    result = hyperpipe("runs", "show", "abc[/]", cwd=project, check=False)
    assert result.returncode == 1
    assert "abc[/]" in result.stderr and "Traceback" not in result.stderr
    result = hyperpipe("datasets", "list", "--name", "no[bold]such", cwd=project, check=False)
    assert "no dataset named 'no[bold]such'; registered: none yet" in result.stderr


def test_bracketed_text_in_an_error_keeps_its_brackets(tmp_path):
    # Like the hint pip install 'hyperpipe[postgres]': Rich would take [postgres] for markup.
    folder = tmp_path / "data[postgres]"
    folder.mkdir()
    result = hyperpipe("-w", str(folder), "runs", "list", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert f"in {folder} or its parents" in result.stderr


def test_init_on_a_file_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "afile").write_text("")
    result = hyperpipe("init", str(tmp_path / "afile"), cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"Error: {tmp_path / 'afile'} is a file; pass a folder to create the workspace in"
    )


def test_ctrl_c_while_waiting_says_the_run_goes_on_and_how_to_cancel_it(project):
    import os
    import signal

    (project / "code" / "sleeper.py").write_text(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n"
    )
    # A terminal's Ctrl-C signals the whole foreground group: the CLI is given a group of its own
    # and the group gets SIGINT, as a person pressing Ctrl-C would send it. Its SIGINT is the
    # default a terminal gives, whatever the tests inherited (a shell's background job ignores it).
    waiting = subprocess.Popen(
        [sys.executable, "-m", "hyperpipe", "run", "code/sleeper.py"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert waiting.stdout.readline().strip() == "sleeping"  # the script runs and is streamed
    os.killpg(waiting.pid, signal.SIGINT)
    _, err = waiting.communicate(timeout=60)
    run_id = next(line.split()[2] for line in err.splitlines() if line.startswith("Submitted run"))
    assert waiting.returncode == 130
    assert f"The run {run_id} goes on in the background." in err
    assert f"hyperpipe runs cancel {run_id}" in err
    assert f"hyperpipe runs logs --follow {run_id}" in err
    assert "Traceback" not in err
    ws = Workspace.from_config(path=project)
    run = Run.get(ws, run_id)
    time.sleep(1.0)  # the run outlives the interrupted command
    assert run.get_status() == "Running"
    run.cancel()
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Canceled"


def test_runs_show_on_an_80_trial_sweep_is_a_short_sorted_summary(project):
    import json

    from hyperpipe.core import Experiment, ScriptRunConfig
    from hyperpipe.core.compute import ComputeTarget, LocalCompute
    from hyperpipe.testing.faults import stop_unfinished_runs
    from hyperpipe.train.hyperdrive import (
        GridParameterSampling,
        HyperDriveConfig,
        PrimaryMetricGoal,
        choice,
    )

    (project / "code" / "trial.py").write_text(
        textwrap.dedent(
            """
            import argparse
            from hyperpipe.core import Run
            parser = argparse.ArgumentParser()
            parser.add_argument("--lr", type=float)
            parser.add_argument("--layers", type=int)
            args = parser.parse_args()
            Run.get_context().log("accuracy", args.lr * args.layers)
            """
        )
    )
    ws = Workspace.from_config(path=project)
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=4))
    space = {"--lr": choice(*[i / 100 for i in range(1, 21)]), "--layers": choice(1, 2, 3, 4)}
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(project / "code", "trial.py", compute_target="cpu"),
        hyperparameter_sampling=GridParameterSampling(space),
        primary_metric_name="accuracy",
        primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=80,
        max_concurrent_runs=4,
    )
    try:
        sweep = Experiment(ws, "sweep").submit(config)
        sweep.wait_for_completion()
    finally:
        stop_unfinished_runs(ws)

    shown = hyperpipe("runs", "show", sweep.id, cwd=project).stdout
    lines = [line.strip() for line in shown.splitlines()]
    assert len(lines) < 60, shown
    assert "80 trials (80 Completed), max 80; primary metric accuracy (MAXIMIZE)" in shown
    assert "_aml_system_" not in shown  # the per-trial bookkeeping stays in the portal
    table = [line for line in lines if line.startswith(sweep.id + "_")]
    values = [float(line.split()[2]) for line in table]
    assert len(table) == 20 and values == sorted(values, reverse=True)
    best = json.loads(sweep.get_best_run_by_primary_metric().properties["hyperparameters"])
    assert table[0].split()[3:] == [f"--lr={best['--lr']:g}", f"--layers={best['--layers']}"]
    assert "--layers=4" in table[0] and "--layers=4.0" not in shown  # integers stay integers
    assert "... 60 more trials" in shown
