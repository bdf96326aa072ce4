"""Workspaces: creation, SDK v1's config search rules, precise config errors, targets, store URL."""

from __future__ import annotations

import json

import pytest

from hyperpipe.core import Datastore, Workspace
from hyperpipe.core.authentication import AzureCliAuthentication
from hyperpipe.core.compute import AmlCompute, ComputeTarget, ComputeTargetException
from hyperpipe.exceptions import ConfigError, StoreError, UserErrorException


def test_create_writes_an_sdk_v1_config_and_a_local_default_datastore(tmp_path):
    ws = Workspace.create("proj", path=tmp_path)
    config = json.loads((tmp_path / ".azureml" / "config.json").read_text())
    assert config["workspace_name"] == "proj"
    assert {"subscription_id", "resource_group"} <= config.keys()
    datastore = ws.get_default_datastore()
    assert datastore.name == "workspaceblobstore"
    assert datastore._local_path() == tmp_path / "datastores" / "workspaceblobstore"
    assert (
        Datastore(ws).name == Datastore.get(ws, "workspaceblobstore").name == "workspaceblobstore"
    )
    assert ws.store_url == f"sqlite:///{tmp_path / '.hyperpipe' / 'store.db'}"


def test_create_refuses_an_existing_workspace_unless_exist_ok(tmp_path):
    Workspace.create("proj", path=tmp_path)
    with pytest.raises(UserErrorException, match="already exists .* exist_ok=True"):
        Workspace.create("proj", path=tmp_path)
    assert Workspace.create("proj", path=tmp_path, exist_ok=True).name == "proj"


def test_from_config_walks_up_and_prefers_dot_azureml_in_any_parent(tmp_path, monkeypatch):
    Workspace.create("outer", path=tmp_path)
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    # A plain config.json in the start folder loses to .azureml/config.json in a parent (SDK v1).
    (inner / "config.json").write_text(
        json.dumps({"subscription_id": "s", "resource_group": "r", "workspace_name": "plain"})
    )
    monkeypatch.chdir(inner)
    assert Workspace.from_config(auth=AzureCliAuthentication()).name == "outer"
    assert Workspace.from_config(path=inner / "config.json").name == "plain"


def test_from_config_reads_the_arm_scope_form(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "Scope": "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/scoped"
            }
        )
    )
    ws = Workspace.from_config(path=tmp_path)
    assert (ws.name, ws.subscription_id, ws.resource_group) == ("scoped", "sub", "rg")


def test_write_config_elsewhere_points_back_to_the_workspace(tmp_path):
    ws = Workspace.create("proj", path=tmp_path / "ws")
    written = ws.write_config(path=tmp_path / "elsewhere")
    assert written == tmp_path / "elsewhere" / ".azureml" / "config.json"
    assert Workspace.from_config(path=tmp_path / "elsewhere").root == ws.root


def test_missing_config_says_where_it_looked_and_how_to_create_one(tmp_path, monkeypatch):
    monkeypatch.delenv("HYPERPIPE_WORKSPACE", raising=False)
    with pytest.raises(ConfigError, match=r"could not find a workspace config .*`hyperpipe init`"):
        Workspace.from_config(path=tmp_path)


def test_malformed_json_names_the_file_and_position(tmp_path):
    bad = tmp_path / ".azureml" / "config.json"
    bad.parent.mkdir()
    bad.write_text('{"workspace_name": "x",\n "resource_group" "r"}')
    with pytest.raises(ConfigError, match=rf"{bad}: not valid JSON \(line 2, column 19"):
        Workspace.from_config(path=tmp_path)


def test_missing_key_names_the_file_and_key(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"subscription_id": "s", "workspace_name": "w"})
    )
    with pytest.raises(ConfigError, match=r"config.json: missing key 'resource_group'"):
        Workspace.from_config(path=tmp_path)


def test_bad_compute_target_entry_names_the_key(tmp_path):
    ws = Workspace.create("proj", path=tmp_path)
    config = json.loads(ws.config_path.read_text())
    config["hyperpipe"]["compute_targets"] = {"gpu": {"type": "local", "max_concurrency": "two"}}
    ws.config_path.write_text(json.dumps(config))
    with pytest.raises(
        ConfigError,
        match=r"key 'hyperpipe.compute_targets.gpu.max_concurrency' must be a positive integer, found 'two'",
    ):
        Workspace.from_config(path=tmp_path)


def test_workspace_getter_checks_the_name(tmp_path):
    Workspace.create("proj", path=tmp_path)
    assert Workspace.get("proj", path=tmp_path).name == "proj"
    with pytest.raises(
        UserErrorException,
        match="workspace 'other' not found: the config at .* is for workspace 'proj'",
    ):
        Workspace("sub", "rg", "other", path=tmp_path)


def test_compute_targets_the_sdk_v1_way(tmp_path):
    ws = Workspace.create("proj", path=tmp_path)
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=3)
    target = ComputeTarget.create(ws, "hypercomputegpu", config)
    target.wait_for_completion(show_output=True)
    assert ws.compute_targets["hypercomputegpu"].max_concurrency == 3
    assert (
        Workspace.from_config(path=tmp_path).compute_targets["hypercomputegpu"].vm_size
        == "STANDARD_NC6"
    )
    assert "local" in ws.compute_targets
    ComputeTarget(ws, "hypercomputegpu").delete()
    with pytest.raises(
        ComputeTargetException, match="'hypercomputegpu' is not defined .* known targets: local"
    ):
        ComputeTarget(ws, "hypercomputegpu")


def test_store_url_comes_from_the_environment_first(tmp_path, monkeypatch):
    ws = Workspace.create("proj", path=tmp_path)
    monkeypatch.setenv("HYPERPIPE_STORE_URL", f"sqlite:///{tmp_path}/other.db")
    assert Workspace.from_config(path=tmp_path).store_url == f"sqlite:///{tmp_path}/other.db"
    assert ws.get_details()["name"] == "proj"


def test_unknown_datastore_lists_the_registered_ones(tmp_path):
    ws = Workspace.create("proj", path=tmp_path)
    with pytest.raises(
        UserErrorException,
        match="datastore 'nope' is not registered .* registered: workspaceblobstore",
    ):
        Datastore.get(ws, "nope")


def test_create_on_a_file_says_a_folder_is_needed(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(UserErrorException, match="it is a file; pass a folder"):
        Workspace.create("ws1", path=tmp_path / "afile")


def test_a_store_url_under_a_file_is_refused_and_leaves_no_half_made_workspace(tmp_path):
    (tmp_path / "afile").write_text("")
    url = f"sqlite:///{tmp_path / 'afile' / 'store.db'}"
    with pytest.raises(StoreError, match="is part of that path a file"):
        Workspace.create("ws1", path=tmp_path / "ws", store_url=url)
    assert not (tmp_path / "ws" / ".azureml" / "config.json").exists()
    Workspace.create("ws1", path=tmp_path / "ws")  # the folder is free for a good try


@pytest.mark.parametrize("name", ["../../x", "a/b", "", "x" * 40, "9lives"])
def test_compute_target_names_that_are_no_plain_names_are_refused(tmp_path, name):
    ws = Workspace.create("ws1", path=tmp_path / "ws")
    with pytest.raises(ComputeTargetException, match="compute target name .* is invalid"):
        ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=2))
    assert not any(p.name == "x" for p in tmp_path.rglob("*"))
