"""The port suite: every ``port_*.py`` program runs with torch and with handgrad (imports
changed, nothing else) and the two give the same named results within the program's tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from port import DEFAULT_TOLERANCE, rewrite, run, settings

HERE = Path(__file__).parent
PROGRAMS = sorted(HERE.glob("port_*.py"))


def _param(path: Path):
    _, slow = settings(path)
    return pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("path", [_param(p) for p in PROGRAMS])
def test_program_ports_by_changing_the_import(path: Path) -> None:
    pytest.importorskip("torch")
    expected = run(path, "torch")
    if "skipped" in expected:
        pytest.skip(expected["skipped"])
    got = run(path, "handgrad")
    assert set(got) == set(expected), f"{path.name}: result keys differ"
    tolerance, _ = settings(path)
    for key, want in expected.items():
        rtol, atol = tolerance.get(key, DEFAULT_TOLERANCE)
        if isinstance(want, str):
            assert got[key] == want, f"{path.name}: {key}"
            continue
        np.testing.assert_allclose(
            np.asarray(got[key], dtype=float),
            np.asarray(want, dtype=float),
            rtol=rtol,
            atol=atol,
            err_msg=f"{path.name}: {key}",
        )


def test_rewrite_changes_only_the_imports() -> None:
    source = (
        "import torch\n"
        "import torch.nn as nn\n"
        "import torch.nn.functional as F\n"
        "import torch.optim\n"
        "import numpy as np, torchvision\n"
        "from torch.utils.data import DataLoader, TensorDataset as TD\n"
        "from torchvision import datasets, transforms\n"
        "def f():\n"
        "    import torch.multiprocessing as mp\n"
        "    return mp, 'import torch'\n"
        "x = torch.zeros(2)  # torch stays the name\n"
    )
    assert rewrite(source).splitlines() == [
        "import handgrad as torch",
        "import handgrad.nn as nn",
        "import handgrad.nn.functional as F",
        "import handgrad.optim; import handgrad as torch",
        "import numpy as np; import handgrad.vision as torchvision",
        "from handgrad.utils.data import DataLoader, TensorDataset as TD",
        "from handgrad.vision import datasets, transforms",
        "def f():",
        "    import handgrad.multiprocessing as mp",
        "    return mp, 'import torch'",
        "x = torch.zeros(2)  # torch stays the name",
    ]
