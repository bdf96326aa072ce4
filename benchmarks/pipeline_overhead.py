"""Pipeline overhead: chains of trivial steps through hyperpipe vs. the same scripts run bare.

For a 2-step and a 20-step chain (each step reads the previous step's output and writes its own)
it prints, side by side in one run, the median end-to-end wall time of:
  bare        the scripts run one after another as plain subprocesses
  fresh       submit + wait, every step executed (regenerate_outputs=True)
  reused      an unchanged resubmit: every step reused
and the per-step overhead of hyperpipe above bare subprocesses.
Goals: 2-step fresh <= 0.25 s; <= 25 ms per step above bare; 20-step reused <= 0.3 s.

    python benchmarks/pipeline_overhead.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hyperpipe.core import Experiment, Workspace
from hyperpipe.pipeline.core import Pipeline, PipelineData
from hyperpipe.pipeline.steps import PythonScriptStep

STEP = """\
import sys
if sys.argv[1] != "-":
    with open(sys.argv[1]) as source:
        value = int(source.read())
else:
    value = 0
with open(sys.argv[2], "w") as out:
    out.write(str(value + 1))
"""


def chain(ws: Workspace, source: Path, length: int) -> Pipeline:
    steps, previous = [], None
    for i in range(length):
        out = PipelineData(f"out{i}")
        steps.append(
            PythonScriptStep(
                "step.py",
                name=f"step{i}",
                arguments=[previous if previous is not None else "-", out],
                inputs=[previous] if previous is not None else [],
                outputs=[out],
                source_directory=source,
            )
        )
        previous = out
    return Pipeline(ws, steps)


def bare(source: Path, length: int, scratch: Path) -> float:
    start = time.perf_counter()
    previous = "-"
    for i in range(length):
        out = scratch / f"bare{i}"
        subprocess.run([sys.executable, str(source / "step.py"), previous, str(out)], check=True)
        previous = str(out)
    return time.perf_counter() - start


def submit(experiment: Experiment, pipeline: Pipeline, regenerate: bool) -> float:
    start = time.perf_counter()
    run = experiment.submit(pipeline, regenerate_outputs=regenerate)
    status = run.wait_for_completion(show_output=False)
    elapsed = time.perf_counter() - start
    assert status == "Finished", status
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "src"
        source.mkdir()
        (source / "step.py").write_text(STEP)
        ws = Workspace.create("bench", path=root / "ws")
        experiment = Experiment(ws, "overhead")
        print(f"{'chain':<8}{'bare s':>9}{'fresh s':>9}{'reused s':>10}{'ms/step over bare':>19}")
        for length in (2, 20):
            pipeline = chain(ws, source, length)
            submit(experiment, pipeline, regenerate=True)  # warm: snapshot stored, files cached
            bares = [bare(source, length, root) for _ in range(args.repeat)]
            fresh = [submit(experiment, pipeline, regenerate=True) for _ in range(args.repeat)]
            reused = [submit(experiment, pipeline, regenerate=False) for _ in range(args.repeat)]
            b, f, r = (statistics.median(x) for x in (bares, fresh, reused))
            print(
                f"{length:<8}{b:>9.3f}{f:>9.3f}{r:>10.3f}{1000 * (f - b) / length:>19.1f}",
                flush=True,
            )
    print(f"\nmedians of {args.repeat}; goals: 2-step fresh <= 0.25 s, <= 25 ms/step over bare,")
    print("20-step reused <= 0.3 s")


if __name__ == "__main__":
    main()
