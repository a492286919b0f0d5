"""Writing files so that an interrupted run never leaves half a file: ``atomic_write`` (the one
implementation, used by ``hg.save`` and so by checkpoints, by the plots and by the JSON reports)
and ``write_json``.

A file is written to a temporary name in its own folder, flushed to disk, then renamed over the
target: the rename is atomic on POSIX and Windows, so a reader sees the old file or the new one.
The folder is synced too (where the platform allows), so the rename itself survives a crash.
The file gets the permissions ``open(path, "w")`` would give (the umask, or those of the file it
replaces), not the temporary file's 0o600.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """``with atomic_write(path) as f: ...`` writes through ``f`` (opened with ``mode``, "wb" or
    "w") to a temporary file beside ``path`` and renames it over ``path`` when the block ends
    without an exception; on an exception the temporary file is removed and ``path`` is left as
    it was."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        permissions = stat.S_IMODE(os.stat(path).st_mode)  # a replaced file keeps its own
    except FileNotFoundError:
        permissions = 0o666 & ~_umask()  # what open(path, "w") would give, not mkstemp's 0o600
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.chmod(tmp, permissions)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (``os.umask`` can
    only be read by setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable; not every platform can open a folder."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically; NumPy scalars and arrays become numbers and
    lists, and a NaN or an infinity (not JSON) becomes null. Returns the path."""
    with atomic_write(path, "w") as f:
        f.write(json.dumps(_finite(obj), indent=2, default=_jsonable, allow_nan=False) + "\n")
    return Path(path)


def _finite(x: Any) -> Any:
    """``x`` with every non-finite float (NumPy's included) replaced by None."""
    import math

    import numpy as np

    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


__all__ = ["atomic_write", "write_json"]
