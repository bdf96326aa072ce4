"""The store contract for what starts pipelines without a person: published pipelines, pipeline
endpoints, schedules, their fires and scheduler daemons.

Part of :class:`~hyperpipe.testing.store_contract.StoreContract` (which inherits these tests);
kept in its own module by subject. Exactly-once firing is pinned here: a fire key is recorded
once per schedule however many threads race to claim it.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from hyperpipe.exceptions import UserErrorException
from hyperpipe.store import (
    NewFire,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    ScheduleFireRecord,
    ScheduleRecord,
    SchedulerRecord,
)

if TYPE_CHECKING:
    from hyperpipe.store import Store

__all__ = ["AutomationContract"]

_ids = itertools.count(1)
DEFINITION = {"steps": [{"name": "prep", "arguments": [{"parameter": "n"}]}], "parameters": {}}


def _publish(store: Store, name: str = "retrain", **fields: Any) -> PublishedPipelineRecord:
    return store.publish_pipeline(
        pipeline_id=f"pp-{next(_ids)}",
        name=name,
        graph_id="g" * 64,
        definition=DEFINITION,
        **fields,
    )


def _schedule(store: Store, **fields: Any) -> ScheduleRecord:
    if "pipeline_endpoint_id" not in fields:
        fields.setdefault("pipeline_id", _publish(store).id)
    fields.setdefault("trigger", {"recurrence": {"frequency": "Minute", "interval": 1}})
    return store.create_schedule(
        schedule_id=f"sch-{next(_ids)}", name="nightly", experiment_name="exp", **fields
    )


class AutomationContract:
    """Published pipelines, endpoints, schedules and their fires, on any store."""

    # -- published pipelines --------------------------------------------------------------------

    def test_a_published_pipeline_is_stored_active_with_its_definition(self, store: Store) -> None:
        before = time.time()
        record = _publish(
            store,
            description="weekly retrain",
            version="1.2",
            continue_on_step_failure=True,
            source_run_id="run-7",
        )
        assert isinstance(record, PublishedPipelineRecord)
        assert (record.name, record.status, record.version) == ("retrain", "Active", "1.2")
        assert record.definition == DEFINITION
        assert (record.description, record.continue_on_step_failure) == ("weekly retrain", True)
        assert record.source_run_id == "run-7"
        assert before - 1 <= record.created_at <= time.time() + 1
        assert store.get_published_pipeline(record.id) == record
        assert store.get_published_pipeline("nope") is None

    def test_disabled_published_pipelines_are_listed_only_when_asked(self, store: Store) -> None:
        first, second = _publish(store, "a"), _publish(store, "b")
        disabled = store.set_published_pipeline_status(first.id, "Disabled")
        assert disabled.status == "Disabled" and disabled.definition == first.definition
        assert [p.id for p in store.list_published_pipelines()] == [second.id]
        assert [p.id for p in store.list_published_pipelines(active_only=False)] == [
            second.id,
            first.id,
        ]
        assert [p.id for p in store.list_published_pipelines(active_only=False, name="a")] == [
            first.id
        ]
        assert store.set_published_pipeline_status(first.id, "Active").status == "Active"

    def test_a_bad_status_or_unknown_pipeline_is_refused(self, store: Store) -> None:
        record = _publish(store)
        with pytest.raises(UserErrorException, match="'Active' or 'Disabled', got 'Paused'"):
            store.set_published_pipeline_status(record.id, "Paused")
        with pytest.raises(UserErrorException, match="no published pipeline with id 'nope'"):
            store.set_published_pipeline_status("nope", "Disabled")

    # -- pipeline endpoints ---------------------------------------------------------------------

    def test_an_endpoint_starts_at_version_0_as_its_default(self, store: Store) -> None:
        pipeline = _publish(store)
        endpoint = store.create_pipeline_endpoint(
            endpoint_id="ep-1", name="retrain", pipeline_id=pipeline.id, description="d"
        )
        assert isinstance(endpoint, PipelineEndpointRecord)
        assert (endpoint.status, endpoint.default_version) == ("Active", "0")
        assert endpoint.versions == (("0", pipeline.id),)
        assert endpoint.pipeline_id_of("0") == pipeline.id
        assert store.get_pipeline_endpoint(endpoint_id="ep-1") == endpoint
        assert store.get_pipeline_endpoint(name="retrain") == endpoint
        assert store.get_pipeline_endpoint(name="other") is None

    def test_endpoint_names_are_unique_and_pipelines_must_exist(self, store: Store) -> None:
        pipeline = _publish(store)
        store.create_pipeline_endpoint(endpoint_id="ep-1", name="retrain", pipeline_id=pipeline.id)
        with pytest.raises(UserErrorException, match="named 'retrain' already exists"):
            store.create_pipeline_endpoint(
                endpoint_id="ep-2", name="retrain", pipeline_id=pipeline.id
            )
        with pytest.raises(UserErrorException, match="no published pipeline with id 'ghost'"):
            store.create_pipeline_endpoint(endpoint_id="ep-3", name="x", pipeline_id="ghost")
        assert [e.id for e in store.list_pipeline_endpoints()] == ["ep-1"]

    def test_versions_count_up_and_add_default_moves_the_default(self, store: Store) -> None:
        p0, p1, p2 = _publish(store), _publish(store), _publish(store)
        store.create_pipeline_endpoint(endpoint_id="ep", name="e", pipeline_id=p0.id)
        added = store.add_pipeline_endpoint_version("ep", p1.id)
        assert added.versions == (("0", p0.id), ("1", p1.id))
        assert added.default_version == "0"
        moved = store.add_pipeline_endpoint_version("ep", p2.id, make_default=True)
        assert moved.default_version == "2"
        assert store.update_pipeline_endpoint("ep", default_version="1").default_version == "1"
        with pytest.raises(UserErrorException, match=r"no version '7'.*versions: 0, 1, 2"):
            store.update_pipeline_endpoint("ep", default_version="7")
        assert store.get_pipeline_endpoint(endpoint_id="ep").default_version == "1"

    def test_threads_adding_versions_get_distinct_versions(self, store: Store) -> None:
        pipelines = [_publish(store) for _ in range(5)]
        store.create_pipeline_endpoint(endpoint_id="ep", name="e", pipeline_id=pipelines[0].id)
        _in_threads(4, lambda i: store.add_pipeline_endpoint_version("ep", pipelines[i + 1].id))
        versions = store.get_pipeline_endpoint(endpoint_id="ep").versions
        assert [v for v, _ in versions] == ["0", "1", "2", "3", "4"]
        assert sorted(p for _, p in versions) == sorted(p.id for p in pipelines)

    def test_endpoints_are_renamed_disabled_and_listed_by_name(self, store: Store) -> None:
        pipeline = _publish(store)
        for endpoint_id, name in (("ep-b", "b"), ("ep-a", "a")):
            store.create_pipeline_endpoint(
                endpoint_id=endpoint_id, name=name, pipeline_id=pipeline.id
            )
        renamed = store.update_pipeline_endpoint("ep-b", name="c", status="Disabled")
        assert (renamed.name, renamed.status) == ("c", "Disabled")
        assert [e.name for e in store.list_pipeline_endpoints()] == ["a"]
        assert [e.name for e in store.list_pipeline_endpoints(active_only=False)] == ["a", "c"]
        with pytest.raises(UserErrorException, match="named 'a' already exists"):
            store.update_pipeline_endpoint("ep-b", name="a")
        with pytest.raises(UserErrorException, match="no pipeline endpoint with id 'ghost'"):
            store.update_pipeline_endpoint("ghost", status="Active")

    # -- schedules ------------------------------------------------------------------------------

    def test_a_schedule_is_stored_active_from_not_before(self, store: Store) -> None:
        before = time.time()
        schedule = _schedule(store, pipeline_parameters={"n": 3}, description="hourly")
        assert isinstance(schedule, ScheduleRecord)
        assert (schedule.status, schedule.state, schedule.state_version) == ("Active", {}, 0)
        assert schedule.pipeline_parameters == {"n": 3}
        assert before - 1 <= schedule.not_before <= time.time() + 1
        assert store.get_schedule(schedule.id) == schedule
        assert store.get_schedule("nope") is None
        with pytest.raises(UserErrorException, match="either a published pipeline or"):
            store.create_schedule(
                schedule_id="x", name="x", experiment_name="e", trigger={}, pipeline_id=None
            )

    def test_schedules_are_listed_by_what_they_submit(self, store: Store) -> None:
        first = _schedule(store)
        on_endpoint = _schedule(store, pipeline_endpoint_id="ep-1")
        disabled = store.update_schedule(_schedule(store).id, status="Disabled")
        assert disabled.status == "Disabled"
        assert [s.id for s in store.list_schedules()] == [first.id, on_endpoint.id]
        assert len(store.list_schedules(active_only=False)) == 3
        assert [s.id for s in store.list_schedules(pipeline_id=first.pipeline_id)] == [first.id]
        assert [s.id for s in store.list_schedules(pipeline_endpoint_id="ep-1")] == [on_endpoint.id]
        with pytest.raises(ValueError, match="cannot update schedule fields"):
            store.update_schedule(first.id, state={})
        with pytest.raises(UserErrorException, match="no schedule with id 'nope'"):
            store.update_schedule("nope", status="Active")

    def test_the_schedules_version_moves_when_schedules_change_not_when_they_fire(
        self, store: Store
    ) -> None:
        empty = store.schedules_version()
        schedule = _schedule(store)
        made = store.schedules_version()
        assert made != empty
        store.claim_schedule_fires(schedule.id, [NewFire("t60", 60.0)])
        assert store.schedules_version() == made
        time.sleep(0.01)
        store.update_schedule(schedule.id, status="Disabled")
        disabled = store.schedules_version()
        assert disabled != made
        _schedule(store)
        assert store.schedules_version() != disabled

    # -- fires: exactly once --------------------------------------------------------------------

    def test_a_fire_is_claimed_once(self, store: Store) -> None:
        schedule = _schedule(store)
        (fire,) = store.claim_schedule_fires(schedule.id, [NewFire("t60", 60.0)], claimed_by="a")
        assert isinstance(fire, ScheduleFireRecord)
        assert (fire.schedule_id, fire.fire_key, fire.due_at) == (schedule.id, "t60", 60.0)
        assert (fire.outcome, fire.claimed_by, fire.run_id, fire.ended_at) == (
            "Claimed",
            "a",
            None,
            None,
        )
        assert (
            store.claim_schedule_fires(schedule.id, [NewFire("t60", 60.0)], claimed_by="b") is None
        )
        assert store.list_schedule_fires(schedule.id) == [fire]

    def test_fires_with_skipped_times_are_recorded_all_or_none(self, store: Store) -> None:
        schedule = _schedule(store)
        store.claim_schedule_fires(schedule.id, [NewFire("t120", 120.0)])
        missed = [
            NewFire("t60", 60.0, "Skipped", "missed"),
            NewFire("t120", 120.0, "Skipped", "missed"),
            NewFire("t180", 180.0),
        ]
        assert store.claim_schedule_fires(schedule.id, missed) is None
        assert [f.fire_key for f in store.list_schedule_fires(schedule.id)] == ["t120"]
        recorded = store.claim_schedule_fires(schedule.id, [missed[0], missed[2]])
        assert [(f.fire_key, f.outcome, f.reason) for f in recorded] == [
            ("t60", "Skipped", "missed"),
            ("t180", "Claimed", None),
        ]
        assert recorded[0].ended_at is not None
        assert [f.fire_key for f in store.list_schedule_fires(schedule.id)] == [
            "t180",
            "t120",
            "t60",
        ]
        assert [
            f.fire_key for f in store.list_schedule_fires(schedule.id, outcomes=["Skipped"])
        ] == ["t60"]
        assert len(store.list_schedule_fires(schedule.id, limit=1)) == 1

    def test_threads_racing_for_one_fire_claim_it_once(self, store: Store) -> None:
        schedule = _schedule(store)
        results = _in_threads(
            8,
            lambda i: store.claim_schedule_fires(
                schedule.id, [NewFire("t60", 60.0)], claimed_by=f"scheduler-{i}"
            ),
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert all(r is None or isinstance(r, list) for r in results), results
        assert len(store.list_schedule_fires(schedule.id)) == 1

    def test_a_state_change_is_claimed_by_whoever_saw_the_current_version(
        self, store: Store
    ) -> None:
        schedule = _schedule(store, state={"seen": {}})
        seen = {"seen": {"a.csv": "h1"}}
        fires = [NewFire("change-1:a.csv", 10.0, details={"path": "a.csv"})]
        recorded = store.claim_schedule_fires(schedule.id, fires, state=seen, state_version=0)
        assert [f.details for f in recorded] == [{"path": "a.csv"}]
        after = store.get_schedule(schedule.id)
        assert (after.state, after.state_version) == (seen, 1)
        late = [NewFire("change-1b:a.csv", 11.0)]
        assert store.claim_schedule_fires(schedule.id, late, state={}, state_version=0) is None
        assert store.get_schedule(schedule.id).state == seen
        assert len(store.list_schedule_fires(schedule.id)) == 1

    def test_finishing_a_fire_records_its_run_or_reason(self, store: Store) -> None:
        schedule = _schedule(store)
        ok, bad = store.claim_schedule_fires(
            schedule.id, [NewFire("t60", 60.0), NewFire("t120", 120.0)]
        )
        done = store.finish_schedule_fire(ok.key, outcome="Submitted", run_id="run-1")
        assert (done.outcome, done.run_id, done.reason) == ("Submitted", "run-1", None)
        assert done.ended_at is not None
        failed = store.finish_schedule_fire(
            bad.key, outcome="Failed", reason="pipeline disabled", details={"x": 1}
        )
        assert (failed.outcome, failed.reason, failed.details) == (
            "Failed",
            "pipeline disabled",
            {"x": 1},
        )
        with pytest.raises(ValueError, match="unknown fire outcome"):
            store.finish_schedule_fire(ok.key, outcome="Done")

    def test_last_due_times_are_per_schedule(self, store: Store) -> None:
        a, b, quiet = _schedule(store), _schedule(store), _schedule(store)
        store.claim_schedule_fires(a.id, [NewFire("t60", 60.0), NewFire("t120", 120.0)])
        store.claim_schedule_fires(b.id, [NewFire("t30", 30.0, "Skipped", "missed")])
        assert store.last_due_times([a.id, b.id, quiet.id]) == {a.id: 120.0, b.id: 30.0}
        assert store.last_due_times([]) == {}

    # -- scheduler daemons ----------------------------------------------------------------------

    def test_scheduler_daemons_record_who_they_are_and_when_they_looked(self, store: Store) -> None:
        record = store.register_scheduler(
            scheduler_id="s1", host="box", pid=42, pid_started_at=1.5, details={"poll": 1.0}
        )
        assert isinstance(record, SchedulerRecord)
        assert (record.host, record.pid, record.pid_started_at) == ("box", 42, 1.5)
        assert record.stopped_at is None and record.details == {"poll": 1.0}
        time.sleep(0.01)
        beat = store.update_scheduler("s1", heartbeat=True)
        assert beat.heartbeat_at > record.heartbeat_at
        store.register_scheduler(scheduler_id="s2", host="box")
        store.update_scheduler("s2", pid=7, pid_started_at=2.0)
        assert [s.id for s in store.list_schedulers()] == ["s2", "s1"]
        stopped = store.update_scheduler("s1", stopped=True)
        assert stopped.stopped_at is not None
        assert [s.id for s in store.list_schedulers(running_only=True)] == ["s2"]
        assert store.get_scheduler("s2").pid == 7
        assert store.get_scheduler("nope") is None
        with pytest.raises(UserErrorException, match="no scheduler daemon with id 'nope'"):
            store.update_scheduler("nope", heartbeat=True)

    def test_automation_records_are_frozen(self, store: Store) -> None:
        schedule = _schedule(store)
        pipeline = store.get_published_pipeline(schedule.pipeline_id)
        endpoint = store.create_pipeline_endpoint(
            endpoint_id="ep", name="e", pipeline_id=pipeline.id
        )
        (fire,) = store.claim_schedule_fires(schedule.id, [NewFire("t", 1.0)])
        daemon = store.register_scheduler(scheduler_id="s", host="h")
        for record, attribute in (
            (pipeline, "status"),
            (endpoint, "default_version"),
            (schedule, "status"),
            (fire, "outcome"),
            (daemon, "stopped_at"),
        ):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(record, attribute, None)


def _in_threads(n_threads: int, task: Any) -> list[Any]:
    """Run ``task(i)`` in ``n_threads`` threads released together; results (or errors) in order."""
    barrier = threading.Barrier(n_threads)

    def call(i: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return task(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n_threads) as pool:
        return list(pool.map(call, range(n_threads)))
