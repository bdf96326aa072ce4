"""Package exports loaded on first use (PEP 562), so a script pays only for the names it uses.

``from hyperpipe.pipeline.core import Pipeline`` should not load schedules, published pipelines
and their time zones. A package lists ``{name: module}`` and gets a ``__getattr__`` that imports
the module the first time the name is looked up, then keeps the value in the package, and a
``__dir__`` that lists every export. Type checkers read the same names from an
``if TYPE_CHECKING:`` block of plain imports.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Any, Any]:
    """``(__getattr__, __dir__)`` for ``package``, serving each name of ``exports`` (name ->
    module that defines it) from its module, imported when the name is first needed."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
