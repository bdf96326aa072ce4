"""The contract every metadata store passes, whatever database is behind it.

A test module provides a ``store`` fixture that yields an empty store, and subclasses
:class:`StoreContract`::

    import pytest

    from hyperpipe.testing.store_contract import StoreContract


    @pytest.fixture
    def store(tmp_path):
        store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
        yield store
        store.close()


    class TestSqliteStore(StoreContract):
        pass

The tests speak only the :class:`~hyperpipe.store.Store` protocol (plus pickling and threads,
which the protocol promises), so a new backend passes them without changes. Tests of one
implementation's internals belong in ``test_<impl>.py`` beside the contract module.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from hyperpipe.exceptions import InvalidStatusTransition, RunNotFoundError, UserErrorException
from hyperpipe.store import (
    ArtifactRecord,
    ExperimentRecord,
    MetricPoint,
    MetricSeries,
    ModelRecord,
    NewPoint,
    RunRecord,
    RunStatus,
    Store,
    can_transition,
)
from hyperpipe.testing.automation_contract import AutomationContract

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["StoreContract"]

_ids = itertools.count(1)


@pytest.fixture
def store() -> Iterator[Store]:
    """Placeholder: a test module using :class:`StoreContract` provides the real fixture."""
    raise NotImplementedError("provide a `store` fixture yielding an empty Store")


def _run(store: Store, experiment: str = "exp", **fields: Any) -> RunRecord:
    """A new run with a unique id in ``experiment``."""
    fields.setdefault("run_type", "azureml.scriptrun")
    return store.create_run(experiment_name=experiment, run_id=f"run_{next(_ids)}", **fields)


def _point(name: str, value: Any = None, payload: Any = None, **kw: Any) -> NewPoint:
    kw.setdefault("kind", "scalar")
    kw.setdefault("ts", time.time())
    return NewPoint(name=name, value=value, payload=payload, **kw)


def _in_threads(n_threads: int, task: Callable[[int], Any]) -> list[Any]:
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


class StoreContract(AutomationContract):
    """Behaviour every :class:`~hyperpipe.store.Store` implementation must show (published
    pipelines, endpoints and schedules are in :class:`AutomationContract`)."""

    # -- the protocol itself ------------------------------------------------------------------

    def test_implements_the_store_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)
        assert isinstance(store.url, str)

    def test_pickles_as_a_store_on_the_same_data(self, store: Store) -> None:
        run = _run(store)
        copy = pickle.loads(pickle.dumps(store))
        try:
            assert copy.url == store.url
            assert copy.get_run(run.id) == run
            other = _run(copy)
            assert store.get_run(other.id).number == 2
        finally:
            copy.close()

    # -- experiments --------------------------------------------------------------------------

    def test_get_or_create_experiment_is_idempotent(self, store: Store) -> None:
        before = time.time()
        first = store.get_or_create_experiment("mnist")
        second = store.get_or_create_experiment("mnist")
        assert isinstance(first, ExperimentRecord)
        assert first == second
        assert first.name == "mnist"
        assert first.archived is False
        assert before - 1 <= first.created_at <= time.time() + 1
        assert store.get_experiment("mnist") == first
        assert [e.name for e in store.list_experiments()] == ["mnist"]

    def test_get_experiment_returns_none_for_an_unknown_name(self, store: Store) -> None:
        assert store.get_experiment("nope") is None
        assert store.list_experiments() == []

    def test_list_experiments_is_sorted_by_name(self, store: Store) -> None:
        for name in ("b", "c", "a"):
            store.get_or_create_experiment(name)
        experiments = store.list_experiments()
        assert [e.name for e in experiments] == ["a", "b", "c"]
        assert len({e.key for e in experiments}) == 3

    def test_threads_creating_one_experiment_get_the_same_record(self, store: Store) -> None:
        results = _in_threads(8, lambda _: store.get_or_create_experiment("shared"))
        assert all(isinstance(r, ExperimentRecord) for r in results), results
        assert len({r.key for r in results}) == 1
        assert len(store.list_experiments()) == 1

    # -- creating and finding runs ------------------------------------------------------------

    def test_create_run_returns_what_get_run_returns(self, store: Store) -> None:
        before = time.time()
        run = store.create_run(
            experiment_name="exp",
            run_id="abc_123",
            run_type="azureml.scriptrun",
            display_name="first try",
            target="local",
            definition={"script": "train.py", "arguments": ["--lr", 0.1]},
            tags={"team": "vision"},
            properties={"seed": 7},
        )
        assert isinstance(run, RunRecord)
        assert run.id == "abc_123"
        assert run.experiment_name == "exp"
        assert run.number == 1
        assert run.run_type == "azureml.scriptrun"
        assert run.status is RunStatus.NOT_STARTED
        assert run.display_name == "first try"
        assert run.target == "local"
        assert run.definition == {"script": "train.py", "arguments": ["--lr", 0.1]}
        assert run.tags == {"team": "vision"}
        assert run.properties == {"seed": 7}
        assert run.parent_id is None
        assert run.error is None
        assert run.started_at is None and run.ended_at is None
        assert before - 1 <= run.created_at <= time.time() + 1
        assert store.get_run("abc_123") == run
        assert store.find_run("abc_123") == run
        assert store.get_experiment("exp") is not None  # created on the way

    def test_create_run_defaults_to_empty_dicts(self, store: Store) -> None:
        run = _run(store)
        assert (run.definition, run.tags, run.properties) == ({}, {}, {})
        assert (run.display_name, run.target, run.host, run.pid) == (None, None, None, None)

    def test_runs_are_numbered_from_one_in_each_experiment(self, store: Store) -> None:
        assert [_run(store, "a").number for _ in range(3)] == [1, 2, 3]
        assert [_run(store, "b").number for _ in range(2)] == [1, 2]
        assert _run(store, "a").number == 4
        assert len({r.key for r in store.list_runs()}) == 6

    def test_run_positions_count_top_level_runs_and_each_parents_children_apart(
        self, store: Store
    ) -> None:
        first = _run(store, "a")
        steps = [_run(store, "a", parent_id=first.id) for _ in range(3)]
        second = _run(store, "a")
        other = _run(store, "b")
        trial = _run(store, "a", parent_id=steps[1].id)
        positions = store.run_positions([first.key, second.key, other.key, trial.key, steps[2].key])
        assert second.number == 5  # the steps took numbers 2-4
        assert positions == {
            first.key: 1,
            second.key: 2,
            other.key: 1,
            trial.key: 1,
            steps[2].key: 3,
        }
        assert store.run_positions([]) == {}

    def test_create_run_in_running_stamps_started_at(self, store: Store) -> None:
        run = _run(store, status=RunStatus.RUNNING)
        assert run.status is RunStatus.RUNNING
        assert run.started_at is not None
        assert run.ended_at is None

    def test_create_run_under_an_unknown_parent_raises(self, store: Store) -> None:
        with pytest.raises(RunNotFoundError, match="no_such_parent"):
            _run(store, parent_id="no_such_parent")
        assert store.list_runs() == []

    def test_find_run_returns_none_for_an_unknown_id(self, store: Store) -> None:
        assert store.find_run("ghost") is None

    @pytest.mark.parametrize(
        "operation",
        [
            pytest.param(lambda s, rid: s.get_run(rid), id="get_run"),
            pytest.param(lambda s, rid: s.set_status(rid, RunStatus.RUNNING), id="set_status"),
            pytest.param(
                lambda s, rid: s.set_status(rid, RunStatus.RUNNING, strict=False),
                id="set_status_lenient",
            ),
            pytest.param(lambda s, rid: s.update_run(rid, host="h"), id="update_run"),
            pytest.param(lambda s, rid: s.set_tags(rid, {"a": 1}), id="set_tags"),
            pytest.param(lambda s, rid: s.remove_tags(rid, ["a"]), id="remove_tags"),
            pytest.param(lambda s, rid: s.add_properties(rid, {"a": 1}), id="add_properties"),
        ],
    )
    def test_an_unknown_run_id_raises_run_not_found_naming_it(
        self, store: Store, operation: Callable[[Store, str], Any]
    ) -> None:
        _run(store)  # the store is not empty; the id is still unknown
        with pytest.raises(RunNotFoundError, match="ghost_run_42"):
            operation(store, "ghost_run_42")

    def test_threads_creating_runs_in_one_experiment_get_distinct_numbers(
        self, store: Store
    ) -> None:
        # The experiment does not exist yet: the threads also race to create it.
        results = _in_threads(8, lambda i: _run(store, "race", display_name=f"t{i}"))
        assert all(isinstance(r, RunRecord) for r in results), results
        assert sorted(r.number for r in results) == list(range(1, 9))
        assert len({r.key for r in results}) == 8
        assert len(store.list_runs(experiment_name="race")) == 8
        assert len(store.list_experiments()) == 1

    # -- listing runs -------------------------------------------------------------------------

    def test_children_are_listed_under_their_parent(self, store: Store) -> None:
        parent = _run(store, run_type="azureml.PipelineRun")
        children = [_run(store, parent_id=parent.id, run_type="azureml.StepRun") for _ in range(3)]
        grandchild = _run(store, parent_id=children[0].id)
        other_parent = _run(store)
        assert all(c.parent_id == parent.id for c in children)
        assert store.get_run(grandchild.id).parent_id == children[0].id
        listed = store.list_runs(parent_id=parent.id, newest_first=False)
        assert [r.id for r in listed] == [c.id for c in children]
        assert [r.id for r in store.list_runs(parent_id=children[0].id)] == [grandchild.id]
        assert store.list_runs(parent_id=other_parent.id) == []
        assert store.list_runs(parent_id="ghost") == []
        by_level = store.list_runs(parent_ids=[parent.id, children[0].id], newest_first=False)
        assert [r.id for r in by_level] == [c.id for c in children] + [grandchild.id]
        assert store.list_runs(parent_ids=[]) == []

    def test_list_runs_filters_by_experiment(self, store: Store) -> None:
        a = [_run(store, "a") for _ in range(2)]
        b = _run(store, "b")
        assert {r.id for r in store.list_runs(experiment_name="a")} == {r.id for r in a}
        assert [r.id for r in store.list_runs(experiment_name="b")] == [b.id]
        assert store.list_runs(experiment_name="nope") == []
        assert len(store.list_runs()) == 3

    def test_list_runs_top_level_only_leaves_out_children(self, store: Store) -> None:
        parent = _run(store)
        _run(store, parent_id=parent.id)
        lone = _run(store)
        top = store.list_runs(top_level_only=True, newest_first=False)
        assert [r.id for r in top] == [parent.id, lone.id]

    def test_list_runs_filters_by_status(self, store: Store) -> None:
        running = _run(store, status=RunStatus.RUNNING)
        queued = _run(store, status=RunStatus.QUEUED)
        _run(store)
        failed = _run(store, status=RunStatus.RUNNING)
        store.set_status(failed.id, RunStatus.FAILED)
        got = store.list_runs(statuses=[RunStatus.RUNNING, RunStatus.FAILED], newest_first=False)
        assert [r.id for r in got] == [running.id, failed.id]
        assert [r.id for r in store.list_runs(statuses={RunStatus.QUEUED})] == [queued.id]
        assert store.list_runs(statuses=[]) == []
        assert store.list_runs(statuses=[RunStatus.COMPLETED]) == []

    def test_list_runs_filters_by_run_type(self, store: Store) -> None:
        step = _run(store, run_type="azureml.StepRun")
        _run(store, run_type="azureml.scriptrun")
        assert [r.id for r in store.list_runs(run_type="azureml.StepRun")] == [step.id]
        assert store.list_runs(run_type="hyperdrive") == []

    def test_list_runs_orders_newest_first_unless_asked(self, store: Store) -> None:
        runs = [_run(store, experiment) for experiment in ("a", "b", "a", "b")]
        ids = [r.id for r in runs]
        assert [r.id for r in store.list_runs()] == ids[::-1]
        assert [r.id for r in store.list_runs(newest_first=False)] == ids

    def test_list_runs_pages_with_limit_and_offset(self, store: Store) -> None:
        ids = [_run(store).id for _ in range(5)]
        newest = ids[::-1]
        assert [r.id for r in store.list_runs(limit=2)] == newest[:2]
        assert [r.id for r in store.list_runs(limit=2, offset=2)] == newest[2:4]
        assert [r.id for r in store.list_runs(limit=2, offset=4)] == newest[4:]
        assert [r.id for r in store.list_runs(offset=3)] == newest[3:]
        assert store.list_runs(limit=2, offset=5) == []
        assert [r.id for r in store.list_runs(limit=3, newest_first=False)] == ids[:3]

    def test_list_runs_filters_combine(self, store: Store) -> None:
        parent = _run(store, "a")
        kids = [_run(store, "a", parent_id=parent.id, run_type="azureml.StepRun") for _ in range(3)]
        store.set_status(kids[1].id, RunStatus.RUNNING)
        store.set_status(kids[2].id, RunStatus.RUNNING)
        _run(store, "b", run_type="azureml.StepRun", status=RunStatus.RUNNING)
        got = store.list_runs(
            experiment_name="a",
            parent_id=parent.id,
            statuses=[RunStatus.RUNNING],
            run_type="azureml.StepRun",
            limit=1,
            newest_first=True,
        )
        assert [r.id for r in got] == [kids[2].id]

    def test_list_runs_sorts_by_a_named_field_either_way(self, store: Store) -> None:
        names = ["beta", "alpha", "gamma"]
        made = [_run(store, display_name=n) for n in names]
        by_name = store.list_runs(order="name")
        assert [r.display_name for r in by_name] == ["alpha", "beta", "gamma"]
        assert [r.display_name for r in store.list_runs(order="-name")] == [
            "gamma",
            "beta",
            "alpha",
        ]
        assert [r.id for r in store.list_runs(order="created")] == [r.id for r in made]

    def test_list_runs_sorts_by_duration_with_unfinished_runs_last(self, store: Store) -> None:
        longer, shorter, unfinished = (_run(store, status=RunStatus.RUNNING) for _ in range(3))
        store.set_status(shorter.id, RunStatus.COMPLETED)
        time.sleep(0.05)
        store.set_status(longer.id, RunStatus.COMPLETED)
        ascending = [r.id for r in store.list_runs(order="duration")]
        assert ascending == [shorter.id, longer.id, unfinished.id]
        assert store.list_runs(order="-duration")[-1].id == unfinished.id

    def test_list_runs_sorts_by_a_metrics_last_value_with_runs_without_it_last(
        self, store: Store
    ) -> None:
        low, high, silent, middle = (_run(store) for _ in range(4))
        store.log_metrics(low.key, [_point("acc", 0.9), _point("acc", 0.1)])  # last value counts
        store.log_metrics(high.key, [_point("acc", 0.8), _point("loss", 5.0)])
        store.log_metrics(middle.key, [_point("acc", 0.5)])
        store.log_metrics(silent.key, [_point("loss", 1.0)])
        assert [r.id for r in store.list_runs(order="metric:acc")] == [
            low.id,
            middle.id,
            high.id,
            silent.id,
        ]
        assert [r.id for r in store.list_runs(order="-metric:acc")] == [
            high.id,
            middle.id,
            low.id,
            silent.id,
        ]
        page = store.list_runs(order="-metric:acc", limit=2, offset=1)
        assert [r.id for r in page] == [middle.id, low.id]

    def test_list_runs_rejects_an_unknown_sort_field_naming_the_valid_ones(
        self, store: Store
    ) -> None:
        with pytest.raises(UserErrorException, match="duration"):
            store.list_runs(order="colour")

    def test_list_runs_filters_by_tag_presence_and_value(self, store: Store) -> None:
        red = _run(store)
        blue = _run(store)
        _run(store)
        bare = _run(store)
        store.set_tags(red.id, {"colour": "red"})
        store.set_tags(blue.id, {"colour": "blue"})
        store.set_tags(bare.id, {"colour": None})  # run.tag("colour"): a tag without a value
        tagged = store.list_runs(tag="colour", newest_first=False)
        assert [r.id for r in tagged] == [red.id, blue.id, bare.id]
        assert store.count_runs(tag="colour") == 3
        assert [r.id for r in store.list_runs(tag="colour", tag_value="blue")] == [blue.id]
        assert store.list_runs(tag="size") == []

    def test_list_runs_filters_by_a_property_value(self, store: Store) -> None:
        first = _run(store, properties={"azureml.pipelineid": "p1"})
        _run(store, properties={"azureml.pipelineid": "p2"})
        _run(store)
        second = _run(store, properties={"azureml.pipelineid": "p1", "other": 1})
        found = store.list_runs(property_name="azureml.pipelineid", property_value="p1")
        assert [r.id for r in found] == [second.id, first.id]
        assert store.count_runs(property_name="azureml.pipelineid", property_value="p1") == 2
        assert store.list_runs(property_name="azureml.pipelineid", property_value="p3") == []

    def test_list_runs_searches_ids_and_names_literally(self, store: Store) -> None:
        named = _run(store, display_name="train_100%")
        other = _run(store, display_name="train_1000")
        assert [r.id for r in store.list_runs(search="100%")] == [named.id]
        assert {r.id for r in store.list_runs(search="train_")} == {named.id, other.id}
        assert [r.id for r in store.list_runs(search=named.id)] == [named.id]

    def test_count_runs_counts_what_list_runs_would_return(self, store: Store) -> None:
        parent = _run(store, "a")
        for _ in range(3):
            _run(store, "a", parent_id=parent.id)
        _run(store, "b", status=RunStatus.RUNNING)
        for filters in (
            {},
            {"experiment_name": "a"},
            {"parent_id": parent.id},
            {"top_level_only": True},
            {"statuses": [RunStatus.RUNNING]},
            {"search": "run_"},
        ):
            assert store.count_runs(**filters) == len(store.list_runs(**filters)), filters

    def test_experiment_stats_count_top_level_runs_and_the_newest(self, store: Store) -> None:
        parent = _run(store, "a")
        _run(store, "a", parent_id=parent.id)
        newest = _run(store, "a")
        store.get_or_create_experiment("empty")
        stats = store.experiment_stats()
        assert stats["a"] == (2, newest.created_at)
        assert stats["empty"] == (0, None)

    # -- status -------------------------------------------------------------------------------

    def test_every_status_move_follows_the_transition_table(self, store: Store) -> None:
        wrong = []
        for current, new in itertools.product(RunStatus, RunStatus):
            run = _run(store, status=current)
            allowed = can_transition(current, new)
            try:
                moved = store.set_status(run.id, new)
            except InvalidStatusTransition:
                if allowed:
                    wrong.append(f"{current} -> {new} raised")
                continue
            if not allowed:
                wrong.append(f"{current} -> {new} was allowed")
            elif moved.status is not new or store.get_run(run.id).status is not new:
                wrong.append(f"{current} -> {new} left the run {moved.status}")
        assert wrong == []

    def test_a_forbidden_move_raises_when_strict(self, store: Store) -> None:
        run = _run(store, status=RunStatus.RUNNING)
        done = store.set_status(run.id, RunStatus.COMPLETED)
        with pytest.raises(InvalidStatusTransition, match=r"Completed.*Running") as info:
            store.set_status(run.id, RunStatus.RUNNING)
        assert run.id in str(info.value)
        assert store.get_run(run.id) == done

    def test_a_forbidden_move_is_ignored_when_not_strict(self, store: Store) -> None:
        run = _run(store, status=RunStatus.RUNNING)
        done = store.set_status(run.id, RunStatus.COMPLETED)
        kept = store.set_status(run.id, RunStatus.FAILED, error={"message": "late"}, strict=False)
        assert kept == done
        assert store.get_run(run.id) == done
        assert kept.error is None

    def test_status_accepts_the_status_string(self, store: Store) -> None:
        run = _run(store)
        assert store.set_status(run.id, "Running").status is RunStatus.RUNNING  # type: ignore[arg-type]

    def test_running_stamps_started_at_once(self, store: Store) -> None:
        run = _run(store)
        assert store.set_status(run.id, RunStatus.QUEUED).started_at is None
        before = time.time()
        started = store.set_status(run.id, RunStatus.RUNNING)
        assert started.started_at is not None
        assert before - 1 <= started.started_at <= time.time() + 1
        assert started.ended_at is None
        time.sleep(0.01)
        again = store.set_status(run.id, RunStatus.RUNNING)
        assert again.started_at == started.started_at

    @pytest.mark.parametrize(
        "ending", [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.CRASHED]
    )
    def test_an_ending_stamps_ended_at_and_keeps_the_error(
        self, store: Store, ending: RunStatus
    ) -> None:
        run = _run(store, status=RunStatus.RUNNING)
        error = {"error": {"code": "UserError", "message": "boom", "details": [1, 2]}}
        ended = store.set_status(run.id, ending, error=error)
        assert ended.status is ending
        assert ended.status.is_terminal()
        assert ended.ended_at is not None
        assert ended.started_at is not None and ended.ended_at >= ended.started_at
        assert ended.error == error
        assert store.get_run(run.id) == ended

    def test_setting_the_same_ending_again_keeps_ended_at(self, store: Store) -> None:
        run = _run(store, status=RunStatus.RUNNING)
        ended = store.set_status(run.id, RunStatus.COMPLETED)
        time.sleep(0.01)
        again = store.set_status(run.id, RunStatus.COMPLETED, strict=False)
        assert again.status is RunStatus.COMPLETED
        assert again.ended_at == ended.ended_at

    @pytest.mark.parametrize("ending", [RunStatus.FAILED, RunStatus.CANCELED, RunStatus.CRASHED])
    def test_resuming_queues_again_and_clears_ended_at(
        self, store: Store, ending: RunStatus
    ) -> None:
        run = _run(store, status=RunStatus.RUNNING)
        store.set_status(run.id, ending)
        resumed = store.set_status(run.id, RunStatus.QUEUED)
        assert resumed.status is RunStatus.QUEUED
        assert resumed.ended_at is None
        rerun = store.set_status(run.id, RunStatus.RUNNING)
        assert rerun.started_at is not None
        finished = store.set_status(run.id, RunStatus.COMPLETED)
        assert finished.ended_at is not None

    def test_racing_endings_have_exactly_one_winner(self, store: Store) -> None:
        endings = [
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELED,
            RunStatus.CRASHED,
            RunStatus.FINISHED,
        ]
        for _ in range(5):
            run = _run(store, status=RunStatus.RUNNING)
            results = _in_threads(
                len(endings), lambda i, rid=run.id: store.set_status(rid, endings[i], strict=False)
            )
            assert all(isinstance(r, RunRecord) for r in results), results
            winners = [e for e, r in zip(endings, results, strict=True) if r.status is e]
            assert len(winners) == 1, f"several parties ended {run.id}: {winners}"
            assert all(r.status is winners[0] for r in results)
            assert store.get_run(run.id).status is winners[0]

    # -- run fields, tags and properties ------------------------------------------------------

    def test_update_run_sets_bookkeeping_fields_only(self, store: Store) -> None:
        run = _run(store, status=RunStatus.RUNNING, tags={"t": 1})
        updated = store.update_run(
            run.id,
            display_name="renamed",
            target="cpu-cluster",
            definition={"script": "b.py"},
            error={"message": "noted"},
            host="node-1",
            pid=4242,
            pid_started_at=1700000000.5,
        )
        assert updated.display_name == "renamed"
        assert updated.target == "cpu-cluster"
        assert updated.definition == {"script": "b.py"}
        assert updated.error == {"message": "noted"}
        assert (updated.host, updated.pid, updated.pid_started_at) == ("node-1", 4242, 1700000000.5)
        assert updated.status is RunStatus.RUNNING
        assert updated.started_at == run.started_at
        assert updated.tags == {"t": 1}
        assert store.get_run(run.id) == updated
        assert store.update_run(run.id, display_name=None).display_name is None

    def test_update_run_rejects_unknown_fields(self, store: Store) -> None:
        run = _run(store)
        with pytest.raises(ValueError, match="status"):
            store.update_run(run.id, status=RunStatus.COMPLETED)
        with pytest.raises(ValueError, match="no_such_field"):
            store.update_run(run.id, host="h", no_such_field=1)
        assert store.get_run(run.id) == run

    def test_set_tags_merges_and_remove_tags_drops(self, store: Store) -> None:
        run = _run(store, tags={"a": "1"})
        merged = store.set_tags(run.id, {"b": 2, "c": {"nested": [1, None]}})
        assert merged == {"a": "1", "b": 2, "c": {"nested": [1, None]}}
        assert store.set_tags(run.id, {"a": "changed"})["a"] == "changed"
        left = store.remove_tags(run.id, ["b", "not-there"])
        assert left == {"a": "changed", "c": {"nested": [1, None]}}
        assert store.get_run(run.id).tags == left
        assert store.remove_tags(run.id, []) == left

    def test_create_run_merges_parent_tags_into_its_parent_at_once(self, store: Store) -> None:
        parent = _run(store, tags={"a": "1", "b": "old"})
        child = _run(store, parent_id=parent.id, tags={"own": 1}, parent_tags={"b": "2", "c": None})
        assert store.get_run(parent.id).tags == {"a": "1", "b": "2", "c": None}
        assert child.tags == {"own": 1} == store.get_run(child.id).tags

    def test_parent_tags_for_a_run_without_parent_or_an_unknown_one_write_nothing(
        self, store: Store
    ) -> None:
        with pytest.raises(ValueError, match="parent_id"):
            _run(store, parent_tags={"a": "1"})
        with pytest.raises(RunNotFoundError, match="no_such_parent"):
            _run(store, parent_id="no_such_parent", parent_tags={"a": "1"})
        assert store.list_runs() == []

    def test_threads_creating_children_with_parent_tags_lose_none(self, store: Store) -> None:
        parent = _run(store)

        def one(i: int) -> Any:
            if i % 2:  # set_tags races the creations for the same row
                return store.set_tags(parent.id, {f"set{i}": i})
            return _run(store, parent_id=parent.id, parent_tags={f"child{i}": i})

        results = _in_threads(8, one)
        assert not [r for r in results if isinstance(r, Exception)], results
        expected = {(f"set{i}" if i % 2 else f"child{i}"): i for i in range(8)}
        assert store.get_run(parent.id).tags == expected

    def test_properties_are_add_only(self, store: Store) -> None:
        run = _run(store, properties={"seed": 1})
        assert store.add_properties(run.id, {"data": "v2"}) == {"seed": 1, "data": "v2"}
        assert store.add_properties(run.id, {"seed": 1}) == {"seed": 1, "data": "v2"}
        with pytest.raises(UserErrorException, match="'seed'"):
            store.add_properties(run.id, {"other": True, "seed": 2})
        assert store.get_run(run.id).properties == {"seed": 1, "data": "v2"}

    def test_threads_setting_tags_lose_none(self, store: Store) -> None:
        run = _run(store)
        results = _in_threads(8, lambda i: store.set_tags(run.id, {f"tag{i}": i}))
        assert all(isinstance(r, dict) for r in results), results
        assert store.get_run(run.id).tags == {f"tag{i}": i for i in range(8)}

    def test_threads_adding_one_property_leave_one_winner(self, store: Store) -> None:
        run = _run(store)
        results = _in_threads(8, lambda i: store.add_properties(run.id, {"seed": i}))
        won = [r for r in results if isinstance(r, dict)]
        lost = [r for r in results if not isinstance(r, dict)]
        assert len(won) == 1, results
        assert all(isinstance(e, UserErrorException) for e in lost), lost
        assert store.get_run(run.id).properties == won[0]

    # -- metrics ------------------------------------------------------------------------------

    def test_a_run_has_no_metrics_before_the_first_write(self, store: Store) -> None:
        run = _run(store)
        assert store.get_metrics([run.key]).get(run.key, []) == []

    def test_the_first_write_creates_the_series(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("acc", 0.5, kind="scalar", description="accuracy")])
        store.log_metrics(run.key, [_point("acc", 0.7, kind="scalar", description="ignored")])
        (series,) = store.get_metrics([run.key])[run.key]
        assert isinstance(series, MetricSeries)
        assert (series.name, series.kind, series.description) == ("acc", "scalar", "accuracy")
        assert [p.value for p in series.points] == [0.5, 0.7]

    def test_points_keep_their_logging_order(self, store: Store) -> None:
        run = _run(store)
        values = [((i * 7919) % 101) / 10 for i in range(250)]
        for start in range(0, 250, 60):
            batch = [
                _point("loss", v, ts=1000.0 + start + j, step=start + j)
                for j, v in enumerate(values[start : start + 60])
            ]
            store.log_metrics(run.key, batch)
        (series,) = store.get_metrics([run.key])[run.key]
        assert [p.value for p in series.points] == values
        assert [p.step for p in series.points] == list(range(250))
        assert [p.ts for p in series.points] == [1000.0 + i for i in range(250)]

    def test_series_of_a_run_come_in_creation_order(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("b", 1.0), _point("a", 2.0), _point("b", 3.0)])
        store.log_metrics(run.key, [_point("c", 4.0), _point("a", 5.0)])
        got = store.get_metrics([run.key])[run.key]
        assert [(s.name, [p.value for p in s.points]) for s in got] == [
            ("b", [1.0, 3.0]),
            ("a", [2.0, 5.0]),
            ("c", [4.0]),
        ]

    @pytest.mark.parametrize(
        ("value", "payload"),
        [
            pytest.param(0.1, None, id="float"),
            pytest.param(-1.5e-300, None, id="tiny-float"),
            pytest.param(1.7976931348623157e308, None, id="max-float"),
            pytest.param(3.0, 3, id="int"),
            pytest.param(float(2**53), 2**53 + 1, id="big-int"),
            pytest.param(None, "hello", id="string"),
            pytest.param(None, "", id="empty-string"),
            pytest.param(None, 'λ ✓ 日本語 "quoted" \\ \n', id="unicode-string"),
            pytest.param(None, True, id="bool"),
            pytest.param(None, None, id="none"),
            pytest.param(None, {"a": [1, 2.5, "x", None], "b": {"c": False}}, id="json-object"),
            pytest.param(None, [1, "two", [3.0]], id="json-list"),
        ],
    )
    def test_values_round_trip(self, store: Store, value: Any, payload: Any) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("m", value, payload, ts=12.5, step=3)])
        (series,) = store.get_metrics([run.key])[run.key]
        (point,) = series.points
        assert isinstance(point, MetricPoint)
        assert (point.value, point.payload, point.ts, point.step) == (value, payload, 12.5, 3)
        assert type(point.payload) is type(payload)
        assert point.data == (payload if payload is not None else value)

    @pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
    def test_infinite_and_nan_floats_round_trip(self, store: Store, value: float) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("loss", value), _point("loss", 1.0)])
        (series,) = store.get_metrics([run.key])[run.key]
        got = series.points[0]
        assert got.value is not None, "the value came back as None"
        assert got.value == value or (math.isnan(value) and math.isnan(got.value))
        assert got.payload is None
        assert series.points[1].value == 1.0

    def test_steps_may_be_none_or_large(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("m", 1.0, step=None), _point("m", 2.0, step=2**40)])
        (series,) = store.get_metrics([run.key])[run.key]
        assert [p.step for p in series.points] == [None, 2**40]

    def test_writer_checkpoint_moves_with_last_seq(self, store: Store) -> None:
        run, other = _run(store), _run(store)
        assert store.writer_checkpoint(run.key, "w1") is None
        store.log_metrics(run.key, [_point("m", 1.0)], writer="w1", last_seq=1)
        assert store.writer_checkpoint(run.key, "w1") == 1
        store.log_metrics(run.key, [_point("m", 2.0), _point("m", 3.0)], writer="w1", last_seq=3)
        assert store.writer_checkpoint(run.key, "w1") == 3
        store.log_metrics(run.key, [], writer="w1", last_seq=5)  # nothing to add but progress
        assert store.writer_checkpoint(run.key, "w1") == 5
        store.log_metrics(run.key, [_point("m", 4.0)], writer="w2", last_seq=2**40)
        assert store.writer_checkpoint(run.key, "w2") == 2**40
        assert store.writer_checkpoint(run.key, "w1") == 5
        assert store.writer_checkpoint(other.key, "w1") is None
        store.log_metrics(run.key, [_point("m", 5.0)])  # no writer: checkpoints stay
        assert store.writer_checkpoint(run.key, "w1") == 5
        (series,) = store.get_metrics([run.key])[run.key]
        assert [p.value for p in series.points] == [1.0, 2.0, 3.0, 4.0, 5.0]

    def test_get_metrics_filters_by_name(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("a", 1.0), _point("b", 2.0), _point("c", 3.0)])
        got = store.get_metrics([run.key], names=["c", "a", "zzz"])[run.key]
        assert sorted(s.name for s in got) == ["a", "c"]
        assert store.get_metrics([run.key], names=["zzz"]).get(run.key, []) == []
        assert store.get_metrics([run.key], names=[]).get(run.key, []) == []

    def test_get_metrics_reads_several_runs_at_once(self, store: Store) -> None:
        a, b, silent = _run(store), _run(store), _run(store)
        store.log_metrics(a.key, [_point("loss", 1.0), _point("loss", 0.5)])
        store.log_metrics(b.key, [_point("loss", 9.0), _point("acc", 0.1)])
        got = store.get_metrics([a.key, b.key, silent.key])
        assert {key for key, series in got.items() if series} == {a.key, b.key}
        assert [(s.name, [p.value for p in s.points]) for s in got[a.key]] == [("loss", [1.0, 0.5])]
        assert [(s.name, [p.value for p in s.points]) for s in got[b.key]] == [
            ("loss", [9.0]),
            ("acc", [0.1]),
        ]
        assert got.get(silent.key, []) == []
        assert store.get_metrics([]) == {}

    def test_a_failed_write_leaves_no_trace(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("old", 1.0)])
        unstorable = object()  # not JSON: the whole batch must be refused
        with pytest.raises(Exception):  # noqa: B017 - which error is the backend's business
            store.log_metrics(
                run.key,
                [_point("old", 2.0), _point("new", 3.0), _point("bad", None, unstorable)],
                writer="w",
                last_seq=3,
            )
        assert store.writer_checkpoint(run.key, "w") is None
        store.log_metrics(run.key, [_point("new", 4.0), _point("later", 5.0)])
        got = store.get_metrics([run.key])[run.key]
        assert [(s.name, [p.value for p in s.points]) for s in got] == [
            ("old", [1.0]),
            ("new", [4.0]),
            ("later", [5.0]),
        ]

    def test_threads_writing_one_new_series_all_land(self, store: Store) -> None:
        run = _run(store)
        results = _in_threads(
            6,
            lambda i: store.log_metrics(
                run.key, [_point("shared", float(i * 10 + j)) for j in range(10)]
            ),
        )
        assert all(r is None for r in results), results
        (series,) = store.get_metrics([run.key])[run.key]
        assert sorted(p.value for p in series.points) == [float(v) for v in range(60)]

    def test_metric_summaries_give_counts_and_last_values_without_points(
        self, store: Store
    ) -> None:
        run = _run(store)
        store.log_metrics(
            run.key,
            [_point("loss", v) for v in (3.0, 2.0, 1.0)]
            + [_point("table", payload={"a": [1]}, kind="table", description="t")],
        )
        other = _run(store)
        store.log_metrics(other.key, [_point("loss", 9.0)])
        summaries = {s.name: s for s in store.metric_summaries(run.key)}
        assert summaries["loss"].count == 3
        assert summaries["loss"].last == 1.0
        assert summaries["table"].kind == "table"
        assert summaries["table"].description == "t"
        assert summaries["table"].last == {"a": [1]}
        assert store.metric_summaries(_run(store).key) == []

    def test_latest_metrics_give_each_runs_last_scalar_values(self, store: Store) -> None:
        a, b, silent = _run(store), _run(store), _run(store)
        store.log_metrics(a.key, [_point("loss", 3.0), _point("loss", 1.0), _point("acc", 0.5)])
        store.log_metrics(a.key, [_point("table", payload={"x": [1]}, kind="table")])
        store.log_metrics(b.key, [_point("loss", 7.0)])
        assert store.latest_metrics([a.key, b.key, silent.key]) == {
            a.key: {"loss": 1.0, "acc": 0.5},
            b.key: {"loss": 7.0},
        }
        assert store.latest_metrics([]) == {}

    def test_metric_buckets_cut_a_series_in_order_keeping_ends_and_extremes(
        self, store: Store
    ) -> None:
        run = _run(store)
        values = [math.sin(i / 50) for i in range(1000)]
        values[437] = 9.0
        values[611] = -9.0
        # Another series logged in between: its points must not leak into the buckets.
        points = []
        for i, v in enumerate(values):
            points += [_point("loss", v, step=i), _point("other", 100.0 + i)]
        store.log_metrics(run.key, points)
        buckets = store.metric_buckets(run.key, "loss", 10)
        assert 1 < len(buckets) <= 10
        assert sum(b.count for b in buckets) == 1000
        assert all(b.steps == b.count for b in buckets)
        assert buckets[0].first == (0, values[0])
        assert buckets[-1].last == (999, values[999])
        assert max(b.high for b in buckets) == 9.0
        assert min(b.low for b in buckets) == -9.0
        firsts = [b.first[0] for b in buckets]
        assert firsts == sorted(firsts)  # in logging order
        for earlier, later in itertools.pairwise(buckets):
            assert earlier.last[0] + 1 == later.first[0]  # consecutive, nothing skipped

    def test_metric_buckets_of_a_long_series_come_from_its_rollups_alike(
        self, store: Store
    ) -> None:
        # 3,000 points make 12 rollup chunks of 256: cutting them into 4 buckets reads the
        # rollups. Batches of 100 cross chunk edges; another series is logged in between.
        run = _run(store)
        values = [math.cos(i / 100) for i in range(3000)]
        values[1234], values[2222], values[77] = 9.0, -9.0, math.nan
        for start in range(0, 3000, 100):
            batch = []
            for i in range(start, start + 100):
                batch += [_point("loss", values[i], step=i), _point("other", 1.0)]
            store.log_metrics(run.key, batch)
        buckets = store.metric_buckets(run.key, "loss", 4)
        assert len(buckets) == 4
        assert [b.count for b in buckets] == [768, 768, 768, 696]  # whole chunks each
        assert all(b.steps == b.count for b in buckets)
        assert buckets[0].first == (0, values[0])
        assert buckets[-1].last == (2999, values[2999])
        assert max(b.high for b in buckets) == 9.0
        assert min(b.low for b in buckets) == -9.0
        for earlier, later in itertools.pairwise(buckets):
            assert earlier.last[0] + 1 == later.first[0]
        finer = store.metric_buckets(run.key, "loss", 50)  # more buckets than chunks: points
        assert sum(b.count for b in finer) == 3000
        assert max(b.high for b in finer) == 9.0

    def test_metric_buckets_of_a_short_series_hold_every_point(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(
            run.key, [_point("acc", 0.5), _point("acc", math.nan), _point("acc", 0.7)]
        )
        buckets = store.metric_buckets(run.key, "acc", 100)
        assert [b.count for b in buckets] == [1, 1, 1]
        assert [b.first[1] for b in buckets][::2] == [0.5, 0.7]
        assert math.isnan(buckets[1].first[1])
        assert (buckets[1].low, buckets[1].high) == (None, None)  # NaN is no extreme
        assert buckets[0].steps == 0
        assert store.metric_buckets(run.key, "nothing", 10) == []

    def test_metric_rows_return_one_series_in_logging_order(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("acc", float(i), step=10 * i) for i in range(5)])
        store.log_metrics(run.key, [_point("loss", 1.0)])
        rows = store.metric_rows(run.key, "acc")
        assert [(step, value) for step, value, _ in rows] == [(10 * i, float(i)) for i in range(5)]
        assert all(payload is None for _, _, payload in rows)
        assert store.metric_rows(run.key, "nothing") == []

    def test_metric_times_are_when_each_point_was_logged_in_logging_order(
        self, store: Store
    ) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("acc", float(i), ts=1000.0 + 2 * i) for i in range(3)])
        store.log_metrics(run.key, [_point("acc", 9.0, ts=1010.5), _point("loss", 1.0, ts=5.0)])
        assert store.metric_times(run.key, "acc") == [1000.0, 1002.0, 1004.0, 1010.5]
        assert store.metric_times(run.key, "nothing") == []

    # -- artifacts ----------------------------------------------------------------------------

    def test_artifacts_are_listed_by_path(self, store: Store) -> None:
        run, other = _run(store), _run(store)
        before = time.time()
        store.add_artifacts(run.key, [("outputs/model.pkl", 100), ("logs/std.txt", 5)])
        store.add_artifacts(run.key, [("outputs/a.json", 2**40)])
        store.add_artifacts(run.key, [])
        listed = store.list_artifacts(run.key)
        assert all(isinstance(a, ArtifactRecord) for a in listed)
        assert [(a.path, a.size) for a in listed] == [
            ("logs/std.txt", 5),
            ("outputs/a.json", 2**40),
            ("outputs/model.pkl", 100),
        ]
        assert all(before - 1 <= a.created_at <= time.time() + 1 for a in listed)
        assert store.list_artifacts(other.key) == []

    def test_adding_an_artifact_again_replaces_it(self, store: Store) -> None:
        run = _run(store)
        store.add_artifacts(run.key, [("outputs/model.pkl", 100)])
        store.add_artifacts(run.key, [("outputs/model.pkl", 250), ("outputs/b", 1)])
        assert [(a.path, a.size) for a in store.list_artifacts(run.key)] == [
            ("outputs/b", 1),
            ("outputs/model.pkl", 250),
        ]

    def test_list_artifacts_filters_by_literal_prefix(self, store: Store) -> None:
        run = _run(store)
        paths = ["outputs/a", "outputs/b/c", "outputsx", "logs/x", "a_b/1", "axb/2", "50%/3"]
        store.add_artifacts(run.key, [(p, 1) for p in paths])
        assert [a.path for a in store.list_artifacts(run.key, "outputs/")] == [
            "outputs/a",
            "outputs/b/c",
        ]
        assert [a.path for a in store.list_artifacts(run.key, "a_b/")] == ["a_b/1"]
        assert [a.path for a in store.list_artifacts(run.key, "50%")] == ["50%/3"]
        assert store.list_artifacts(run.key, "nothing/") == []
        assert len(store.list_artifacts(run.key, None)) == len(paths)

    # -- models -------------------------------------------------------------------------------

    def test_model_versions_count_from_one_per_name(self, store: Store) -> None:
        a = [store.register_model("a", datastore="ds", path=f"models/a/{i}") for i in range(3)]
        b = store.register_model("b", datastore="ds", path="models/b/1")
        assert [m.version for m in a] == [1, 2, 3]
        assert b.version == 1
        assert a[2].id == "a:3"

    def test_register_model_keeps_its_fields(self, store: Store) -> None:
        run = _run(store)
        before = time.time()
        model = store.register_model(
            "clf",
            datastore="workspaceblobstore",
            path="models/clf/1",
            run_id=run.id,
            experiment_name=run.experiment_name,
            description="a classifier",
            framework="ScikitLearn",
            framework_version="1.4",
            tags={"stage": "dev"},
            properties={"auc": 0.9},
        )
        assert isinstance(model, ModelRecord)
        assert (model.name, model.version, model.datastore, model.path) == (
            "clf",
            1,
            "workspaceblobstore",
            "models/clf/1",
        )
        assert (model.run_id, model.experiment_name) == (run.id, "exp")
        assert (model.description, model.framework, model.framework_version) == (
            "a classifier",
            "ScikitLearn",
            "1.4",
        )
        assert (model.tags, model.properties) == ({"stage": "dev"}, {"auc": 0.9})
        assert before - 1 <= model.created_at <= time.time() + 1
        assert store.get_model("clf", 1) == model
        bare = store.register_model("bare", datastore="ds", path="p")
        assert (bare.run_id, bare.description, bare.tags, bare.properties) == (None, None, {}, {})

    def test_get_model_finds_the_latest_or_a_given_version(self, store: Store) -> None:
        for i in range(3):
            store.register_model("m", datastore="ds", path=f"v{i + 1}")
        latest = store.get_model("m")
        assert latest is not None and (latest.version, latest.path) == (3, "v3")
        second = store.get_model("m", 2)
        assert second is not None and (second.version, second.path) == (2, "v2")
        assert store.get_model("m", 4) is None
        assert store.get_model("ghost") is None
        assert store.get_model("ghost", 1) is None

    def test_list_models_filters_and_keeps_latest(self, store: Store) -> None:
        run = _run(store)
        store.register_model("b", datastore="ds", path="b1")
        store.register_model("a", datastore="ds", path="a1", run_id=run.id)
        store.register_model("b", datastore="ds", path="b2", run_id=run.id)
        store.register_model("a", datastore="ds", path="a2")
        assert [m.id for m in store.list_models()] == ["a:2", "a:1", "b:2", "b:1"]
        assert [m.id for m in store.list_models(latest=True)] == ["a:2", "b:2"]
        assert [m.id for m in store.list_models(name="b")] == ["b:2", "b:1"]
        assert [m.id for m in store.list_models(name="b", latest=True)] == ["b:2"]
        assert [m.id for m in store.list_models(run_id=run.id)] == ["a:1", "b:2"]
        assert [m.id for m in store.list_models(run_id=run.id, latest=True)] == ["a:1", "b:2"]
        assert store.list_models(name="ghost") == []

    def test_update_model_replaces_tags_and_properties(self, store: Store) -> None:
        store.register_model("m", datastore="ds", path="p", tags={"a": 1}, properties={"p": 1})
        second = store.register_model("m", datastore="ds", path="p2", tags={"keep": True})
        updated = store.update_model("m", 1, tags={"a": 2, "b": "x"})
        assert (updated.tags, updated.properties) == ({"a": 2, "b": "x"}, {"p": 1})
        updated = store.update_model("m", 1, properties={"p": 1, "q": [1]})
        assert (updated.tags, updated.properties) == ({"a": 2, "b": "x"}, {"p": 1, "q": [1]})
        assert store.update_model("m", 1) == updated
        assert store.get_model("m", 1) == updated
        assert store.get_model("m", 2) == second

    def test_update_model_of_an_unknown_version_raises_lookup_error(self, store: Store) -> None:
        store.register_model("m", datastore="ds", path="p")
        with pytest.raises(LookupError, match="'m'"):
            store.update_model("m", 2, tags={"a": 1})
        with pytest.raises(LookupError, match="'ghost'"):
            store.update_model("ghost", 1)

    def test_threads_registering_one_model_get_distinct_versions(self, store: Store) -> None:
        results = _in_threads(6, lambda i: store.register_model("m", datastore="ds", path=f"{i}"))
        assert all(isinstance(r, ModelRecord) for r in results), results
        assert sorted(r.version for r in results) == list(range(1, 7))

    # -- datasets -----------------------------------------------------------------------------

    _FILES: ClassVar[list[tuple[str | None, str, int, str, float | None]]] = [
        ("ds", "data/a.csv", 3, "a" * 64, 1.5),
        ("ds", "data/b.csv", 5, "b" * 64, None),
    ]

    def _register(self, store: Store, name: str | None, digest: str, **kwargs: Any) -> Any:
        return store.register_dataset(
            name=name,
            kind="file",
            definition={"sources": [["ds", "data/**"]], "options": {}},
            files=self._FILES,
            content_hash=digest,
            **kwargs,
        )

    def test_dataset_versions_count_up_only_when_content_changes(self, store: Store) -> None:
        first = self._register(store, "news", "h1", description="d", tags={"k": "v"})
        again = self._register(store, "news", "h1")
        changed = self._register(store, "news", "h2")
        assert (first.version, again.version, changed.version) == (1, 1, 2)
        assert again.id == first.id and changed.id != first.id
        assert (first.file_count, first.total_size, first.tags) == (2, 8, {"k": "v"})
        assert store.get_dataset("news").version == 2
        assert store.get_dataset("news", 1).content_hash == "h1"
        assert store.get_dataset("news", 3) is None and store.get_dataset("other") is None
        assert store.get_dataset_by_id(first.id) == first
        assert store.dataset_files(first.key) == sorted(self._FILES)

    def test_changed_content_without_create_new_version_is_refused(self, store: Store) -> None:
        self._register(store, "news", "h1")
        with pytest.raises(UserErrorException, match="create_new_version=True"):
            self._register(store, "news", "h2", create_new_version=False)
        assert [d.version for d in store.list_datasets(name="news")] == [1]

    def test_anonymous_datasets_are_recorded_once_per_content(self, store: Store) -> None:
        a = self._register(store, None, "h1")
        b = self._register(store, None, "h1")
        assert a.id == b.id and (a.name, a.version) == (None, None)
        assert store.list_datasets() == []

    def test_list_datasets_latest_first_and_latest_only(self, store: Store) -> None:
        self._register(store, "b", "h1")
        self._register(store, "a", "h1")
        self._register(store, "a", "h2")
        assert [(d.name, d.version) for d in store.list_datasets()] == [
            ("a", 2),
            ("a", 1),
            ("b", 1),
        ]
        assert [(d.name, d.version) for d in store.list_datasets(latest=True)] == [
            ("a", 2),
            ("b", 1),
        ]

    def test_threads_registering_new_content_get_distinct_versions(self, store: Store) -> None:
        results = _in_threads(5, lambda i: self._register(store, "news", f"h{i}"))
        assert sorted(r.version for r in results) == [1, 2, 3, 4, 5], results

    def test_runs_with_a_dataset_are_those_that_read_or_registered_it(self, store: Store) -> None:
        used = self._register(store, "news", "h1")
        unused = self._register(store, "other", "h2")
        maker = _run(
            store,
            definition={"committed_outputs": {"out": {"path": "p", "dataset": {"id": used.id}}}},
        )
        reader = _run(store, definition={"inputs": [{"name": "x", "dataset_id": used.id}]})
        _run(store, definition={"inputs": [], "note": f"mentions {used.id} elsewhere"})
        assert [(r.id, role) for r, role in store.runs_with_dataset(used.id)] == [
            (reader.id, "input"),
            (maker.id, "output"),
        ]
        assert store.runs_with_dataset(unused.id) == []

    # -- environments -------------------------------------------------------------------------

    def test_environment_versions_count_up_only_when_the_definition_changes(
        self, store: Store
    ) -> None:
        first = store.register_environment("train", {"python": {"pip": ["numpy"]}})
        again = store.register_environment("train", {"python": {"pip": ["numpy"]}})
        changed = store.register_environment("train", {"python": {"pip": ["numpy", "torch"]}})
        other = store.register_environment("score", {"python": {"pip": []}})
        assert (first.version, again.version, changed.version, other.version) == (1, 1, 2, 1)
        assert store.get_environment("train").definition == {"python": {"pip": ["numpy", "torch"]}}
        assert store.get_environment("train", 1).definition == {"python": {"pip": ["numpy"]}}
        assert store.get_environment("train", 3) is None
        assert store.get_environment("missing") is None
        listed = [(e.name, e.version) for e in store.list_environments()]
        assert listed == [("score", 1), ("train", 2), ("train", 1)]
        latest = [(e.name, e.version) for e in store.list_environments(latest=True)]
        assert latest == [("score", 1), ("train", 2)]
        assert [e.version for e in store.list_environments(name="train")] == [2, 1]

    # -- records ------------------------------------------------------------------------------

    def test_records_are_frozen(self, store: Store) -> None:
        run = _run(store)
        store.log_metrics(run.key, [_point("m", 1.0)])
        store.add_artifacts(run.key, [("f", 1)])
        (series,) = store.get_metrics([run.key])[run.key]
        records = [
            (store.get_or_create_experiment("exp"), "name"),
            (run, "status"),
            (store.get_run(run.id), "tags"),
            (series, "points"),
            (series.points[0], "value"),
            (store.list_artifacts(run.key)[0], "size"),
            (store.register_model("m", datastore="ds", path="p"), "version"),
            (store.register_environment("env", {}), "definition"),
        ]
        for record, attribute in records:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(record, attribute, None)
        assert isinstance(series.points, tuple)
        assert store.get_run(run.id).status is RunStatus.NOT_STARTED
