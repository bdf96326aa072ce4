"""Source-directory snapshots: the files a run executes from, chosen as SDK v1 chooses them.

``.amlignore`` (else ``.gitignore``) patterns are honoured with git's rules; ``__pycache__``,
compiled files and ``.git`` never count. Nor does the workspace itself when the source folder holds
it (``source_directory='.'`` after ``hyperpipe init .``): its ``.hyperpipe/`` state (store, run
folders, stored snapshots), ``.azureml/``, its local datastore folders and any virtualenv are left
out, so such a step's snapshot does not change with every run, and snapshots never nest. A run
executes in its own copy, so concurrent runs of one source folder never see each other's
``outputs/``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hyperpipe.core import _workspace_config as wsconfig
from hyperpipe.exceptions import ConfigError, UserErrorException

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MAX_BYTES", "MAX_FILES", "copy_snapshot", "snapshot_files"]

MAX_FILES = 2000
MAX_BYTES = 300 * 1024 * 1024
# Left out of every snapshot: folders of these names at any depth, files with these suffixes.
ALWAYS_IGNORED_FOLDERS = (
    "__pycache__",
    ".git",
    ".ipynb_checkpoints",
    ".azureml",
    ".hyperpipe",
    "outputs",
    "logs",
)
ALWAYS_IGNORED_SUFFIXES = (".pyc", ".pyo")
# The same, as gitignore patterns.
ALWAYS_IGNORED = (
    *(f"{name}/" for name in ALWAYS_IGNORED_FOLDERS),
    *(f"*{suffix}" for suffix in ALWAYS_IGNORED_SUFFIXES),
)
# Files that mark a folder as a Python environment (virtualenv/venv, conda).
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")


def snapshot_files(source_directory: Path) -> list[Path]:
    """The files of a snapshot, relative to ``source_directory``, sorted."""
    ignored = _ignore_rules(source_directory)
    excluded = workspace_folders(source_directory)
    files: list[Path] = []
    total = 0
    for directory, subdirs, names in os.walk(source_directory):
        rel_dir = Path(directory).relative_to(source_directory)
        if (Path(directory) / ".azureml").is_dir() and rel_dir != Path("."):
            excluded |= workspace_folders(Path(directory), search_up=False)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not ignored(f"{(rel_dir / d).as_posix()}/")
            and not _left_out(Path(directory) / d, excluded)
        )
        for name in names:
            rel = rel_dir / name
            if ignored(rel.as_posix()):
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


def _ignore_rules(source_directory: Path) -> Callable[[str], bool]:
    """Whether a relative POSIX path (folders end in ``/``) is left out: git's rules over the
    folder's ``.amlignore`` (else ``.gitignore``) and ``ALWAYS_IGNORED``. Without an ignore file
    the fixed rules are checked directly, without loading pathspec."""
    for name in (".amlignore", ".gitignore"):
        ignore_file = source_directory / name
        if ignore_file.is_file():
            import pathspec

            lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            return pathspec.GitIgnoreSpec.from_lines([*ALWAYS_IGNORED, *lines]).match_file

    def always_ignored(path: str) -> bool:
        parts = path.rstrip("/").split("/")
        folders = parts if path.endswith("/") else parts[:-1]
        return any(part.endswith(ALWAYS_IGNORED_SUFFIXES) for part in parts) or any(
            folder in ALWAYS_IGNORED_FOLDERS for folder in folders
        )

    return always_ignored


def workspace_folders(directory: Path, *, search_up: bool = True) -> set[Path]:
    """The folders of the workspace whose config is at ``directory`` (or, with ``search_up``,
    in one of its parents): its state folder and its local datastore folders, resolved."""
    try:
        if search_up:
            config_path = wsconfig.find_config(directory)
        else:
            config_path = next(
                candidate
                for folder in (".azureml", "aml_config")
                for name in wsconfig.CONFIG_FILES
                if (candidate := directory / folder / name).is_file()
            )
        config = wsconfig.load_config(config_path)
    except (ConfigError, StopIteration, OSError):
        return set()
    root = config.root
    folders = {(root / ".hyperpipe").resolve()}
    entries = dict(config.settings.get("datastores") or {})
    entries.setdefault("workspaceblobstore", {"url": "datastores/workspaceblobstore"})
    for entry in entries.values():
        url = str(entry.get("url", ""))
        if url.startswith("file://"):
            url = url[len("file://") :]
        elif "://" in url or "::" in url or not url:
            continue
        folders.add((root / Path(url).expanduser()).resolve())
    return folders


def _left_out(folder: Path, excluded: set[Path]) -> bool:
    """A workspace folder, or a Python environment."""
    if folder.resolve() in excluded:
        return True
    return any((folder / marker).exists() for marker in ENVIRONMENT_MARKERS)


def copy_snapshot(source_directory: Path, destination: Path) -> list[Path]:
    """Copy the snapshot of ``source_directory`` into ``destination`` (created)."""
    import shutil

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
        import shutil

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
    import shutil

    shutil.copytree(source, destination, dirs_exist_ok=True)
