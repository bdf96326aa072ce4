"""A real Ray cluster on this machine for tests and benchmarks: a head and more nodes.

Each node is started with ``ray start`` with its own ``--temp-dir``, its own custom resource
(``node_head``, ``node_1``, ...), a few CPUs and ports chosen by the system, on loopback. Stopping
the cluster kills exactly the processes of its nodes (found by their temp dir), never another
cluster's: ``ray stop`` would stop every Ray process on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["LocalRayCluster", "RayNode"]

HEAD_RESOURCE = "node_head"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RayNode:
    """One node: its name (also its custom resource), temp dir and CPUs."""

    name: str
    temp_dir: Path
    num_cpus: int
    gcs_port: int | None = None  # the head's: its client server names only the GCS address

    def processes(self) -> list[psutil.Process]:
        """Every live process of this node: those naming its temp dir (or, on the head, its
        GCS address), and their descendants."""
        marker = str(self.temp_dir)
        gcs = f":{self.gcs_port}" if self.gcs_port else None
        found: dict[int, psutil.Process] = {}
        for process in psutil.process_iter():
            try:
                cmdline = process.cmdline()
                ours = any(marker in part for part in cmdline) or (
                    gcs is not None
                    and any(p.startswith("--address=") and p.endswith(gcs) for p in cmdline)
                )
                if ours:
                    found[process.pid] = process
                    for child in process.children(recursive=True):
                        found[child.pid] = child
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return list(found.values())

    def raylet(self) -> psutil.Process | None:
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                if process.name() == "raylet" or "raylet" in " ".join(process.cmdline()[:1]):
                    return process
        return None

    def stop(self) -> None:
        """SIGKILL every process of the node, and wait until they are gone."""
        for _ in range(3):
            processes = self.processes()
            if not processes:
                return
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    process.send_signal(signal.SIGKILL)
            psutil.wait_procs(processes, timeout=10)


@dataclass
class LocalRayCluster:
    """A Ray cluster of a head and ``workers`` more nodes, all on loopback (see module doc)."""

    root: Path
    workers: int = 1
    num_cpus: int = 1
    port: int = 0
    nodes: list[RayNode] = field(default_factory=list)
    # Environment of `ray start` beyond this process's: token authentication is off unless
    # set here (else a token in ~/.ray/auth_token would turn it on for the head).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalRayCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        try:
            self._start_node(HEAD_RESOURCE, head=True)
            for index in range(1, self.workers + 1):
                self.add_node(f"node_{index}")
        except BaseException:
            self.stop()
            raise
        return self

    def add_node(
        self, name: str, num_cpus: int | None = None, hidden: Sequence[Path] = ()
    ) -> RayNode:
        """Start one more node. ``hidden``: folders this node does not see, as a machine that
        does not share the submitter's disk would not (its processes run in a mount namespace
        of their own, with an empty tmpfs over each; needs root and util-linux's unshare)."""
        # `ray start` returns once the node's raylet has registered with the head.
        return self._start_node(name, head=False, num_cpus=num_cpus, hidden=hidden)

    def _start_node(
        self, name: str, *, head: bool, num_cpus: int | None = None, hidden: Sequence[Path] = ()
    ) -> RayNode:
        temp_dir = self.root / f"{name}-{int(time.time() * 10) % 10**5}"
        node = RayNode(name, temp_dir, num_cpus or self.num_cpus, self.port if head else None)
        self.nodes.append(node)
        command = [
            str(Path(sys.executable).with_name("ray")),
            "start",
            f"--num-cpus={node.num_cpus}",
            "--num-gpus=0",
            f"--resources={json.dumps({name: 100})}",
            f"--temp-dir={temp_dir}",
            "--node-ip-address=127.0.0.1",
            "--dashboard-agent-listen-port=0",
            "--metrics-export-port=0",
            "--disable-usage-stats",
            "--object-store-memory=100000000",
        ]
        if head:
            command += [
                "--head",
                f"--port={self.port}",
                "--include-dashboard=false",
                # A lost node is noticed within about two seconds (defaults: about 30).
                '--system-config={"health_check_period_ms": 500, '
                '"health_check_failure_threshold": 3, "health_check_timeout_ms": 1000}',
            ]
        else:
            command.append(f"--address={self.address}")
        if hidden:
            mounts = " && ".join(f"mount -t tmpfs tmpfs {shlex.quote(str(p))}" for p in hidden)
            shell = f"{mounts} && exec {shlex.join(command)}"
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell]
        env = {
            **os.environ,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "disabled",
            **self.env,
        }
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed for {name}: {done.stderr[-2000:]}")
        return node

    def node(self, name: str) -> RayNode:
        return next(n for n in reversed(self.nodes) if n.name == name)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
