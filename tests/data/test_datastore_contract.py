"""The datastore contract over every backend: a local folder, ``memory://`` and ``s3://``.

The s3 run uses moto's S3 server on 127.0.0.1 and needs ``s3fs`` and ``moto[server]``; without
them it skips (the local and memory backends are the required ones).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from hyperpipe.core import Workspace
from hyperpipe.data import Datastore
from hyperpipe.testing.datastore_contract import DatastoreContract

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(params=["local", "memory", "s3"])
def datastore(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Datastore]:
    ws = Workspace.create("dsws", path=tmp_path / "ws")
    unique = f"t-{uuid.uuid4().hex[:12]}"
    options: dict[str, Any] | None = None
    if request.param == "local":
        url = str(tmp_path / "store")
    elif request.param == "memory":
        url = f"memory://{unique}"
    else:
        options = request.getfixturevalue("s3_options")
        url = f"s3://hyperpipe-tests/{unique}"
    datastore = Datastore.register(ws, "contract", url, storage_options=options)
    yield datastore
    if request.param != "local" and datastore._fs.exists(datastore._root):
        datastore._fs.rm(datastore._root, recursive=True)


class TestDatastoreContract(DatastoreContract):
    pass


def test_object_store_datastores_move_many_files_in_concurrent_batches(
    s3_options: dict[str, Any], tmp_path: Path
) -> None:
    ws = Workspace.create("dsws", path=tmp_path / "ws")
    s3 = Datastore.register(ws, "s3", "s3://hyperpipe-tests/b", storage_options=s3_options)
    local = Datastore.register(ws, "folder", str(tmp_path / "store"))
    assert s3._bulk and not local._bulk
