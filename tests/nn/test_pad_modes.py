"""F.pad's non-constant modes (reflect, replicate, circular) and negative widths, and the
convolution layers' padding_mode, against PyTorch: values, gradients and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import handgrad as hg
import handgrad.nn.functional as F

from nn_helpers import assert_same, run_both

torch.set_num_threads(1)
MODES = ["constant", "reflect", "replicate", "circular"]


@st.composite
def pad_problem(draw):
    mode = draw(st.sampled_from(MODES))
    k = draw(st.integers(1, 3))
    batched = draw(st.booleans())
    sizes = [draw(st.integers(1, 4)) for _ in range(k)]
    shape = ((2,) if batched else ()) + (draw(st.integers(1, 2)),) + tuple(sizes)
    pad = []
    for n in reversed(sizes):  # F.pad lists the last dim first
        # widths PyTorch accepts: reflect < n, circular <= n; some negative (cropping) ones
        top = {"reflect": n - 1, "circular": n}.get(mode, 3)
        for _ in range(2):
            # (PyTorch itself fails on some circular pads that crop and wrap: no negatives there)
            low = -1 if n > 2 and mode != "circular" else 0
            pad.append(draw(st.integers(low, top)))
    seed = draw(st.integers(0, 2**32 - 1))
    return mode, shape, tuple(pad), seed


@settings(max_examples=60, deadline=None)
@given(pad_problem())
def test_pad_matches_torch_to_second_order(problem):
    mode, shape, pad, seed = problem
    r = np.random.default_rng(seed)
    a = r.standard_normal(shape)
    x, t = hg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out_t = torch.nn.functional.pad(t, pad, mode=mode)
    out_h = F.pad(x, pad, mode=mode)
    np.testing.assert_array_equal(out_h.detach().numpy(), out_t.detach().numpy())
    g = r.standard_normal(tuple(out_t.shape))
    v = r.standard_normal(shape)
    # first order through hg.grad with create_graph, then a second derivative of <grad, v>
    # (pad is linear, so it is zero; the point is that the graph of the gradient is sound)
    (gx,) = hg.grad(out_h, x, hg.tensor(g), create_graph=True)
    (gt,) = torch.autograd.grad(out_t, t, torch.tensor(g), create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), gt.detach().numpy(), rtol=1e-12, atol=1e-12)
    gg = hg.tensor(g, requires_grad=True)
    (gx2,) = hg.grad(F.pad(x, pad, mode=mode), x, gg, create_graph=True)
    (ggrad,) = hg.grad((gx2 * hg.tensor(v)).sum(), gg)
    gt_ = torch.tensor(g, requires_grad=True)
    (gt2,) = torch.autograd.grad(
        torch.nn.functional.pad(t, pad, mode=mode), t, gt_, create_graph=True
    )
    (tgrad,) = torch.autograd.grad((gt2 * torch.tensor(v)).sum(), gt_)
    np.testing.assert_allclose(ggrad.numpy(), tgrad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad", [(-1, 2), (2, -1), (-1, -1)])
def test_negative_widths_crop_as_in_torch(mode, pad):
    a = np.arange(10.0).reshape(2, 5)
    np.testing.assert_array_equal(
        F.pad(hg.tensor(a), pad, mode=mode).numpy(),
        torch.nn.functional.pad(torch.tensor(a), pad, mode=mode).numpy(),
    )


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    x = hg.tensor(np.random.default_rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    assert hg.gradcheck(lambda x: F.pad(x, (2, 1), mode=mode), (x,))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "nd, padding, kernel, dilation",
    [
        (1, 2, 3, 1),
        (1, "same", 4, 2),
        (2, (1, 2), 3, 1),
        (2, "same", (2, 3), 1),
        (2, "valid", 3, 1),
    ],
)
def test_conv_padding_mode_matches_torch(mode, nd, padding, kernel, dilation):
    hg.manual_seed(0)
    torch.manual_seed(0)
    H, T = (hg.nn.Conv1d, torch.nn.Conv1d) if nd == 1 else (hg.nn.Conv2d, torch.nn.Conv2d)
    kw = dict(padding=padding, dilation=dilation, padding_mode=mode, dtype=torch.float64)
    t_mod = T(2, 3, kernel, **kw)
    h_mod = H(2, 3, kernel, **{**kw, "dtype": np.float64})
    x = np.random.default_rng(2).standard_normal((2, 2) + (6,) * nd)
    out = run_both(h_mod, t_mod, [x])
    assert_same(h_mod, t_mod, *out, what=f"{H.__name__}({mode}, {padding})")
    assert f"padding_mode={mode}" in repr(h_mod)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: F.pad(hg.ones(2, 5), (5, 1), mode="reflect"),
            RuntimeError,
            r"pad: reflect padding \(5, 1\) of dim 1 must be less than its size 5",
        ),
        (
            lambda: F.pad(hg.ones(2, 5), (6, 0), mode="circular"),
            RuntimeError,
            r"pad: circular padding \(6, 0\) of dim 1 wraps around more than once",
        ),
        (
            lambda: F.pad(hg.ones(5), (1, 1), mode="replicate"),
            NotImplementedError,
            r"pad: replicate padding of 1 dim\(s\) needs a 2-D or 3-D input.*\(5,\)",
        ),
        (
            lambda: F.pad(hg.ones(2, 5), (1, 1), mode="wrap"),
            NotImplementedError,
            r"pad: unknown padding mode 'wrap'",
        ),
        (
            lambda: F.pad(hg.ones(2, 5), (1, 1), mode="reflect", value=2.0),
            ValueError,
            r"pad: padding mode 'reflect' does not take a fill value",
        ),
        (lambda: F.pad(hg.ones(2, 5), (1, 1, 1)), ValueError, r"pad: padding \(1, 1, 1\)"),
        (
            lambda: hg.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"),
            ValueError,
            r"ConvTranspose2d: only padding_mode='zeros'",
        ),
        (
            lambda: hg.nn.Conv2d(1, 1, 3, padding_mode="mirror"),
            ValueError,
            r"Conv2d: padding_mode must be one of",
        ),
    ],
)
def test_pad_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
