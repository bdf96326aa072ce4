"""Verifying, extracting and sampling the 20 Newsgroups archive, on the real shared archive."""

from __future__ import annotations

import io
import tarfile
from typing import TYPE_CHECKING

import pytest

import hyperpipe.examples.newsgroups.data as ng

if TYPE_CHECKING:
    from pathlib import Path

from pathlib import Path as _Path

ARCHIVE = _Path(__file__).resolve().parents[4] / "shared/data/20news-bydate.tar.gz"

needs_archive = pytest.mark.skipif(
    not ARCHIVE.is_file(), reason=f"shared 20 Newsgroups archive not found at {ARCHIVE}"
)


def _make_tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _layout(splits: tuple[str, ...] = ("train", "test"), categories: int = 20) -> dict[str, bytes]:
    """One document per category in each named split: right folders, wrong counts."""
    return {
        f"20news-bydate-{split}/cat{i}/{i}": b"text" for split in splits for i in range(categories)
    }


@pytest.fixture(scope="session")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ARCHIVE.is_file():
        pytest.skip(f"shared 20 Newsgroups archive not found at {ARCHIVE}")
    return ng.extract(ARCHIVE, tmp_path_factory.mktemp("newsgroups") / "20news")


@pytest.fixture(scope="session")
def train_docs(extracted: Path) -> list[tuple[str, str]]:
    return ng.list_documents(extracted, "train")


# --- counts and verification -------------------------------------------------------------


def test_extraction_has_11314_train_and_7532_test_documents_in_20_categories_each(
    extracted: Path,
) -> None:
    train, test = ng.list_documents(extracted, "train"), ng.list_documents(extracted, "test")
    assert (len(train), len(test)) == (11_314, 7_532)
    assert len(ng.summarize(train)) == len(ng.summarize(test)) == 20
    assert train[0] == ("20news-bydate-train/alt.atheism/49960", "alt.atheism")
    assert train == sorted(train)


@needs_archive
def test_shared_archive_is_accepted_by_its_content_digest_not_its_file_checksum() -> None:
    assert ng.file_sha256(ARCHIVE) != ng.PUBLIC_SHA256  # recompressed copy
    assert ng.content_digest(ARCHIVE) == ng.KNOWN_CONTENT_DIGEST
    ng.verify_archive(ARCHIVE)


def test_extracted_folder_is_accepted_as_a_directory_source_with_the_same_digest(
    extracted: Path,
) -> None:
    ng.verify_archive(extracted)
    assert ng.content_digest(extracted) == ng.KNOWN_CONTENT_DIGEST


def test_list_documents_rejects_an_unknown_split(extracted: Path) -> None:
    with pytest.raises(ng.NewsgroupsDataError, match="unknown split 'all'"):
        ng.list_documents(extracted, "all")


# --- extraction -------------------------------------------------------------------------


def test_extraction_writes_a_marker_with_the_content_digest_and_leaves_no_temp_folder(
    extracted: Path,
) -> None:
    assert (extracted / ng.MARKER_NAME).read_text().strip() == ng.KNOWN_CONTENT_DIGEST
    assert [p.name for p in extracted.parent.iterdir()] == [extracted.name]
    assert sorted(p.name for p in extracted.iterdir() if not p.name.startswith(".")) == [
        "20news-bydate-test",
        "20news-bydate-train",
    ]


def test_second_extract_returns_the_existing_extraction_without_reading_the_source(
    extracted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def _fail(*args: object) -> None:
        raise AssertionError("re-extracted")

    monkeypatch.setattr(ng, "_manifest", _fail)
    marker = extracted / ng.MARKER_NAME
    before = marker.stat().st_mtime_ns
    assert ng.extract(ARCHIVE, extracted) == extracted
    assert marker.stat().st_mtime_ns == before


@needs_archive
def test_failed_extraction_leaves_neither_dest_nor_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ng, "KNOWN_CONTENT_DIGEST", "0" * 64)
    with pytest.raises(ng.NewsgroupsDataError, match=r"checksum mismatch .* found fe1ce74e"):
        ng.extract(ARCHIVE, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_extract_copies_a_directory_source(extracted: Path, tmp_path: Path) -> None:
    dest = ng.extract(extracted, tmp_path / "copy")
    assert ng.list_documents(dest, "test") == ng.list_documents(extracted, "test")
    assert (dest / ng.MARKER_NAME).read_text().strip() == ng.KNOWN_CONTENT_DIGEST
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]


