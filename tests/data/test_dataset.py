"""Datasets: creation from paths and globs, immutable versioned manifests, tables, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from hyperpipe.core import Dataset, Datastore, Workspace
from hyperpipe.data._dataset import FileDataset, TabularDataset
from hyperpipe.exceptions import UserErrorException


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.create("dataws", path=tmp_path / "ws")


@pytest.fixture
def store(ws) -> Datastore:
    """The default datastore with a few files under raw/."""
    datastore = Datastore.get(ws, "workspaceblobstore")
    root = datastore._local_path("raw")
    (root / "week1").mkdir(parents=True)
    (root / "week2").mkdir()
    (root / "week1" / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (root / "week2" / "b.csv").write_text("x,y\n5,6\n")
    (root / "notes.txt").write_text("not a table")
    return datastore


def test_from_files_accepts_folders_globs_tuples_and_lists(store, tmp_path):
    everything = Dataset.File.from_files((store, "raw"))
    assert everything.to_path() == ["/notes.txt", "/week1/a.csv", "/week2/b.csv"]
    csvs = Dataset.File.from_files((store, "raw/**/*.csv"))
    assert csvs.to_path() == ["/week1/a.csv", "/week2/b.csv"]
    listed = Dataset.File.from_files([(store, "raw/week1/a.csv"), (store, "raw/week2/b.csv")])
    assert listed == csvs  # same content, same identity
    local = tmp_path / "local"
    local.mkdir()
    (local / "f.txt").write_text("f")
    assert Dataset.File.from_files(str(local / "*.txt")).to_path() == ["/f.txt"]


def test_registering_identical_content_keeps_the_version(ws, store):
    first = Dataset.File.from_files((store, "raw")).register(ws, "raw", description="weekly data")
    again = Dataset.File.from_files((store, "raw")).register(ws, "raw", create_new_version=True)
    assert (first.name, first.version) == ("raw", 1)
    assert again.version == 1 and again.id == first.id
    assert Dataset.get_by_name(ws, "raw").description == "weekly data"


def test_one_changed_byte_makes_a_new_version_and_the_old_manifest_stays(ws, store):
    v1 = Dataset.File.from_files((store, "raw")).register(ws, "raw")
    path = store._local_path("raw/week2/b.csv")
    path.write_text("x,y\n5,7\n")  # one byte changed
    v2 = Dataset.File.from_files((store, "raw")).register(ws, "raw", create_new_version=True)
    assert v2.version == 2 and v2.content_hash != v1.content_hash
    old = Dataset.get_by_name(ws, "raw", version=1)
    assert old.id == v1.id and old.content_hash == v1.content_hash
    assert {e.path: e.sha256 for e in old._manifest()} == {e.path: e.sha256 for e in v1._manifest()}
    assert Dataset.get_by_name(ws, "raw", version="2").id == v2.id
    assert [d.version for d in Dataset.list_versions(ws, "raw")] == [2, 1]
    assert Dataset.get_by_id(ws, v1.id).version == 1
    assert set(Dataset.get_all(ws)) == {"raw"} and ws.datasets["raw"].version == 2


def test_changed_content_without_create_new_version_is_refused(ws, store):
    Dataset.File.from_files((store, "raw")).register(ws, "raw")
    store._local_path("raw/notes.txt").write_text("changed")
    with pytest.raises(
        UserErrorException, match="already registered as 'raw' .* create_new_version=True"
    ):
        Dataset.File.from_files((store, "raw")).register(ws, "raw")


def test_tabular_dataset_round_trips_through_pandas(ws, store):
    table = Dataset.Tabular.from_delimited_files((store, "raw/**/*.csv"))
    frame = table.to_pandas_dataframe()
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"x": [1, 3, 5], "y": [2, 4, 6]}))
    registered = table.register(ws, "table")
    assert isinstance(registered, TabularDataset)
    loaded = Dataset.get_by_name(ws, "table")
    pd.testing.assert_frame_equal(loaded.to_pandas_dataframe(), frame)
    assert list(loaded.keep_columns("y").to_pandas_dataframe().columns) == ["y"]
    with_path = Dataset.Tabular.from_delimited_files((store, "raw/week1/a.csv"), include_path=True)
    assert with_path.to_pandas_dataframe()["Path"].tolist() == ["raw/week1/a.csv"] * 2


def test_parquet_dataset_round_trips(ws, store):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1, 2], "b": ["u", "v"]})
    frame.to_parquet(store._local_path("raw/t.parquet"))
    loaded = Dataset.Tabular.from_parquet_files((store, "raw/t.parquet")).to_pandas_dataframe()
    pd.testing.assert_frame_equal(loaded, frame)


def test_file_dataset_download_take_and_split(ws, store, tmp_path):
    files = Dataset.File.from_files((store, "raw"))
    written = files.download(tmp_path / "out")
    assert sorted(p.split("out/")[1] for p in written) == [
        "notes.txt",
        "week1/a.csv",
        "week2/b.csv",
    ]
    with pytest.raises(UserErrorException, match="already exists; pass overwrite=True"):
        files.download(tmp_path / "out")
    assert files.take(1).to_path() == ["/notes.txt"]
    first, second = files.random_split(0.34, seed=1)
    assert len(first.to_path()) == 1 and len(second.to_path()) == 2
    assert isinstance(first, FileDataset)


def test_a_path_matching_no_file_is_a_clear_error(store):
    with pytest.raises(
        UserErrorException,
        match=r"path 'raw/\*\.parquet' in datastore 'workspaceblobstore' matches no file",
    ):
        Dataset.File.from_files((store, "raw/*.parquet"))


def test_unknown_names_and_versions_list_what_exists(ws, store):
    Dataset.File.from_files((store, "raw")).register(ws, "raw")
    with pytest.raises(
        UserErrorException,
        match="cannot find a dataset registered as 'nope'; registered datasets: raw",
    ):
        Dataset.get_by_name(ws, "nope")
    with pytest.raises(
        UserErrorException, match=r"dataset 'raw' has no version 5; registered versions: \[1\]"
    ):
        Dataset.get_by_name(ws, "raw", version=5)
    with pytest.raises(
        UserErrorException, match="version must be an int, a numeric string or 'latest'"
    ):
        Dataset.get_by_name(ws, "raw", version="newest")


def test_unknown_datastore_is_named(ws):
    with pytest.raises(UserErrorException, match="datastore 'lake' is not registered"):
        Datastore.get(ws, "lake")


def test_mixing_urls_and_datastore_paths_is_refused(store, tmp_path):
    with pytest.raises(UserErrorException, match="all be URLs or all be datastore paths"):
        Dataset.File.from_files([(store, "raw"), str(tmp_path)])


def test_a_dataset_of_many_files_on_an_object_store_registers_downloads_and_is_checked(
    ws, s3_options, tmp_path
):
    import hashlib
    import uuid

    from hyperpipe.data._materialize import materialize_inputs

    url = f"s3://hyperpipe-tests/ds-{uuid.uuid4().hex[:8]}"
    s3 = Datastore.register(ws, "objects", url, storage_options=s3_options)
    files = {f"cat{i % 4}/{i}.txt": f"document {i} " * (i % 9) for i in range(60)}
    for rel, text in files.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_text(text)
    s3.upload(tmp_path / "src", "docs", show_progress=False)
    # Replaced behind the upload's back: registration must hash what is there now.
    files["cat3/3.txt"] = "replaced elsewhere"
    s3._fs.pipe(f"{s3._root}/docs/cat3/3.txt", files["cat3/3.txt"].encode())

    everything = Dataset.File.from_files((s3, "docs")).register(ws, "docs")
    some = Dataset.File.from_files([(s3, f"docs/{rel}") for rel in sorted(files)[:20]])
    some = some.register(ws, "some")
    manifest = {e.path: e.sha256 for e in everything._manifest()}
    assert manifest == {
        f"docs/{rel}": hashlib.sha256(text.encode()).hexdigest() for rel, text in files.items()
    }
    assert {e.path for e in some._manifest()} == {f"docs/{r}" for r in sorted(files)[:20]}
    written = everything.download(tmp_path / "back")
    assert len(written) == len(files)
    assert all((tmp_path / "back" / rel).read_text() == text for rel, text in files.items())

    spec = {"dataset_id": everything.id, "mode": "download", "name": "docs"}
    values = materialize_inputs(ws, [spec], tmp_path / "work", tmp_path / "views")
    assert (tmp_path / "work" / "inputs" / "docs" / "cat1" / "1.txt").read_text() == files[
        "cat1/1.txt"
    ]
    assert values == {"docs": str(tmp_path / "work" / "inputs" / "docs")}
    # Same size, new bytes, within seconds of the registration: hashed, not trusted by its time.
    (tmp_path / "changed").write_text("D" * len(files["cat2/2.txt"]))
    s3._put_file(tmp_path / "changed", "docs/cat2/2.txt")
    with pytest.raises(UserErrorException, match=r"file 'docs/cat2/2.txt' .* changed since"):
        materialize_inputs(ws, [spec], tmp_path / "work2", tmp_path / "views2")
