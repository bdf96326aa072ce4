"""Bad pipelines are refused when built (or submitted) with an error that names the problem."""

from __future__ import annotations

import re

import pytest

from hyperpipe.core import Dataset, Datastore
from hyperpipe.exceptions import ComputeTargetException, UserErrorException
from hyperpipe.pipeline.core import Pipeline, PipelineData, PipelineParameter
from hyperpipe.pipeline.steps import PythonScriptStep

OK = "print('ok')"


def test_cycle_is_refused_naming_its_steps(ws, make_step):
    x, y = PipelineData("x"), PipelineData("y")
    first = make_step("first", OK, arguments=[y, x], inputs=[y], outputs=[x])
    second = make_step("second", OK, arguments=[x, y], inputs=[x], outputs=[y])
    with pytest.raises(
        UserErrorException, match="the pipeline has a cycle: first -> second -> first"
    ):
        Pipeline(ws, [first, second])


def test_run_after_cycle_is_refused_naming_its_steps(ws, make_step):
    a, b, c = (make_step(name, OK) for name in ("a", "b", "c"))
    b.run_after(a)
    c.run_after(b)
    a.run_after(c)
    with pytest.raises(UserErrorException, match="cycle: a -> c -> b -> a"):
        Pipeline(ws, [a, b, c])


def test_data_nobody_produces_is_refused(ws, make_step):
    orphan = PipelineData("orphan")
    consumer = make_step("consumer", OK, arguments=[orphan], inputs=[orphan])
    with pytest.raises(
        UserErrorException,
        match="input 'orphan' of step 'consumer' is not produced by any step of the pipeline",
    ):
        Pipeline(ws, [consumer])


def test_two_producers_of_one_output_are_refused(ws, make_step):
    shared = PipelineData("shared")
    one = make_step("one", OK, arguments=[shared], outputs=[shared])
    two = make_step("two", OK, arguments=[shared], outputs=[shared])
    reader = make_step("reader", OK, arguments=[shared], inputs=[shared])
    with pytest.raises(
        UserErrorException, match="'shared' is an output of two steps, 'one' and 'two'"
    ):
        Pipeline(ws, [one, two, reader])


def test_two_producers_of_one_output_are_refused_even_with_no_consumer(ws, make_step):
    shared = PipelineData("shared")
    one = make_step("one", OK, arguments=[shared], outputs=[shared])
    two = make_step("two", OK, arguments=[shared], outputs=[shared])
    with pytest.raises(
        UserErrorException, match="'shared' is an output of two steps, 'one' and 'two'"
    ):
        Pipeline(ws, [one, two])


def test_missing_script_is_refused_when_the_pipeline_is_built_with_its_absolute_path(
    ws, write_script, target
):
    source = write_script("train", OK)
    step = PythonScriptStep("nope.py", name="train", source_directory=source, compute_target=target)
    expected = re.escape(f"step 'train': script not found at {source.resolve() / 'nope.py'}")
    with pytest.raises(UserErrorException, match=expected):
        Pipeline(ws, [step])


def test_unknown_compute_target_is_refused_listing_the_known_ones(ws, make_step, target):
    step = make_step("train", OK, compute_target="gpu-cluster")
    with pytest.raises(
        ComputeTargetException,
        match=r"step 'train': compute target 'gpu-cluster' is not defined .* known targets: "
        r"cpu, local",
    ):
        Pipeline(ws, [step])


def test_consumer_ordered_before_its_producer_by_run_after_is_refused(ws, make_step):
    data = PipelineData("data")
    producer = make_step("producer", OK, arguments=[data], outputs=[data])
    consumer = make_step("consumer", OK, arguments=[data], inputs=[data])
    producer.run_after(consumer)
    with pytest.raises(
        UserErrorException,
        match="step 'consumer' consumes 'data' produced by 'producer', but 'producer' is set to "
        "run after it",
    ):
        Pipeline(ws, [producer, consumer])


def test_unknown_pipeline_parameter_on_submit_is_refused_and_nothing_runs(
    ws, experiment, make_step
):
    step = make_step("train", OK, arguments=["--lr", PipelineParameter("lr", 0.1)])
    pipeline = Pipeline(ws, [step])
    with pytest.raises(
        UserErrorException,
        match="pipeline parameter 'learning_rate' does not exist in this pipeline; its "
        "parameters: lr",
    ):
        experiment.submit(pipeline, pipeline_parameters={"learning_rate": 0.5})
    assert list(experiment.get_runs()) == []


def test_argument_of_an_unsupported_type_is_refused(make_step):
    with pytest.raises(
        UserErrorException,
        match=r"step 'train': argument \{'lr': 0.1\} of type dict is not supported",
    ):
        make_step("train", OK, arguments=[{"lr": 0.1}])


@pytest.fixture
def dataset(ws):
    store = Datastore.get(ws, "workspaceblobstore")
    root = store._local_path("docs")
    root.mkdir(parents=True)
    (root / "1.txt").write_text("one")
    return Dataset.File.from_files((store, "docs")).register(ws, "docs")


def test_bare_dataset_as_input_is_refused_telling_to_call_as_named_input(make_step, dataset):
    with pytest.raises(
        UserErrorException,
        match=r"step 'train': a dataset cannot be an input as it is; call "
        r"dataset\.as_named_input\('name'\)",
    ):
        make_step("train", OK, inputs=[dataset])


def test_bare_dataset_as_argument_is_refused_telling_to_call_as_named_input(make_step, dataset):
    with pytest.raises(
        UserErrorException, match=r"is a dataset; pass dataset\.as_named_input\('name'\) instead"
    ):
        make_step("train", OK, arguments=[dataset])


def test_pipeline_data_in_arguments_but_not_in_inputs_or_outputs_is_refused(make_step):
    data = PipelineData("features")
    with pytest.raises(
        UserErrorException,
        match="step 'train': 'features' appears in arguments but not in inputs or outputs",
    ):
        make_step("train", OK, arguments=["--features", data])
