"""A generated corpus of bad (and good) input: every call works or raises hyperpipe's own error,
one line that names what was wrong; no other exception escapes.

Search spaces, sampling and policy arguments, sweep settings, pipeline graphs, run
configurations and command lines, built from values a hurried user might pass: wrong types,
NaN and infinities, huge and negative numbers, empty and odd strings, nested containers.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hyperpipe.cli import app
from hyperpipe.core import ScriptRunConfig, Workspace
from hyperpipe.exceptions import HyperpipeError
from hyperpipe.pipeline.core import Pipeline, PipelineData, PipelineParameter
from hyperpipe.pipeline.steps import PythonScriptStep
from hyperpipe.train.hyperdrive import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    TruncationSelectionPolicy,
    parameter_expressions,
)

EXAMPLES = 100  # per property: six properties, 600 generated inputs in all

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
EXPRESSIONS = [
    "choice",
    "randint",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
]


def works_or_says_why(call: Any) -> Any:
    """Call; a hyperpipe error must be one short line. Anything else escaping fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except HyperpipeError as exc:
        text = str(exc)
        assert text.strip(), f"{type(exc).__name__} with no message"
        assert "\n" not in text, f"a multi-line message: {text!r}"
        assert len(text) < 800, f"a message of {len(text)} characters"
        return None


def expression(name: str, args: list[Any]) -> Any:
    return getattr(parameter_expressions, name)(*args)


def arity(name: str) -> int:
    """How many arguments the expression takes (``choice`` takes any number)."""
    parameters = inspect.signature(getattr(parameter_expressions, name)).parameters
    return -1 if name == "choice" else len(parameters)


@st.composite
def expression_calls(draw: Any) -> tuple[str, list[Any]]:
    name = draw(st.sampled_from(EXPRESSIONS))
    count = arity(name)
    size = draw(st.integers(0, 4)) if count < 0 else count
    return name, draw(st.lists(values, min_size=size, max_size=size))


@st.composite
def spaces(draw: Any) -> Any:
    space = {}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.one_of(st.text(max_size=8), st.sampled_from(["--lr", "--batch", "lr"])))
        if draw(st.booleans()):
            name, args = draw(expression_calls())
            value = works_or_says_why(lambda n=name, a=args: expression(n, a))
            space[key] = value if value is not None else draw(values)
        else:
            space[key] = draw(values)
    return space


@settings(max_examples=EXAMPLES, deadline=None)
@given(call=expression_calls())
def test_parameter_expressions_accept_or_explain_any_arguments(call):
    name, args = call
    works_or_says_why(lambda: expression(name, args))


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    sampling=st.sampled_from(
        [RandomParameterSampling, GridParameterSampling, BayesianParameterSampling]
    ),
    space=spaces(),
)
def test_sampling_accepts_or_explains_any_search_space(sampling, space):
    built = works_or_says_why(lambda: sampling(space))
    if built is not None and sampling is RandomParameterSampling:
        study = works_or_says_why(lambda: built.create_study(PrimaryMetricGoal.MAXIMIZE))
        if study is not None:
            works_or_says_why(lambda: built.ask(study))


@st.composite
def policies(draw: Any) -> tuple[type, dict[str, Any]]:
    """A policy class and keyword arguments among those it takes (required ones always)."""
    policy = draw(st.sampled_from([BanditPolicy, MedianStoppingPolicy, TruncationSelectionPolicy]))
    kwargs = {}
    for name, parameter in inspect.signature(policy).parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if parameter.default is inspect.Parameter.empty or draw(st.booleans()):
            kwargs[name] = draw(scalars)
    return policy, kwargs


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    policy=policies(),
    sweep=st.dictionaries(
        st.sampled_from(
            ["max_total_runs", "max_concurrent_runs", "max_duration_minutes", "primary_metric_name"]
        ),
        scalars,
        max_size=4,
    ),
    policy_itself=st.booleans(),
)
def test_policies_and_sweep_settings_accept_or_explain_any_value(
    policy, sweep, policy_itself, tmp_path
):
    kind, kwargs = policy
    built = works_or_says_why(lambda: kind(**kwargs))
    settings_ = {"max_total_runs": 4, "primary_metric_name": "accuracy", **sweep}
    works_or_says_why(
        lambda: HyperDriveConfig(
            run_config=ScriptRunConfig(str(tmp_path), "train.py"),
            hyperparameter_sampling=RandomParameterSampling({"--x": [1, 2]}),
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
            policy=built if policy_itself else next(iter(kwargs.values()), "bandit"),
            **settings_,
        )
    )


