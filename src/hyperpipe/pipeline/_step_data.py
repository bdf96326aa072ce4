"""Where a step's data goes and comes from: the datastore path an output is committed to, moving
a staged output into place, a local copy (or the folder itself) of an input, an output read as
a tabular dataset, and the step's error when a file could not be written."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._disk import write_failure
from hyperpipe.core._execution import error
from hyperpipe.data._dataset import Dataset
from hyperpipe.data._materialize import remove_tree

if TYPE_CHECKING:
    from hyperpipe.core._workspace import Workspace

__all__ = ["local_input", "move_into", "output_path", "storage_error", "tabular_output"]


def output_path(output: dict[str, Any], run_id: str) -> str:
    """Where a step run's output is committed in its datastore."""
    template = output.get("destination") or "azureml/{run-id}/{output-name}"
    return template.replace("{run-id}", run_id).replace("{output-name}", output["name"])


def move_into(staged: Path, local: Path, temp: Path | None) -> None:
    """Rename ``staged`` to ``local``; across filesystems, copy to ``temp`` beside it first."""
    import shutil

    local.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staged, local)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV or temp is None:
            raise
    try:
        (shutil.copytree if staged.is_dir() else shutil.copy2)(staged, temp)
        os.replace(temp, local)
    finally:
        remove_tree(temp) if temp.is_dir() else temp.unlink(missing_ok=True)


def storage_error(exc: OSError, what: str) -> dict[str, Any]:
    """The step's error when a file could not be written: one line, naming where and the fix."""
    import shutil

    where = exc.__notes__[-1] if getattr(exc, "__notes__", None) else ""
    target = exc.filename or where or "the datastore"
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        first = exc.args[0][0]  # (source, destination, why) of the first file that failed
        target = first[1] if len(first) > 1 else target
    label = f"{what} ({where})" if where else what
    message = write_failure(exc, target, label)
    if message is None:
        reason = exc.strerror or str(exc).splitlines()[0][:300]
        message = f"{label}: {reason} ({target})"
    return error("StorageError", message, None, "")


def local_input(
    ws: Workspace, store_name: str, path: str, item: dict[str, Any], workdir: Path
) -> str:
    datastore = ws._datastore(store_name)
    local = datastore._local_path(path)
    if item.get("mode", "mount") == "mount" and local is not None:
        return str(local)
    target = (
        Path(item["path_on_compute"])
        if item.get("path_on_compute")
        else Path("inputs") / item["port"]
    )
    target = target if target.is_absolute() else workdir / target
    files = list(datastore._walk(path))
    for rel, _size in files:
        inside = rel[len(path) :].lstrip("/")
        datastore._get_file(rel, target / inside if inside else target)
    return str(target)


def tabular_output(ws: Workspace, store_name: str, path: str, options: dict[str, Any]) -> Any:
    """A step output read as a table: saved as an (anonymous) tabular dataset version."""
    datastore = ws._datastore(store_name)
    pattern = f"{path}/{options.get('glob') or '**'}"
    if options["format"] == "parquet":
        table = Dataset.Tabular.from_parquet_files(
            (datastore, pattern), include_path=options["include_path"]
        )
    else:
        table = Dataset.Tabular.from_delimited_files(
            (datastore, pattern),
            include_path=options["include_path"],
            separator=options["separator"],
            header=options["header"],
            set_column_types=options.get("set_column_types"),
        )
    return table._save(ws, None)
