"""The ``hyperpipe`` command line (internal): one module per command group."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from hyperpipe._lazy import lazy_exports

if TYPE_CHECKING:
    from hyperpipe.cli._main import app

__all__ = ["app", "main"]

__getattr__, __dir__ = lazy_exports(__name__, {"app": "hyperpipe.cli._main"})


def main() -> None:
    """The ``hyperpipe`` command: the root's help straight away, anything else through Typer."""
    from hyperpipe.cli._root_help import print_root_help

    if print_root_help(sys.argv[1:]):
        return
    from hyperpipe.cli._main import main as run

    run()
