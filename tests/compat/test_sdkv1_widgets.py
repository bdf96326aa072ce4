"""``azureml.widgets.RunDetails(run).show()`` written as SDK v1 code, run through the alias:
a table of steps (or trials) and the run's portal address; in a terminal it follows the run to
its end, elsewhere it prints once and returns at once."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time

from tests.compat.conftest import alias_env

PIPELINE = """
import json, sys, time
from azureml.core import Experiment, Workspace
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.pipeline.steps import PythonScriptStep
from azureml.widgets import RunDetails

ws = Workspace.create("widget", path="ws")
data = PipelineData("data")
first = PythonScriptStep("slow.py", name="prepare", source_directory="code", outputs=[data],
                         arguments=["--out", data])
second = PythonScriptStep("slow.py", name="train", source_directory="code", inputs=[data],
                          arguments=["--out", "unused"])
run = Experiment(ws, "widget").submit(Pipeline(ws, [first, second]))
RunDetails(run).show()
status_after_show = run.get_status()
print("AFTER SHOW", status_after_show, flush=True)
run.wait_for_completion(show_output=False)
if not sys.stdout.isatty():
    RunDetails(run).show()
    print(json.dumps({"after_show": status_after_show, "widget": RunDetails(run).get_widget_data()}))
"""

SLOW = """
import argparse, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
time.sleep(1.5)
os.makedirs(args.out, exist_ok=True)
"""


def test_run_details_prints_the_steps_and_the_portal_address_and_returns(sdkv1, write):
    write("code/slow.py", SLOW)
    ran = sdkv1(PIPELINE)
    result = ran.result
    assert result["after_show"] in ("NotStarted", "Queued", "Running")  # returned at once
    widget = result["widget"]
    assert widget["title"].startswith("PipelineRun ") and widget["title"].endswith(": Finished")
    assert widget["url"].startswith("http://127.0.0.1:8765/runs/")
    assert widget["columns"] == ["Step", "Status", "Duration", "Run id"]
    assert [row[:2] for row in widget["rows"]] == [["prepare", "Finished"], ["train", "Finished"]]
    run_id = widget["title"].split(" ")[1].rstrip(":")
    first, final = ran.stdout.split("AFTER SHOW", 1)
    assert f"Portal: http://127.0.0.1:8765/runs/{run_id}" in first.replace("\n", "")
    assert "prepare" in first and "Step" in first  # the first table, printed before the end
    final_table = final.split("\n", 1)[1].splitlines()  # shown again once it had finished
    for step in ("prepare", "train"):
        assert any(step in line and "Finished" in line for line in final_table), final


def test_run_details_in_a_terminal_follows_the_run_to_its_end(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "slow.py").write_text(textwrap.dedent(SLOW))
    script = tmp_path / "pipeline.py"
    script.write_text(textwrap.dedent(PIPELINE))
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**alias_env(), "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the script ended
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
    finally:
        os.close(leader)
        process.wait(timeout=60)
    text = output.decode(errors="replace")
    assert process.returncode == 0, process.stderr.read().decode(errors="replace")[-3000:]
    assert "AFTER SHOW Finished" in text  # show() returned only when the run had ended
    assert "Portal: http://127.0.0.1:8765/runs/" in text
    assert "Running" in text  # the table was drawn while the steps ran, then updated
