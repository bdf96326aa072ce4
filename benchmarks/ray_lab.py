"""The lab pipeline on a two-node Ray cluster against the same pipeline locally, side by side.

Runs the lab's retraining pipeline (``examples/newsgroups``, the ``quick`` search space, a small
sweep) twice with the same seed: once in a workspace with the embedded defaults and local
targets, once in a workspace on PostgreSQL with an S3 default datastore (moto's server) whose two
targets are ray targets on a head and a second node started here (loopback, own temp dirs). The
code is the same; only the target definitions differ. Goal: the same accuracy (+- 0.005).

A sweep draws its points afresh on every run (HyperDrive takes no seed), so two runs of the
'quick' space tune to different full models: measured 0.8621 and 0.8625 locally, 0.8583 and
0.8558 on Ray. By default (``--space pinned``) the sweep gets one point of the 'quick' space, so
both sides train the same model and the comparison is of the platforms, not of the draws;
``--space quick`` samples the whole space.

    source /tmp/pgenv   # HYPERPIPE_TEST_POSTGRES_URL: a PostgreSQL server to make a database on
    python benchmarks/ray_lab.py [--space pinned|quick] [--max-total-runs 2] [--store-url URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from hyperpipe.core import Experiment, Workspace
from hyperpipe.core.compute import AmlCompute, ComputeTarget, RayCompute
from hyperpipe.data import Datastore
from hyperpipe.examples.newsgroups.prepare import prepare
from hyperpipe.testing.ray_cluster import LocalRayCluster
from hyperpipe.testing.s3_server import moto_s3
from hyperpipe.train.hyperdrive import choice

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared/data/20news-bydate.tar.gz"
TARGETS = ("hypercomputegpu", "fullcomputegpu")
BUCKET = "hyperpipe-lab"


# One point of the lab's 'quick' space.
PINNED = {
    "learning_rate": choice(0.003),
    "num_epochs": choice(3),
    "batch_size": choice(128),
    "hidden_size": choice(64),
}


def run_lab(ws: Workspace, space: str, max_total_runs: int) -> tuple[float, float]:
    """(the full model's test accuracy, wall seconds) of one lab pipeline run."""
    sys.path.insert(0, str(ROOT / "examples/newsgroups/code/pipelines"))
    from pipeline_retrain import SPACES, build_pipeline

    points = PINNED if space == "pinned" else SPACES[space]
    start = time.perf_counter()
    run = Experiment(ws, "lab").submit(build_pipeline(ws, points, max_total_runs, 2))
    status = run.wait_for_completion(show_output=False)
    elapsed = time.perf_counter() - start
    assert status == "Finished", status
    steps = {s.name: s for s in run.get_steps()}
    return float(steps["fullmodel"].get_metrics()["accuracy"]), elapsed


def new_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    name = f"hp_lab_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-total-runs", type=int, default=2)
    parser.add_argument("--space", choices=("pinned", "quick"), default="pinned")
    parser.add_argument("--store-url", default=None, help="an empty PostgreSQL database")
    args = parser.parse_args()
    store_url = args.store_url or new_database(os.environ["HYPERPIPE_TEST_POSTGRES_URL"])
    os.environ.pop("HYPERPIPE_STORE_URL", None)

    scratch = Path(tempfile.mkdtemp(prefix="hp-lab-"))
    cluster = LocalRayCluster(scratch / "ray", workers=1, num_cpus=1)
    try:
        print(f"load before: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs")
        local = Workspace.create("lab-local", path=scratch / "local")
        for name in TARGETS:
            ComputeTarget.create(local, name, AmlCompute.provisioning_configuration(max_nodes=2))
        prepare(local, ARCHIVE)
        print("the lab locally ...", flush=True)
        local_accuracy, local_s = run_lab(local, args.space, args.max_total_runs)
        print(f"  local: accuracy {local_accuracy:.4f} in {local_s:.1f} s", flush=True)

        print("starting a Ray head and a second node, moto's S3 ...", flush=True)
        cluster.start()
        with moto_s3(BUCKET) as options:
            ws = Workspace.create("lab-ray", path=scratch / "ray-ws", store_url=store_url)
            Datastore.register(ws, "objects", f"s3://{BUCKET}/lab", storage_options=options)
            ws.set_default_datastore("objects")
            for name in TARGETS:  # the only change: where the two targets run
                config = RayCompute.provisioning_configuration(
                    address=cluster.address, max_concurrency=2
                )
                ComputeTarget.create(ws, name, config)
            print("copying the lab's data to S3 and registering its datasets ...", flush=True)
            started = time.perf_counter()
            prepare(ws, ARCHIVE, progress=lambda message: print(f"  {message}", flush=True))
            prepare_s = time.perf_counter() - started
            print(f"  data ready in {prepare_s:.1f} s", flush=True)
            print("the lab on the two-node cluster ...", flush=True)
            ray_accuracy, ray_s = run_lab(ws, args.space, args.max_total_runs)

        print(f"\nlab pipeline, {args.space!r} space, {args.max_total_runs} trials (wall-clock):")
        print(f"  local                        accuracy {local_accuracy:.4f}   {local_s:7.1f} s")
        print(f"  Ray, 2 nodes, PostgreSQL+S3  accuracy {ray_accuracy:.4f}   {ray_s:7.1f} s")
        print(f"  (copying the archive's files to S3 and registering: {prepare_s:.1f} s)")
        gap = abs(ray_accuracy - local_accuracy)
        verdict = "met" if gap <= 0.005 else "missed"
        print(f"  |difference| = {gap:.4f} (goal <= 0.005: {verdict})")
        print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")
    finally:
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
