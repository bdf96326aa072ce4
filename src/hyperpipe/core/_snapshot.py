"""Source-directory snapshots: the files a run executes from, chosen as SDK v1 chooses them.

``.amlignore`` (else ``.gitignore``) patterns are honoured with git's rules; ``__pycache__``,
compiled files and ``.git`` never count. A run executes in its own copy, so concurrent runs of one
source folder never see each other's ``outputs/``.
"""

from __future__ import annotations

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
