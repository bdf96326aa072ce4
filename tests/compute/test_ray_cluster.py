"""Asking a real Ray cluster what it has before a submission starts anything: a cluster started
with token authentication is refused in one line saying how to give the token, and answers
once it is given."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from hyperpipe.compute._ray_cluster import probe_nodes
from hyperpipe.exceptions import ComputeTargetException
try:
    answer = {"nodes": len(probe_nodes(sys.argv[1]) or [])}
except ComputeTargetException as exc:
    answer = {"error": str(exc.args[0])}
print(json.dumps(answer))
"""


def _probe(address: str, home: Path, **auth: str) -> dict[str, object]:
    """``probe_nodes(address)`` in a fresh process whose only Ray settings are ``auth``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, address],
        env={**env, "HOME": str(home), **auth},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cluster_that_requires_a_token_is_refused_saying_how_to_give_it_then_answers_with_it(
    tmp_path: Path,
):
    pytest.importorskip("ray", reason="needs Ray: pip install 'hyperpipe[ray]'")
    from hyperpipe.testing.ray_cluster import LocalRayCluster

    token = "5eed" * 16
    # Ray's socket paths must stay under 108 bytes: a short folder right under /tmp.
    root = Path(tempfile.mkdtemp(prefix="hp-auth-"))
    cluster = LocalRayCluster(
        root, workers=0, env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    ).start()
    try:
        refused = _probe(cluster.address, tmp_path)  # no token anywhere, as on a new machine
        message = str(refused["error"])
        assert message.startswith(
            f"the Ray cluster at {cluster.address!r} requires an auth token (it was started "
            "with token authentication)"
        )
        assert "set RAY_AUTH_MODE=token where you submit" in message and "\n" not in message
        wrong = _probe(cluster.address, tmp_path, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64)
        assert "requires an auth token" in str(wrong["error"])

        answered = _probe(cluster.address, tmp_path, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
        assert answered == {"nodes": 1}
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
