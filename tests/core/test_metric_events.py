"""Metric reports as events: a trial's stored report wakes its sweep driver through a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from hyperpipe.compute._process import readable
from hyperpipe.core._metric_events import METRIC_EVENTS_ENV, URGENT_METRIC_ENV, MetricEvents

# A trial's side, in its own process: log values through the run's metric writer.
TRIAL = textwrap.dedent(
    """
    import sys, time
    from hyperpipe.core._metrics import MetricWriter, to_point
    from hyperpipe.store import get_store

    store = get_store(sys.argv[1])
    run = store.create_run(experiment_name="e", run_id=sys.argv[2], run_type="run")
    writer = MetricWriter(store, run.key, None)
    writer.append(to_point(sys.argv[3], "scalar", 0.5, "", None))
    time.sleep(30)  # the report must arrive before the writer's close would flush it
    """
)


def _trial(tmp_path, env, run_id, metric):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    return subprocess.Popen([sys.executable, "-c", TRIAL, url, run_id, metric], env=env), url


def test_a_report_of_the_urgent_metric_is_stored_and_wakes_the_driver_at_once(tmp_path):
    events = MetricEvents(tmp_path / "metric-events")
    env = {**os.environ, METRIC_EVENTS_ENV: str(events.path), URGENT_METRIC_ENV: "loss"}
    trial, url = _trial(tmp_path, env, "t1", "loss")
    try:
        woke = readable([events.fileno()], 20)
        assert woke == [events.fileno()], "the trial's report did not wake the driver"
        assert events.drain() and not events.drain()
        from hyperpipe.store import get_store

        store = get_store(url)
        run = store.get_run("t1")
        assert [p.value for p in store.get_metrics([run.key])[run.key][0].points] == [0.5]
    finally:
        trial.kill()
        trial.wait()
        events.close()
    assert not events.path.exists()


def test_a_batch_of_other_metrics_wakes_the_driver_once_it_is_stored(tmp_path):
    events = MetricEvents(tmp_path / "metric-events")
    env = {**os.environ, METRIC_EVENTS_ENV: str(events.path), URGENT_METRIC_ENV: "loss"}
    trial, _url = _trial(tmp_path, env, "t2", "lr")
    try:
        assert readable([events.fileno()], 20) == [events.fileno()]
    finally:
        trial.kill()
        trial.wait()
        events.close()


def test_a_trial_without_a_listening_driver_logs_as_before(tmp_path):
    env = {**os.environ, METRIC_EVENTS_ENV: str(tmp_path / "no-such-pipe"), URGENT_METRIC_ENV: "x"}
    code = textwrap.dedent(
        """
        import sys
        from hyperpipe.core._metrics import MetricWriter, to_point
        from hyperpipe.store import get_store

        store = get_store(sys.argv[1])
        run = store.create_run(experiment_name="e", run_id="t3", run_type="run")
        writer = MetricWriter(store, run.key, None)
        for i in range(3):
            writer.append(to_point("x", "scalar", float(i), "", None))
        writer.close()
        print(len(store.get_metrics([run.key])[run.key][0].points))
        """
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    done = subprocess.run(
        [sys.executable, "-c", code, url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
