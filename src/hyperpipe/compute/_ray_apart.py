"""Tasks on a node that does not see the workspace folder: the run's folder travels with them.

A node of a Ray cluster need not share the submitting machine's disk. Its runner finds out
when it reads another folder token (see ``Runner.sees``). When the workspace's store and
default datastore are reachable from every node (PostgreSQL, object storage), the task still
runs there: the backend sends the task's run folder (its working folder with the source
snapshot and materialized inputs, its output folders) and the workspace config through Ray's
object store (``pack``); the runner writes them into a folder of its node and runs the task
there, every path in its arguments and environment moved along (``NodeCopy``); when the task
ends, the runner sends back what the task wrote or changed (``outputs/``, ``logs/``, step
outputs, metric journals), and the backend writes it into the run folder (``unpack``) before
it reports the end. The scheduler, the sweep driver and the script-run monitor then store and
commit the run's files as for any other task.

Inputs travel submitter → object store → node, and outputs back the same way, so this suits
the data a step reads and writes in memory, not datasets larger than a node's object store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from hyperpipe.exceptions import ComputeTargetException

__all__ = ["APART", "Apart", "NodeCopy", "pack", "read_tree", "unpack"]

# A runner's answer to a start without the run folder, on a node that does not see the
# workspace folder: send it again with the folder (``pack``).
APART = "apart"
# Where a node keeps the copies of run folders it runs tasks in.
COPIES = os.path.join(tempfile.gettempdir(), "hyperpipe-apart")
# The most a run folder may hold to be sent to a node (it is read into memory, then into Ray's
# object store): beyond it, the task is refused, saying what to do instead.
PACK_LIMIT_BYTES = 1 << 30

Files = dict[str, tuple[bytes, int]]  # relative POSIX path -> (content, permission bits)


@dataclass(frozen=True)
class Apart:
    """Whether tasks may run on nodes that do not see the workspace folder ``root``: with the
    node's copy of the workspace config (``config``, JSON), or, when they may not (a SQLite
    store, a local-folder datastore), ``refusal`` saying why and what to use instead."""

    root: str
    config: str = ""
    refusal: str = ""

    def to_remote(self) -> dict[str, str]:
        return {"root": self.root, "refusal": self.refusal}


def run_folder(root: str, cwd: str) -> str | None:
    """The folder of the task whose working folder is ``cwd``, relative to the workspace folder
    ``root``: its run's folder (``.hyperpipe/runs/<run id>``, which holds its inputs, outputs
    and metric journals) when ``cwd`` is inside one, else ``cwd`` itself; None when ``cwd`` is
    outside the workspace folder."""
    rel = os.path.relpath(os.path.abspath(cwd), os.path.abspath(root))
    if rel == os.curdir or rel.startswith(os.pardir):
        return None
    parts = rel.split(os.sep)
    if parts[:2] == [".hyperpipe", "runs"] and len(parts) > 2:
        parts = parts[:3]
    return "/".join(parts)


def pack(apart: Apart, cwd: str, limit: int = PACK_LIMIT_BYTES) -> dict[str, Any] | None:
    """What a node apart needs to run the task whose working folder is ``cwd``: the run folder's
    files and the workspace config; None when ``cwd`` is not inside the workspace folder.

    Raises:
        ComputeTargetException: The run folder holds more than ``limit`` bytes.
    """
    folder = run_folder(apart.root, cwd)
    if folder is None:
        return None
    base = os.path.join(apart.root, *folder.split("/"))
    paths = [os.path.join(where, name) for where, _dirs, names in os.walk(base) for name in names]
    size = sum(os.path.getsize(path) for path in paths)
    if size > limit:
        raise ComputeTargetException(
            f"the run folder {base} holds {size / 2**20:,.0f} MiB (its inputs, mostly), more "
            f"than the {limit / 2**20:,.0f} MiB a node that does not see the workspace folder "
            "is sent through Ray's object store; mount the workspace folder on every node (NFS, "
            "at the same path), or pin the target to nodes that see it (resources=...)"
        )
    files = read_tree(base, relative_to=apart.root)
    return {"root": apart.root, "folder": folder, "config": apart.config, "files": files}


def read_tree(folder: str, relative_to: str | None = None) -> Files:
    """Every file under ``folder``: its bytes and permission bits, by POSIX path relative to
    ``relative_to`` (default: ``folder`` itself)."""
    files: Files = {}
    for where, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(where, name)
            with open(path, "rb") as stream:
                data = stream.read()
            rel = os.path.relpath(path, relative_to or folder).replace(os.sep, "/")
            files[rel] = (data, os.stat(path).st_mode & 0o7777)
    return files


def unpack(root: str, files: Files) -> None:
    """Write ``files`` (``read_tree``'s) under ``root``: what a task apart wrote, into its run
    folder under the workspace folder (each whole: written beside, then renamed into place);
    none outside ``root``."""
    base = os.path.abspath(root)
    for rel, (data, mode) in files.items():
        path = os.path.abspath(os.path.join(base, *rel.split("/")))
        if not path.startswith(base + os.sep):
            continue  # not a path inside the run folder: nothing a runner would send
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.{os.getpid()}.part"
        with open(temp, "wb") as out:
            out.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)


class NodeCopy:
    """A node's copy of a task's run folder and workspace config, in a folder of its own that
    stands in for the workspace folder: ``path`` moves a path of the submitter's into it."""

    def __init__(self, packed: dict[str, Any]) -> None:
        self.root = packed["root"]
        self.folder = packed["folder"]
        os.makedirs(COPIES, exist_ok=True)
        self.local = tempfile.mkdtemp(prefix="ws-", dir=COPIES)
        try:
            config = os.path.join(self.local, ".azureml", "config.json")
            os.makedirs(os.path.dirname(config))
            with open(config, "w", encoding="utf-8") as out:
                out.write(packed["config"])
            os.makedirs(os.path.join(self.local, *self.folder.split("/")), exist_ok=True)
            unpack(self.local, packed["files"])
            # What the task found there: a file unchanged at its end is not sent back.
            self.found = {rel: self._stat(rel) for rel in packed["files"]}
        except BaseException:
            self.remove()
            raise

    def path(self, value: str) -> str:
        """``value`` with the submitter's workspace folder replaced by this copy's."""
        if value == self.root:
            return self.local
        return value.replace(self.root + os.sep, self.local + os.sep)

    def changes(self, cwd: str, snapshot: str) -> Files:
        """The files of the run folder the task wrote or changed, by path relative to the
        workspace folder; the source snapshot's files, placed into the working folder ``cwd``
        (this copy's) unchanged, are not among them."""
        changed: Files = {}
        base = os.path.join(self.local, *self.folder.split("/"))
        for where, _dirs, names in os.walk(base):
            for name in names:
                path = os.path.join(where, name)
                rel = os.path.relpath(path, self.local).replace(os.sep, "/")
                if rel in self.found and self.found[rel] == self._stat(rel):
                    continue
                if snapshot and _same_as_snapshot(path, cwd, snapshot):
                    continue
                # A file the task's leftovers moved meanwhile is not sent.
                with contextlib.suppress(FileNotFoundError), open(path, "rb") as stream:
                    changed[rel] = (stream.read(), os.stat(path).st_mode & 0o7777)
        return changed

    def remove(self) -> None:
        shutil.rmtree(self.local, ignore_errors=True)

    def _stat(self, rel: str) -> tuple[int, int]:
        info = os.stat(os.path.join(self.local, *rel.split("/")))
        return info.st_size, info.st_mtime_ns


def _same_as_snapshot(path: str, cwd: str, snapshot: str) -> bool:
    rel = os.path.relpath(path, cwd)
    if rel.startswith(os.pardir):
        return False
    source = os.path.join(snapshot, rel)
    try:
        if os.path.getsize(source) != os.path.getsize(path):
            return False
        with open(source, "rb") as one, open(path, "rb") as other:
            return one.read() == other.read()
    except OSError:
        return False
