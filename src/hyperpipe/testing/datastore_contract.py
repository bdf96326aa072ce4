"""The contract every datastore passes, whatever filesystem is behind it.

A test module provides a ``datastore`` fixture that yields an empty
:class:`~hyperpipe.data.Datastore` registered in a workspace, and subclasses
:class:`DatastoreContract`::

    import pytest

    from hyperpipe.core import Workspace
    from hyperpipe.data import Datastore
    from hyperpipe.testing.datastore_contract import DatastoreContract


    @pytest.fixture
    def datastore(tmp_path):
        ws = Workspace.create("dsws", path=tmp_path / "ws")
        return Datastore.register(ws, "store", str(tmp_path / "store"))


    class TestLocalDatastore(DatastoreContract):
        pass

The tests cover the private file API that runs, models and datasets build on (``_put_file``,
``_put_stream``, ``_get_file``, ``_open``, ``_exists``, ``_walk``) and SDK v1's file operations
(``upload``, ``upload_files``, ``download``, ``path``). They use real files and the real
filesystem behind the datastore; a new backend passes them without changes.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import threading
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from hyperpipe.data import DATA_REFERENCE_ENV_PREFIX, DataReference, Datastore
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["DatastoreContract"]


@pytest.fixture
def datastore() -> Datastore:
    """Placeholder: a test module using :class:`DatastoreContract` provides the real fixture."""
    raise NotImplementedError("provide a `datastore` fixture yielding an empty Datastore")


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, data in files.items():
        _write(root / rel, data)
    return root


def _read(datastore: Datastore, path: str) -> bytes:
    with datastore._open(path) as handle:
        return handle.read()


class _FailingStream(io.RawIOBase):
    """Yields ``good`` bytes, then raises: a writer that dies mid-file."""

    def __init__(self, good: bytes) -> None:
        self._good = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._good:
            raise ConnectionError("source went away mid-file")
        n = min(len(buffer), len(self._good))
        buffer[:n] = self._good[:n]
        self._good = self._good[n:]
        return n


class _GatedStream(io.RawIOBase):
    """Yields ``first``, then blocks until ``gate`` is set, then yields ``rest``."""

    def __init__(self, first: bytes, rest: bytes) -> None:
        self._parts = [first, rest]
        self.reached = threading.Event()
        self.gate = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if len(self._parts) == 1:
            self.reached.set()
            assert self.gate.wait(30), "test never opened the gate"
        if not self._parts:
            return 0
        part = self._parts.pop(0)
        buffer[: len(part)] = part
        return len(part)


class DatastoreContract:
    """Behaviour every datastore backend must have (Optuna ``StorageTestCase`` style)."""

    # -- put / get ------------------------------------------------------------------------------

    def test_put_file_then_get_file_round_trips_bytes_exactly(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        data = os.urandom(300_000) + b"\r\n\x00end"
        source = _write(tmp_path / "in.bin", data)
        assert datastore._put_file(source, "deep/er/file.bin") == len(data)
        datastore._get_file("deep/er/file.bin", tmp_path / "out" / "file.bin")
        assert (tmp_path / "out" / "file.bin").read_bytes() == data
        assert _read(datastore, "deep/er/file.bin") == data

    def test_empty_file_round_trips(self, datastore: Datastore, tmp_path: Path) -> None:
        assert datastore._put_file(_write(tmp_path / "empty", b""), "empty") == 0
        datastore._get_file("empty", tmp_path / "back")
        assert (tmp_path / "back").read_bytes() == b""
        assert list(datastore._walk()) == [("empty", 0)]

    def test_put_file_replaces_an_existing_file(self, datastore: Datastore, tmp_path: Path) -> None:
        datastore._put_file(_write(tmp_path / "a", b"old contents"), "x.txt")
        datastore._put_file(_write(tmp_path / "b", b"new"), "x.txt")
        assert _read(datastore, "x.txt") == b"new"

    def test_put_stream_stores_the_stream_and_returns_its_size(self, datastore: Datastore) -> None:
        data = os.urandom(2_500_000)
        assert datastore._put_stream(io.BytesIO(data), "streams/s.bin") == len(data)
        assert _read(datastore, "streams/s.bin") == data

    def test_get_file_of_a_missing_path_raises_and_leaves_nothing(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        with pytest.raises(FileNotFoundError):
            datastore._get_file("nope.txt", tmp_path / "out" / "nope.txt")
        assert not (tmp_path / "out" / "nope.txt").exists()
        assert list((tmp_path / "out").iterdir()) == []

    def test_leading_slash_and_dot_segments_name_the_same_file(self, datastore: Datastore) -> None:
        datastore._put_stream(io.BytesIO(b"x"), "/a/./b.txt")
        assert datastore._exists("a/b.txt") and datastore._exists("./a/b.txt")
        assert list(datastore._walk("/a")) == [("a/b.txt", 1)]

    # -- exists / walk --------------------------------------------------------------------------

    def test_exists_for_files_folders_and_missing_paths(self, datastore: Datastore) -> None:
        datastore._put_stream(io.BytesIO(b"1"), "dir/file.txt")
        assert datastore._exists("dir/file.txt")
        assert datastore._exists("dir")
        assert not datastore._exists("dir/other.txt")
        assert not datastore._exists("missing")

    def test_walk_lists_every_file_sorted_with_sizes(self, datastore: Datastore) -> None:
        for name, data in {
            "b/2.txt": b"22",
            "a.txt": b"1",
            "b/1.txt": b"",
            "c/d/e": b"eee",
        }.items():
            datastore._put_stream(io.BytesIO(data), name)
        assert list(datastore._walk()) == [
            ("a.txt", 1),
            ("b/1.txt", 0),
            ("b/2.txt", 2),
            ("c/d/e", 3),
        ]

    def test_walk_prefix_is_a_folder_not_a_string_prefix(self, datastore: Datastore) -> None:
        for name in ("a/x", "a/y/z", "ab/w", "a.txt"):
            datastore._put_stream(io.BytesIO(b"."), name)
        assert [p for p, _ in datastore._walk("a")] == ["a/x", "a/y/z"]
        assert [p for p, _ in datastore._walk("a/")] == ["a/x", "a/y/z"]

    def test_walk_of_a_single_file_prefix_yields_that_file(self, datastore: Datastore) -> None:
        datastore._put_stream(io.BytesIO(b"12345"), "dir/only.bin")
        assert list(datastore._walk("dir/only.bin")) == [("dir/only.bin", 5)]
        assert list(datastore._walk("/dir/only.bin")) == [("dir/only.bin", 5)]

    def test_walk_of_a_missing_prefix_is_empty(self, datastore: Datastore) -> None:
        assert list(datastore._walk()) == []
        assert list(datastore._walk("nothing/here")) == []

    # -- atomicity ------------------------------------------------------------------------------

    def test_a_stream_that_fails_midway_leaves_no_file(self, datastore: Datastore) -> None:
        with pytest.raises(ConnectionError):
            datastore._put_stream(_FailingStream(b"partial" * 1000), "out/model.bin")
        assert not datastore._exists("out/model.bin")
        assert list(datastore._walk()) == []

    def test_a_failed_overwrite_keeps_the_old_file(self, datastore: Datastore) -> None:
        datastore._put_stream(io.BytesIO(b"complete old version"), "model.bin")
        with pytest.raises(ConnectionError):
            datastore._put_stream(_FailingStream(b"half new"), "model.bin")
        assert _read(datastore, "model.bin") == b"complete old version"
        assert list(datastore._walk()) == [("model.bin", 20)]

    def test_a_failed_put_file_leaves_no_file(self, datastore: Datastore, tmp_path: Path) -> None:
        with pytest.raises(OSError):
            datastore._put_file(tmp_path / "does-not-exist", "x.bin")
        assert not datastore._exists("x.bin")
        assert list(datastore._walk()) == []

    def test_a_file_being_written_is_invisible_until_complete(self, datastore: Datastore) -> None:
        stream = _GatedStream(b"first half;", b"second half")
        errors: list[BaseException] = []

        def write() -> None:
            try:
                datastore._put_stream(stream, "slow/file.txt")
            except BaseException as exc:  # reported below
                errors.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert stream.reached.wait(30), "the writer never started reading"
            assert not datastore._exists("slow/file.txt")
            assert list(datastore._walk()) == []  # the temporary file is never listed
        finally:
            stream.gate.set()
            writer.join(30)
        assert not errors
        assert _read(datastore, "slow/file.txt") == b"first half;second half"
        assert list(datastore._walk()) == [("slow/file.txt", 22)]

    # -- path safety ----------------------------------------------------------------------------

    @pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "/../etc/passwd"])
    def test_dot_dot_is_rejected_everywhere(
        self, datastore: Datastore, tmp_path: Path, path: str
    ) -> None:
        source = _write(tmp_path / "f", b"x")
        with pytest.raises(UserErrorException, match=r"must not contain '\.\.'"):
            datastore._put_file(source, path)
        with pytest.raises(UserErrorException, match=r"must not contain '\.\.'"):
            datastore._put_stream(io.BytesIO(b"x"), path)
        with pytest.raises(UserErrorException, match=r"must not contain '\.\.'"):
            list(datastore._walk(path))
        with pytest.raises(UserErrorException, match=r"must not contain '\.\.'"):
            datastore._exists(path)
        with pytest.raises(UserErrorException, match=r"must not contain '\.\.'"):
            datastore.path(path)

    # -- upload ---------------------------------------------------------------------------------

    def test_upload_keeps_the_layout_under_target_path(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        src = _tree(tmp_path / "src", {"a.txt": "A", "sub/b.txt": "BB", "sub/deep/c.bin": b"\0"})
        ref = datastore.upload(src, target_path="data/v1", show_progress=False)
        assert isinstance(ref, DataReference)
        assert ref.datastore == datastore and ref.path_on_datastore == "data/v1"
        assert list(datastore._walk()) == [
            ("data/v1/a.txt", 1),
            ("data/v1/sub/b.txt", 2),
            ("data/v1/sub/deep/c.bin", 1),
        ]
        assert _read(datastore, "data/v1/sub/b.txt") == b"BB"

    def test_upload_without_target_path_writes_at_the_root(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        src = _tree(tmp_path / "src", {"x/y.txt": "y"})
        ref = datastore.upload(str(src), show_progress=False)
        assert [p for p, _ in datastore._walk()] == ["x/y.txt"]
        assert ref.data_reference_name == datastore.name

    def test_upload_needs_a_folder(self, datastore: Datastore, tmp_path: Path) -> None:
        file = _write(tmp_path / "single.txt", "x")
        with pytest.raises(UserErrorException, match=r"src_dir must be a folder.*upload_files"):
            datastore.upload(file, show_progress=False)
        with pytest.raises(UserErrorException, match=r"src_dir must be a folder.*\(missing\)"):
            datastore.upload(tmp_path / "nope", show_progress=False)

    def test_upload_skips_existing_files_and_warns_about_changed_ones(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        src = _tree(tmp_path / "src", {"same.txt": "same", "size.txt": "v1", "hash.txt": "aaaa"})
        datastore.upload(src, "t", show_progress=False)
        _tree(src, {"size.txt": "version 2", "hash.txt": "bbbb", "new.txt": "new"})
        with pytest.warns(UserWarning) as caught:
            datastore.upload(src, "t", show_progress=False)
        assert len(caught) == 1
        assert caught[0].filename == __file__  # points at the caller's line, not hyperpipe's
        message = str(caught[0].message)
        assert "skipped 2 existing file(s) whose content differs" in message
        assert "overwrite=True" in message
        assert _read(datastore, "t/size.txt") == b"v1"  # skipped, as in SDK v1
        assert _read(datastore, "t/hash.txt") == b"aaaa"
        assert _read(datastore, "t/new.txt") == b"new"  # new files are still uploaded

    def test_upload_of_unchanged_files_does_not_warn(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        src = _tree(tmp_path / "src", {"a.txt": "a", "b/c.txt": "c"})
        datastore.upload(src, show_progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            datastore.upload(src, show_progress=False)

    def test_upload_with_overwrite_replaces_changed_files(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        src = _tree(tmp_path / "src", {"a.txt": "old"})
        datastore.upload(src, show_progress=False)
        _tree(src, {"a.txt": "new!"})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            datastore.upload(src, overwrite=True, show_progress=False)
        assert _read(datastore, "a.txt") == b"new!"

    def test_upload_shows_progress_on_stderr(
        self, datastore: Datastore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        src = _tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"})
        datastore.upload(src, show_progress=True)
        captured = capsys.readouterr()
        assert "2/2" in captured.err and captured.out == ""
        datastore.upload(src, overwrite=True, show_progress=False)
        assert capsys.readouterr().err == ""

    def test_upload_files_uses_relative_root(self, datastore: Datastore, tmp_path: Path) -> None:
        base = _tree(tmp_path / "base", {"x/1.txt": "1", "x/y/2.txt": "22", "z.txt": "z"})
        ref = datastore.upload_files(
            [base / "x" / "1.txt", str(base / "x" / "y" / "2.txt")],
            relative_root=base,
            target_path="up",
            show_progress=False,
        )
        assert ref.path_on_datastore == "up"
        assert [p for p, _ in datastore._walk()] == ["up/x/1.txt", "up/x/y/2.txt"]

    def test_upload_files_defaults_to_the_common_parent(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        base = _tree(tmp_path / "base", {"x/1.txt": "1", "x/y/2.txt": "22"})
        datastore.upload_files(
            [base / "x" / "1.txt", base / "x" / "y" / "2.txt"], show_progress=False
        )
        datastore.upload_files([base / "x" / "y" / "2.txt"], target_path="one", show_progress=False)
        assert [p for p, _ in datastore._walk()] == ["1.txt", "one/2.txt", "y/2.txt"]

    def test_upload_files_rejects_files_outside_relative_root_and_missing_files(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        inside = _write(tmp_path / "root" / "a.txt", "a")
        outside = _write(tmp_path / "elsewhere" / "b.txt", "b")
        with pytest.raises(UserErrorException, match="not under relative_root"):
            datastore.upload_files([inside, outside], relative_root=tmp_path / "root")
        with pytest.raises(UserErrorException, match="these are not files"):
            datastore.upload_files([tmp_path / "missing.txt"])
        with pytest.raises(UserErrorException, match="these are not files: none given"):
            datastore.upload_files([])
        assert list(datastore._walk()) == []

    def test_upload_files_warns_about_changed_files_too(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        file = _write(tmp_path / "f.txt", "one")
        datastore.upload_files([file], show_progress=False)
        _write(file, "two")
        with pytest.warns(UserWarning, match="skipped 1 existing file"):
            datastore.upload_files([file], show_progress=False)
        assert _read(datastore, "f.txt") == b"one"

    def test_upload_of_many_small_files_lands_every_byte(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        # More files than one concurrent batch holds, in several folders, some empty.
        files = {f"group{i % 7}/doc{i:04d}": os.urandom(i % 5 and 40 + i) for i in range(260)}
        datastore.upload(_tree(tmp_path / "src", files), "many", show_progress=False)
        assert list(datastore._walk("many")) == sorted(
            (f"many/{rel}", len(data)) for rel, data in files.items()
        )
        assert datastore.download(tmp_path / "back", "many", show_progress=False) == len(files)
        for rel, data in files.items():
            assert (tmp_path / "back" / "many" / rel).read_bytes() == data, rel
        digests = datastore._sha256s([f"many/{rel}" for rel in files])
        assert digests == {
            f"many/{rel}": hashlib.sha256(data).hexdigest() for rel, data in files.items()
        }

    def test_upload_of_many_files_skips_the_existing_ones(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        files = {f"d{i % 3}/f{i}": f"first {i}" for i in range(40)}
        src = _tree(tmp_path / "src", files)
        datastore.upload(src, "t", show_progress=False)
        _tree(src, {"d0/f0": "first 0", "d1/new": "new"})  # same content again, one new file
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            datastore.upload(src, "t", show_progress=False)
        assert len(list(datastore._walk("t"))) == 41
        assert _read(datastore, "t/d1/new") == b"new"

    # -- download -------------------------------------------------------------------------------

    def test_download_writes_every_file_and_counts_them(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        src = _tree(tmp_path / "src", {"a.txt": "a", "d/b.txt": "bb"})
        datastore.upload(src, "data", show_progress=False)
        assert datastore.download(tmp_path / "out", show_progress=False) == 2
        assert (tmp_path / "out" / "data" / "a.txt").read_text() == "a"
        assert (tmp_path / "out" / "data" / "d" / "b.txt").read_text() == "bb"

    def test_download_with_prefix(self, datastore: Datastore, tmp_path: Path) -> None:
        src = _tree(tmp_path / "src", {"keep/a.txt": "a", "keep2/b.txt": "b", "other/c.txt": "c"})
        datastore.upload(src, show_progress=False)
        assert datastore.download(tmp_path / "out", prefix="keep", show_progress=False) == 1
        assert [p.name for p in (tmp_path / "out").rglob("*.txt")] == ["a.txt"]
        assert datastore.download(tmp_path / "one", prefix="/other/c.txt", show_progress=False) == 1
        assert (tmp_path / "one" / "other" / "c.txt").read_text() == "c"

    def test_download_skips_existing_files_unless_overwrite(
        self, datastore: Datastore, tmp_path: Path
    ) -> None:
        datastore.upload(
            _tree(tmp_path / "src", {"a.txt": "remote", "b.txt": "b"}), show_progress=False
        )
        _write(tmp_path / "out" / "a.txt", "local")
        assert datastore.download(tmp_path / "out", show_progress=False) == 1
        assert (tmp_path / "out" / "a.txt").read_text() == "local"
        assert datastore.download(tmp_path / "out", overwrite=True, show_progress=False) == 2
        assert (tmp_path / "out" / "a.txt").read_text() == "remote"

    def test_download_of_nothing_is_zero(self, datastore: Datastore, tmp_path: Path) -> None:
        assert datastore.download(tmp_path / "out", prefix="missing", show_progress=False) == 0

    # -- path / DataReference -------------------------------------------------------------------

    def test_path_returns_data_references(self, datastore: Datastore) -> None:
        root = datastore.path()
        assert str(root) == f"${DATA_REFERENCE_ENV_PREFIX}{datastore.name}"
        assert (root.mode, root.path_on_datastore) == ("mount", None)
        named = datastore.path("data/train", data_reference_name="train_data")
        assert str(named) == "$AZUREML_DATAREFERENCE_train_data"
        assert named.path_on_datastore == "data/train" and named.datastore == datastore
        # an unnamed sub-path gets a stable name of its own
        assert datastore.path("a").data_reference_name == datastore.path("/a").data_reference_name
        assert datastore.path("a").data_reference_name != datastore.path("b").data_reference_name

    def test_datastore_modes(self, datastore: Datastore) -> None:
        assert datastore.as_mount().mode == "mount"
        download = datastore.as_download(path_on_compute="data")
        assert (download.mode, download.path_on_compute) == ("download", "data")
        upload = datastore.as_upload("outputs/model.pt")
        assert (upload.mode, upload.path_on_compute) == ("upload", "outputs/model.pt")
        assert {download.data_reference_name, upload.data_reference_name} == {datastore.name}

    def test_a_datastore_pickles_and_keeps_working(self, datastore: Datastore) -> None:
        datastore._put_stream(io.BytesIO(b"before"), "p.txt")
        copy = pickle.loads(pickle.dumps(datastore))
        assert copy == datastore and copy.workspace == datastore.workspace
        assert _read(copy, "p.txt") == b"before"
        copy._put_stream(io.BytesIO(b"after"), "q.txt")
        assert _read(datastore, "q.txt") == b"after"
        ref = pickle.loads(pickle.dumps(datastore.path("p.txt").as_download("in")))
        assert ref == datastore.path("p.txt").as_download("in")
