"""``hyperpipe --help`` without loading the command line: the root's help, as Typer prints it.

Typer, Click and the thirteen command groups take most of a ``--help`` process's time, only to
print text that changes when a command group does. This is that text for terminals of 80
columns or more (Click wraps at 78 there, whatever the width); narrower terminals, and every
other command, go through Typer. ``tests/test_cli.py`` checks that it matches what Typer
prints, so a new command or option fails the tests until the text is updated.
"""

from __future__ import annotations

import os
import sys

__all__ = ["ROOT_HELP", "print_root_help"]

ROOT_HELP = """\
Usage: hyperpipe [OPTIONS] COMMAND [ARGS]...

  ML pipelines, HyperDrive sweeps and run tracking, the Azure ML SDK v1 way,
  locally.

Options:
  -w, --workspace <path>  Workspace folder (or a folder below it). Default:
                          found from the current folder.
  --version               Show the version.
  --help                  Show this message and exit.

Commands:
  init         Create a workspace: config in .azureml/, a SQLite store...
  run          Submit SCRIPT as a run and stream its output.
  portal       Open the portal: experiments, runs, metrics, pipelines,...
  runs         Inspect, follow and cancel runs.
  experiments  List experiments.
  models       List registered models.
  compute      Declare the compute targets runs execute on.
  pipelines    Inspect pipeline runs, explain step reuse, resume, cancel...
  published    Published pipelines: list, show, enable, disable and...
  endpoints    Pipeline endpoints: versions of published pipelines behind...
  schedules    Schedules: submit published pipelines on a recurrence or...
  scheduler    The scheduler daemon: fires due schedules, exactly once...
  datasets     List registered datasets and their versions.
  example      Set up the examples that ship with hyperpipe.
"""


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it (COLUMNS, then the
    terminal, else 80), without importing ``shutil``."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def print_root_help(argv: list[str]) -> bool:
    """Print the root's help when ``argv`` asks only for it on a wide enough terminal;
    False (nothing printed) otherwise."""
    if argv != ["--help"] or _columns() < 80:
        return False
    sys.stdout.write(ROOT_HELP)
    sys.stdout.flush()
    return True
