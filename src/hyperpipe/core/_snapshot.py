"""Source-directory snapshots: the files a run executes from, chosen as SDK v1 chooses them.

``.amlignore`` (else ``.gitignore``) patterns are honoured with git's rules; ``__pycache__``,
compiled files and ``.git`` never count. A run executes in its own copy, so concurrent runs of one
source folder never see each other's ``outputs/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pathspec

from hyperpipe.exceptions import UserErrorException

__all__ = ["MAX_BYTES", "MAX_FILES", "copy_snapshot", "snapshot_files"]

MAX_FILES = 2000
MAX_BYTES = 300 * 1024 * 1024
ALWAYS_IGNORED = (
    "__pycache__/",
    "*.pyc",
    "*.pyo",
    ".git/",
    ".ipynb_checkpoints/",
    ".azureml/",
    "outputs/",
    "logs/",
)


def snapshot_files(source_directory: Path) -> list[Path]:
    """The files of a snapshot, relative to ``source_directory``, sorted."""
    patterns = list(ALWAYS_IGNORED)
    for name in (".amlignore", ".gitignore"):
        ignore_file = source_directory / name
        if ignore_file.is_file():
            patterns += ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            break
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    files: list[Path] = []
    total = 0
    for directory, subdirs, names in os.walk(source_directory):
        rel_dir = Path(directory).relative_to(source_directory)
        subdirs[:] = sorted(
            d for d in subdirs if not spec.match_file(f"{(rel_dir / d).as_posix()}/")
        )
        for name in names:
            rel = rel_dir / name
            if spec.match_file(rel.as_posix()):
                continue
            files.append(rel)
            total += (source_directory / rel).stat().st_size
            if len(files) > MAX_FILES or total > MAX_BYTES:
                raise UserErrorException(
                    f"source_directory {source_directory} holds more than {MAX_FILES} files or "
                    f"{MAX_BYTES // 2**20} MB; keep data out of it, or list what to leave out in "
                    f"{source_directory / '.amlignore'} (gitignore syntax)"
                )
    return sorted(files)


def copy_snapshot(source_directory: Path, destination: Path) -> list[Path]:
    """Copy the snapshot of ``source_directory`` into ``destination`` (created)."""
    files = snapshot_files(source_directory)
    destination.mkdir(parents=True, exist_ok=True)
    for rel in files:
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_directory / rel, target)
    return files


def file_digests(source_directory: Path) -> dict[str, str]:
    """sha256 of every snapshot file, by POSIX relative path."""
    digests = {}
    for rel in snapshot_files(source_directory):
        digest = hashlib.sha256()
        with open(source_directory / rel, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        digests[rel.as_posix()] = digest.hexdigest()
    return digests


def snapshot_digest(digests: dict[str, str]) -> str:
    """The identity of a snapshot: sha256 over its sorted (path, file sha256) pairs."""
    whole = hashlib.sha256()
    for rel in sorted(digests):
        whole.update(f"{rel}\0{digests[rel]}\n".encode())
    return whole.hexdigest()


def store_snapshot(source_directory: Path, snapshots: Path) -> tuple[str, dict[str, str]]:
    """Keep a content-addressed copy of the snapshot under ``snapshots/<digest>``.

    Steps run from this copy, so editing the source folder after submitting (or before a resume)
    never changes what a pipeline runs. An unchanged folder is stored once.
    """
    digests = file_digests(source_directory)
    digest = snapshot_digest(digests)
    target = snapshots / digest
    if not target.is_dir():
        temp = snapshots / f".{digest}.{os.getpid()}.tmp"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir(parents=True)
        for rel in digests:
            (temp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source_directory / rel, temp / rel)
        try:
            os.rename(temp, target)
        except OSError:
            shutil.rmtree(temp, ignore_errors=True)  # another process stored it first
    return digest, digests


def copy_tree(source: Path, destination: Path) -> None:
    """Copy a stored snapshot into a run's working folder."""
    shutil.copytree(source, destination, dirs_exist_ok=True)
