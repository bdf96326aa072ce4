"""DataPath and DataPathComputeBinding: what they hold, and clear errors for bad input."""

from __future__ import annotations

import pytest

from hyperpipe.core import Workspace
from hyperpipe.data import DataPath, DataPathComputeBinding, DataReference
from hyperpipe.exceptions import UserErrorException


def test_a_binding_turns_a_datapath_into_a_data_reference(tmp_path):
    store = Workspace.create("paths", path=tmp_path).get_default_datastore()
    path = DataPath(store, "raw/2020")
    assert path.name.startswith("workspaceblobstore_") and path.datastore_name == store.name
    reference = path.create_data_reference("raw", DataPathComputeBinding("download", "in"))
    assert (reference.data_reference_name, reference.path_on_datastore) == ("raw", "raw/2020")
    assert (reference.mode, reference.path_on_compute) == ("download", "in")
    assert DataPath.create_from_data_reference(reference) == path
    assert DataPathComputeBinding.create_from_data_reference(reference).mode == "download"
    assert isinstance(DataReference.create("r", path, DataPathComputeBinding()), DataReference)


def test_bad_datapaths_and_bindings_say_what_to_pass(tmp_path):
    store = Workspace.create("paths", path=tmp_path).get_default_datastore()
    with pytest.raises(UserErrorException, match="DataPath needs a datastore, got None"):
        DataPath(None, "x")
    with pytest.raises(UserErrorException, match="must not contain '..'"):
        DataPath(store, "../outside")
    with pytest.raises(
        UserErrorException, match="mode must be 'mount' or 'download', got 'upload'"
    ):
        DataPathComputeBinding(mode="upload")


def test_a_datapath_kept_as_json_names_its_datastore_and_comes_back_equal(tmp_path):
    ws = Workspace.create("paths", path=tmp_path)
    path = DataPath(ws.get_default_datastore(), "raw/2020")
    kept = path._to_json()
    assert kept == {"datastore": "workspaceblobstore", "path_on_datastore": "raw/2020"}
    for form in (
        kept,
        {"DataStoreName": "workspaceblobstore", "RelativePath": "raw/2020"},
        "workspaceblobstore:raw/2020",
    ):
        back = DataPath._from_json(form, ws)
        assert back == path and back.datastore.name == "workspaceblobstore"
    with pytest.raises(UserErrorException, match="datastore 'nope' is not registered"):
        DataPath._from_json("nope:raw", ws)
    with pytest.raises(UserErrorException, match="'raw' is not a DataPath; give"):
        DataPath._from_json("raw", ws)
    with pytest.raises(UserErrorException, match="must not contain '..'"):
        DataPath._from_json({"datastore": "workspaceblobstore", "path_on_datastore": "../x"}, ws)
