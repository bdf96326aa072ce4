"""Step reuse: the key a step's earlier outputs are found by, and why a step did (not) reuse.

The key is a sha256 over the step's parts: its definition (type, script, arguments with
placeholders, bound parameters, version, target, environment, outputs), every file of its source
snapshot, and the *content* of each input (a dataset version's content hash, the hash of an
upstream step's committed output, the files under a datastore path). So a new dataset version
with identical bytes is reused, changed bytes under the same datastore path are not, and an
upstream step that re-ran but produced the same output lets its consumers be reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["explain", "key_parts", "output_digest", "reuse_key"]

_DEFINITION = (
    "type",
    "script",
    "arguments",
    "params",
    "version",
    "target",
    "environment_variables",
    "hyperdrive",
)


def key_parts(
    spec: dict[str, Any], inputs: dict[str, str], labels: dict[str, str]
) -> dict[str, Any]:
    """What the reuse key is made of. ``inputs`` maps each input port to its content hash;
    ``labels`` say in words what each input was (kept for explanations, not hashed)."""
    definition = {k: spec.get(k) for k in _DEFINITION}
    if definition["hyperdrive"]:  # where the script lives is not what it is
        definition["hyperdrive"] = {
            k: v for k, v in definition["hyperdrive"].items() if k != "source_directory"
        }
    definition["outputs"] = [[o["name"], o["mode"]] for o in spec["outputs"]]
    return {
        "definition": definition,
        "source": spec["source_files"],
        "inputs": inputs,
        "labels": labels,
    }


def reuse_key(parts: dict[str, Any]) -> str:
    hashed = {k: v for k, v in parts.items() if k != "labels"}
    return hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()


def explain(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What changed between two key parts, one line each (empty when nothing did)."""
    if before is None:
        return ["no earlier run of this step"]
    changes = []
    old_def, new_def = before.get("definition", {}), after["definition"]
    for key in sorted(set(old_def) | set(new_def)):
        changes.extend(_changed(key, old_def.get(key), new_def.get(key)))
    old_src, new_src = before.get("source", {}), after["source"]
    for path in sorted(set(old_src) | set(new_src)):
        if path not in old_src:
            changes.append(f"source file added: {path}")
        elif path not in new_src:
            changes.append(f"source file removed: {path}")
        elif old_src[path] != new_src[path]:
            changes.append(f"source file changed: {path}")
    old_in, new_in = before.get("inputs", {}), after["inputs"]
    old_labels, new_labels = before.get("labels", {}), after.get("labels", {})
    for port in sorted(set(old_in) | set(new_in)):
        if port not in old_in:
            changes.append(f"input {port!r} added ({new_labels.get(port, '')})")
        elif port not in new_in:
            changes.append(f"input {port!r} removed")
        elif old_in[port] != new_in[port]:
            old, new = old_labels.get(port, ""), new_labels.get(port, "")
            label = f": {old} -> {new}" if old != new else f" ({new})"
            changes.append(f"input {port!r} content changed{label}")
    return changes


def _changed(path: str, old: Any, new: Any) -> list[str]:
    """The leaves that differ between two JSON values, ``path changed: old -> new`` each: a sweep's
    settings or a long argument list name the one entry that changed, not the whole value."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            line
            for key in sorted(set(old) | set(new), key=str)
            for line in _changed(f"{path}.{key}", old.get(key), new.get(key))
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            line
            for index, (a, b) in enumerate(zip(old, new, strict=True))
            for line in _changed(f"{path}[{index}]", a, b)
        ]
    return [f"{path} changed: {old!r} -> {new!r}"]


def output_digest(path: Path) -> str:
    """sha256 of a committed output: a file's bytes, or a folder's (path, sha256) pairs."""
    whole = hashlib.sha256()
    if path.is_file():
        whole.update(b"file\0" + _file_sha(path).encode())
        return whole.hexdigest()
    if path.is_dir():
        for directory, subdirs, files in os.walk(path):
            subdirs.sort()
            for name in sorted(files):
                full = Path(directory) / name
                rel = full.relative_to(path).as_posix()
                whole.update(f"{rel}\0{_file_sha(full)}\n".encode())
    return whole.hexdigest()


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
