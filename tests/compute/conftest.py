"""A real two-node Ray cluster, PostgreSQL and moto's S3 server, started once per test session.

The head and the second node run on loopback with their own temp dirs and custom resources
(``node_head``, ``node_1``), one CPU each; the session's end stops exactly their processes.
Tests that need Ray skip where it is not installed (under CI it is: the dev extra has it).
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from hyperpipe.core import Workspace
    from hyperpipe.testing.ray_cluster import LocalRayCluster

BUCKET = "hyperpipe-ray"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalRayCluster]:
    """A head and one more node, one CPU each (custom resources node_head and node_1)."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail("CI=true but Ray is not installed (pip install 'hyperpipe[ray]')")
        pytest.skip("needs Ray: pip install 'hyperpipe[ray]'")
    import shutil
    import tempfile
    from pathlib import Path

    from hyperpipe.testing.ray_cluster import LocalRayCluster

    # Ray's socket paths must stay under 108 bytes: a short folder right under /tmp.
    root = Path(tempfile.mkdtemp(prefix="hp-ray-"))
    cluster = LocalRayCluster(root, workers=1, num_cpus=1)
    try:
        yield cluster.start()
    finally:
        import sys

        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """moto's S3 server on 127.0.0.1 with a bucket; storage_options for s3fs."""
    missing = [m for m in ("s3fs", "moto", "flask") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: pip install s3fs 'moto[server]'")
    from hyperpipe.testing.s3_server import moto_s3

    with moto_s3(BUCKET) as options:
        yield options


@pytest.fixture
def cluster_ws(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ray_cluster: LocalRayCluster,
    s3_server: dict[str, Any],
    new_postgres_database: Callable[[str], str],
) -> Iterator[Workspace]:
    """A workspace for the two-node cluster: PostgreSQL store, S3 default datastore, and ray
    targets ``anywhere``, ``head`` and ``node1`` (pinned by the nodes' custom resources)."""
    from hyperpipe.core import Workspace
    from hyperpipe.core.compute import ComputeTarget, RayCompute
    from hyperpipe.data import Datastore
    from hyperpipe.testing.faults import stop_unfinished_runs

    monkeypatch.delenv("HYPERPIPE_STORE_URL", raising=False)
    monkeypatch.delenv("AZUREML_RUN_ID", raising=False)
    ws = Workspace.create("rayws", path=tmp_path / "ws", store_url=new_postgres_database("hp_ray"))
    Datastore.register(
        ws, "objects", f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}", storage_options=s3_server
    )
    ws.set_default_datastore("objects")
    address = ray_cluster.address
    for name, resources in (("anywhere", {}), ("head", {"node_head": 1}), ("node1", {"node_1": 1})):
        config = RayCompute.provisioning_configuration(
            address=address, max_concurrency=2, resources=resources
        )
        ComputeTarget.create(ws, name, config)
    yield ws
    stop_unfinished_runs(ws)