def test_extract_refuses_a_non_empty_dest_without_marker(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "stray.txt").write_text("x")
    with pytest.raises(ng.NewsgroupsDataError, match="exists but is not a complete extraction"):
        ng.extract(tmp_path / "whatever.tar.gz", tmp_path / "dest")


# --- stratified subsets ---------------------------------------------------------------------


def test_subsets_are_disjoint_drawn_from_train_and_cover_every_category(
    train_docs: list[tuple[str, str]],
) -> None:
    train, validation = ng.stratified_subsets(train_docs, 0.2, 0.1, seed=0)
    assert not {p for p, _ in train} & {p for p, _ in validation}
    assert set(train) | set(validation) <= set(train_docs)
    assert all(p.startswith("20news-bydate-train/") for p, _ in train + validation)
    assert (
        set(ng.summarize(train)) == set(ng.summarize(validation)) == set(ng.summarize(train_docs))
    )
    assert len(ng.summarize(train)) == 20


def test_subsets_take_about_20_and_10_percent_of_each_category(
    train_docs: list[tuple[str, str]],
) -> None:
    train, validation = ng.stratified_subsets(train_docs, 0.2, 0.1, seed=0)
    full, got_train, got_val = (ng.summarize(d) for d in (train_docs, train, validation))
    for category, n in full.items():
        assert abs(got_train[category] - 0.2 * n) <= 1, category
        assert abs(got_val[category] - 0.1 * n) <= 1, category


def test_subsets_are_identical_for_the_same_seed_and_differ_for_another(
    train_docs: list[tuple[str, str]],
) -> None:
    first = ng.stratified_subsets(train_docs, seed=7)
    assert ng.stratified_subsets(list(reversed(train_docs)), seed=7) == first
    assert ng.stratified_subsets(train_docs, seed=8) != first


def test_subsets_keep_one_document_per_category_even_for_tiny_categories() -> None:
    docs = [(f"s/a/{i}", "a") for i in range(3)] + [(f"s/b/{i}", "b") for i in range(2)]
    train, validation = ng.stratified_subsets(docs, 0.5, 0.5, seed=0)
    assert ng.summarize(train) == {"a": 2, "b": 1}
    assert ng.summarize(validation) == {"a": 1, "b": 1}


@pytest.mark.parametrize(
    ("train_fraction", "validation_fraction", "message"),
    [
        (0.0, 0.1, r"train_fraction must be in \(0, 1\], got 0.0"),
        (0.2, -0.1, r"validation_fraction must be in \(0, 1\], got -0.1"),
        (0.7, 0.4, r"train_fraction \+ validation_fraction must be <= 1, got 0.7 \+ 0.4"),
    ],
    ids=["zero_train", "negative_validation", "sum_above_one"],
)
def test_subsets_reject_invalid_fractions(
    train_fraction: float, validation_fraction: float, message: str
) -> None:
    docs = [(f"s/a/{i}", "a") for i in range(10)]
    with pytest.raises(ng.NewsgroupsDataError, match=message):
        ng.stratified_subsets(docs, train_fraction, validation_fraction)


def test_subsets_reject_a_category_with_a_single_document() -> None:
    docs = [("s/a/1", "a"), ("s/a/2", "a"), ("s/b/1", "b")]
    with pytest.raises(ng.NewsgroupsDataError, match="category 'b' has 1 document"):
        ng.stratified_subsets(docs)


# --- errors -----------------------------------------------------------------------------------


def test_missing_file_is_reported_as_not_found(tmp_path: Path) -> None:
    with pytest.raises(ng.NewsgroupsDataError, match=r"newsgroups source not found: .*missing"):
        ng.verify_archive(tmp_path / "missing.tar.gz")


def test_non_archive_file_is_reported_as_not_a_tar_gz(tmp_path: Path) -> None:
    path = tmp_path / "notes.tar.gz"
    path.write_text("just some text\n")
    with pytest.raises(ng.NewsgroupsDataError, match=r"not a tar.gz archive: .*notes.tar.gz"):
        ng.verify_archive(path)


