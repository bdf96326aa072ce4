"""Verify, extract and sample the 20 Newsgroups "by-date" dataset (standard library only).

Finds the archive, checks it is the genuine one, extracts it atomically, lists the documents of
a split and draws stratified train/validation subsets. Registering the files as versioned
datasets is another module's job.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# The archive scikit-learn's fetch_20newsgroups downloads (ARCHIVE in
# sklearn/datasets/_twenty_newsgroups.py); original home:
# https://people.csail.mit.edu/jrennie/20Newsgroups/20news-bydate.tar.gz
PUBLIC_URL = "https://ndownloader.figshare.com/files/5975967"
PUBLIC_SHA256 = "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610"
# content_digest() of the genuine archive: unchanged by recompression.
KNOWN_CONTENT_DIGEST = "57f8b70b1041ea7aaef9f654d2d855f7088d5a661295d92965f0b46991d682c0"
ARCHIVE_NAME = "20news-bydate.tar.gz"
ENV_VAR = "HYPERPIPE_NEWSGROUPS"
SPLIT_FOLDERS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}
EXPECTED_DOCUMENTS = {"train": 11_314, "test": 7_532}
N_CATEGORIES = 20
MARKER_NAME = ".hyperpipe-extracted"

_FIX = f"pass the original 20news-bydate archive or its extracted folder with --source or {ENV_VAR}"
_READ_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error)

Document = tuple[str, str]


class NewsgroupsDataError(ValueError):
    """The 20 Newsgroups source is missing, damaged or not what it should be."""


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _iter_archive(path: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (member path, bytes) of a tar.gz's regular files; reject unsafe members."""
    with open(path, "rb") as fh:
        is_gzip = fh.read(2) == b"\x1f\x8b"
    try:
        if not is_gzip:
            raise tarfile.ReadError("no gzip header")
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 - closed by the `with` below
    except _READ_ERRORS as exc:
        raise NewsgroupsDataError(f"not a tar.gz archive: {path} ({exc}); {_FIX}") from exc
    with tar:
        while True:
            try:
                member = tar.next()
                fh = tar.extractfile(member) if member is not None and member.isfile() else None
                data = fh.read() if fh is not None else None
            except _READ_ERRORS as exc:
                raise NewsgroupsDataError(
                    f"corrupted or truncated archive: {path} ({exc}); re-download it or {_FIX}"
                ) from exc
            if member is None:
                return
            name = member.name.removeprefix("./")
            if name.startswith("/") or ".." in PurePosixPath(name).parts:
                problem = "path is absolute or contains '..'"
            elif not (member.isfile() or member.isdir()):
                problem = "is a link or special file"
            else:
                if data is not None:
                    yield name, data
                continue
            raise NewsgroupsDataError(
                f"unsafe member path in {path}: {member.name!r} {problem}; refusing to extract, "
                f"{_FIX}"
            )


