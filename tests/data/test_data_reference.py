"""``DataReference`` as a value object: names, modes, paths (SDK v1's ``azureml.data``)."""

from __future__ import annotations

import re

import pytest

from hyperpipe.data import DATA_REFERENCE_ENV_PREFIX, DataReference, Datastore
from hyperpipe.exceptions import UserErrorException


@pytest.fixture
def ds() -> Datastore:
    return Datastore._from_url("blobs", "memory://data-reference-tests")


def test_str_is_the_sdk_v1_environment_variable(ds: Datastore) -> None:
    ref = DataReference(ds, data_reference_name="baselineProfile", mode="download")
    assert str(ref) == repr(ref) == "$AZUREML_DATAREFERENCE_baselineProfile"
    assert ref.environment_variable == DATA_REFERENCE_ENV_PREFIX + "baselineProfile"
    assert f"--data {ref}" == "--data $AZUREML_DATAREFERENCE_baselineProfile"


def test_default_name_is_the_datastore_name_for_the_root(ds: Datastore) -> None:
    for path in (None, "", "/", ".", "./"):
        assert DataReference(ds, path_on_datastore=path).data_reference_name == "blobs"


def test_default_name_for_a_sub_path_is_stable_and_distinct(ds: Datastore) -> None:
    a = DataReference(ds, path_on_datastore="data/a")
    assert re.fullmatch(r"blobs_[0-9a-f]{12}", a.data_reference_name)
    assert (
        DataReference(ds, path_on_datastore="/data/a/").data_reference_name == a.data_reference_name
    )
    assert (
        DataReference(ds, path_on_datastore="data/b").data_reference_name != a.data_reference_name
    )


def test_defaults_and_fields(ds: Datastore) -> None:
    ref = DataReference(ds)
    assert (ref.datastore, ref.path_on_datastore, ref.mode, ref.path_on_compute, ref.overwrite) == (
        ds,
        None,
        "mount",
        None,
        False,
    )


@pytest.mark.parametrize("mode", ["Mount", "copy", "", None])
def test_mode_is_validated(ds: Datastore, mode: object) -> None:
    with pytest.raises(
        UserErrorException,
        match=re.escape(f"Invalid mode {mode!r}. Only mount, download, upload are supported"),
    ):
        DataReference(ds, mode=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["has-dash", "sp ace", "$x", 3])
def test_reference_name_is_validated(ds: Datastore, name: object) -> None:
    with pytest.raises(UserErrorException, match="use letters, digits and underscores"):
        DataReference(ds, data_reference_name=name)  # type: ignore[arg-type]


def test_a_datastore_is_required() -> None:
    with pytest.raises(UserErrorException, match="DataReference needs a Datastore, got 'blobs'"):
        DataReference("blobs")


def test_mode_switches_return_copies(ds: Datastore) -> None:
    ref = DataReference(ds, data_reference_name="raw", path_on_datastore="raw")
    down = ref.as_download(path_on_compute="data/raw", overwrite=True)
    assert (down.mode, down.path_on_compute, down.overwrite) == ("download", "data/raw", True)
    assert (down.data_reference_name, down.path_on_datastore) == ("raw", "raw")
    assert ref.mode == "mount" and ref.path_on_compute is None  # unchanged
    up = ref.as_upload("outputs")
    assert (up.mode, up.path_on_compute) == ("upload", "outputs")
    assert down.as_mount().mode == "mount"
    assert down.as_mount().path_on_compute == "data/raw"


def test_path_joins_below_the_reference(ds: Datastore) -> None:
    base = ds.path("data")
    child = base.path("train/", data_reference_name="train")
    assert (child.path_on_datastore, child.data_reference_name, child.mode) == (
        "data/train",
        "train",
        "mount",
    )
    assert ds.path().path("x").path_on_datastore == "x"
    assert base.path() is base
    renamed = base.path(data_reference_name="renamed")
    assert (renamed.data_reference_name, renamed.path_on_datastore) == ("renamed", "data")
    with pytest.raises(UserErrorException, match=r"must not contain '\.\.'"):
        base.path("../secrets")


def test_equal_references_compare_and_hash_equal(ds: Datastore) -> None:
    a = DataReference(ds, path_on_datastore="x", mode="download")
    b = DataReference(ds, path_on_datastore="/x", mode="download")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != a.as_mount()
    other = Datastore._from_url("other", "memory://other")
    assert DataReference(ds) != DataReference(other, data_reference_name="blobs")
