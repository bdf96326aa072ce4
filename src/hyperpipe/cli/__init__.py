"""The ``hyperpipe`` command line (internal): one module per command group."""

from hyperpipe.cli._main import app, main

__all__ = ["app", "main"]
