"""Registering, replacing, defaulting and removing datastores; what the config keeps."""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from typing import TYPE_CHECKING

import pytest

from hyperpipe.core import Workspace
from hyperpipe.data import WORKSPACE_DEFAULT_BLOB_STORE_NAME, Datastore
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "s3cr3t-Key/with+chars=="


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("dsws", path=tmp_path / "ws")


def _config(ws: Workspace) -> dict:
    return json.loads(ws.config_path.read_text())["hyperpipe"]


def _missing_package_scheme() -> tuple[str, str]:
    """A protocol fsspec knows whose package is not installed here, and that package."""
    for protocol, package in (("gs", "gcsfs"), ("hf", "huggingface_hub"), ("az", "adlfs")):
        if importlib.util.find_spec(package) is None:
            return protocol, package
    pytest.skip("gcsfs, huggingface_hub and adlfs are all installed")


def test_register_a_relative_folder_resolves_against_the_workspace_root(ws: Workspace) -> None:
    ds = Datastore.register(ws, "raw_data", "data/raw")
    assert ds.name == "raw_data" and ds.datastore_type == "Local"
    assert ds._local_path() == ws.root / "data" / "raw"
    assert ds._local_path().is_dir()  # created at registration
    assert _config(ws)["datastores"]["raw_data"] == {"url": "data/raw"}
    assert ws.datastores["raw_data"] == ds
    assert Datastore.get(ws, "raw_data") == ds == Datastore(ws, "raw_data")


def test_register_file_urls_absolute_and_relative(ws: Workspace, tmp_path: Path) -> None:
    absolute = Datastore.register(ws, "abs", f"file://{tmp_path / 'abs'}")
    relative = Datastore.register(ws, "rel", "file://shared/data")
    assert absolute._local_path() == tmp_path / "abs"
    assert relative._local_path() == ws.root / "shared" / "data"


def test_register_memory_url(ws: Workspace, tmp_path: Path) -> None:
    url = f"memory://reg-{uuid.uuid4().hex[:8]}"
    ds = Datastore.register(ws, "mem", url)
    assert (ds.url, ds.datastore_type, ds._local_path()) == (url, "Memory", None)
    (tmp_path / "f.txt").write_text("hello")
    ds._put_file(tmp_path / "f.txt", "f.txt")
    assert list(Datastore.get(ws, "mem")._walk()) == [("f.txt", 5)]


def test_registration_is_persisted_for_a_new_workspace_object(
    ws: Workspace, tmp_path: Path
) -> None:
    Datastore.register(ws, "lake", "lake", storage_options={"auto_mkdir": True})
    again = Workspace.from_config(path=ws.root)
    assert set(again.datastores) == {WORKSPACE_DEFAULT_BLOB_STORE_NAME, "lake"}
    assert again._datastore("lake")._options == {"auto_mkdir": True}
    assert _config(ws)["datastores"]["lake"] == {"url": "lake", "options": {"auto_mkdir": True}}


def test_registering_an_existing_name_needs_overwrite(ws: Workspace) -> None:
    Datastore.register(ws, "lake", "lake_v1")
    with pytest.raises(
        UserErrorException,
        match=re.escape(
            "datastore 'lake' is already registered in workspace 'dsws' with URL 'lake_v1'; "
            "pass overwrite=True to replace it, or choose another name"
        ),
    ):
        Datastore.register(ws, "lake", "lake_v2")
    assert Datastore.get(ws, "lake")._local_path() == ws.root / "lake_v1"
    replaced = Datastore.register(ws, "lake", "lake_v2", overwrite=True)
    assert replaced._local_path() == ws.root / "lake_v2"
    assert (
        Workspace.from_config(path=ws.root)._datastore("lake")._local_path()
        == replaced._local_path()
    )


def test_the_implicit_default_cannot_be_silently_replaced(ws: Workspace) -> None:
    with pytest.raises(
        UserErrorException, match="already registered .* 'datastores/workspaceblobstore'"
    ):
        Datastore.register(ws, WORKSPACE_DEFAULT_BLOB_STORE_NAME, "elsewhere")


@pytest.mark.parametrize("name", ["", "has-dash", "has space", "x" * 256, "dot.name", 7])
def test_invalid_names_are_rejected(ws: Workspace, name: object) -> None:
    with pytest.raises(UserErrorException, match="letters, digits or underscores"):
        Datastore.register(ws, name, "folder")  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [None, "", "   ", 42])
def test_the_url_must_be_a_string(ws: Workspace, url: object) -> None:
    with pytest.raises(UserErrorException, match="url must be a non-empty string"):
        Datastore.register(ws, "bad", url)  # type: ignore[arg-type]


def test_an_unknown_protocol_is_rejected(ws: Workspace) -> None:
    with pytest.raises(
        UserErrorException,
        match=re.escape(
            "datastore 'odd' has URL 'nosuchfs://bucket' with unknown protocol 'nosuchfs'; use "
            "a folder path or a file://, memory://, s3://, az:// (abfs://) or gs:// URL"
        ),
    ):
        Datastore.register(ws, "odd", "nosuchfs://bucket")
    assert "odd" not in _config(ws)["datastores"]


def test_a_missing_backend_package_names_the_package_and_the_fix(ws: Workspace) -> None:
    protocol, package = _missing_package_scheme()
    url = f"{protocol}://bucket/data"
    expected = (
        f"datastore 'lake' needs the {package} package for {protocol}:// URLs like {url!r}; "
        f"run: pip install {package}"
    )
    with pytest.raises(UserErrorException, match=f"^{re.escape(expected)}$"):
        Datastore.register(ws, "lake", url)
    assert "lake" not in _config(ws)["datastores"]


