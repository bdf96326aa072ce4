"""The errors the ``azureml`` alias raises for SDK v1 names hyperpipe does not have."""

from __future__ import annotations

from hyperpipe._surface import README_SECTION
from hyperpipe.exceptions import AzureMLNotSupportedError, HyperpipeError

__all__ = [
    "AzureMLModuleNotSupportedError",
    "AzureMLNotSupportedError",
    "AzureMLNotSupportedImportError",
    "unsupported_message",
]


def unsupported_message(call: str, alias: str, target: str | None, children: list[str]) -> str:
    """``not supported in hyperpipe: azureml.core.X; ...``: the call, what ``alias`` maps onto
    (or, for a namespace, the ``children`` it holds), where to read more."""
    if target is None:
        where = f"{alias} holds only {', '.join(f'{alias}.{c}' for c in children)}"
    else:
        where = f"the alias maps {alias} onto {target}, which has no {call.rsplit('.', 1)[-1]}"
    return f"not supported in hyperpipe: {call}; {where}; {README_SECTION}"


class AzureMLNotSupportedImportError(HyperpipeError, ImportError):
    """``from azureml.X import Y`` named a ``Y`` hyperpipe does not have.

    Not an ``AttributeError``: Python would swallow that and print a generic "cannot import
    name" message instead.
    """


class AzureMLModuleNotSupportedError(HyperpipeError, ModuleNotFoundError):
    """An ``azureml.*`` module hyperpipe does not provide was imported."""
