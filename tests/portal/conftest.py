"""A workspace with one of everything the portal shows, made through the public API with real
processes: script runs (metrics of every kind, files, a failure, hostile names), a pipeline run
twice (the second reuses both steps), a HyperDrive sweep, a dataset and a model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hyperpipe.core import Dataset, Datastore, Experiment, Model, ScriptRunConfig, Workspace
from hyperpipe.core.compute import ComputeTarget, LocalCompute
from hyperpipe.pipeline.core import (
    OutputFileDatasetConfig,
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    Schedule,
    ScheduleRecurrence,
)
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.train.hyperdrive import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    PrimaryMetricGoal,
    choice,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient
    from playwright.sync_api import Browser, Page

# Where browser tests save their screenshots (listed by .ci/run as CI artifacts).
SHOTS = Path(__file__).resolve().parents[1] / "output" / "portal"
XSS = "<script>alert(1)</script>"

TRACKING = """
import os
from hyperpipe.core import Run
run = Run.get_context()
for step in range(50):
    run.log("loss", 1.0 / (step + 1), step=step)
run.log("accuracy", 0.91)
run.log_list("folds", [0.8, 0.85, 0.9])
run.log_table("confusion", {"label": ["cat", "dog"], "right": [40, 45], "wrong": [5, 10]})
for epoch in range(3):
    run.log_row("epochs", epoch=epoch, lr=0.1 / (epoch + 1))
png = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e0a2b1c4"
    "0000000049454e44ae426082"
)
with open("dot.png", "wb") as out:
    out.write(png)
run.log_image("dot", path="dot.png")
os.makedirs("outputs/deep", exist_ok=True)
open("outputs/result.txt", "w").write("forty-two\\n")
open("outputs/deep/page.html", "w").write("<script>alert('from an output')</script>")
print("training done")
"""

HOSTILE = """
from hyperpipe.core import Run
run = Run.get_context()
run.log("<img src=x onerror=alert(2)>", 1.0)
for value in (0.5, 0.4):
    run.log("train/loss", value)  # a name with a slash, as many training loops use
run.tag("<b>tag</b>", "<i>value</i>")
print("<script>alert(3)</script>")
"""

FAILING = """
print("about to fail")
raise SystemExit("the data was bad")
"""

TRIAL = """
import argparse
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
parser.add_argument("--layers", type=int)
args = parser.parse_args()
run = Run.get_context()
for epoch in range(3):
    run.log("accuracy", 0.5 + args.lr * args.layers + 0.01 * epoch)
"""

ALTERNATE = """
import argparse, os, time
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--point")
parser.parse_args()
number = int(os.environ["AZUREML_RUN_ID"].rsplit("_", 1)[1])
quality = 0.9 if number % 2 == 0 else 0.1  # odd trials are poor, whatever point they got
run = Run.get_context()
for epoch in range(30):
    run.log("accuracy", quality + 0.001 * epoch)
    run.flush()
    time.sleep(0.05)
"""

PREP = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--summary")
args = parser.parse_args()
for folder in (args.out, args.summary):
    os.makedirs(folder, exist_ok=True)
open(os.path.join(args.out, "data.txt"), "w").write("prepared")
open(os.path.join(args.summary, "summary.txt"), "w").write("8 characters")
"""

TRAIN = """
import argparse, os
from hyperpipe.core import Run
parser = argparse.ArgumentParser()
parser.add_argument("--data")
args = parser.parse_args()
text = open(os.path.join(args.data, "data.txt")).read()
Run.get_context().log("chars", len(text))
"""


@dataclass
class Lab:
    """The workspace and the ids of the runs in it that tests look at."""

    ws: Workspace
    tracking: str
    hostile: str
    failed: str
    pipeline: str
    pipeline_again: str
    sweep: str
    policy_sweep: str
    dataset: str
    model: str
    published: str = ""
    endpoint: str = ""
    schedule: str = ""


