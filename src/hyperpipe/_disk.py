"""Saying where a write failed: the device and mount point behind a path, for error messages."""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["disk_location", "is_no_space", "is_read_only", "write_failure"]

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it wraps) is a full disk or an exceeded quota."""
    return _errno_in(exc, _NO_SPACE)


def is_read_only(exc: BaseException) -> bool:
    return _errno_in(exc, _READ_ONLY)


def disk_location(path: str | os.PathLike[str]) -> str:
    """`` on DEVICE at MOUNT`` for the filesystem holding ``path`` ("" if it cannot be told)."""
    try:
        mount = Path(os.path.abspath(path))
        while not mount.exists() and mount != mount.parent:
            mount = mount.parent
        while not os.path.ismount(mount) and mount != mount.parent:
            mount = mount.parent
        device = _device_of(str(mount))
        return f" on {device} at {mount}" if device else f" at {mount}"
    except OSError:
        return ""


def write_failure(exc: BaseException, path: str | os.PathLike[str], what: str) -> str | None:
    """One line for a failed write of ``what`` to ``path`` when the disk is full or read-only,
    naming the device and the fix; None for other failures."""
    if is_no_space(exc):
        return (
            f"could not write {what}: no space left{disk_location(path)} (writing {path}); "
            "free space there, then retry (or resume the run)"
        )
    if is_read_only(exc):
        return (
            f"could not write {what}: {path} is read-only{disk_location(path)}; make it "
            "writable or point the datastore at a writable folder"
        )
    return None


def _device_of(mount: str) -> str | None:
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 2 and fields[1] == mount:
                    return fields[0]
    except OSError:
        return None
    return None


def _errno_in(exc: BaseException | None, codes: set[int]) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in codes:
            return True
        args = getattr(exc, "args", ())
        # shutil.Error carries a list of (src, dst, why) strings; look for the errno text there.
        if (
            args
            and isinstance(args[0], list)
            and any(os.strerror(code) in str(item) for item in args[0] for code in codes)
        ):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
