"""The parts of the torch namespace PyTorch programs touch that are not tensor methods:
``handgrad.utils.data`` (the same module as ``handgrad.data``, under torch's submodule paths),
``cuda``/``accelerator``/``backends`` on a CPU-only library, ``nn.DataParallel`` as a
pass-through with torch's state-dict keys, ``RNNBase.flatten_parameters``."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

import handgrad as hg


def test_utils_data_is_the_data_module_under_torchs_paths():
    import handgrad.utils.data as utils_data
    from handgrad.utils.data import DataLoader, TensorDataset

    assert utils_data is hg.data and hg.utils.data is hg.data
    assert DataLoader is hg.data.DataLoader and TensorDataset is hg.data.TensorDataset
    for module, names in [
        (
            "sampler",
            [
                "Sampler",
                "RandomSampler",
                "SequentialSampler",
                "SubsetRandomSampler",
                "WeightedRandomSampler",
                "BatchSampler",
            ],
        ),
        (
            "dataset",
            [
                "Dataset",
                "TensorDataset",
                "Subset",
                "ConcatDataset",
                "IterableDataset",
                "random_split",
            ],
        ),
        ("dataloader", ["DataLoader", "default_collate"]),
    ]:
        ours = importlib.import_module(f"handgrad.utils.data.{module}")
        theirs = importlib.import_module(f"torch.utils.data.{module}")
        assert ours is getattr(hg.data, module)
        for name in names:
            assert hasattr(theirs, name), (module, name)  # the path is torch's
            assert getattr(ours, name) is getattr(hg.data, name)


def test_import_paths_work_in_a_fresh_interpreter():
    """``import handgrad.utils.data`` as a program's first handgrad import."""
    code = (
        "import handgrad.utils.data\n"
        "from handgrad.utils.data.sampler import Sampler\n"
        "import handgrad\n"
        "assert handgrad.utils.data is handgrad.data\n"
        "assert Sampler is handgrad.data.Sampler\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cuda_accelerator_and_backends_as_on_a_cpu_only_torch():
    assert hg.cuda.is_available() is False and hg.cuda.device_count() == 0
    hg.cuda.manual_seed(0)
    hg.cuda.manual_seed_all(0)
    hg.cuda.empty_cache()
    assert hg.accelerator.is_available() is False
    assert hg.backends.mps.is_available() is False
    for flag in ("enabled", "benchmark", "deterministic"):
        assert getattr(hg.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    before = hg.backends.cudnn.deterministic
    try:
        hg.backends.cudnn.deterministic = True  # accepted, kept, no effect
        assert hg.backends.cudnn.deterministic is True
    finally:
        hg.backends.cudnn.deterministic = before


def test_data_parallel_passes_through_with_torchs_keys():
    h = hg.nn.DataParallel(hg.nn.Sequential(hg.nn.Linear(3, 4), hg.nn.ReLU(), hg.nn.Linear(4, 2)))
    t = torch.nn.DataParallel(
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    )
    assert list(h.state_dict()) == list(t.state_dict())
    hg.load_torch_state_dict(h, t.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        h(hg.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6
    )
    assert isinstance(h.module, hg.nn.Sequential) and h.device_ids == t.device_ids == []
    assert hg.nn.parallel.DataParallel is hg.nn.DataParallel
    with pytest.raises(TypeError, match="DataParallel: expected an nn.Module"):
        hg.nn.DataParallel(lambda x: x)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_flatten_parameters_is_a_no_op(cls):
    m = getattr(hg.nn, cls)(2, 3)
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    m.flatten_parameters()
    assert all(np.array_equal(before[k], v.numpy()) for k, v in m.state_dict().items())