def test_archive_without_test_folder_is_reported_as_wrong_layout(tmp_path: Path) -> None:
    path = _make_tar_gz(tmp_path / "small.tar.gz", _layout(splits=("train",)))
    with pytest.raises(
        ng.NewsgroupsDataError,
        match=r"wrong layout .* missing top-level folder '20news-bydate-test/'",
    ):
        ng.verify_archive(path)


def test_archive_with_too_few_categories_is_reported_as_wrong_layout(tmp_path: Path) -> None:
    path = _make_tar_gz(tmp_path / "small.tar.gz", _layout(categories=3))
    with pytest.raises(ng.NewsgroupsDataError, match="'20news-bydate-train/' has 3 categories"):
        ng.verify_archive(path)


def test_archive_with_wrong_document_count_is_reported_as_wrong_layout(tmp_path: Path) -> None:
    path = _make_tar_gz(tmp_path / "small.tar.gz", _layout())
    with pytest.raises(
        ng.NewsgroupsDataError, match="'20news-bydate-train/' has 20 documents, expected 11314"
    ):
        ng.verify_archive(path)


@needs_archive
def test_truncated_archive_is_reported_as_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "truncated.tar.gz"
    data = ARCHIVE.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ng.NewsgroupsDataError, match="corrupted or truncated archive"):
        ng.verify_archive(path)


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/escape.txt", "a/../../escape.txt"])
def test_unsafe_member_paths_are_rejected_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    path = _make_tar_gz(tmp_path / "evil.tar.gz", {name: b"boom"})
    with pytest.raises(ng.NewsgroupsDataError, match="unsafe member path"):
        ng.extract(path, tmp_path / "out" / "dest")
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


# --- download and source resolution -----------------------------------------------------------


@needs_archive
def test_download_with_wrong_sha256_raises_checksum_mismatch_and_keeps_nothing(
    tmp_path: Path,
) -> None:
    wrong = "0" * 64
    with pytest.raises(ng.NewsgroupsDataError, match=f"checksum mismatch .* sha256 {wrong}"):
        ng.download(ARCHIVE.as_uri(), tmp_path / "dl" / ng.ARCHIVE_NAME, wrong)
    assert list((tmp_path / "dl").iterdir()) == []


@needs_archive
def test_download_with_right_sha256_stores_the_file_under_its_final_name(tmp_path: Path) -> None:
    sha = ng.file_sha256(ARCHIVE)
    target = ng.download(ARCHIVE.as_uri(), tmp_path / "dl" / ng.ARCHIVE_NAME, sha)
    assert target == tmp_path / "dl" / ng.ARCHIVE_NAME
    assert ng.file_sha256(target) == sha
    assert [p.name for p in (tmp_path / "dl").iterdir()] == [ng.ARCHIVE_NAME]


@needs_archive
def test_resolve_source_downloads_the_public_archive_into_the_cache_when_nothing_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ng.ENV_VAR, raising=False)
    monkeypatch.setattr(ng, "PUBLIC_URL", ARCHIVE.as_uri())
    monkeypatch.setattr(ng, "PUBLIC_SHA256", ng.file_sha256(ARCHIVE))
    path = ng.resolve_source(None, tmp_path / "cache")
    assert path == tmp_path / "cache" / ng.ARCHIVE_NAME
    monkeypatch.setattr(ng, "PUBLIC_URL", "file:///nonexistent/should-not-be-fetched")
    assert ng.resolve_source(None, tmp_path / "cache") == path  # cached copy is reused


def test_resolve_source_prefers_the_explicit_source_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit, from_env = tmp_path / "explicit.tar.gz", tmp_path / "env.tar.gz"
    explicit.touch()
    from_env.touch()
    monkeypatch.setenv(ng.ENV_VAR, str(from_env))
    assert ng.resolve_source(explicit, tmp_path / "cache") == explicit
    assert ng.resolve_source(None, tmp_path / "cache") == from_env


def test_resolve_source_reports_a_missing_path_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ng.ENV_VAR, str(tmp_path / "gone.tar.gz"))
    with pytest.raises(ng.NewsgroupsDataError, match=f"gone.tar.gz \\(from {ng.ENV_VAR}\\)"):
        ng.resolve_source(None, tmp_path / "cache")
    with pytest.raises(ng.NewsgroupsDataError, match=r"nope \(from --source\)"):
        ng.resolve_source(tmp_path / "nope", tmp_path / "cache")
