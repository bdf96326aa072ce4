"""A Python interpreter started ahead of its task, so that the task skips the interpreter's
start-up (see ``LocalBackend``'s spares).

Run as ``python .../_standby.py`` (a file, not a module of the package: it imports only the
standard library, so it is ready soon after ``python -c pass`` would have ended). It reads one
request from stdin, a ``marshal``-ed dict (the format of this very interpreter, which is its
parent's: no module to import) with ``argv`` (``[python, script.py, *args]``), ``cwd``, ``env``
and ``log_path``, and becomes ``python script.py *args`` as started in ``cwd`` with
``env``, its output appended to ``log_path``, and stdin from ``/dev/null``: ``sys.argv``,
``sys.path[0]`` and ``__main__`` as the interpreter sets them, an uncaught error printed from
the script's frame down, and the interpreter's own exit (``atexit``, non-daemon threads). Its
standard streams were opened on ``/dev/null`` at start-up, as a script's are on a log file, so
their buffering and encoding are those of ``python script.py >> log 2>&1``. Its parent closing
stdin without a request ends it.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import marshal
import os
import sys
import types

# Not typing's own: importing typing would add milliseconds before this interpreter is ready.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["print_from_script", "run_as_main"]


def print_from_script(exc: BaseException, script: str) -> None:
    """The traceback ``python script.py`` prints for ``exc``: from the script's frame down."""
    import traceback

    tb = exc.__traceback__
    target = os.path.abspath(script)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != target:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


def _become(request: dict[str, Any]) -> str:
    """Take the request's streams, folder, environment and arguments; returns the script."""
    log = os.open(request["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv = request["argv"]
    script = argv[1]
    sys.argv = list(argv[1:])
    sys.orig_argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    sys.excepthook = lambda kind, exc, tb: print_from_script(exc, script)
    return script


def run_as_main(script: str) -> None:
    """Run ``script`` as the interpreter runs ``python script.py``: compiled from its bytes
    (its encoding declaration holds) in a new ``__main__`` module. ``runpy.run_path`` would
    import pkgutil, and with it typing and re: some 20 ms."""
    path = os.path.abspath(script)  # as the interpreter names it, in __file__ and tracebacks
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec", dont_inherit=True)
    exec(code, main.__dict__)


if __name__ == "__main__":
    _data = sys.stdin.buffer.read()
    if not _data:
        os._exit(0)
    run_as_main(_become(marshal.loads(_data)))
