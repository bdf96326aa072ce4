"""The process of a ``CommandStep``: ``python -m hyperpipe.pipeline._command --raw 0,2 -- PARTS``.

The command's parts arrive with every input, output and parameter already replaced by its value
(a local path, a string). Parts the user wrote as text (``--raw`` lists their positions) go to the
shell as written, so ``python train.py --epochs 3`` and ``ls $AZUREML_DATAREFERENCE_data`` work as
they did in SDK v1; values are quoted. The shell replaces this process (same pid, same process
group, same log), with the step's interpreter first on ``PATH`` so ``python`` is the one that runs
pipeline steps.
"""

from __future__ import annotations

import os
import shlex
import sys

__all__ = ["command_line", "main"]

SHELL = "/bin/sh"


def command_line(parts: list[str], raw: set[int]) -> str:
    """One shell command line: raw parts as written, the others quoted."""
    return " ".join(part if index in raw else shlex.quote(part) for index, part in enumerate(parts))


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "--raw" or argv[2] != "--":
        sys.stderr.write("usage: python -m hyperpipe.pipeline._command --raw I,J -- PARTS...\n")
        return 2
    raw = {int(i) for i in argv[1].split(",") if i}
    line = command_line(argv[3:], raw)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        p for p in (os.path.dirname(sys.executable), env.get("PATH", "")) if p
    )
    sys.stdout.flush()
    os.execve(SHELL, [SHELL, "-c", line], env)
    return 127  # not reached: execve replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
