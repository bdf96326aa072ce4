"""The scheduler daemon: fire what is due, exactly once, however many schedulers share a store.

Each tick reads the active schedules. A recurrence whose due time has come is claimed by
recording the fire (one row per schedule and due time, unique in the store: a second scheduler's
claim of the same due time fails and it moves on), then submitted; the run carries the schedule's
id and the due time. Due times missed while no scheduler ran fire once, at the latest of them;
the earlier ones are recorded as skipped with the reason. A datastore schedule polls its path and
claims each changed file together with the new state of the files it has seen (a versioned
update: whoever saw the old version first acts). A fire that cannot submit (pipeline disabled,
bad parameters) is recorded as failed with its reason and never retried.

Time comes from an injected clock (``clock=``; ``HYPERPIPE_SCHEDULER_CLOCK=file:PATH`` makes a
daemon process read the time from a file, so tests move time on without sleeping). The daemon
records who it is (host, pid, process start time) in the store; ``stop_schedulers`` signals only
daemons whose recorded identity matches a live process.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from hyperpipe._ids import uuid4_hex
from hyperpipe.compute._process import ProcessIdentity
from hyperpipe.core import _lifecycle
from hyperpipe.core._experiment import Experiment
from hyperpipe.data._manifest import Source, build_manifest
from hyperpipe.exceptions import ConfigError, HyperpipeError
from hyperpipe.pipeline import _triggers
from hyperpipe.pipeline.core._published import PipelineEndpoint, PublishedPipeline
from hyperpipe.pipeline.core.schedule import DUE_TIME_PROPERTY, SCHEDULE_ID_PROPERTY
from hyperpipe.store import NewFire

if TYPE_CHECKING:
    from collections.abc import Callable

    from hyperpipe.core._workspace import Workspace
    from hyperpipe.data._manifest import FileEntry
    from hyperpipe.store import ScheduleFireRecord, ScheduleRecord, SchedulerRecord

__all__ = [
    "CLOCK_ENV",
    "SchedulerDaemon",
    "clock_from_environment",
    "daemon_alive",
    "stop_schedulers",
]

CLOCK_ENV = "HYPERPIPE_SCHEDULER_CLOCK"
HEARTBEAT_S = 10.0
MAX_CHANGES_PER_POLL = 100
SKIPPED_KEPT = 100
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def clock_from_environment() -> Callable[[], float]:
    """``time.time``, or with ``HYPERPIPE_SCHEDULER_CLOCK=file:PATH`` the number in that file."""
    spec = os.environ.get(CLOCK_ENV, "").strip()
    if not spec:
        return time.time
    if spec.startswith("file:"):
        path = Path(spec[len("file:") :])

        def read() -> float:
            return float(path.read_text().strip())

        read()  # fail now, not in the loop
        return read
    raise ConfigError(f"{CLOCK_ENV}={spec!r} is not understood; use file:PATH or leave it unset")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SchedulerDaemon:
    """Fires a workspace's schedules: ``run_once()`` what is due now, or ``run()`` until
    ``stop`` is set or (when ``run`` is called in the main thread) SIGTERM/SIGINT arrive; it
    then stops within ``poll_interval``."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        clock: Callable[[], float] | None = None,
        poll_interval: float = 1.0,
        scheduler_id: str | None = None,
        stop: threading.Event | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.ws = workspace
        self.store = workspace._store
        self.clock = clock or time.time
        self.poll_interval = poll_interval
        self.id = scheduler_id or f"scheduler-{uuid4_hex()[:12]}"
        self.stop = stop or threading.Event()
        self.log = log or (lambda line: None)
        self._polled: dict[str, float] = {}  # datastore schedule id -> when it was last polled
        self._files: dict[str, list[FileEntry]] = {}  # its files then (hashes reused by mtime)
        self._registered = False
        self._signalled = False
        self._version: Any = None  # the store's schedules_version() when last read
        self._schedules: dict[str, ScheduleRecord] = {}
        self._next: dict[str, float] = {}  # schedule id -> when it is next worth a look

    # -- identity -------------------------------------------------------------------------------

    def register(self, **details: Any) -> SchedulerRecord:
        """Record this process as the daemon ``self.id`` (or adopt the row its parent made)."""
        identity = _lifecycle.process_identity()
        existing = self.store.get_scheduler(self.id)
        if existing is not None:
            record = self.store.update_scheduler(
                self.id,
                heartbeat=True,
                pid=identity["pid"],  # type: ignore[arg-type]
                pid_started_at=identity["pid_started_at"],  # type: ignore[arg-type]
            )
        else:
            record = self.store.register_scheduler(
                scheduler_id=self.id,
                host=str(identity["host"]),
                pid=identity["pid"],  # type: ignore[arg-type]
                pid_started_at=identity["pid_started_at"],  # type: ignore[arg-type]
                details={"poll_interval": self.poll_interval, **details},
            )
        self._registered = True
        return record

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        """Tick until stopped; sleeps until the next due time (at most ``poll_interval``)."""
        if threading.current_thread() is threading.main_thread():
            # Only a flag: Event.set() in a handler can deadlock on the lock Event.wait() holds.
            for signum in STOP_SIGNALS:
                signal.signal(signum, self._on_signal)
            # A detached daemon starts with them blocked (``block_stop_signals``): a stop sent
            # while it was starting up is delivered now, to the handler, not lost or fatal.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if not self._registered:
            self.register()
        self._abandon_dead_claims()
        last_beat = time.monotonic()
        try:
            while not self._stopping():
                wait = self.tick()
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    self.store.update_scheduler(self.id, heartbeat=True)
                    last_beat = time.monotonic()
                self.stop.wait(wait)
        finally:
            with contextlib.suppress(Exception):
                self.store.update_scheduler(self.id, stopped=True)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signalled = True

    def _stopping(self) -> bool:
        return self._signalled or self.stop.is_set()

    def run_once(self) -> list[ScheduleFireRecord]:
        """Fire what is due now and return the fires this scheduler recorded."""
        if not self._registered:
            self.register(once=True)
        fired: list[ScheduleFireRecord] = []
        try:
            self.tick(fired)
        finally:
            self.store.update_scheduler(self.id, stopped=True)
        return fired

    def tick(self, fired: list[ScheduleFireRecord] | None = None) -> float:
        """Fire what is due at ``clock()``; returns how long to wait before the next tick.

        An idle tick is one small query (has any schedule changed?): the schedules and when each
        is next worth a look are kept between ticks, and only those whose time has come are read
        again (their latest fire included, as another scheduler may have fired them).
        """
        now = self.clock()
        version = self.store.schedules_version()
        if version != self._version:
            self._version = version
            self._schedules = {s.id: s for s in self.store.list_schedules(active_only=True)}
            self._next = dict.fromkeys(self._schedules, -math.inf)  # look at each again
        due = [sid for sid, at in self._next.items() if at <= now]
        recurring = [sid for sid in due if "recurrence" in self._schedules[sid].trigger]
        last_due = self.store.last_due_times(recurring) if recurring else {}
        for schedule_id in due:
            if self._stopping():
                break
            schedule = self._schedules[schedule_id]
            try:
                if "recurrence" in schedule.trigger:
                    next_at = self._recurrence(schedule, now, last_due.get(schedule.id), fired)
                else:
                    next_at = self._datastore(schedule, now, fired)
            except Exception:  # one broken schedule must not stop the others
                self.log(f"schedule {schedule.name!r} ({schedule.id}): {traceback.format_exc()}")
                next_at = now + self.poll_interval
            self._next[schedule_id] = math.inf if next_at is None else next_at
        wake = min(self._next.values(), default=math.inf)
        return min(max(wake - self.clock(), 0.0) + 0.001, self.poll_interval)

    # -- recurrences ----------------------------------------------------------------------------

    def _recurrence(
        self,
        schedule: ScheduleRecord,
        now: float,
        last_due: float | None,
        fired: list[ScheduleFireRecord] | None,
    ) -> float | None:
        recurrence = schedule.trigger["recurrence"]
        anchor = _triggers.anchor_of(
            recurrence, schedule.trigger.get("anchor", schedule.created_at)
        )
        due = _triggers.pending(
            recurrence,
            anchor=anchor,
            not_before=schedule.not_before,
            last_due=last_due,
            now=now,
            keep=SKIPPED_KEPT,
        )
        if due.fire is not None:
            reason = (
                f"missed while no scheduler ran; fired once at {iso(due.fire)} instead of "
                "once per missed time"
            )
            fires = [NewFire(iso(t), t, "Skipped", reason) for t in due.skipped]
            details = {"skipped": due.skipped_total} if due.skipped_total else {}
            fires.append(NewFire(iso(due.fire), due.fire, details=details))
            claimed = self.store.claim_schedule_fires(schedule.id, fires, claimed_by=self.id)
            if claimed is not None:
                self._submit(schedule, claimed[-1], {}, fired)
                if fired is not None:
                    fired.extend(claimed[:-1])
            last_due = due.fire
        return _triggers.next_due(
            recurrence, anchor=anchor, not_before=schedule.not_before, last_due=last_due, now=now
        )

    # -- datastore changes ----------------------------------------------------------------------

    def _datastore(
        self, schedule: ScheduleRecord, now: float, fired: list[ScheduleFireRecord] | None
    ) -> float | None:
        settings = schedule.trigger["datastore"]
        every = 60.0 * float(settings.get("polling_interval") or 5)
        last = self._polled.get(schedule.id)
        if last is not None and now < last + every:
            return last + every
        self._polled[schedule.id] = now
        schedule = self.store.get_schedule(schedule.id) or schedule  # its state may have moved
        if schedule.status != "Active":
            return None
        name = settings["name"]
        entries = build_manifest(
            [Source(name, settings.get("path") or "")],
            {name: self.ws._datastore(name)},
            previous=self._files.get(schedule.id, ()),
            validate=False,
        )
        self._files[schedule.id] = entries
        current = {e.path: e.sha256 for e in entries}
        seen = dict(schedule.state.get("seen", {}))
        changed = _triggers.changed_paths(seen, current)
        if changed:
            version = schedule.state_version + 1
            fires = [
                NewFire(f"change-{version}:{path}", now, details={"path": path})
                for path in changed[:MAX_CHANGES_PER_POLL]
            ]
            fires += [
                NewFire(
                    f"change-{version}:{path}",
                    now,
                    "Skipped",
                    f"more than {MAX_CHANGES_PER_POLL} files changed in one poll",
                    {"path": path},
                )
                for path in changed[MAX_CHANGES_PER_POLL:]
            ]
            claimed = self.store.claim_schedule_fires(
                schedule.id,
                fires,
                claimed_by=self.id,
                state={**schedule.state, "seen": current},
                state_version=schedule.state_version,
            )
            for fire in claimed or []:
                if fire.outcome != "Claimed":
                    if fired is not None:
                        fired.append(fire)
                    continue
                extra = {}
                parameter = settings.get("data_path_parameter_name")
                if parameter:
                    extra[parameter] = {
                        "datastore": name,
                        "path_on_datastore": fire.details["path"],
                    }
                self._submit(schedule, fire, extra, fired)
        return now + every

    # -- submitting -----------------------------------------------------------------------------

    def _submit(
        self,
        schedule: ScheduleRecord,
        fire: ScheduleFireRecord,
        extra: dict[str, Any],
        fired: list[ScheduleFireRecord] | None,
    ) -> None:
        try:
            target = self._target(schedule)
            parameters = {**schedule.pipeline_parameters, **_data_paths(target, extra)}
            run = Experiment(self.ws, schedule.experiment_name).submit(
                target,
                pipeline_parameters=parameters,
                continue_on_step_failure=schedule.continue_on_step_failure,
                _from_text=True,  # stored as JSON: a DataPath by datastore name
                _properties={
                    SCHEDULE_ID_PROPERTY: schedule.id,
                    DUE_TIME_PROPERTY: iso(fire.due_at),
                },
            )
        except HyperpipeError as exc:
            record = self.store.finish_schedule_fire(fire.key, outcome="Failed", reason=str(exc))
            self.log(f"schedule {schedule.name!r}: fire {fire.fire_key} failed: {exc}")
        except Exception as exc:
            record = self.store.finish_schedule_fire(
                fire.key, outcome="Failed", reason=f"hyperpipe could not submit: {exc!r}"
            )
            self.log(f"schedule {schedule.name!r}: {traceback.format_exc()}")
        else:
            record = self.store.finish_schedule_fire(fire.key, outcome="Submitted", run_id=run.id)
            self.log(f"schedule {schedule.name!r}: fired {fire.fire_key} as run {run.id}")
        if fired is not None:
            fired.append(record)

    def _target(self, schedule: ScheduleRecord) -> PublishedPipeline | PipelineEndpoint:
        if schedule.pipeline_id is not None:
            return PublishedPipeline.get(self.ws, schedule.pipeline_id)
        return PipelineEndpoint.get(self.ws, id=schedule.pipeline_endpoint_id)

    def _abandon_dead_claims(self) -> None:
        """Claims left by schedulers that died before submitting end as Failed (not retried:
        the run may have started)."""
        daemons = {d.id: d for d in self.store.list_schedulers()}
        for schedule in self.store.list_schedules(active_only=False):
            for fire in self.store.list_schedule_fires(schedule.id, outcomes=["Claimed"]):
                owner = daemons.get(fire.claimed_by or "")
                if owner is None or owner.id == self.id or daemon_alive(owner) is not False:
                    continue
                self.store.finish_schedule_fire(
                    fire.key,
                    outcome="Failed",
                    reason=f"scheduler {owner.id} stopped before it recorded the submission",
                )


