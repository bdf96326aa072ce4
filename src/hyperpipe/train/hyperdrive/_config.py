"""``HyperDriveConfig``: what to tune, how to sample, when to stop; submitted as a HyperDriveRun."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe._ids import uuid4_str
from hyperpipe._surface import SdkV1Surface
from hyperpipe.core import _lifecycle
from hyperpipe.core._environment import environment_record
from hyperpipe.core._script_run_config import ScriptRunConfig, resolve_arguments
from hyperpipe.core._snapshot import store_snapshot
from hyperpipe.exceptions import UserErrorException
from hyperpipe.train.hyperdrive._goal import PrimaryMetricGoal
from hyperpipe.train.hyperdrive._policies import EarlyTerminationPolicy

if TYPE_CHECKING:
    from hyperpipe.core._experiment import Experiment
    from hyperpipe.core._workspace import Workspace
    from hyperpipe.train.hyperdrive._run import HyperDriveRun

__all__ = ["HyperDriveConfig", "HyperDriveRunConfig"]

HYPERDRIVE_RUN_TYPE = "hyperdrive"
MAX_DURATION_MINUTES = 10080


class HyperDriveConfig(SdkV1Surface):
    """A hyperparameter sweep over one training script.

    Exactly one of ``run_config`` (a ``ScriptRunConfig``) or ``estimator`` names the script;
    each trial runs it with the base arguments followed by ``--<key> <value>`` for each sampled
    hyperparameter. Trials run ``max_concurrent_runs`` at a time (default: all), on the script's
    compute target, within its concurrency and GPU limits.

    Unlike SDK v1, local compute targets are allowed, and Bayesian sampling may be combined with
    an early-termination policy.
    """

    def __init__(
        self,
        hyperparameter_sampling: Any,
        primary_metric_name: str,
        primary_metric_goal: PrimaryMetricGoal,
        max_total_runs: int,
        max_concurrent_runs: int | None = None,
        max_duration_minutes: int = MAX_DURATION_MINUTES,
        policy: Any = None,
        estimator: Any = None,
        run_config: ScriptRunConfig | None = None,
        resume_from: Any = None,
        resume_child_runs: Any = None,
        pipeline: Any = None,
        debug_flag: Any = None,
        custom_run_id: str | None = None,
    ) -> None:
        given = [x for x in (estimator, run_config, pipeline) if x is not None]
        if not given:
            raise UserErrorException(
                "HyperDriveConfig needs the script to tune: pass run_config=ScriptRunConfig(...) "
                "(or estimator=...)"
            )
        if len(given) > 1:
            raise UserErrorException(
                "HyperDriveConfig takes only one of estimator, run_config or pipeline"
            )
        if pipeline is not None:
            raise UserErrorException("tuning a whole pipeline is not supported; tune a script")
        if hyperparameter_sampling is None or not hasattr(hyperparameter_sampling, "to_arguments"):
            raise UserErrorException(
                "hyperparameter_sampling must be RandomParameterSampling, GridParameterSampling "
                f"or BayesianParameterSampling, got {hyperparameter_sampling!r}"
            )
        if not isinstance(primary_metric_name, str) or not primary_metric_name:
            raise UserErrorException(
                "primary_metric_name must name the metric the script logs, got "
                f"{primary_metric_name!r}"
            )
        if not isinstance(primary_metric_goal, PrimaryMetricGoal):
            raise UserErrorException(
                f"primary_metric_goal must be PrimaryMetricGoal.MAXIMIZE or .MINIMIZE, got "
                f"{primary_metric_goal!r}"
            )
        if (
            not isinstance(max_total_runs, int)
            or isinstance(max_total_runs, bool)
            or max_total_runs < 1
        ):
            raise UserErrorException(
                "max_total_runs must be a positive integer (how many trials to run), got "
                f"{max_total_runs!r}"
            )
        if max_concurrent_runs is not None and (
            not isinstance(max_concurrent_runs, int) or max_concurrent_runs < 1
        ):
            raise UserErrorException(
                "max_concurrent_runs must be a positive integer or None, got "
                f"{max_concurrent_runs!r}"
            )
        if (
            not isinstance(max_duration_minutes, (int, float))
            or isinstance(max_duration_minutes, bool)
            or not max_duration_minutes > 0
        ):
            raise UserErrorException(
                "max_duration_minutes must be a positive number of minutes (the sweep stops "
                f"when it has run that long), got {max_duration_minutes!r}"
            )
        if policy is not None and not isinstance(policy, EarlyTerminationPolicy):
            raise UserErrorException(
                f"policy must be an early-termination policy such as BanditPolicy("
                f"slack_factor=0.1), MedianStoppingPolicy() or TruncationSelectionPolicy("
                f"truncation_percentage=20) (or None), got {policy!r}"
            )
        if max_duration_minutes > MAX_DURATION_MINUTES:
            warnings.warn(
                f"max_duration_minutes={max_duration_minutes} is above {MAX_DURATION_MINUTES} "
                "(7 days)",
                UserWarning,
                stacklevel=2,
            )
        self.hyperparameter_sampling = hyperparameter_sampling
        self.primary_metric_name = primary_metric_name
        self.primary_metric_goal = primary_metric_goal
        self.max_total_runs = max_total_runs
        self.max_concurrent_runs = max_concurrent_runs or max_total_runs
        self.max_duration_minutes = max_duration_minutes
        self.policy = policy
        self.run_config = (
            run_config if run_config is not None else estimator._to_script_run_config()
        )
        self.estimator = estimator
        self.resume_from = _as_list(resume_from)
        if len(self.resume_from) > 5:
            raise UserErrorException(
                f"resume_from takes at most 5 HyperDrive runs, got {len(self.resume_from)}"
            )
        for earlier in self.resume_from:
            if getattr(earlier, "type", None) != HYPERDRIVE_RUN_TYPE:
                raise UserErrorException(f"resume_from must hold HyperDrive runs, got {earlier!r}")
        self.custom_run_id = custom_run_id
        check = getattr(hyperparameter_sampling, "check_budget", None)
        if check is not None:
            check(self.max_total_runs, self.max_concurrent_runs)

    @property
    def source_directory(self) -> str:
        return self.run_config.source_directory

    def _to_json(
        self, workspace: Workspace, extra_arguments: list[Any] | None = None
    ) -> dict[str, Any]:
        """The sweep as stored on its run: everything the driver needs, in any process."""
        config = self.run_config
        source = Path(config.source_directory).resolve()
        if not config.script or not (source / config.script).is_file():
            raise UserErrorException(
                f"script {config.script!r} not found: {source / str(config.script)} does not "
                "exist; "
                "check script= and source_directory= of the run config"
            )
        snapshot, _files = store_snapshot(source, workspace.state_dir / "snapshots")
        arguments, inputs = resolve_arguments(
            [*config.arguments, *(extra_arguments or [])], workspace
        )
        target = workspace._target_spec(config.target_name)
        from hyperpipe.core._backends import check_targets

        check_targets(workspace, [target.name])
        if self.estimator is not None:
            from hyperpipe.train.dnn._pytorch import warn_if_no_gpus

            warn_if_no_gpus(self.estimator, target, stacklevel=3)
        return {
            "sampling": _describe(self.hyperparameter_sampling),
            "policy": _describe(self.policy) if self.policy is not None else None,
            "primary_metric_name": self.primary_metric_name,
            "primary_metric_goal": self.primary_metric_goal.name,
            "max_total_runs": self.max_total_runs,
            "max_concurrent_runs": self.max_concurrent_runs,
            "max_duration_minutes": self.max_duration_minutes,
            "script": config.script,
            "source_directory": str(source),
            "snapshot": snapshot,
            "arguments": arguments,
            "inputs": inputs + [c._to_spec(workspace) for c in config._extra_inputs],
            "command": list(config.command) if isinstance(config.command, list) else None,
            "target": target.name,
            "environment_variables": dict(
                getattr(config.environment, "environment_variables", {}) or {}
            ),
            "resume_from": [r.id for r in self.resume_from],
        }

    def _submit_to(self, experiment: Experiment, **kwargs: Any) -> HyperDriveRun:
        from hyperpipe.train.hyperdrive._driver import start_driver
        from hyperpipe.train.hyperdrive._run import HyperDriveRun

        workspace = experiment.workspace
        definition = self._to_json(workspace)
        record = workspace._store.create_run(
            experiment_name=experiment.name,
            run_id=self.custom_run_id or f"HD_{uuid4_str()}",
            run_type=HYPERDRIVE_RUN_TYPE,
            target=definition["target"],
            definition={
                "hyperdrive": definition,
                "datastore": workspace.get_default_datastore().name,
                "environment": environment_record(self.run_config.environment),
            },
            properties={"runTemplate": "HyperDrive", "primary_metric_config": _metric_config(self)},
            tags={
                "max_total_jobs": str(self.max_total_runs),
                "max_concurrent_jobs": str(self.max_concurrent_runs),
                "max_duration_minutes": str(self.max_duration_minutes),
            },
            **_lifecycle.process_identity(),  # responsible until its driver is recorded
        )
        start_driver(workspace, record.id)
        return HyperDriveRun._from_record(experiment, workspace._store.get_run(record.id))  # type: ignore[return-value]


class HyperDriveRunConfig(HyperDriveConfig):
    """Deprecated SDK v1 name of :class:`HyperDriveConfig`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            "HyperDriveRunConfig is deprecated; use HyperDriveConfig",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)


def _describe(thing: Any) -> dict[str, Any]:
    """A sampler or policy as JSON: its class and constructor arguments."""
    describe = getattr(thing, "_to_json", None)
    if describe is not None:
        return {"type": type(thing).__name__, **describe()}
    params = {k.lstrip("_"): v for k, v in vars(thing).items()}
    return {"type": type(thing).__name__, "params": params}


def _metric_config(config: HyperDriveConfig) -> str:
    import json

    return json.dumps(
        {"name": config.primary_metric_name, "goal": config.primary_metric_goal.name.lower()}
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