def _iter_directory(root: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (relative path, bytes) of the regular files under root's split folders."""
    for folder in SPLIT_FOLDERS.values():
        for dirpath, dirnames, filenames in os.walk(root / folder):
            dirnames.sort()
            for file in sorted(Path(dirpath, name) for name in filenames):
                if file.is_file() and not file.is_symlink():
                    yield file.relative_to(root).as_posix(), file.read_bytes()


def _manifest(source: Path, dest: Path | None = None) -> dict[str, str]:
    """Map each file of source to its sha256, also writing it under dest when given."""
    if not source.exists():
        raise NewsgroupsDataError(f"newsgroups source not found: {source}; {_FIX}")
    entries = _iter_directory(source) if source.is_dir() else _iter_archive(source)
    manifest: dict[str, str] = {}
    for name, data in entries:
        manifest[name] = hashlib.sha256(data).hexdigest()
        if dest is not None:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(data)
    return manifest


def _digest(manifest: dict[str, str]) -> str:
    lines = "".join(f"{name}\0{manifest[name]}\n" for name in sorted(manifest))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def content_digest(path: str | os.PathLike[str]) -> str:
    """Digest the dataset's files independently of how the archive was compressed.

    It is the sha256 of a manifest with one ``"<path>\\0<sha256 of the bytes>\\n"`` line per
    regular file, sorted by path (member path in an archive; for a directory, the path relative
    to it, under the split folders only).

    Args:
        path: A tar.gz archive or a folder containing the split folders.

    Returns:
        The hex digest.
    """
    return _digest(_manifest(Path(path)))


def _accept(source: Path, manifest: dict[str, str]) -> str:
    """Check the layout (and, for an archive, the checksum); return the content digest."""
    per_split: dict[str, Counter[str]] = {folder: Counter() for folder in SPLIT_FOLDERS.values()}
    for parts in (name.split("/") for name in manifest):
        if len(parts) == 3 and parts[0] in per_split:
            per_split[parts[0]][parts[1]] += 1
    missing = [folder for folder, counts in per_split.items() if not counts]
    for split, folder in SPLIT_FOLDERS.items():
        counts, expected, n_docs = per_split[folder], EXPECTED_DOCUMENTS[split], 0
        if missing:
            problem = f"missing top-level folder '{missing[0]}/' (or it holds no documents)"
        elif len(counts) != N_CATEGORIES:
            problem = f"'{folder}/' has {len(counts)} categories, expected {N_CATEGORIES}"
        elif (n_docs := sum(counts.values())) != expected:
            problem = f"'{folder}/' has {n_docs} documents, expected {expected}"
        else:
            continue
        raise NewsgroupsDataError(f"wrong layout in {source}: {problem}; {_FIX}")
    digest = _digest(manifest)
    found = file_sha256(source) if source.is_file() and digest != KNOWN_CONTENT_DIGEST else None
    if found is not None and found != PUBLIC_SHA256:
        raise NewsgroupsDataError(
            f"checksum mismatch for {source}: expected file sha256 {PUBLIC_SHA256} or content "
            f"digest {KNOWN_CONTENT_DIGEST}, found {found} and {digest}; re-download the "
            f"archive or pass the right file with --source or {ENV_VAR}"
        )
    return digest


def verify_archive(path: str | os.PathLike[str]) -> None:
    """Check that path is the genuine by-date archive, or a well-formed extracted folder.

    Args:
        path: A tar.gz archive, or a directory containing both split folders.

    Raises:
        NewsgroupsDataError: If it is missing, unreadable, unsafe, badly laid out or altered.
    """
    _accept(Path(path), _manifest(Path(path)))


def extract(source: Path, dest: Path) -> Path:
    """Extract (or copy, for a directory source) the dataset into dest, atomically.

    Files go into a temporary sibling folder that is renamed to dest once complete and
    verified, with a marker file holding the content digest. If dest already has the marker,
    nothing is read or written.

    Args:
        source: The archive or directory, e.g. from ``resolve_source``.
        dest: Folder to create (it may exist if empty).

    Returns:
        dest, which contains ``20news-bydate-train`` and ``20news-bydate-test``.

    Raises:
        NewsgroupsDataError: If the source is invalid or dest holds something else.
    """
    source, dest = Path(source), Path(dest)
    if (dest / MARKER_NAME).is_file():
        return dest
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise NewsgroupsDataError(
            f"{dest} exists but is not a complete extraction; remove it or choose another folder"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        digest = _accept(source, _manifest(source, tmp))
        (tmp / MARKER_NAME).write_text(digest + "\n", encoding="utf-8")
        if dest.exists():
            dest.rmdir()  # checked empty above
        try:
            tmp.rename(dest)
        except OSError:
            if not (dest / MARKER_NAME).is_file():  # else a concurrent extraction won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def download(url: str, target: Path, expected_sha256: str) -> Path:
    """Download url to target through a temporary name, checking its sha256 before renaming.

    Args:
        url: Any URL urllib can open (``https://``, ``file://``).
        target: Final file path; its folder is created if needed.
        expected_sha256: Hex sha256 the downloaded bytes must have.

    Returns:
        target.

    Raises:
        NewsgroupsDataError: If the download fails or the checksum does not match.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.part-", dir=target.parent)
    digest, done, shown = hashlib.sha256(), 0, -1
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0)
            print(f"Downloading {url} ({total / 1e6:.1f} MB) to {target}", file=sys.stderr)  # noqa: T201
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                digest.update(block)
                done += len(block)
                if total and (percent := 100 * done // total) // 10 > shown:
                    shown = percent // 10
                    print(f"  {percent:3d}% ({done / 1e6:.1f} MB)", file=sys.stderr)  # noqa: T201
        if (found := digest.hexdigest()) != expected_sha256:
            raise NewsgroupsDataError(
                f"checksum mismatch for download from {url}: expected sha256 {expected_sha256}, "
                f"found {found}; re-download or pass the right file with --source or {ENV_VAR}"
            )
        os.replace(tmp_name, target)
    except (urllib.error.URLError, OSError) as exc:
        raise NewsgroupsDataError(f"download from {url} failed ({exc}); retry or {_FIX}") from exc
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return target


def resolve_source(source: str | os.PathLike[str] | None, cache_dir: Path) -> Path:
    """Locate the dataset: source if given, else ``$HYPERPIPE_NEWSGROUPS``, else download it.

    Args:
        source: Archive or directory given explicitly (e.g. ``--source``), or None.
        cache_dir: Where the public archive is downloaded to, and reused from.

    Returns:
        An existing archive or directory (not verified yet: see ``verify_archive``).

    Raises:
        NewsgroupsDataError: If a given path does not exist or the download fails.
    """
    for value, origin in ((source, "--source"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if value is not None and str(value):
            path = Path(value).expanduser()
            if not path.exists():
                raise NewsgroupsDataError(
                    f"newsgroups source not found: {path} (from {origin}); {_FIX}"
                )
            return path
    target = Path(cache_dir) / ARCHIVE_NAME
    if target.is_file() and file_sha256(target) == PUBLIC_SHA256:
        return target
    return download(PUBLIC_URL, target, PUBLIC_SHA256)


def list_documents(root: Path, split: str) -> list[Document]:
    """List a split's documents as sorted (relative path, category) pairs.

    Args:
        root: Folder containing the split folders, as returned by ``extract``.
        split: ``"train"`` or ``"test"``.

    Returns:
        Pairs like ``("20news-bydate-train/alt.atheism/49960", "alt.atheism")``.
    """
    if split not in SPLIT_FOLDERS:
        raise NewsgroupsDataError(f"unknown split {split!r}; expected 'train' or 'test'")
    folder = Path(root) / SPLIT_FOLDERS[split]
    if not folder.is_dir():
        raise NewsgroupsDataError(f"wrong layout in {root}: missing folder '{folder.name}/'")
    return sorted(
        (doc.relative_to(root).as_posix(), category.name)
        for category in folder.iterdir()
        if category.is_dir()
        for doc in category.iterdir()
        if doc.is_file()
    )


def stratified_subsets(
    docs: Iterable[Document],
    train_fraction: float = 0.2,
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[Document], list[Document]]:
    """Draw disjoint train and validation samples from docs, stratified by category.

    Each category gives ``round(fraction * n)`` of its n documents to each sample, at least
    one, so every category is in both. The result depends only on the set of docs and seed.

    Args:
        docs: (path, category) pairs, e.g. ``list_documents(root, "train")``.
        train_fraction: Share of each category drawn into the train sample.
        validation_fraction: Share of each category drawn into the validation sample.
        seed: Seed for ``random.Random``.

    Returns:
        (train, validation), each sorted by path.

    Raises:
        NewsgroupsDataError: On invalid fractions, duplicate paths or a one-document category.
    """
    fractions = {"train_fraction": train_fraction, "validation_fraction": validation_fraction}
    for label, value in fractions.items():
        if not 0 < value <= 1:
            raise NewsgroupsDataError(f"{label} must be in (0, 1], got {value}")
    if train_fraction + validation_fraction > 1:
        raise NewsgroupsDataError(
            "train_fraction + validation_fraction must be <= 1, "
            f"got {train_fraction} + {validation_fraction}"
        )
    by_category: dict[str, list[Document]] = {}
    for doc in sorted(docs):
        by_category.setdefault(doc[1], []).append(doc)
    paths = [path for group in by_category.values() for path, _ in group]
    if not paths or len(set(paths)) != len(paths):
        raise NewsgroupsDataError("docs must be a non-empty list of distinct documents")
    rng = random.Random(seed)
    train: list[Document] = []
    validation: list[Document] = []
    for category, group in sorted(by_category.items()):
        if (n := len(group)) < 2:
            raise NewsgroupsDataError(f"category {category!r} has {n} document; need at least 2")
        n_train = min(max(1, round(train_fraction * n)), n - 1)
        n_val = min(max(1, round(validation_fraction * n)), n - n_train)
        order = list(range(n))
        rng.shuffle(order)
        train += [group[i] for i in order[:n_train]]
        validation += [group[i] for i in order[n_train : n_train + n_val]]
    return sorted(train), sorted(validation)


def summarize(docs: Iterable[Document]) -> dict[str, int]:
    """Count documents per category, sorted by category name."""
    return dict(sorted(Counter(category for _, category in docs).items()))
