"""The activations, distances, normalisations, losses and rearrangements of F beyond the core set,
against torch.nn.functional: values, first and second derivatives (float64, random inputs with
no element on a kink), plus float32 values and the modules with the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
import handgrad.nn.functional as F

from nn_helpers import assert_same, run_both

torch.set_num_threads(1)
TF = torch.nn.functional


def _away_from(a, kinks, gap=0.05):
    """Move values that fall within ``gap`` of a kink (where the derivative jumps)."""
    for k in kinks:
        near = np.abs(a - k) < gap
        a = np.where(near, k + np.sign(a - k + 1e-9) * 2 * gap, a)
    return a


def _x(shape, seed=0, scale=2.0, kinks=()):
    return _away_from(np.random.default_rng(seed).standard_normal(shape) * scale, kinks)


# name, call (lib, *tensors), input arrays; every float array requires grad
CASES = [
    (
        "hardtanh",
        lambda L, x: L.nn.functional.hardtanh(x, -0.5, 1.5),
        [_x((3, 4), kinks=(-0.5, 1.5))],
    ),
    ("relu6", lambda L, x: L.nn.functional.relu6(x * 3), [_x((3, 4), kinks=(0, 2))]),
    ("selu", lambda L, x: L.nn.functional.selu(x), [_x((3, 4), kinks=(0,))]),
    ("celu", lambda L, x: L.nn.functional.celu(x, 0.7), [_x((3, 4), kinks=(0,))]),
    ("softsign", lambda L, x: L.nn.functional.softsign(x), [_x((3, 4), kinks=(0,))]),
    ("hardsigmoid", lambda L, x: L.nn.functional.hardsigmoid(x), [_x((3, 4), kinks=(-3, 3))]),
    ("hardswish", lambda L, x: L.nn.functional.hardswish(x), [_x((3, 4), kinks=(-3, 3))]),
    ("mish", lambda L, x: L.nn.functional.mish(x), [_x((3, 4))]),
    ("logsigmoid", lambda L, x: L.nn.functional.logsigmoid(x), [_x((3, 4))]),
    ("softmin", lambda L, x: L.nn.functional.softmin(x, dim=1), [_x((3, 4))]),
    ("tanhshrink", lambda L, x: L.nn.functional.tanhshrink(x), [_x((3, 4))]),
    (
        "softshrink",
        lambda L, x: L.nn.functional.softshrink(x, 0.3),
        [_x((3, 4), kinks=(-0.3, 0.3))],
    ),
    (
        "hardshrink",
        lambda L, x: L.nn.functional.hardshrink(x, 0.3),
        [_x((3, 4), kinks=(-0.3, 0.3))],
    ),
    ("threshold", lambda L, x: L.nn.functional.threshold(x, 0.2, -1.0), [_x((3, 4), kinks=(0.2,))]),
    ("glu", lambda L, x: L.nn.functional.glu(x, 1), [_x((3, 6))]),
    (
        "prelu",
        lambda L, x, w: L.nn.functional.prelu(x, w),
        [_x((2, 3, 4), kinks=(0,)), np.array([0.1, -0.2, 0.3])],
    ),
    (
        "prelu-one",
        lambda L, x, w: L.nn.functional.prelu(x, w),
        [_x((2, 3), kinks=(0,)), np.array([0.25])],
    ),
    ("normalize", lambda L, x: L.nn.functional.normalize(x, p=2.0, dim=1), [_x((3, 4))]),
    (
        "normalize-p1",
        lambda L, x: L.nn.functional.normalize(x, p=1.0, dim=0),
        [_x((3, 4), kinks=(0,))],
    ),
    (
        "cosine_similarity",
        lambda L, a, b: L.nn.functional.cosine_similarity(a, b, dim=1),
        [_x((3, 5)), _x((1, 5), 1)],
    ),
    (
        "pairwise_distance",
        lambda L, a, b: L.nn.functional.pairwise_distance(a, b),
        [_x((3, 5)), _x((3, 5), 1)],
    ),
    (
        "group_norm",
        lambda L, x, w, b: L.nn.functional.group_norm(x, 2, w, b),
        [_x((2, 4, 3, 3)), _x((4,), 1), _x((4,), 2)],
    ),
    (
        "instance_norm",
        lambda L, x, w, b: L.nn.functional.instance_norm(x, weight=w, bias=b),
        [_x((2, 3, 5)), _x((3,), 1), _x((3,), 2)],
    ),
    (
        "layer_norm",
        lambda L, x, w, b: L.nn.functional.layer_norm(x, (4,), w, b),
        [_x((2, 3, 4)), _x((4,), 1), _x((4,), 2)],
    ),
    (
        "batch_norm",
        lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, True),
        [_x((4, 3, 2)), _x((3,), 1), _x((3,), 2)],
    ),
    (
        "smooth_l1_loss",
        lambda L, x, y: L.nn.functional.smooth_l1_loss(x, y, beta=0.5),
        [_x((3, 4), scale=0.6), np.zeros((3, 4))],
    ),
    (
        "smooth_l1_loss-sum",
        lambda L, x, y: L.nn.functional.smooth_l1_loss(x, y, reduction="sum", beta=0.0),
        [_x((3, 4), kinks=(0,)), np.zeros((3, 4))],
    ),
    (
        "huber_loss",
        lambda L, x, y: L.nn.functional.huber_loss(x, y, reduction="none", delta=0.7),
        [_x((3, 4), scale=0.8, kinks=(-0.7, 0.7)), np.zeros((3, 4))],
    ),
    ("pixel_shuffle", lambda L, x: L.nn.functional.pixel_shuffle(x, 2), [_x((2, 8, 3, 2))]),
    ("pixel_unshuffle", lambda L, x: L.nn.functional.pixel_unshuffle(x, 2), [_x((1, 2, 4, 6))]),
    (
        "embedding",
        lambda L, i, w: L.nn.functional.embedding(i, w),
        [np.array([[0, 2], [1, 2]]), _x((3, 4))],
    ),
]


def _tensors(L, arrays, dtype):
    out = []
    for a in arrays:
        if a.dtype.kind == "f":
            t = L.tensor(a.astype(dtype))
            t.requires_grad_(True)
        else:
            t = L.tensor(a)
        out.append(t)
    return out


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_to_second_order(name, fn, arrays):
    hs, ts = _tensors(hg, arrays, np.float64), _tensors(torch, arrays, np.float64)
    out_h, out_t = fn(hg, *hs), fn(torch, *ts)
    np.testing.assert_allclose(
        out_h.detach().numpy(),
        out_t.detach().numpy(),
        rtol=1e-10,
        atol=1e-12,
        err_msg=f"{name} value",
    )
    r = np.random.default_rng(5)
    g = r.standard_normal(tuple(out_t.shape))
    hin = [t for t in hs if t.requires_grad]
    tin = [t for t in ts if t.requires_grad]
    gh = hg.grad(out_h, hin, hg.tensor(g), create_graph=True)
    gt = torch.autograd.grad(out_t, tin, torch.tensor(g), create_graph=True)
    for a, b in zip(gh, gt):
        # (1e-7: some torch kernels use float constants such as 1.0f / 6 even in float64)
        np.testing.assert_allclose(
            a.detach().numpy(),
            b.detach().numpy(),
            rtol=1e-7,
            atol=1e-10,
            err_msg=f"{name} gradient",
        )
    vs = [r.standard_normal(t.shape) for t in tin]
    sh = sum((a * hg.tensor(v)).sum() for a, v in zip(gh, vs))
    st = sum((b * torch.tensor(v)).sum() for b, v in zip(gt, vs))
    # piecewise-linear functions: the second derivative is 0, and a library may know it
    hh = hg.grad(sh, hin, allow_unused=True) if sh.requires_grad else [None] * len(hin)
    try:
        tt = (
            torch.autograd.grad(st, tin, allow_unused=True)
            if st.requires_grad
            else [None] * len(tin)
        )
    except RuntimeError as e:  # torch has no double backward for some kernels (hardsigmoid)
        assert "not implemented" in str(e)
        tt = [None] * len(tin)
    for a, b in zip(hh, tt):
        a = np.zeros(1) if a is None else a.numpy()
        b = np.zeros(1) if b is None else b.numpy(force=True)  # (torch may return a ZeroTensor)
        np.testing.assert_allclose(
            a + np.zeros_like(b),
            b + np.zeros_like(a),
            rtol=1e-7,
            atol=1e-10,
            err_msg=f"{name} second derivative",
        )


@pytest.mark.parametrize("name, fn, arrays", CASES[:8], ids=[c[0] for c in CASES[:8]])
def test_float32_stays_float32(name, fn, arrays):
    hs, ts = _tensors(hg, arrays, np.float32), _tensors(torch, arrays, np.float32)
    out_h, out_t = fn(hg, *hs), fn(torch, *ts)
    assert out_h.dtype == np.float32
    np.testing.assert_allclose(out_h.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)


MODULES = [
    ("ReLU6", (), (3, 4)),
    ("Hardtanh", (-0.5, 0.5), (3, 4)),
    ("SELU", (), (3, 4)),
    ("CELU", (0.5,), (3, 4)),
    ("Softsign", (), (3, 4)),
    ("Hardsigmoid", (), (3, 4)),
    ("Hardswish", (), (3, 4)),
    ("Mish", (), (3, 4)),
    ("LogSigmoid", (), (3, 4)),
    ("Softmin", (1,), (3, 4)),
    ("Tanhshrink", (), (3, 4)),
    ("Softshrink", (0.3,), (3, 4)),
    ("Hardshrink", (0.3,), (3, 4)),
    ("Threshold", (0.1, 2.0), (3, 4)),
    ("GLU", (), (3, 4)),
    ("PReLU", (3,), (2, 3, 4)),
    ("PReLU", (), (2, 3)),
    ("GroupNorm", (2, 4), (2, 4, 3)),
    ("GroupNorm", (1, 4, 1e-3, False), (2, 4, 3)),
    ("InstanceNorm1d", (3,), (2, 3, 5)),
    ("InstanceNorm2d", (3, 1e-5, 0.1, True), (2, 3, 4, 4)),
    ("PixelShuffle", (2,), (1, 8, 2, 3)),
    ("PixelUnshuffle", (2,), (1, 2, 4, 4)),
    ("CosineSimilarity", (), (3, 4)),
]


@pytest.mark.parametrize("name, args, shape", MODULES, ids=[f"{m[0]}{m[1]}" for m in MODULES])
def test_modules_match_torch(name, args, shape):
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, name)(*args).double()
    h_mod = getattr(hg.nn, name)(*args).to(np.float64)
    if name == "PReLU":  # a non-default slope, so that the copy is tested
        with torch.no_grad():
            t_mod.weight.uniform_(-0.5, 0.5)
    if name == "GroupNorm" and len(args) == 2:
        with torch.no_grad():
            t_mod.weight.uniform_(0.5, 1.5)
            t_mod.bias.uniform_(-0.5, 0.5)
    xs = [_x(shape, 3, kinks=(0, 0.3, -0.3, 0.1, -3, 3, -0.5, 0.5))]
    if name == "CosineSimilarity":
        xs.append(_x(shape, 4))
    out = run_both(h_mod, t_mod, xs)
    # torch's hardsigmoid backward multiplies by the float constant 1.0f / 6, even in float64
    assert_same(
        h_mod, t_mod, *out, what=name, dtype=np.float32 if name == "Hardsigmoid" else np.float64
    )
    assert sorted(dict(h_mod.named_parameters())) == sorted(dict(t_mod.named_parameters()))


@pytest.mark.parametrize(
    "name, args",
    [("SmoothL1Loss", {"beta": 0.5}), ("HuberLoss", {"delta": 0.5, "reduction": "sum"})],
)
def test_loss_modules_match_torch(name, args):
    x, y = _x((3, 4), 6, scale=1.0), _x((3, 4), 7, scale=1.0)
    out = run_both(getattr(hg.nn, name)(**args), getattr(torch.nn, name)(**args), [x, y])
    np.testing.assert_allclose(out[0].detach().numpy(), out[1].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(out[2][0].grad.numpy(), out[3][0].grad.numpy(), rtol=1e-12)


def test_pixel_unshuffle_inverts_pixel_shuffle():
    x = hg.tensor(_x((2, 12, 3, 5)))
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2).numpy(), x.numpy())


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: F.glu(hg.ones(2, 3)),
            RuntimeError,
            r"glu: halving dimension -1 of shape \(2, 3\)",
        ),
        (
            lambda: F.group_norm(hg.ones(2, 3, 4), 2),
            RuntimeError,
            r"group_norm: 2 groups need .* C divisible by them, got shape \(2, 3, 4\)",
        ),
        (
            lambda: F.pixel_shuffle(hg.ones(1, 3, 2, 2), 2),
            RuntimeError,
            r"pixel_shuffle: input of shape \(1, 3, 2, 2\)",
        ),
        (
            lambda: F.pixel_unshuffle(hg.ones(1, 1, 3, 4), 2),
            RuntimeError,
            r"pixel_unshuffle: input of shape \(1, 1, 3, 4\)",
        ),
        (
            lambda: F.prelu(hg.ones(2, 3), hg.ones(2)),
            RuntimeError,
            r"prelu: 2 slopes for an input of shape \(2, 3\) \(expected 1 or 3",
        ),
        (lambda: F.hardtanh(hg.ones(2), 1.0, -1.0), ValueError, r"hardtanh: min_val=1.0"),
        (
            lambda: F.leaky_relu(hg.ones(2), "0.2"),
            TypeError,
            r"leaky_relu: negative_slope must be a number, got str '0.2'",
        ),
        (
            lambda: F.smooth_l1_loss(hg.ones(2), hg.ones(2), beta=-1.0),
            ValueError,
            r"smooth_l1_loss: beta must be >= 0",
        ),
        (
            lambda: F.huber_loss(hg.ones(2), hg.ones(2), delta=0.0),
            ValueError,
            r"huber_loss: delta must be > 0",
        ),
        (lambda: F.instance_norm(hg.ones(2, 3)), ValueError, r"instance_norm: expected .*\(2, 3\)"),
        (
            lambda: hg.nn.InstanceNorm2d(3, track_running_stats=True),
            NotImplementedError,
            r"InstanceNorm2d: track_running_stats",
        ),
        (lambda: hg.nn.GroupNorm(3, 4), ValueError, r"GroupNorm: num_channels=4 .* num_groups=3"),
    ],
)
def test_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # log 0 = -inf, as torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_at_saturated_predictions_matches_torch(dtype):
    """p exactly 0 or 1: the log is clamped at -100 and the gradient is torch's
    (p - y) / max(p (1 - p), 1e-12): 0 for a confident correct prediction, not NaN."""
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.5, 0.3, 1e-30, 1.0 - 1e-7], dtype=dtype)
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 1.0, 0.0, 1.0], dtype=dtype)
    w = np.linspace(0.5, 2.0, p.size).astype(dtype)
    for reduction in ("none", "mean", "sum"):
        results = []
        for lib in (hg, torch):
            pt = lib.tensor(p, requires_grad=True)
            loss = lib.nn.functional.binary_cross_entropy(
                pt, lib.tensor(y), lib.tensor(w), reduction=reduction
            )
            (loss.sum() if reduction == "none" else loss).backward()
            results.append((loss.detach().numpy(), pt.grad.numpy()))
        (lh, gh), (lt, gt) = results
        np.testing.assert_allclose(lh, lt, rtol=1e-6)
        np.testing.assert_allclose(gh, gt, rtol=1e-6)
        assert np.isfinite(gh).all()
    loss = hg.nn.BCELoss()(hg.tensor([1.0, 0.0]), hg.tensor([1.0, 0.0]))
    assert loss.item() == 0.0
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        hg.nn.functional.binary_cross_entropy(hg.tensor([1.5]), hg.tensor([1.0]))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # log 0 = -inf, as torch
def test_binary_cross_entropy_second_derivatives_at_saturation_match_torch():
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.5, 0.3, 1e-30])
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.3, 0.0])
    results = []
    for lib in (hg, torch):
        pt, yt = lib.tensor(p, requires_grad=True), lib.tensor(y, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy(pt, yt, reduction="sum")
        (gp,) = lib.autograd.grad(loss, pt, create_graph=True)
        results.append([t.detach().numpy() for t in lib.autograd.grad(gp.sum(), (pt, yt))])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize(
    "name,x,g",
    [
        # found by the fuzzer (seeds 64548267 and 64544858): g x overflowed and met a derivative
        # factor that is exactly 0 there (inf * 0 = NaN); torch's g (1 + x * 0) is g
        ("gelu", 2.638028e25, -5.4142163e23),
        # (the tanh form below sqrt of the largest float: above, x^2 overflows and torch's
        # tanh-form gradient is 0 * inf = NaN too)
        ("gelu_tanh", 1e15, -5.4142163e23),
        ("mish", 8.5070587e37, -1.6679863e38),
    ],
)
def test_activation_gradient_at_huge_input_matches_torch(name, x, g):
    def act(L, t):
        if name == "gelu_tanh":
            return L.nn.functional.gelu(t, approximate="tanh")
        return getattr(L.nn.functional, name)(t)

    xs = np.array([x, -x, 3.0, -2.0], np.float32)
    gs = np.array([g, g, g, 0.5], np.float32)
    results = []
    for L in (hg, torch):
        t = L.tensor(xs, requires_grad=True)
        (d,) = L.autograd.grad(act(L, t), [t], L.tensor(gs), create_graph=True)
        results.append((act(L, t).detach().numpy(), d.detach().numpy()))
    (yh, dh), (yt, dt) = results
    np.testing.assert_allclose(yh, yt, rtol=1e-5)
    np.testing.assert_allclose(dh, dt, rtol=1e-5)
    assert np.isfinite(dh).all()


@pytest.mark.parametrize(
    "name,alpha,dtype,x",
    [
        # found by the fuzzer: torch's elu_backward is g alpha e^x from the input, still positive
        # where the output's expm1(x) + 1 rounds to 0 (seeds 376542887 and 376599834)
        ("elu", 0.5, np.float64, -373.093),
        ("celu", 1.0, np.float32, -103.279),
        # celu's backward scales x by 1 / float32(alpha), as torch's derivatives.yaml
        ("celu", 0.7, np.float64, -1.22067459),
    ],
)
def test_elu_gradient_far_below_zero_matches_torch(name, alpha, dtype, x):
    xs = np.array([x, -40.0, -1.5, -1e-3, 2.0], dtype)
    results = []
    for L in (hg, torch):
        t = L.tensor(xs, requires_grad=True)
        y = getattr(L.nn.functional, name)(t, alpha)
        (d,) = L.autograd.grad(y, [t], L.tensor(np.full(5, -0.7, dtype)), create_graph=True)
        (d2,) = L.autograd.grad(d, [t], L.tensor(np.full(5, 1.3, dtype)))
        results.append([a.detach().numpy() for a in (y, d, d2)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert results[0][1][0] != 0
