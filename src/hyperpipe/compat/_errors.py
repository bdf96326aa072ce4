"""The errors the ``azureml`` alias raises for SDK v1 names hyperpipe does not have."""

from __future__ import annotations

from hyperpipe.exceptions import HyperpipeError

__all__ = [
    "AzureMLModuleNotSupportedError",
    "AzureMLNotSupportedError",
    "AzureMLNotSupportedImportError",
    "unsupported_message",
]

README_SECTION = 'see README "Where hyperpipe differs from SDK v1"'


def unsupported_message(call: str, alias: str, target: str | None, children: list[str]) -> str:
    """``azureml.core.X is not supported by hyperpipe (...)``: the call, what ``alias`` maps onto
    (or, for a namespace, the ``children`` it holds), where to read more."""
    if target is None:
        where = f"{alias} holds only {', '.join(f'{alias}.{c}' for c in children)}"
    else:
        where = f"{alias} maps onto {target}, which has no {call.rsplit('.', 1)[-1]}"
    return (
        f"{call} is not supported by hyperpipe (the azureml alias maps azureml.* onto "
        f"hyperpipe.*; {where}); {README_SECTION}"
    )


class AzureMLNotSupportedError(HyperpipeError, AttributeError):
    """An attribute SDK v1 has was looked up on an aliased ``azureml`` module."""


class AzureMLNotSupportedImportError(HyperpipeError, ImportError):
    """``from azureml.X import Y`` named a ``Y`` hyperpipe does not have.

    Not an ``AttributeError``: Python would swallow that and print a generic "cannot import
    name" message instead.
    """


class AzureMLModuleNotSupportedError(HyperpipeError, ModuleNotFoundError):
    """An ``azureml.*`` module hyperpipe does not provide was imported."""
