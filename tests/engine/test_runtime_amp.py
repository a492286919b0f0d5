"""torch's top-level namespace besides tensors: amp (GradScaler's trajectory against torch's,
autocast accepted), compile and jit (the model itself), precision and determinism settings,
finfo / iinfo / Size, testing.assert_close, utils.checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

W0 = np.array([[0.3, -0.2], [0.1, 0.4]])


def _scaled_training(lib, poison_step=2):
    w = lib.tensor(W0, requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
    trace = []
    for step in range(6):
        x = lib.tensor(np.array([[1.0, 2.0]]) * (np.inf if step == poison_step else 1.0))
        loss = (x @ w).pow(2).sum()
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        trace.append([scaler.get_scale()] + w.detach().numpy().ravel().tolist())
    return np.array(trace)


def test_grad_scaler_trajectory_matches_torch():
    """Scaling, unscaling, the step skipped on inf (step 2), back-off and growth, as torch's."""
    got, want = _scaled_training(hg), _scaled_training(torch)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[2, 0] == got[1, 0] * 0.5  # backed off after the skipped step


def test_grad_scaler_for_cuda_disables_itself_and_state_round_trips():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        assert not hg.cuda.amp.GradScaler().is_enabled()
    s = hg.amp.GradScaler("cpu", init_scale=8.0)
    t = hg.amp.GradScaler("cpu")
    t.load_state_dict(s.state_dict())
    assert t.get_scale() == 8.0 and t.state_dict() == s.state_dict()


def test_autocast_is_accepted_and_changes_nothing():
    x = hg.tensor(np.eye(2, dtype=np.float32))
    with hg.autocast("cpu", dtype=hg.float16):
        y = x @ x
    assert y.dtype == np.float32

    @hg.amp.autocast("cpu")
    def f(a):
        return a * 2

    assert f(x).dtype == np.float32


def test_compile_and_jit_return_the_model():
    model = hg.nn.Linear(2, 2)
    assert hg.compile(model) is model
    assert hg.compile(mode="max-autotune")(model) is model
    assert hg.jit.script(model) is model and hg.jit.trace(model, hg.ones(1, 2)) is model
    with pytest.raises(RuntimeError, match="compile: expected a Module or a function, got int"):
        hg.compile(3)


def test_settings_are_checked_and_remembered():
    hg.set_float32_matmul_precision("high")
    assert hg.get_float32_matmul_precision() == "high"
    hg.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="set_float32_matmul_precision: expected"):
        hg.set_float32_matmul_precision("fast")
    hg.use_deterministic_algorithms(True)
    assert hg.are_deterministic_algorithms_enabled()
    hg.use_deterministic_algorithms(False)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    h, t = hg.finfo(getattr(hg, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(h, field) == getattr(t, field), field


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8"])
def test_iinfo_matches_torch(name):
    h, t = hg.iinfo(getattr(hg, name)), torch.iinfo(getattr(torch, name))
    assert (h.bits, h.max, h.min) == (t.bits, t.max, t.min)


def test_size_is_a_tuple():
    assert hg.Size([2, 3]) == (2, 3) == hg.ones(2, 3).shape and hg.Size([2, 3]).numel() == 6


def test_assert_close_uses_torchs_tolerances():
    hg.testing.assert_close(hg.tensor([1.0]), hg.tensor([1.0 + 1e-6]))  # float32: within
    with pytest.raises(AssertionError, match="1 / 1 elements differ"):
        hg.testing.assert_close(hg.tensor([1.0]), hg.tensor([1.001]))
    with pytest.raises(AssertionError, match="dtypes differ"):
        hg.testing.assert_close(hg.tensor([1.0]), hg.tensor([1.0], dtype=hg.float64))
    hg.testing.assert_close([hg.ones(2)], [hg.ones(2)])


def test_checkpoint_gives_the_same_gradients():
    lin = hg.nn.Linear(3, 2)
    x = hg.ones(4, 3, requires_grad=True)
    hg.utils.checkpoint.checkpoint(lin, x, use_reentrant=False).sum().backward()
    g1 = x.grad.numpy().copy()
    x.grad = None
    lin(x).sum().backward()
    np.testing.assert_array_equal(g1, x.grad.numpy())
    seq = hg.nn.Sequential(hg.nn.Linear(3, 3), hg.nn.ReLU())
    out = hg.utils.checkpoint.checkpoint_sequential(seq, 2, x)
    np.testing.assert_array_equal(out.detach().numpy(), seq(x).detach().numpy())
