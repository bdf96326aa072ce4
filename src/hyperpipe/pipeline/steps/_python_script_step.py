"""``PythonScriptStep``: run a Python script as a pipeline step."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from hyperpipe.exceptions import UserErrorException
from hyperpipe.pipeline.steps._base import PipelineStep

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hyperpipe.core.runconfig import RunConfiguration

__all__ = ["RUNCONFIG_PARAMS", "PythonScriptStep"]

RUNCONFIG_PARAMS = frozenset(
    {
        "NodeCount",
        "MpiProcessCountPerNode",
        "TensorflowWorkerCount",
        "TensorflowParameterServerCount",
    }
)


class PythonScriptStep(PipelineStep):
    """Runs ``script_name`` from ``source_directory`` with ``arguments`` on ``compute_target``.

    ``params`` become environment variables ``AML_PARAMETER_<name>`` and count for reuse, as do
    the arguments, ``version``, the compute target, the environment and every file of the source
    folder (honouring ``.amlignore``/``.gitignore``; ``__pycache__`` never counts).
    """

    _type = "PythonScriptStep"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        arguments: Sequence[Any] | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: dict[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: dict[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: list[str] | None = None,
    ) -> None:
        if not isinstance(script_name, str) or not script_name:
            raise UserErrorException(f"script_name must be a file name, got {script_name!r}")
        unknown = set(runconfig_pipeline_params or {}) - RUNCONFIG_PARAMS
        if unknown:
            raise UserErrorException(
                f"runconfig_pipeline_params has unknown keys {sorted(unknown)}; allowed: "
                f"{sorted(RUNCONFIG_PARAMS)}"
            )
        if hash_paths:
            warnings.warn(
                "hash_paths is deprecated: the whole source_directory is always hashed",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(
            name or script_name,
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            allow_reuse=allow_reuse,
            version=version,
        )
        self.script_name = script_name
        self.source_directory = os.fspath(source_directory) if source_directory else None
        self.runconfig = runconfig
        self.params = dict(params or {})
        target = compute_target
        if isinstance(target, tuple):
            target = target[0]
        if target is None and runconfig is not None:
            target = runconfig.target
        self.compute_target = target if target is None or isinstance(target, str) else target.name