def _script(folder: Path, name: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(code))
    return folder


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    os.environ.pop("HYPERPIPE_STORE_URL", None)
    os.environ.pop("AZUREML_RUN_ID", None)
    root = tmp_path_factory.mktemp("portal")
    ws = Workspace.create("portal", path=root / "ws")
    ComputeTarget.create(ws, "cpu", LocalCompute.provisioning_configuration(max_concurrency=2))
    src = root / "src"

    datastore = Datastore.get(ws, "workspaceblobstore")
    (datastore._local_path("texts") / "a").mkdir(parents=True)
    (datastore._local_path("texts") / "a" / "1.txt").write_text("hello")
    texts = Dataset.File.from_files((datastore, "texts")).register(ws, "texts")

    tracking = Experiment(ws, "tracking")
    good = tracking.submit(
        ScriptRunConfig(
            _script(src / "tracking", "track", TRACKING),
            "track.py",
            arguments=["--epochs", 3, texts.as_named_input("texts")],
        )
    )
    good.wait_for_completion()
    good.tag("team", "nlp")
    model = good.register_model("tiny", "outputs/result.txt", tags={"accuracy": "0.91"})
    hostile = tracking.submit(
        ScriptRunConfig(_script(src / "hostile", "hostile", HOSTILE), "hostile.py")
    )
    hostile.wait_for_completion()
    hostile.display_name = XSS
    failed = tracking.submit(ScriptRunConfig(_script(src / "failing", "fail", FAILING), "fail.py"))
    failed.wait_for_completion(raise_on_error=False)

    def pipeline() -> Pipeline:
        data = PipelineData("prepared")
        summary = OutputFileDatasetConfig("summary").register_on_complete("prep-summary")
        prep = PythonScriptStep(
            "prep.py",
            name="prep",
            source_directory=_script(src / "prep", "prep", PREP),
            arguments=["--out", data, "--summary", summary],
            outputs=[data, summary],
            compute_target="cpu",
        )
        train = PythonScriptStep(
            "train.py",
            name="train",
            source_directory=_script(src / "train", "train", TRAIN),
            arguments=["--data", data],
            inputs=[data],
            compute_target="cpu",
        )
        return Pipeline(ws, [prep, train])

    published = pipeline().publish("prep-and-train", description="the pipes pipeline")
    endpoint = PipelineEndpoint.publish(ws, "pipes", "the pipes endpoint", published)
    schedule = Schedule.create(
        ws,
        "nightly",
        published.id,
        "pipes",
        recurrence=ScheduleRecurrence("Day", 1, time_of_day="02:00"),
    )
    first = Experiment(ws, "pipes").submit(pipeline())
    first.wait_for_completion()
    again = Experiment(ws, "pipes").submit(pipeline())
    again.wait_for_completion()

    sweep = Experiment(ws, "sweep").submit(
        HyperDriveConfig(
            run_config=ScriptRunConfig(
                _script(src / "trial", "trial", TRIAL), "trial.py", compute_target="cpu"
            ),
            hyperparameter_sampling=GridParameterSampling(
                {"lr": choice(0.01, 0.1), "layers": choice(1, 2)}
            ),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=4,
            max_concurrent_runs=2,
        )
    )
    sweep.wait_for_completion()
    policy_sweep = Experiment(ws, "sweep").submit(
        HyperDriveConfig(
            run_config=ScriptRunConfig(
                _script(src / "alternate", "alternate", ALTERNATE),
                "alternate.py",
                compute_target="cpu",
            ),
            hyperparameter_sampling=GridParameterSampling({"point": choice(1, 2, 3, 4)}),
            primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            max_total_runs=4,
            max_concurrent_runs=1,
            policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1, delay_evaluation=2),
        )
    )
    policy_sweep.wait_for_completion()
    assert isinstance(model, Model)
    return Lab(
        ws=ws,
        tracking=good.id,
        hostile=hostile.id,
        failed=failed.id,
        pipeline=first.id,
        pipeline_again=again.id,
        sweep=sweep.id,
        policy_sweep=policy_sweep.id,
        dataset="texts",
        model="tiny",
        published=published.id,
        endpoint=endpoint.id,
        schedule=schedule.id,
    )


@pytest.fixture(scope="session")
def client(lab: Lab) -> Iterator[TestClient]:
    """The portal app in-process, addressed by a loopback name as a browser on this machine."""
    from fastapi.testclient import TestClient

    from hyperpipe.portal import create_app

    with TestClient(create_app(lab.ws), base_url="http://127.0.0.1:8765") as test_client:
        yield test_client


def _clean_environment() -> dict[str, str]:
    """This process's environment without what would point the portal at another store."""
    return {
        k: v for k, v in os.environ.items() if k not in ("HYPERPIPE_STORE_URL", "AZUREML_RUN_ID")
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Served:
    """A portal server process: where it answers, and what it printed (for failure messages)."""

    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextmanager
def serving(
    workspace: Workspace, *args: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """``hyperpipe portal`` as a real server process on a free port, stopped afterwards. Its
    output goes to a file, never a pipe nobody reads (a full pipe would stall the server)."""
    with tempfile.TemporaryDirectory(prefix="portal-") as scratch:
        served = Served(free_port(), Path(scratch) / "portal.log")
        with open(served.log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hyperpipe",
                    "-w",
                    str(workspace.root),
                    "portal",
                    "--port",
                    str(served.port),
                    *args,
                ],
                env={**_clean_environment(), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"the portal exited:\n{served.log()}")
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", served.port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(f"the portal did not listen within 30 s:\n{served.log()}")
                time.sleep(0.05)
            yield served
        finally:
            process.terminate()
            process.wait(timeout=10)


# -- a real browser ------------------------------------------------------------------------------

# A Chromium found on the machine: HYPERPIPE_TEST_CHROMIUM, else Debian's, else one on PATH.
CHROMIUM_ENV = "HYPERPIPE_TEST_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Path | None:
    """The Chromium the browser tests drive, or None when there is none on this machine."""
    import shutil

    named = os.environ.get(CHROMIUM_ENV, "").strip()
    if named:
        return Path(named) if Path(named).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return Path("/usr/bin/chromium")
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


# Flags that avoid stalls on a closed network; never `playwright install` (it downloads).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A Chromium of the machine driven by Playwright (never one Playwright downloads). Missing,
    the test skips with one reason saying how to get one, except under CI=true."""
    chromium = find_chromium()
    if chromium is None:
        message = (
            "browser tests need Chromium: none found (looked for $HYPERPIPE_TEST_CHROMIUM, "
            f"/usr/bin/chromium, {', '.join(CHROMIUM_NAMES)} on PATH); on Debian/Ubuntu "
            "`apt-get install chromium`, elsewhere set HYPERPIPE_TEST_CHROMIUM to a Chromium or "
            "Chrome binary"
        )
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"{message} (CI=true: browser tests must not be skipped)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def base(lab: Lab) -> Iterator[str]:
    """The lab workspace's portal, served for one test module."""
    with serving(lab.ws) as served:
        yield served.url


@contextmanager
def watched_tab(browser: Browser, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A new tab of that size; a script error on its pages fails the test."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        tab.close()
    assert errors == []


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A 1280 x 900 tab (see ``watched_tab``)."""
    with watched_tab(browser) as tab:
        yield tab
