"""The model registry: versions, lookups, listing, downloads, tags."""

from __future__ import annotations

import pytest

from hyperpipe.core import Model
from hyperpipe.exceptions import ModelNotFoundException, WebserviceException


def test_versions_count_up_per_name_and_latest_is_the_default(ws, tmp_path):
    weights = tmp_path / "weights.pt"
    for content in (b"v1", b"v2"):
        weights.write_bytes(content)
        Model.register(ws, weights, "clf", tags={"data": "news"}, description="classifier")
    folder = tmp_path / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "vocab.txt").write_text("a b")
    Model.register(ws, folder, "bundle")

    latest = Model(ws, "clf")
    assert (latest.version, latest.id, latest.description) == (2, "clf:2", "classifier")
    assert open(Model(ws, "clf", version=1).download(tmp_path / "one"), "rb").read() == b"v1"
    assert open(Model(ws, id="clf:2").download(tmp_path / "two"), "rb").read() == b"v2"
    bundle_path = Model(ws, "bundle").download(tmp_path / "b")
    assert open(f"{bundle_path}/sub/vocab.txt").read() == "a b"
    assert [m.id for m in Model.list(ws, latest=True)] == ["bundle:1", "clf:2"]
    assert [m.version for m in Model.list(ws, name="clf")] == [2, 1]
    assert [m.id for m in Model.list(ws, tags=[["data", "news"]])] == ["clf:2", "clf:1"]
    assert set(ws.models) == {"clf", "bundle"}
    assert open(Model.get_model_path("clf", version=1, _workspace=ws), "rb").read() == b"v1"


def test_missing_models_and_bad_names_are_clear(ws, tmp_path):
    (tmp_path / "m.bin").write_bytes(b"x")
    Model.register(ws, tmp_path / "m.bin", "exists")
    with pytest.raises(
        ModelNotFoundException,
        match=r"model not found: 'exists' version 7; registered versions: \[1\]",
    ):
        Model(ws, "exists", version=7)
    with pytest.raises(
        ModelNotFoundException, match="model not found: 'nope'; registered models: exists"
    ):
        Model(ws, "nope")
    with pytest.raises(WebserviceException, match="model name '-bad' is invalid"):
        Model.register(ws, tmp_path / "m.bin", "-bad")


def test_download_refuses_to_overwrite_unless_asked(ws, tmp_path):
    (tmp_path / "m.bin").write_bytes(b"x")
    model = Model.register(ws, tmp_path / "m.bin", "m")
    model.download(tmp_path / "out")
    with pytest.raises(Exception, match="already exists; pass exist_ok=True"):
        model.download(tmp_path / "out")
    model.download(tmp_path / "out", exist_ok=True)
    model.add_tags({"stage": "prod"})
    assert Model(ws, "m").tags == {"stage": "prod"}
