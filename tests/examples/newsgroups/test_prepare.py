"""Preparing the lab's data registers the four datasets, once, from the shared archive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hyperpipe.core import Dataset, Workspace
from hyperpipe.examples.newsgroups.data import NewsgroupsDataError
from hyperpipe.examples.newsgroups.prepare import DATASET_NAMES, prepare

ARCHIVE = Path(__file__).resolve().parents[4] / "shared/data/20news-bydate.tar.gz"
pytestmark = pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"no archive at {ARCHIVE}")


@pytest.fixture(scope="module")
def prepared_ws(tmp_path_factory) -> Workspace:
    ws = Workspace.create("news", path=tmp_path_factory.mktemp("news"))
    prepare(ws, ARCHIVE)
    return ws


def _categories(dataset) -> set[str]:
    return {path.split("/")[1] for path in dataset.to_path()}


def test_full_splits_have_the_standard_counts_and_all_twenty_classes(prepared_ws):
    train = Dataset.get_by_name(prepared_ws, "newsgroups_train")
    test = Dataset.get_by_name(prepared_ws, "newsgroups_test")
    assert len(train.to_path()) == 11_314 and len(test.to_path()) == 7_532
    assert len(_categories(train)) == len(_categories(test)) == 20


def test_tuning_subsets_are_disjoint_stratified_samples_of_the_training_split(prepared_ws):
    subset_train = Dataset.get_by_name(prepared_ws, "newsgroups_subset_train")
    subset_test = Dataset.get_by_name(prepared_ws, "newsgroups_subset_test")
    train_files = {e.path for e in Dataset.get_by_name(prepared_ws, "newsgroups_train")._manifest()}
    a = {e.path for e in subset_train._manifest()}
    b = {e.path for e in subset_test._manifest()}
    assert a.isdisjoint(b)
    assert a | b <= train_files  # never the test split
    assert len(_categories(subset_train)) == len(_categories(subset_test)) == 20
    assert abs(len(a) / 11_314 - 0.2) < 0.005 and abs(len(b) / 11_314 - 0.1) < 0.005
    assert subset_train.tags["seed"] == "0"


def test_preparing_again_creates_no_new_versions(prepared_ws):
    before = {name: Dataset.get_by_name(prepared_ws, name).id for name in DATASET_NAMES}
    again = prepare(prepared_ws, ARCHIVE)
    assert [p.version for p in again] == [1, 1, 1, 1]
    assert {name: Dataset.get_by_name(prepared_ws, name).id for name in DATASET_NAMES} == before


def test_other_sampling_options_make_new_subset_versions_only(prepared_ws):
    again = prepare(prepared_ws, ARCHIVE, seed=7)
    assert {p.name: p.version for p in again} == {
        "newsgroups_train": 1,
        "newsgroups_test": 1,
        "newsgroups_subset_train": 2,
        "newsgroups_subset_test": 2,
    }


def test_a_corrupted_archive_is_refused_before_anything_is_registered(tmp_path):
    broken = tmp_path / "20news-bydate.tar.gz"
    broken.write_bytes(ARCHIVE.read_bytes()[:100_000])
    ws = Workspace.create("broken", path=tmp_path / "ws")
    with pytest.raises(NewsgroupsDataError, match="corrupted or truncated"):
        prepare(ws, broken)
    assert ws.datasets == {}


def test_the_cli_prepares_from_the_environment_variable(tmp_path):
    ws_path = tmp_path / "ws"
    Workspace.create("clinews", path=ws_path)
    env = {**__import__("os").environ, "HYPERPIPE_NEWSGROUPS": str(ARCHIVE)}
    result = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "-w", str(ws_path), "example", "newsgroups", "prepare"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for name in DATASET_NAMES:
        assert name in result.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "hyperpipe", "-w", str(ws_path), "datasets", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "newsgroups_subset_train" in listing.stdout and "11,314" in listing.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "hyperpipe",
            "-w",
            str(ws_path),
            "example",
            "newsgroups",
            "prepare",
            "--source",
            str(tmp_path / "nope.tar.gz"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        bad.returncode == 1
        and "newsgroups source not found" in bad.stderr
        and "Traceback" not in bad.stderr
    )