def _data_paths(target: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """The changed file as the pipeline's data path parameter (a string parameter gets the
    path)."""
    if not extra:
        return {}
    pipeline = target.get_pipeline() if isinstance(target, PipelineEndpoint) else target
    declared = pipeline.get_graph()["parameters"]
    values = {}
    for name, value in extra.items():
        kind = declared.get(name, {}).get("type")
        values[name] = value["path_on_datastore"] if kind == "string" else value
    return values


def daemon_alive(record: SchedulerRecord) -> bool | None:
    """Whether the daemon's process lives (pid and start time both match); None off-host."""
    if record.pid is None or record.host != _lifecycle.HOST:
        return None
    if record.pid_started_at:
        return ProcessIdentity(record.pid, record.pid_started_at).alive()
    try:
        return psutil.Process(record.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def block_stop_signals() -> None:
    """For a detached daemon's process, between fork and exec: hold the stop signals pending
    until its handlers are installed (the mask survives exec), since ``scheduler stop`` may
    signal it as soon as it is recorded, before Python has even started."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def stop_schedulers(workspace: Workspace, scheduler_id: str | None = None) -> list[str]:
    """SIGTERM the running daemons of this host (or only ``scheduler_id``) whose identity is
    checked; daemons found dead are marked stopped. Returns the ids signalled."""
    signalled = []
    for record in workspace._store.list_schedulers(running_only=True):
        if scheduler_id is not None and record.id != scheduler_id:
            continue
        alive = daemon_alive(record)
        if alive is False:
            workspace._store.update_scheduler(record.id, stopped=True)
        elif alive and record.pid != os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(record.pid, signal.SIGTERM)  # type: ignore[arg-type]
                signalled.append(record.id)
    return signalled