def test_a_config_entry_whose_package_is_missing_fails_only_when_used(ws: Workspace) -> None:
    protocol, package = _missing_package_scheme()

    def add(settings: dict) -> None:
        settings["datastores"]["later"] = {"url": f"{protocol}://bucket"}

    ws._edit_settings(add)
    assert "later" in ws.datastores  # listing needs no backend package
    with pytest.raises(UserErrorException, match=f"run: pip install {package}$"):
        ws.datastores["later"]._exists("x")


def test_register_azure_blob_container(ws: Workspace) -> None:
    register = lambda: Datastore.register_azure_blob_container(  # noqa: E731
        ws, "blobs", container_name="training", account_name="acct", account_key=SECRET
    )
    if importlib.util.find_spec("adlfs") is None:
        with pytest.raises(
            UserErrorException,
            match=re.escape(
                "datastore 'blobs' needs the adlfs package for az:// URLs like 'az://training'; "
                "run: pip install adlfs"
            ),
        ):
            register()
        assert "blobs" not in _config(ws)["datastores"]
        return
    ds = register()
    assert (ds.url, ds.datastore_type, ds.container_name, ds.account_name) == (
        "az://training",
        "AzureBlob",
        "training",
        "acct",
    )
    assert _config(ws)["datastores"]["blobs"]["options"] == {
        "account_name": "acct",
        "account_key": SECRET,
    }
    assert SECRET not in repr(ds)


def test_set_as_default_and_unregister(ws: Workspace) -> None:
    lake = Datastore.register(ws, "lake", "lake")
    lake.set_as_default()
    assert ws.get_default_datastore() == lake
    assert Workspace.from_config(path=ws.root).get_default_datastore().name == "lake"
    with pytest.raises(
        UserErrorException,
        match=re.escape(
            "datastore 'lake' is the default datastore of workspace 'dsws' and cannot be "
            "unregistered; make another datastore the default first"
        ),
    ):
        lake.unregister()
    Datastore.get(ws, WORKSPACE_DEFAULT_BLOB_STORE_NAME).set_as_default()
    (lake._local_path() / "keep.txt").write_text("data stays")
    lake.unregister()
    assert "lake" not in ws.datastores
    assert "lake" not in Workspace.from_config(path=ws.root).datastores
    assert (ws.root / "lake" / "keep.txt").read_text() == "data stays"  # files are not deleted


def test_the_old_default_can_go_once_another_is_the_default(ws: Workspace) -> None:
    Datastore.register(ws, "lake", "lake").set_as_default()
    Datastore.get(ws, WORKSPACE_DEFAULT_BLOB_STORE_NAME).unregister()
    assert set(Workspace.from_config(path=ws.root).datastores) == {"lake"}


def test_an_implied_default_survives_other_registrations(tmp_path: Path) -> None:
    ws = Workspace.create("dsws", path=tmp_path / "ws")

    def legacy(settings: dict) -> None:  # a config written before datastores were listed
        settings.pop("datastores")

    ws._edit_settings(legacy)
    assert set(ws.datastores) == {WORKSPACE_DEFAULT_BLOB_STORE_NAME}
    Datastore.register(ws, "lake", "lake").set_as_default()
    assert set(Workspace.from_config(path=ws.root).datastores) == {
        WORKSPACE_DEFAULT_BLOB_STORE_NAME,
        "lake",
    }


def test_unregistering_an_unknown_datastore_lists_the_registered_ones(ws: Workspace) -> None:
    ghost = Datastore._from_url("ghost", "memory://ghost", workspace=ws)
    with pytest.raises(
        UserErrorException,
        match="datastore 'ghost' is not registered in workspace 'dsws'; registered: workspaceblobstore",
    ):
        ghost.unregister()


def test_unknown_datastore_error_lists_registered_names(ws: Workspace) -> None:
    Datastore.register(ws, "lake", "lake")
    with pytest.raises(
        UserErrorException,
        match="datastore 'nope' is not registered in workspace 'dsws'; registered: lake, workspaceblobstore",
    ):
        Datastore.get(ws, "nope")


def test_a_datastore_without_a_workspace_says_how_to_get_one() -> None:
    loose = Datastore._from_url("loose", "memory://loose")
    with pytest.raises(
        UserErrorException, match=r"not bound to a workspace, so set_as_default\(\)"
    ):
        loose.set_as_default()


def test_secrets_never_appear_in_repr_or_messages(ws: Workspace) -> None:
    url = f"memory://secret-{uuid.uuid4().hex[:8]}"
    ds = Datastore.register(ws, "vault", url, storage_options={"token": SECRET})
    assert ds._options == {"token": SECRET}  # kept for the filesystem ...
    assert _config(ws)["datastores"]["vault"]["options"] == {"token": SECRET}  # ... and the config
    shown = [repr(ds), str(ds), repr(ws.datastores), repr(ds.path("a")), ds.datastore_type]
    with pytest.raises(UserErrorException) as exists:
        Datastore.register(ws, "vault", url, storage_options={"token": SECRET})
    with pytest.raises(UserErrorException) as unjson:
        Datastore.register(ws, "vault2", url, storage_options={"token": SECRET, "bad": object()})
    shown += [str(exists.value), str(unjson.value)]
    assert not [text for text in shown if SECRET in text]
    assert "storage_options ['bad'] are not JSON values" in str(unjson.value)


def test_a_file_is_not_a_folder_datastore(ws: Workspace) -> None:
    (ws.root / "notes.txt").write_text("x")
    with pytest.raises(
        UserErrorException, match=r"'notes': '.*/notes\.txt' is a file, not a folder"
    ):
        Datastore.register(ws, "notes", "notes.txt")
    assert "notes" not in _config(ws)["datastores"]
