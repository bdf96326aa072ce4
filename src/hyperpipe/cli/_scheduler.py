"""``hyperpipe scheduler``: the daemon that fires schedules; ``status`` and ``stop`` it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Annotated

import typer

from hyperpipe._ids import uuid4_hex
from hyperpipe.cli._common import Table, console, errors, esc, when, workspace

app = typer.Typer(
    help="The scheduler daemon: fires due schedules, exactly once however many run.",
    invoke_without_command=True,
)


def _log(line: str) -> None:
    sys.stderr.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {line}\n")
    sys.stderr.flush()


@app.callback()
def scheduler(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Fire what is due now and exit (for cron).")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background; prints its id and log.")
    ] = False,
    poll_interval: Annotated[
        float,
        typer.Option(min=0.01, help="Most seconds between looks at the store for new schedules."),
    ] = 1.0,
    scheduler_id: Annotated[
        str | None,
        typer.Option("--id", hidden=True, help="Id to run under (set by --detach)."),
    ] = None,
) -> None:
    """Run the scheduler daemon in the foreground until Ctrl+C (or SIGTERM)."""
    if ctx.invoked_subcommand is not None:
        return
    from hyperpipe.compat import enable_azureml_alias
    from hyperpipe.pipeline._daemon import SchedulerDaemon, clock_from_environment

    ws = workspace()
    if detach:
        _detach(ws, poll_interval)
        return
    enable_azureml_alias()  # scheduled steps written for SDK v1 keep their azureml imports
    daemon = SchedulerDaemon(
        ws,
        clock=clock_from_environment(),
        poll_interval=poll_interval,
        scheduler_id=scheduler_id,
        log=_log,
    )
    if once:
        fires = daemon.run_once()
        for fire in fires:
            console.print(
                esc(f"{fire.outcome:9} {fire.fire_key} {fire.run_id or fire.reason or ''}")
            )
        errors.print(f"{len(fires)} fire(s) recorded by {esc(daemon.id)}")
        return
    daemon.register()
    count = len(ws._store.list_schedules())
    _log(
        f"scheduler {daemon.id} (pid {ws._store.get_scheduler(daemon.id).pid}) firing "
        f"{count} active schedule(s) of workspace {ws.name!r}; Ctrl+C stops it"
    )
    daemon.run()
    _log(f"scheduler {daemon.id} stopped")


def _detach(ws, poll_interval: float) -> None:  # type: ignore[no-untyped-def]
    """Start the daemon as a new process in its own session and record who it is."""
    from hyperpipe.core import _lifecycle
    from hyperpipe.pipeline._daemon import block_stop_signals

    scheduler_id = f"scheduler-{uuid4_hex()[:12]}"
    log = ws.state_dir / "schedulers" / f"{scheduler_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hyperpipe",
                "-w",
                str(ws.root),
                "scheduler",
                "--poll-interval",
                str(poll_interval),
                "--id",
                scheduler_id,
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            preexec_fn=block_stop_signals,  # a stop sent before it can handle one waits for it
        )
    ws._store.register_scheduler(
        scheduler_id=scheduler_id,
        **_lifecycle.process_identity(child.pid),
        details={"poll_interval": poll_interval, "log": str(log), "detached": True},
    )
    console.print(esc(scheduler_id))
    errors.print(
        f"Scheduler {esc(scheduler_id)} started (pid {child.pid}); log {esc(log)}. Stop it with "
        f"`hyperpipe scheduler stop {esc(scheduler_id)}`"
    )


@app.command("status")
def scheduler_status(
    all_: Annotated[bool, typer.Option("--all", help="Also list stopped schedulers.")] = False,
) -> None:
    """List scheduler daemons: process, whether it lives, last look at the store."""
    from hyperpipe.pipeline._daemon import daemon_alive

    ws = workspace()
    records = ws._store.list_schedulers(running_only=not all_)
    table = Table("Id", "Host", "Pid", "Alive", "Started", "Last look", "Stopped", box=None)
    for r in records:
        alive = daemon_alive(r)
        shown = "unknown (other host)" if alive is None else ("yes" if alive else "no")
        table.add_row(
            r.id,
            r.host,
            str(r.pid or "-"),
            shown if r.stopped_at is None else "-",
            when(r.started_at),
            when(r.heartbeat_at),
            when(r.stopped_at),
        )
    console.print(table if records else "No scheduler running (start one: hyperpipe scheduler).")


@app.command("stop")
def scheduler_stop(
    scheduler_id: Annotated[
        str | None, typer.Argument(help="The scheduler to stop (default: all on this host).")
    ] = None,
) -> None:
    """Stop scheduler daemons on this machine (only processes whose pid and start time match
    what they recorded are signalled)."""
    from hyperpipe.pipeline._daemon import stop_schedulers

    stopped = stop_schedulers(workspace(), scheduler_id)
    console.print(
        "Asked to stop: " + esc(", ".join(stopped)) if stopped else "No running scheduler to stop."
    )
