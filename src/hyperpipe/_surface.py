"""SDK v1 names hyperpipe does not implement: one clear error instead of a bare ``AttributeError``.

Every class that mirrors an SDK v1 class derives from :class:`SdkV1Surface`. Looking up a public
name it lacks — on an object (``run.get_secret``) or on the class (``Model.deploy``) — raises
:class:`~hyperpipe.exceptions.AzureMLNotSupportedError` (an ``AttributeError``, so ``hasattr`` and
``getattr(obj, name, default)`` keep working) with one line: ``not supported in hyperpipe:
<class>.<name>; <alternative>``. Private names keep Python's own error.
"""

from __future__ import annotations

from typing import Any

from hyperpipe.exceptions import AzureMLNotSupportedError

__all__ = ["README_SECTION", "SdkV1Surface", "not_supported", "not_supported_message"]

README_SECTION = 'see README "Where hyperpipe differs from SDK v1"'

_SERVE = "serve the model files yourself: Model.get_model_path(name) or model.download()"

# What to do instead, for SDK v1 calls that real scripts make and hyperpipe leaves out.
ALTERNATIVES: dict[str, str] = {
    "Workspace.get_mlflow_tracking_uri": (
        "there is no MLflow server; read metrics with run.get_metrics() or in the portal "
        "(`hyperpipe portal`)"
    ),
    "Workspace.list_keys": "a local workspace has no keys; datastores are folders or fsspec URLs",
    "Workspace.get_default_keyvault": (
        "there is no key vault; give secrets to runs as environment variables "
        "(Environment.environment_variables)"
    ),
    "Workspace.delete": "delete the workspace folder (it holds the store and the datastores)",
    "Run.get_secret": (
        "there is no key vault; read secrets from environment variables "
        "(Environment.environment_variables)"
    ),
    "Run.get_secrets": (
        "there is no key vault; read secrets from environment variables "
        "(Environment.environment_variables)"
    ),
    "Model.deploy": _SERVE,
    "Model.package": _SERVE,
    "Model.profile": "time the model in your own script; runs record metrics with run.log",
    "Environment.build": (
        "runs use the local interpreter (or python.interpreter_path); install packages into it"
    ),
    "Environment.build_local": (
        "runs use the local interpreter (or python.interpreter_path); install packages into it"
    ),
}


def not_supported_message(owner: str, name: str, known: list[str] | None = None) -> str:
    """``not supported in hyperpipe: <owner>.<name>; <alternative>``."""
    call = f"{owner}.{name}"
    hints = []
    alternative = ALTERNATIVES.get(call)
    if alternative:
        hints.append(alternative)
    else:
        import difflib

        close = difflib.get_close_matches(name, known or [], n=1, cutoff=0.8)
        if close:
            hints.append(f"did you mean {owner}.{close[0]}?")
    hints.append(README_SECTION)
    return f"not supported in hyperpipe: {call}; {'; '.join(hints)}"


def not_supported(owner: type, name: str, obj: Any = None) -> AzureMLNotSupportedError:
    """The error for ``owner.name``, naming the class as SDK v1 code knows it (the message is
    built only if someone reads it)."""

    def describe() -> str:
        known = [n for n in dir(owner) if not n.startswith("_")]
        return not_supported_message(owner.__name__, name, known)

    return AzureMLNotSupportedError(
        describe=describe, name=name, obj=obj if obj is not None else owner
    )


class _SurfaceMeta(type):
    """Class-level lookups (``Model.deploy``) of names the class lacks."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(
                f"type object {cls.__name__!r} has no attribute {name!r}", name=name, obj=cls
            )
        raise not_supported(cls, name)


class SdkV1Surface(metaclass=_SurfaceMeta):
    """Base of hyperpipe's SDK v1 classes: a missing public attribute names itself."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        owner = type(self)
        if name.startswith("_"):
            raise AttributeError(
                f"{owner.__name__!r} object has no attribute {name!r}", name=name, obj=self
            )
        if any(name in vars(klass) for klass in owner.__mro__):
            # A property of the class raised AttributeError itself: let that error through.
            return object.__getattribute__(self, name)
        raise not_supported(owner, name, self)
