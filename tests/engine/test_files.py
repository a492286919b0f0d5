"""handgrad.files (atomic writes) and handgrad.threads (thread limits): each in one place."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import handgrad as hg
from handgrad.files import atomic_write, write_json

SRC = Path(hg.__file__).parent


def test_atomic_write_replaces_or_leaves_the_old_file(tmp_path):
    path = tmp_path / "a.txt"
    with atomic_write(path, "w") as f:
        f.write("old")
    with pytest.raises(RuntimeError, match="interrupted"), atomic_write(path, "w") as f:
        f.write("half of the new")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]  # no temporary file left behind
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"


def test_write_json_takes_numpy_values(tmp_path):
    path = write_json(tmp_path / "r.json", {"a": np.float32(0.5), "b": np.arange(3)})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2]}


@pytest.mark.parametrize(
    "needle, home",
    [("os.replace(", "files.py"), ("mkstemp(", "files.py"), ("threadpool_limits(", "threads.py")],
)
def test_one_home(needle, home):
    # Atomic writes and thread limits are implemented once; everything else calls those.
    found = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if needle in p.read_text())
    assert found == [home]


def test_atomic_write_gives_the_permissions_open_would(tmp_path):
    """The umask for a new file (not mkstemp's 0o600), the old mode for a replaced one; the
    JSON reports and plots written through it too."""
    import stat

    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "report.json", {"a": 1})
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "report.json").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == 0o644
    os.chmod(tmp_path / "new.bin", 0o600)
    with atomic_write(tmp_path / "new.bin") as f:
        f.write(b"y")
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == 0o600