@pytest.fixture(scope="module")
def corpus_ws(tmp_path_factory):
    return Workspace.create("corpus", path=tmp_path_factory.mktemp("corpus") / "ws")


@st.composite
def graphs(draw: Any) -> Any:
    """Steps with drawn names, arguments and data between them; some cycles, some duplicates."""
    names = draw(st.lists(st.text(min_size=1, max_size=6), max_size=3))
    made = [works_or_says_why(lambda n=n: PipelineData(n)) for n in names]
    data = [d for d in made if d is not None]
    steps = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.text(max_size=10), st.sampled_from(["prep", "train", "prep"])))
        inputs = draw(st.lists(st.sampled_from(data), max_size=2)) if data else []
        outputs = draw(st.lists(st.sampled_from(data), max_size=2)) if data else []
        arguments = draw(
            st.one_of(
                st.lists(st.one_of(scalars, st.sampled_from(data or [None])), max_size=3),
                st.text(max_size=10),
                scalars,
            )
        )
        parameter = draw(st.one_of(st.none(), values))
        if parameter is not None:
            arguments = works_or_says_why(
                lambda p=parameter, a=arguments: (
                    [*a, PipelineParameter("p", default_value=p)] if isinstance(a, list) else a
                )
            )
        steps.append((name, arguments, inputs, outputs))
    return steps, draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=3))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(graph=graphs())
def test_pipeline_graphs_accept_or_explain_any_shape(graph, corpus_ws, tmp_path):
    (tmp_path / "step.py").write_text("print('hi')\n")
    described, after = graph
    steps = []
    for name, arguments, inputs, outputs in described:
        step = works_or_says_why(
            lambda n=name, a=arguments, i=inputs, o=outputs: PythonScriptStep(
                "step.py",
                name=n,
                arguments=a,
                inputs=i,
                outputs=o,
                source_directory=str(tmp_path),
            )
        )
        if step is not None:
            steps.append(step)
    for first, second in after:
        if first < len(steps) and second < len(steps):
            works_or_says_why(lambda a=first, b=second: steps[b].run_after(steps[a]))
    works_or_says_why(lambda: Pipeline(corpus_ws, steps).validate())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    source=st.one_of(st.none(), st.text(max_size=10), st.just(".")),
    script=st.one_of(st.none(), st.text(max_size=10), st.just("train.py")),
    arguments=st.one_of(st.lists(scalars, max_size=3), st.text(max_size=10), scalars),
    target=st.one_of(st.none(), st.text(max_size=12), st.just("../../x"), st.just("local")),
    duration=st.one_of(st.none(), st.integers(-5, 10**10), st.floats()),
)
@example(source="\x00", script=None, arguments=[], target=None, duration=None)  # found once
def test_run_configurations_accept_or_explain_any_value(
    source, script, arguments, target, duration, corpus_ws
):
    config = works_or_says_why(
        lambda: ScriptRunConfig(
            source,
            script,
            arguments=arguments,
            compute_target=target,
            max_run_duration_seconds=duration,
        )
    )
    if config is not None:
        from hyperpipe.core._script_run_config import validate_submission

        works_or_says_why(lambda: validate_submission(corpus_ws, config))


COMMANDS = [
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "logs"],
    ["runs", "cancel"],
    ["experiments", "list"],
    ["models", "list"],
    ["datasets", "list"],
    ["compute", "add"],
    ["compute", "remove"],
    ["compute", "list"],
    ["pipelines", "list"],
    ["pipelines", "show"],
    ["pipelines", "why"],
    ["pipelines", "cancel"],
    ["init"],
]
OPTIONS = ["--status", "--limit", "--name", "--max-concurrency", "--gpus", "-e", "--children"]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    command=st.sampled_from(COMMANDS),
    words=st.lists(
        st.one_of(st.sampled_from(OPTIONS), st.text(max_size=10), st.integers().map(str)),
        max_size=4,
    ),
)
def test_the_command_line_accepts_or_explains_any_arguments(command, words, corpus_ws, tmp_path):
    argv = ["-w", str(corpus_ws.root), *command, *words]
    if command == ["init"]:
        argv = [*command, str(tmp_path / "new"), *words]
    result = CliRunner().invoke(app, argv)
    error = result.exception
    if error is None or isinstance(error, SystemExit):
        return
    assert isinstance(error, HyperpipeError), f"{argv} raised {error!r}"
    works_or_says_why(lambda: (_ for _ in ()).throw(error))
