"""Errors raised by hyperpipe.

One root, :class:`HyperpipeError`. Where SDK v1 had a named exception users catch
(``UserErrorException``, ``ComputeTargetException``, ``ActivityFailedException``...), the same name
exists here, and each also inherits the matching builtin so plain ``except ValueError`` works too.
Messages say what was wrong, the value received, and how to fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ActivityFailedException",
    "AzureMLNotSupportedError",
    "ComputeTargetException",
    "ConfigError",
    "DataDriftNameError",
    "DatasetTypeError",
    "ExperimentExecutionException",
    "HyperpipeError",
    "InvalidStatusTransition",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "RunEndedError",
    "RunEnvironmentException",
    "RunNotFoundError",
    "StoreError",
    "StoreUnwritableError",
    "UserErrorException",
    "WebserviceException",
]


class HyperpipeError(Exception):
    """Root of every error hyperpipe raises on purpose."""


class UserErrorException(HyperpipeError, ValueError):
    """The caller passed something hyperpipe cannot use (SDK v1's name for bad input)."""


class ConfigError(UserErrorException):
    """A workspace configuration file is missing, malformed, or lacks a key."""


class ComputeTargetException(UserErrorException, KeyError):
    """A compute target is unknown or its configuration is invalid."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class DataDriftNameError(UserErrorException, KeyError):
    """A data drift monitor name is taken (create) or unknown (get_by_name), as SDK v1 raised."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class DatasetTypeError(UserErrorException, TypeError):
    """A dataset of the wrong kind, or without the timestamp column a monitor needs."""


class RunNotFoundError(UserErrorException, LookupError):
    """No run with the given id exists in the workspace's store."""


class RunEnvironmentException(HyperpipeError, RuntimeError):
    """``Run.get_context(allow_offline=False)`` was called outside a submitted run."""


class ExperimentExecutionException(UserErrorException):
    """A run could not be submitted: missing script, bad arguments, unknown target."""


class ActivityFailedException(HyperpipeError, RuntimeError):
    """``wait_for_completion`` saw the run end in Failed or Crashed."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class WebserviceException(UserErrorException):
    """SDK v1's error for model registry problems (bad name, missing model)."""


class ModelNotFoundException(WebserviceException, LookupError):
    """No registered model matches the name and version asked for."""


class ModelPathNotFoundException(WebserviceException, FileNotFoundError):
    """``run.register_model`` was given a path that is not among the run's files."""


class StoreError(HyperpipeError, RuntimeError):
    """The metadata store could not be opened or written."""


class StoreUnwritableError(StoreError):
    """The store's disk is full, or it is read-only: the write changed nothing, and the same
    call works again once that is fixed."""


class InvalidStatusTransition(HyperpipeError, RuntimeError):
    """A run was asked to move to a status its current status does not allow."""


class RunEndedError(InvalidStatusTransition):
    """A run that has ended was written to by a process still running for it."""


class AzureMLNotSupportedError(HyperpipeError, AttributeError):
    """An SDK v1 name hyperpipe does not implement was looked up: on an aliased ``azureml``
    module, or on one of hyperpipe's SDK v1 classes or their objects.

    ``describe`` builds the message when it is first shown: ``hasattr`` and
    ``getattr(obj, name, default)`` raise and catch this error without ever reading it.
    """

    def __init__(self, *args: object, describe: Callable[[], str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._describe = describe

    def __str__(self) -> str:
        if self._describe is not None:
            self.args = (self._describe(),)
            self._describe = None
        return super().__str__()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"
