"""``CommandStep``: run a command (any executable, ``python train.py ...``) as a pipeline step."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hyperpipe.core._script_run_config import ScriptRunConfig
from hyperpipe.core.runconfig import RunConfiguration
from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.steps._base import PipelineStep
from hyperpipe.pipeline.steps._python_script_step import RUNCONFIG_PARAMS

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CommandStep"]

LAUNCHER = ("-m", "hyperpipe.pipeline._command")


class CommandStep(PipelineStep):
    """Runs ``command`` in a snapshot of ``source_directory`` on ``compute_target``.

    ``command`` is a string (``"python train.py --epochs 3"``) or a list whose first item is such
    a string and whose other items are more text or inputs, outputs and pipeline parameters
    (``["python train.py --data", dataset.as_mount(), "--out", output]``): those become local
    paths and values. Text runs through ``/bin/sh`` as written, as it did in SDK v1, with the
    interpreter that runs pipeline steps first on ``PATH``. ``runconfig`` may be a
    ``ScriptRunConfig`` carrying ``command=`` (and its source folder, target and environment) or a
    ``RunConfiguration``. The step's name defaults to ``CommandStep_<first word>``.
    """

    _type = "CommandStep"

    def __init__(
        self,
        command: str | Sequence[Any] | None = None,
        name: str | None = None,
        compute_target: Any = None,
        runconfig: ScriptRunConfig | RunConfiguration | None = None,
        runconfig_pipeline_params: dict[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: dict[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
    ) -> None:
        if isinstance(runconfig, ScriptRunConfig):
            source = runconfig
            source_directory = source_directory or source.source_directory
            command = command or source.command
            compute_target = compute_target or source.compute_target
            runconfig = source.run_config or RunConfiguration()
            if source.run_config is None and source.environment is not None:
                runconfig.environment = source.environment
        if runconfig is not None:
            command = command or getattr(runconfig, "command", None)
        parts = _parts(command)
        unknown = set(runconfig_pipeline_params or {}) - RUNCONFIG_PARAMS
        if unknown:
            raise UserErrorException(
                f"runconfig_pipeline_params has unknown keys {sorted(unknown)}; allowed: "
                f"{sorted(RUNCONFIG_PARAMS)}"
            )
        if source_directory is not None and not os.path.isdir(source_directory):
            raise UserErrorException(
                f"CommandStep source_directory {os.fspath(source_directory)!r} is not a folder; "
                "pass an existing folder, or None for commands already on this machine"
            )
        first_word = parts[0].split(maxsplit=1)[0] if parts[0].strip() else ""
        super().__init__(
            name or f"CommandStep_{first_word}",
            inputs=inputs,
            outputs=outputs,
            arguments=parts,
            allow_reuse=allow_reuse,
            version=version,
        )
        self._raw = [i for i, part in enumerate(parts) if isinstance(part, str)]
        self.command = command
        self.script_name: str | None = None
        # SDK v1 snapshots the current folder when none is given.
        self.source_directory = os.fspath(source_directory or os.getcwd())
        self.runconfig = runconfig
        self.params = dict(params or {})
        target = compute_target
        if isinstance(target, tuple):
            target = target[0]
        if target is None and runconfig is not None:
            target = runconfig.target
        self.compute_target = target if target is None or isinstance(target, str) else target.name

    def _launcher(self) -> list[str]:
        """How the step process starts: the command runner, told which parts are text."""
        return [*LAUNCHER, "--raw", ",".join(map(str, self._raw)), "--"]


def _parts(command: Any) -> list[Any]:
    """The command as [text, item, ...]; refuses a missing or empty command."""
    if isinstance(command, str):
        parts: list[Any] = [command]
    elif isinstance(command, (list, tuple)) and command and isinstance(command[0], str):
        parts = list(command)
    else:
        raise UserErrorException(
            f"CommandStep needs command='executable args' (or a list starting with that text), "
            f"directly or through runconfig=ScriptRunConfig(command=...); got {command!r}"
        )
    if not parts[0].strip():
        raise UserErrorException("CommandStep command must not be empty; give the command to run")
    return parts
