"""Datasets given to runs: paths in arguments, input_datasets, read-only mounts, downloads."""

from __future__ import annotations

import textwrap

import pytest

from hyperpipe.core import Dataset, Datastore, Experiment, ScriptRunConfig, Workspace
from hyperpipe.exceptions import UserErrorException

READER = """
import os, sys
from hyperpipe.core import Run
run = Run.get_context()
path = sys.argv[1]
inputs = run.input_datasets
run.log("arg_is_env", path == inputs["docs"] == os.environ["docs"])
run.log_list("files", sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs))
run.log("content", open(os.path.join(path, "cat", "1.txt")).read())
run.log("mount_is_view", os.path.islink(os.path.join(path, "cat", "1.txt")))
try:
    open(os.path.join(path, "new.txt"), "w").write("x")
    run.log("writable", True)
except OSError:
    run.log("writable", False)
table = inputs["table"]
run.log("rows", len(table.to_pandas_dataframe()))
run.log("modes", os.environ["AZUREML_DATASET_ENVIRONMENT_VARS"])
"""


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace.create("consume", path=tmp_path / "ws")
    root = Datastore.get(ws, "workspaceblobstore")._local_path("docs")
    for name, text in (("cat/1.txt", "meow"), ("cat/2.txt", "purr"), ("dog/1.txt", "woof")):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root.parent / "t.csv").write_text("a\n1\n2\n3\n")
    return ws


def _submit(ws, tmp_path, code, arguments):
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "script.py").write_text(textwrap.dedent(code))
    run = Experiment(ws, "consume").submit(
        ScriptRunConfig(source, "script.py", arguments=arguments)
    )
    run.wait_for_completion()
    return run


def test_script_receives_a_named_input_as_a_path_and_reads_it(ws, tmp_path):
    store = Datastore.get(ws, "workspaceblobstore")
    docs = Dataset.File.from_files((store, "docs")).register(ws, "docs")
    table = Dataset.Tabular.from_delimited_files((store, "t.csv")).register(ws, "table")
    run = _submit(
        ws,
        tmp_path,
        READER,
        [docs.as_named_input("docs").as_mount(), table.as_named_input("table")],
    )
    metrics = run.get_metrics()
    assert metrics["arg_is_env"] is True
    assert metrics["files"] == ["cat/1.txt", "cat/2.txt", "dog/1.txt"]
    assert metrics["content"] == "meow"
    assert metrics["mount_is_view"] is True  # a view of the registered files, never a copy
    assert metrics["rows"] == 3
    assert metrics["modes"] == "docs:mount,table:direct"
    details = run.get_details()["inputDatasets"]
    assert [d["consumptionDetails"]["inputName"] for d in details] == ["docs", "table"]
    assert details[0]["dataset"]["name"] == "docs"
    assert set(run.input_datasets) == {"docs", "table"}


def test_download_mode_copies_into_the_run(ws, tmp_path):
    store = Datastore.get(ws, "workspaceblobstore")
    docs = Dataset.File.from_files((store, "docs/cat"))  # unregistered: saved anonymously
    code = """
    import os, sys
    from hyperpipe.core import Run
    run = Run.get_context()
    run.log("islink", os.path.islink(os.path.join(sys.argv[1], "1.txt")))
    run.log("text", open(os.path.join(sys.argv[1], "2.txt")).read())
    """
    run = _submit(ws, tmp_path, code, [docs.as_named_input("cats").as_download()])
    assert run.get_metrics() == {"islink": False, "text": "purr"}


def test_single_file_dataset_is_the_file_itself(ws, tmp_path):
    store = Datastore.get(ws, "workspaceblobstore")
    one = Dataset.File.from_files((store, "docs/dog/1.txt"))
    code = """
    import sys
    from hyperpipe.core import Run
    Run.get_context().log("text", open(sys.argv[1]).read())
    """
    assert _submit(ws, tmp_path, code, [one.as_mount()]).get_metrics() == {"text": "woof"}


def test_a_version_whose_files_changed_fails_the_run_clearly(ws, tmp_path):
    store = Datastore.get(ws, "workspaceblobstore")
    docs = Dataset.File.from_files((store, "docs")).register(ws, "docs")
    store._local_path("docs/cat/1.txt").write_text("MEOW")
    run = Experiment(ws, "consume")
    source = tmp_path / "src"
    source.mkdir()
    (source / "s.py").write_text("print('never runs')")
    submitted = run.submit(
        ScriptRunConfig(source, "s.py", arguments=[docs.as_named_input("docs").as_mount()])
    )
    submitted.wait_for_completion(raise_on_error=False)
    assert submitted.get_status() == "Failed"
    message = submitted.get_details()["error"]["error"]["message"]
    assert "dataset 'docs' version 1: file 'docs/cat/1.txt'" in message
    assert "changed since the version was registered" in message


def test_bad_input_names_and_modes_are_refused(ws):
    store = Datastore.get(ws, "workspaceblobstore")
    docs = Dataset.File.from_files((store, "docs"))
    with pytest.raises(UserErrorException, match="input name '1st' is invalid"):
        docs.as_named_input("1st")
    table = Dataset.Tabular.from_delimited_files((store, "t.csv"))
    with pytest.raises(
        UserErrorException, match="only a FileDataset can be consumed in mount mode"
    ):
        table.as_named_input("t").as_mount()
