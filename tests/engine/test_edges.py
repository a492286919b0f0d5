"""Regression tests for issue 11 ("Correct at every edge"): each case runs the same call in
handgrad and in torch and compares values, gradients and second derivatives, NaN and inf in the
same places. No expected number is written down: torch computes it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import handgrad as hg
import handgrad.nn.functional as hF

INF, NAN = float("inf"), float("nan")


def _lib(L):
    return (torch, tF) if L == "torch" else (hg, hF)


def _same(a, b, what, rtol=1e-7):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, equal_nan=True, err_msg=what)


def check(fn, *arrays, g=None, second=True, rtol=1e-7, v=None):
    """fn(L, F, *tensors) in both libraries: values, the gradient of sum(out * g) for every float
    input and (``second``) the gradient of the sum of those gradients (each times ``v``, the
    fuzzer's direction, when given)."""
    res = {}
    for name in ("torch", "hg"):
        L, F = _lib(name)
        ts = [L.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out = fn(L, F, *ts)
        leaves = [t for t in ts if t.requires_grad]
        gg = np.ones(tuple(out.shape)) if g is None else np.broadcast_to(g, tuple(out.shape))
        grad = torch.autograd.grad if name == "torch" else hg.grad
        gs = grad(
            out,
            leaves,
            L.tensor(np.array(gg, dtype=arrays[0].dtype)),
            create_graph=True,
            allow_unused=True,
        )
        g2 = None
        if second:
            vv = 1.0 if v is None else L.tensor(np.asarray(v, dtype=arrays[0].dtype))
            terms = [(a * vv).sum() for a in gs if a is not None and a.requires_grad]
            if terms:
                s = terms[0]
                for t in terms[1:]:
                    s = s + t
                g2 = grad(s, leaves, allow_unused=True)
        res[name] = (out, gs, g2)
    (ot, gt, g2t), (oh, gh, g2h) = res["torch"], res["hg"]
    _same(oh.detach().numpy(), ot.detach().numpy(), "value", rtol)
    for i, (a, b) in enumerate(zip(gh, gt)):
        a = np.zeros(tuple(b.shape)) if a is None else a.detach().numpy()
        _same(a, np.zeros(a.shape) if b is None else b.detach().numpy(), f"gradient {i}", rtol)
    if second and g2t is not None:
        for i, (a, b) in enumerate(zip(g2h or [None] * len(g2t), g2t)):
            if b is None:
                continue
            a = np.zeros(tuple(b.shape)) if a is None else a.detach().numpy()
            _same(a, b.detach().numpy(), f"second derivative {i}", rtol)


A = np.array


# ---- 2. a non-finite gradient through a zero-derivative path: selected, never 0 * inf ---------

ZERO_PATHS = {
    "relu_sqrt": lambda L, F, x: x.relu().sqrt(),
    "clamp_sqrt": lambda L, F, x: x.clamp(min=0).sqrt(),
    "clamp_both_sqrt": lambda L, F, x: (x.clamp(-1, 1) + 1).sqrt(),
    "hardtanh_sqrt": lambda L, F, x: (F.hardtanh(x) + 1).sqrt(),
    "relu6_sqrt": lambda L, F, x: F.relu6(x).sqrt(),
    "maximum_sqrt": lambda L, F, x: L.maximum(x, L.zeros_like(x)).sqrt(),
    "minimum_sqrt": lambda L, F, x: (-L.minimum(x, L.zeros_like(x))).sqrt(),
    "amax_sqrt": lambda L, F, x: x.amax(0, keepdim=True).clamp(min=0).sqrt(),
    "where_sqrt": lambda L, F, x: L.where(x > 0, x, L.zeros_like(x)).sqrt(),
    "adaptive_avg_sqrt": lambda L, F, x: (
        F.adaptive_avg_pool1d(x.reshape(1, 1, -1), 2).relu().sqrt()
    ),
}


@pytest.mark.parametrize("name", sorted(ZERO_PATHS))
def test_masking_backward_selects(name):
    check(ZERO_PATHS[name], A([-2.0, -1.0, 0.0, 0.5, 2.0, 7.0]), second=False)


# ---- 3. 0/0 at zero or constant input ---------------------------------------------------------

ZERO_INPUT = {
    "norm_zero": (lambda L, F, x: x.norm(), [A([0.0, 0.0, 0.0])]),
    "norm_p3_zero": (lambda L, F, x: x.norm(p=3), [A([0.0, 0.0])]),
    "norm_dim_zero_row": (lambda L, F, x: x.norm(dim=1), [A([[0.0, 0.0], [3.0, 4.0]])]),
    "std_constant": (lambda L, F, x: x.std(), [A([2.0, 2.0, 2.0])]),
    "std_dim_constant": (lambda L, F, x: x.std(1), [A([[2.0, 2.0], [1.0, 3.0]])]),
    "std_one_correction0": (lambda L, F, x: x.std(correction=0), [A([1.5])]),
    "var_constant": (lambda L, F, x: x.var(), [A([2.0, 2.0])]),
    "normalize_zero": (lambda L, F, x: F.normalize(x, dim=0), [A([0.0, 0.0, 0.0])]),
    "cosine_zero": (
        lambda L, F, x, y: F.cosine_similarity(x, y, dim=0),
        [A([0.0, 0.0]), A([1.0, 2.0])],
    ),
    "cosine_both_zero": (
        lambda L, F, x, y: F.cosine_similarity(x, y, dim=0),
        [A([0.0, 0.0]), A([0.0, 0.0])],
    ),
    "pairwise_distance_equal": (
        lambda L, F, x, y: F.pairwise_distance(x, y),
        [A([[1.0, 2.0]]), A([[1.0, 2.0]]) + 1e-6],
    ),
}


# torch's second derivative of a norm at a zero vector is NaN, handgrad's 0 (an accepted
# difference, pinned in test_differences.py); the first derivatives are compared here
NO_SECOND = {
    "norm_zero",
    "norm_p3_zero",
    "norm_dim_zero_row",
    "normalize_zero",
    "cosine_zero",
    "cosine_both_zero",
}


@pytest.mark.parametrize("name", sorted(ZERO_INPUT))
def test_zero_or_constant_input(name):
    fn, arrays = ZERO_INPUT[name]
    check(fn, *arrays, second=name not in NO_SECOND)


def test_tiny_float32_norm_has_torch_gradient():
    check(lambda L, F, x: x.norm(), A([3e-25, 3e-25], dtype=np.float32), second=False, rtol=1e-5)


# ---- 4, 5. cross_entropy / nll_loss with ignore_index; unbatched 'none' ------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_every_target_ignored_gives_nan_loss_zero_gradient(smoothing, weighted):
    w = A([0.5, 1.0, 2.0, 1.5])
    check(
        lambda L, F, x: F.cross_entropy(
            x,
            L.tensor([-100, -100, -100]),
            label_smoothing=smoothing,
            weight=L.tensor(w) if weighted else None,
        ),
        np.random.default_rng(0).standard_normal((3, 4)),
        second=False,
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_ignored_row_of_minus_inf_logits(smoothing):
    x = A([[0.0, 1.0, -1.0], [-INF, -INF, -INF]])
    check(
        lambda L, F, x: F.cross_entropy(x, L.tensor([1, -100]), label_smoothing=smoothing),
        x,
        second=False,
    )


def test_nll_loss_ignored_row_of_minus_inf():
    x = A([[-0.5, -1.0], [-INF, -INF]])
    check(lambda L, F, x: F.nll_loss(x, L.tensor([0, -100]), reduction="sum"), x, second=False)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_unbatched_reduction_none_is_0d(loss):
    check(
        lambda L, F, x: getattr(F, loss)(x, L.tensor(1), reduction="none"),
        A([0.3, -1.2, 2.0]),
        second=False,
    )


@pytest.mark.parametrize("weight", [None, [2.0, 0.5, 1.0]])
def test_unbatched_reduction_none_of_a_zero_is_plus_zero(weight):
    """torch forms an unbatched loss on its reducing path, 0 - w x[y]: +0.0 at x[y] = 0.0, where
    -w x[y] is -0.0, which a later 1 / x tells apart (fuzz seed 22306694)."""
    for value in (0.0, -0.0):
        out = {}
        for name in ("torch", "hg"):
            L, F = _lib(name)
            w = None if weight is None else L.tensor(A(weight, dtype=np.float32))
            x = L.tensor(A([value, NAN, 0.0], dtype=np.float32))
            out[name] = F.nll_loss(x, L.tensor(0), weight=w, reduction="none").numpy()
        assert np.signbit(out["hg"]) == np.signbit(out["torch"]), (value, out)


# ---- 6, 7, 8. logcumsumexp, xlogy, IEEE special values -----------------------------------------


@pytest.mark.parametrize(
    "dtype,values",
    [
        (np.float32, [0.0, 200.0]),
        (np.float64, [0.0, 1000.0]),
        (np.float64, [1000.0, 0.0, -INF, 5.0]),
    ],
)
def test_logcumsumexp_far_apart(dtype, values):
    check(lambda L, F, x: x.logcumsumexp(0), A(values, dtype=dtype), rtol=1e-6)


@pytest.mark.parametrize("values", [[-0.0], [-0.0, -0.0], [-0.0, -INF], [-INF, -0.0], [0.0, -0.0]])
def test_logcumsumexp_first_element_of_minus_zero(values):
    """torch's running sum starts from -inf: its first element is a_0 + 0, +0.0 at a_0 = -0.0,
    which a later 1 / x tells apart (fuzz seed 493598942)."""
    x = A(values)
    t = torch.logcumsumexp(torch.tensor(x), 0).numpy()
    h = hg.logcumsumexp(hg.tensor(x), 0).numpy()
    np.testing.assert_array_equal(h, t)
    np.testing.assert_array_equal(np.signbit(h), np.signbit(t))


def test_float32_logcumsumexp_accumulates_in_double():
    """fuzz seed 1511160525: torch's float32 logcumsumexp runs its sum in double; near an
    output of 0 (the log of a sum near 1) float32's own steps were 65% off the exact -2.458e-8,
    which torch gives, and F.normalize after it amplified that."""
    x = np.array([-1.782864, -0.6032294, -2.746941, -1.5292702, -5.5253477], np.float32)
    t = torch.logcumsumexp(torch.tensor(x), 0).numpy()
    h = hg.logcumsumexp(hg.tensor(x), 0).numpy()
    np.testing.assert_array_equal(h, t)
    assert h[-1] == np.float32(-2.4583406456935063e-08)  # the exact value (mpmath), rounded
    x = (np.random.default_rng(0).standard_normal((200, 7)) * 3).astype(np.float32)
    t = torch.logcumsumexp(torch.tensor(x), 1).numpy()
    np.testing.assert_array_equal(hg.logcumsumexp(hg.tensor(x), 1).numpy(), t)


def test_float32_cumsum_accumulates_in_double():
    """torch's CPU scan runs float32 in double and rounds each output: [1e8, 1, 1, 1, -1e8] ends
    at 3, a running sum may leave float32's range and come back."""
    for x in ([1e8, 1, 1, 1, -1e8], [-0.0, 3e38, 3e38, -3e38]):
        a = A(x, np.float32)
        t = torch.cumsum(torch.tensor(a), 0).numpy()
        np.testing.assert_array_equal(hg.cumsum(hg.tensor(a), 0).numpy(), t)
        assert not np.signbit(t[0])


def test_cumprod_second_derivative_across_a_tiny_element():
    """fuzz seed 376612173: d/da_0 of the cumprod gradient (S_0 / a_0) is two terms of 1.5e32
    that cancel; torch's reverse cumsum in double makes them equal (0, where the exact value is
    -6057), handgrad's float32 one left an ulp (-1.9e25)."""
    x = A([[-2.0350156e-28, -9.9387770e00, -4.9067881e03, -5.0281486e-09]], np.float32)
    g = A([[0.17019683, 0.15758537, -0.61243814, 0.28465596]], np.float32)
    v = A([[1.85368561, 1.2673999, 1.18642442, -0.71122899]], np.float32)
    got = []
    for L, grad in ((torch, torch.autograd.grad), (hg, hg.grad)):
        t = L.tensor(x, requires_grad=True)
        (d,) = grad(L.cumprod(t, -1), [t], L.tensor(g), create_graph=True)
        got.append(grad((d * L.tensor(v)).sum(), [t])[0].numpy())
    np.testing.assert_array_equal(got[1], got[0])


def test_xlogy_slope_at_x_zero():
    check(
        lambda L, F, x, y: L.xlogy(x, y),
        A([0.0, 1.0, 0.0, 0.0, -1.0]),
        A([2.0, 3.0, 0.0, -1.0, 0.5]),
        second=False,
    )


def test_hypot_no_overflow_float32():
    check(
        lambda L, F, a, b: L.hypot(a, b),
        A([3e20, 0.0], dtype=np.float32),
        A([4e20, 1e-30], dtype=np.float32),
        second=False,
        rtol=1e-6,
    )


def test_logaddexp_equal_infinities():
    check(
        lambda L, F, a, b: L.logaddexp(a, b),
        A([-INF, INF, -INF, 1.0]),
        A([-INF, INF, INF, 2.0]),
        second=False,
    )


@pytest.mark.parametrize("op", ["fmod", "remainder"])
def test_fmod_remainder_ieee(op):
    check(
        lambda L, F, a, b: getattr(L, op)(a, b),
        A([5.0, -5.0, 0.0, 7.5]),
        A([INF, INF, INF, 2.0]),
        second=False,
    )


def test_median_propagates_nan():
    x = A([[1.0, NAN, 3.0, NAN], [3.0, 1.0, 2.0, 0.0]])
    check(lambda L, F, x: x.median(), x, second=False)
    check(lambda L, F, x: x.median(1).values, x, second=False)
    t = torch.tensor(x).median(1).indices.numpy()
    np.testing.assert_array_equal(hg.tensor(x).median(1).indices.numpy(), t)


def test_median_ties_share_the_gradient():
    check(lambda L, F, x: x.median(), A([1.0, 2.0, 2.0, 3.0]), second=False)


def test_cumprod_float32_runs_in_double():
    # fuzz seed 64668245: the running product leaves float32's range and comes back
    check(lambda L, F, x: x.cumprod(0), A([1e30, 1e30, 1e-30, 1e-30, 3.0], dtype=np.float32))


@pytest.mark.parametrize("value", [-INF, INF, -5e-324, 5e-324])
def test_cumprod_over_one_element_has_derivative_one(value):
    # fuzz seeds 64543442 (gradient at -inf) and 64552877 (second derivative at a denormal)
    check(lambda L, F, x: x.cumprod(1), A([[value], [2.0]]), g=A([[-1.5], [0.5]]))


def test_prod_gradient_at_a_denormal():
    # fuzz seeds 64556451 and 64548629: out / a first, g * out underflows
    x = A([[5e-324, 0.98372, 1.0, 1.0], [5e-324, 0.65056, 0.7099, -0.8127]])
    check(lambda L, F, x: x.prod(-1), x, g=A([0.0543166, 0.3]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_of_a_saturated_sigmoid(dtype):
    z = A([-800.0, -40.0, 0.0, 40.0, 800.0], dtype=dtype)
    check(
        lambda L, F, z: F.binary_cross_entropy(
            z.sigmoid(), L.tensor(A([0.0, 0.3, 0.5, 1.0, 0.7], dtype=dtype))
        ),
        z,
        second=False,
        rtol=1e-5,
    )


def test_threshold_keeps_nan():
    check(lambda L, F, x: F.threshold(x, 0.5, -1.0), A([NAN, 0.2, 0.9]), second=False)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "area"])
def test_interpolate_keeps_inf_nan_in_its_windows(mode):
    x = np.random.default_rng(1).standard_normal((1, 1, 4, 5))
    x[0, 0, 1, 2], x[0, 0, 3, 0] = INF, NAN
    kw = {} if mode in ("nearest", "area") else {"align_corners": False}
    check(lambda L, F, x: F.interpolate(x, size=(7, 3), mode=mode, **kw), x, second=False)


def test_interpolate_at_the_input_size_copies_as_torch():
    # found by the fuzzer (seed 64559334): along an axis whose size does not change torch reads
    # each output's own pixel twice, with weights 1 and 0; reading the next pixel with weight 0
    # spread its NaN (handgrad NaN where torch 0)
    x = A(
        [
            [[NAN, NAN, NAN], [NAN, 0, NAN], [NAN, 0, NAN]],
            [[NAN, NAN, NAN], [0, NAN, NAN], [1, 1, NAN]],
        ]
    )
    x = x.astype(np.float32)[None]
    check(lambda L, F, x: F.interpolate(x, size=[4, 3], mode="bilinear"), x, second=False)
    # seed 64662570: an infinite upstream gradient stays on its own pixel's weight-1 tap
    g = A([[[0.5, INF, 0.5], [-INF, 0.5, 0.5]]])
    for ac in (False, True):
        check(
            lambda L, F, x, ac=ac: F.interpolate(x, size=[3], mode="linear", align_corners=ac),
            A([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]),
            g=g,
            second=False,
        )
        check(
            lambda L, F, x, ac=ac: F.interpolate(x, size=[3, 3], mode="bicubic", align_corners=ac),
            A([[[[1.0, INF, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, NAN]]]]),
            g=A([[[[0.5, INF, 0.5], [0.5, 0.5, 0.5], [-INF, 0.5, 0.5]]]]),
            second=False,
        )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_in,n_out", [(1, 3), (1, 5), (2, 6), (2, 10), (3, 7)])
def test_interpolate_zero_weights_as_torch_rounds_them(dtype, n_in, n_out):
    # whether a weight is exactly 0 (an inf next to it: NaN) follows torch's arithmetic: its
    # fused multiply-add (1/5 * 2.5 - 0.5 = 2.8e-17, not 0) and floorf (0.9999999999999999 -> 1)
    for k in range(n_in):
        x = np.arange(1.0, n_in + 1, dtype=dtype)[None, None]
        x[0, 0, k] = INF
        check(
            lambda L, F, x, n_out=n_out: F.interpolate(x, size=[n_out], mode="linear"),
            x,
            second=False,
        )


@pytest.mark.parametrize("size", [(2, 3), (3, 3), (1, 1)])
def test_adaptive_avg_pool_keeps_inf_in_its_windows(size):
    x = np.random.default_rng(2).standard_normal((2, 1, 4, 5))
    x[0, 0, 1, 2], x[1, 0, 3, 4] = INF, NAN
    check(lambda L, F, x: F.adaptive_avg_pool2d(x, size), x, second=False)


# ---- 9. bad input refused ----------------------------------------------------------------------


def test_boolean_mask_of_wrong_length_is_refused():
    with pytest.raises(IndexError, match=r"getitem: the boolean mask of shape \(2,\)"):
        hg.arange(5.0)[hg.tensor([True, False])]


def test_narrow_past_the_end_is_refused():
    with pytest.raises(RuntimeError, match=r"narrow: start \(3\) \+ length \(4\) exceeds"):
        hg.arange(5.0).narrow(0, 3, 4)
    check(lambda L, F, x: x.narrow(0, -2, 2), A([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("fn", ["sigmoid", "exp", "log", "tanh"])
def test_none_is_refused(fn):
    with pytest.raises(TypeError, match=f"{fn}: input must be a tensor"):
        getattr(hg, fn)(None)


# ---- valid input that was refused --------------------------------------------------------------

E = np.zeros
EMPTY = {
    "softmax": (lambda L, F, x: F.softmax(x, 1), [E((0, 3))]),
    "log_softmax": (lambda L, F, x: F.log_softmax(x, -1), [E((2, 0))]),
    "softmin": (lambda L, F, x: F.softmin(x, 0), [E((0, 3, 1))]),
    "linear_out0": (lambda L, F, x, w: F.linear(x, w), [E((4, 3)) + 1, E((0, 3))]),
    "linear_in0": (lambda L, F, x, w, b: F.linear(x, w, b), [E((0,)), E((2, 0)), E((2,)) + 1]),
    "matmul_out0": (lambda L, F, x, w: x @ w, [E((4, 3)) + 1, E((3, 0))]),
    "conv1d_batch0": (lambda L, F, x, w: F.conv1d(x, w), [E((0, 2, 5)), E((3, 2, 2)) + 1]),
    "conv2d_batch0": (
        lambda L, F, x, w: F.conv2d(x, w, padding=1),
        [E((0, 2, 5, 5)), E((3, 2, 2, 2)) + 1],
    ),
    "conv_transpose2d_batch0": (
        lambda L, F, x, w: F.conv_transpose2d(x, w, stride=2),
        [E((0, 4, 2, 3)), E((4, 1, 2, 2)) + 1],
    ),
    # an empty batch and an empty spatial dim at once (found by the fuzzer)
    "conv_transpose2d_batch0_height0": (
        lambda L, F, x, w: F.conv_transpose2d(x, w),
        [E((0, 2, 0, 3)), E((2, 3, 2, 2)) + 1],
    ),
    "conv_transpose2d_groups_batch0_width0": (
        lambda L, F, x, w: F.conv_transpose2d(x, w, groups=2),
        [E((0, 4, 3, 0)), E((4, 3, 2, 2)) + 1],
    ),
    "conv_transpose1d_batch0_length0": (
        lambda L, F, x, w: F.conv_transpose1d(x, w),
        [E((0, 2, 0)), E((2, 3, 2)) + 1],
    ),
    "avg_pool2d_batch0": (lambda L, F, x: F.avg_pool2d(x, 2), [E((0, 2, 4, 4))]),
    "avg_pool1d_batch0": (lambda L, F, x: F.avg_pool1d(x, 1, 2, ceil_mode=True), [E((0, 1, 1))]),
    "lp_pool2d_batch0": (lambda L, F, x: F.lp_pool2d(x, 2.0, 2), [E((0, 2, 4, 4))]),
    "adaptive_max_pool2d_batch0": (lambda L, F, x: F.adaptive_max_pool2d(x, 2), [E((0, 2, 4, 4))]),
    "group_norm_batch0": (
        lambda L, F, x, w, b: F.group_norm(x, 1, w, b),
        [E((0, 2, 5, 3)), E((2,)) + 1, E((2,))],
    ),
    "instance_norm_batch0": (lambda L, F, x: F.instance_norm(x), [E((0, 1, 4))]),
    "batch_norm_batch0": (
        lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [E((0, 3, 4)), E((3,)) + 1, E((3,))],
    ),
    "chunk": (lambda L, F, x: x.chunk(2, 1)[0], [E((1, 0))]),
    "max_dim": (lambda L, F, x: x.max(1).values, [E((0, 3))]),
    "amax": (lambda L, F, x: x.amax(1), [E((0, 3))]),
    "argmax": (lambda L, F, x: x.argmax(1).double() + x.sum(), [E((0, 3))]),
    "cummax": (lambda L, F, x: x.cummax(0).values, [E((0, 2))]),
    "cummin": (lambda L, F, x: x.cummin(1).values, [E((2, 0))]),
    "logcumsumexp": (lambda L, F, x: x.logcumsumexp(0), [E((0, 2))]),
    "median": (lambda L, F, x: x.median(), [E((0, 2))]),
    "median_dim": (lambda L, F, x: x.median(1).values, [E((0, 2))]),
    "movedim_0d": (lambda L, F, x: x.movedim(0, 0) * 2, [A(1.5)]),
    "gather_0d": (lambda L, F, x: L.gather(x, 0, L.tensor(0)) * 2, [A(1.5)]),
    "mT_0d": (lambda L, F, x: x.mT * 2, [A(1.5)]),
    "clamp_tensors": (
        lambda L, F, x, lo, hi: x.clamp(min=lo, max=hi),
        [A([-2.0, 0.5, 3.0, 1.0]), A([0.0, 0.0, 0.0, 2.0]), A([1.0, 1.0, 1.0, 1.5])],
    ),
}


@pytest.mark.filterwarnings("ignore:Tensor.mT is deprecated")
@pytest.mark.parametrize("name", sorted(EMPTY))
def test_valid_input_accepted(name):
    fn, arrays = EMPTY[name]
    check(fn, *arrays, second=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_where_with_a_zero_side_selects_bits_exactly(dtype):
    """``where(mask, g, 0)`` (every masking backward) runs as a bitwise AND when one side is a
    +0.0 scalar: the result must be np.where's, bit for bit, with NaN, inf and -0.0 in g, for
    either side and for masks and arrays in other memory orders."""
    r = np.random.default_rng(0)
    a = r.standard_normal((3, 4, 5)).astype(dtype)
    a[0, 0, :4] = [np.nan, np.inf, -0.0, -np.inf]
    mask = r.random((3, 4, 5)) > 0.5
    mask[0, 0, :4] = True

    def bits(v):
        return np.ascontiguousarray(v).view(np.uint8)

    for m, arr in ((mask, a), (np.asfortranarray(mask), a), (mask, np.asfortranarray(a))):
        for keep in (True, False):
            args = (m, arr, 0.0) if keep else (m, 0.0, arr)
            got = hg.where(*[hg.tensor(v) if isinstance(v, np.ndarray) else v for v in args])
            want = np.where(m, arr, dtype(0)) if keep else np.where(m, dtype(0), arr)
            assert got.dtype == hg.tensor(want).dtype
            assert np.array_equal(bits(got.numpy()), bits(want))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_general_selection_by_blocks_is_np_where_bit_for_bit(monkeypatch, dtype):
    """``where(mask, a, b)`` with two array sides, or an array and a nonzero scalar, runs as
    ``b ^ ((a ^ b) & word)`` over blocks (``ops._select``): np.where's bits, with NaN, inf and
    -0.0 on either side, over several blocks and a short last one, for arrays in C, Fortran
    and a batch-innermost memory order (the result keeps it), and np.where itself where the
    sides' orders differ. And through ``hg.where``, its gradients are torch's."""
    from handgrad.ops import _select

    monkeypatch.setattr(_select, "_SELECT_BLOCK", 16)  # 60 elements: 3 blocks and a part
    r = np.random.default_rng(1)
    shape = (3, 4, 5)
    a, b = (r.standard_normal(shape).astype(dtype) for _ in range(2))
    a[0, 0, :4] = [np.nan, np.inf, -0.0, -np.inf]
    b[0, 1, :4] = [-0.0, np.nan, -np.inf, 5.0]
    mask = r.random(shape) > 0.5

    def bits(v):
        return np.ascontiguousarray(v).view(np.uint8)

    def chwn(v):  # the batch-innermost memory a convolution returns, seen in NCHW order
        return np.ascontiguousarray(v.transpose(1, 2, 0)).transpose(2, 0, 1)

    blended = []
    blend = _select._blend
    monkeypatch.setattr(_select, "_blend", lambda *args: blended.append(1) or blend(*args))
    for order in (np.ascontiguousarray, np.asfortranarray, chwn):
        m, x, y = order(mask), order(a), order(b)
        one = np.broadcast_to(dtype(7.0), shape)  # a sum's gradient: one value, strides 0
        for sides in (
            (x, y),
            (x, dtype(-2.5)),
            (dtype(-0.0), y),
            (x, order(b).copy(order="F")),
            (one, y),
        ):
            got = _select.select(m, np.asarray(sides[0]), np.asarray(sides[1]))
            want = np.where(m, *sides)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(bits(got), bits(want))
            if all(np.ndim(v) == 0 or v.strides == x.strides for v in sides):
                kept = got.strides == tuple(st * got.itemsize for st in m.strides)
                assert kept, "the result keeps the mask's memory order"
    assert blended
    got, want = [], []
    for lib in (hg, torch):
        ta, tb = (lib.tensor(v, requires_grad=True) for v in (a, b))
        out = lib.where(lib.tensor(mask), ta, tb)
        out.backward(lib.tensor(np.ones(shape, dtype)))
        (got if lib is hg else want).extend(
            [out.detach().numpy(), ta.grad.numpy(), tb.grad.numpy()]
        )
    for h, t in zip(got, want):
        assert np.array_equal(bits(h), bits(t))


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, 1.5, -0.5])
def test_leaky_relu_edges_bit_for_bit(slope):
    """leaky_relu's value (max(a, s a) for 0 < s <= 1, a selection otherwise) and gradient
    (leaky_relu_backward) against torch's, bit for bit, at -0.0, +-inf, NaN, subnormals and the
    largest floats, with an infinite gradient on either side."""
    a = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, -3e38, 3e38, -2.0, 3.0])
    a = a.astype(np.float32)
    g = np.array([np.inf, -np.inf, 1.0, 2.0, 1.0, np.inf, -np.inf, 1.0, 1e38, np.inf, 1.0])
    g = g.astype(np.float32)
    got = []
    for lib in (hg, torch):
        x = lib.tensor(a, requires_grad=True)
        out = lib.nn.functional.leaky_relu(x, slope)
        out.backward(lib.tensor(g))
        got.append([out.detach().numpy(), x.grad.numpy()])
    for h, t in zip(*got):
        same = (h.view(np.int32) == t.view(np.int32)) | (np.isnan(h) & np.isnan(t))
        assert same.all(), (h, t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silu_gradient_in_torchs_order(dtype):
    """silu's gradient is g s (1 + a (1 - s)) in torch's order, g s first (torch's silu_backward
    kernel, and its graph under create_graph): with handgrad's sigmoid s, those bits, with and
    without a graph (formed as g (s (1 + a (1 - s))) half of them differ); torch's values."""
    r = np.random.default_rng(8)
    x, g = (r.standard_normal(4000).astype(dtype) * 4 for _ in range(2))
    s = hg.sigmoid(hg.tensor(x)).numpy()
    want = g * s * (1 + x * (1 - s))
    got = []
    for lib in (hg, torch):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.silu(t)
        grad = hg.grad if lib is hg else torch.autograd.grad
        (plain,) = grad(y, t, lib.tensor(g), retain_graph=True)
        (graph,) = grad(y, t, lib.tensor(g), create_graph=True)
        got.append([plain.numpy(), graph.detach().numpy()])
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for h, t in zip(got[0], got[1]):
        np.testing.assert_array_equal(h, want)
        np.testing.assert_allclose(h, t, rtol=tol, atol=tol)


def test_prod_second_derivative_with_a_zero_and_a_nan_elsewhere():
    # fuzz seed 1231567340: a zero anywhere sends prod's gradient through cumprod's explicit
    # products, whose i < k terms must be dropped (where), not multiplied by 0 (NaN * 0)
    x = A([[-0.1082, NAN], [0.0, 0.3424], [2.0, 0.4424]], dtype=np.float32)
    check(lambda L, F, x: x.prod(-1), x)


# ---- powers, reciprocal, norm, var (found by the fuzzer; the seeds in the commit messages) -----


def test_pow_local_derivative_before_g():
    # float32: g * b = 1e40 overflows where b a^(b-1) is 0 (torch forms the latter first)
    check(
        lambda L, F, a, b: a**b,
        A([-0.7251676, 0.2974188], dtype=np.float32),
        A([8.5070587e37, 8.5070587e37], dtype=np.float32),
        g=A([120.840836, -120.84086], dtype=np.float32),
        second=False,
    )


@pytest.mark.parametrize(
    "x, g", [(0.8822621640997148, -6.00338767131381e307), (0.3598368768001202, 5.99e307)]
)
def test_pow_int_huge_gradient(x, g):
    # g * 3 overflows; g * (3 x^2) does not (the second derivative: g * (6 x) likewise)
    check(lambda L, F, a: a**3, A([x]), g=A([g]))


def test_reciprocal_second_derivative_of_a_tiny_input():
    # 2 / x^3 overflows at x = -6.8e-153: with g = 0 the second derivative is 0 (torch: from
    # the output, -g out^2), not 0 * inf
    check(lambda L, F, x: x.reciprocal(), A([-1.0, -6.774512204844537e-153, 4.937e-176]), g=0.0)


def test_rsqrt_second_derivative_of_a_tiny_input():
    # fuzz seed 376611865: 1 / sqrt(x)^2 overflows at x = 1.5e-199: with g = 0 the second
    # derivative is 0 (torch: from the output, -0.5 g out^3), not 0 * inf
    check(lambda L, F, x: x.rsqrt(), A([1.4631e-199, 2.0, 1e-300, 0.25]), g=0.0)
    check(lambda L, F, x: x.rsqrt(), A([1.4631e-199, 2.0, 1e-30, 0.25]), g=A([1.0, 0.5, 1.0, 2.0]))


def test_soft_margin_loss_second_derivatives_in_a_huge_direction():
    """fuzz seed 376611419: where sigmoid(-y x) is 0 torch's derivative by the upstream gradient
    is 0 in a direction of 1e308 (its local derivative -y sigmoid(-y x) is formed first); at
    g = 0 the second derivative by x is 0 too. Composed, (v y) sigmoid = inf * 0 = NaN."""
    x, y = A([np.inf, 7.5e191, 1e-300, 0.0, 0.5]), A([1.668e151, 1.668e151, 1.668e151, 2.0, -1.0])
    for f in (lambda L, F, x: F.soft_margin_loss(x, L.tensor(y), reduction="sum"),):
        check(f, x, g=0.0, v=1e308)
    got = []
    for L in (torch, hg):
        t, g = L.tensor(x, requires_grad=True), L.tensor(A(0.5), requires_grad=True)
        out = _lib("torch" if L is torch else "hg")[1].soft_margin_loss(
            t, L.tensor(y), reduction="sum"
        )
        grad = torch.autograd.grad if L is torch else hg.grad
        (d,) = grad(out, [t], g, create_graph=True)
        (dg,) = grad(d, [g], L.tensor(np.full(5, 1e308)))
        got.append(dg.numpy())
    _same(got[1], got[0], "derivative by g")


@pytest.mark.parametrize("weight", [0.9958022813756255, 0.3, -0.7])
def test_lerp_is_torchs_to_the_last_bit(weight):
    """torch's lerp gradient is g (1 - w), not the composition's g - g w (fuzz seed 376611870,
    where the program amplified the last bit); its value takes the form exact at w's end."""
    r = np.random.default_rng(0)
    a, e = r.normal(size=(3, 7)), r.normal(size=(3, 7))
    a[0, :3] = [1.4088, 1.3135, 0.2]
    e[0, :3] = [-4.4942e307, 0.0, np.inf]
    check(lambda L, F, a, e: L.lerp(a, e, weight), a, e, g=r.normal(size=(3, 7)), rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lerp_is_torchs_fused_multiply_add(dtype):
    """fuzz seed 928238528: torch's lerp is an fma, rounded once: lerp(0, -1.4e-45, 0.039) is
    -0.0 (the underflowed product's sign, which 1 / x shows), lerp(0, tiny, 0.5) is 0 (tiny / 2
    rounded to even), and w d + a a tie only the exact sum breaks (1.4e-45 + 2.5 * 0.3 in
    float32 is 0.75000006)."""
    tiny = float(np.finfo(dtype).smallest_subnormal)
    a = np.array([0.0, 0.0, -tiny, 0.0, -0.0, tiny, 1.0, -2.5, 0.7], dtype)
    e = np.array([-tiny, tiny, 0.0, tiny, tiny, -2.5, -0.0, -0.0, 0.2], dtype)
    for w in (0.039265750908033636, 0.5, 0.96, -0.3):
        ws = np.full(a.shape, w, dtype)
        for wt, wh in ((w, w), (torch.tensor(ws), hg.tensor(ws))):
            t = torch.lerp(torch.tensor(a), torch.tensor(e), wt).numpy()
            h = hg.lerp(hg.tensor(a), hg.tensor(e), wh).numpy()
            np.testing.assert_array_equal(h, t, err_msg=f"lerp(a, e, {w})")
            assert (np.signbit(h) == np.signbit(t)).all(), f"lerp(a, e, {w}): sign of 0"


def test_gelu_tanh_far_below_zero_is_torchs():
    """fuzz seed 1511178485: gelu(approximate='tanh') of float32 x near -5.4, where tanh of
    the inner -9.8 rounds to -1 in torch (correctly) and NumPy's float32 tanh was an ulp above:
    1 + tanh gave -1.6e-7 for torch's -0 (the exact -1.7e-8); its gradient takes the same tanh."""
    x = np.array([-5.3643, -5.4024, -5.3286, -1.1166e-04, -13.885, -8.04, 2.8639, 0.5], np.float32)
    g = np.linspace(-1.0, 1.0, x.size).astype(np.float32)
    got = []
    for L in (torch, hg):
        t = L.tensor(x, requires_grad=True)
        F = torch.nn.functional if L is torch else hF
        out = F.gelu(t, approximate="tanh")
        out.backward(L.tensor(g))
        got.append((out.detach().numpy(), t.grad.numpy()))
    (h, hgr), (t, tgr) = got
    np.testing.assert_array_equal(h[:6], t[:6])
    np.testing.assert_allclose(h, t, rtol=1e-6)
    np.testing.assert_allclose(hgr, tgr, rtol=1e-6, atol=1e-12)


def test_pow_derivative_by_the_upstream_gradient_at_zero_base():
    """fuzz seed 376516185: torch's exponent gradient is g where(a = 0 and b >= 0, 0, a^b log a),
    so its derivative by g is 0 there; handgrad's selection of g a^b log a gave 0 * NaN."""
    a = np.array([0.0, -0.0, 0.0, 2.0, -1.0], np.float32)
    b = np.array([1.0, 2.0, 0.0, 2.0, -2.0], np.float32)
    got = []
    for L in (torch, hg):
        ta, tb = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        g = L.tensor(np.full(5, 0.5, np.float32), requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        ga, gb = grad(L.pow(ta, tb), [ta, tb], g, create_graph=True)
        (dg,) = grad((ga * 0.7).sum() + (gb * 1.3).sum(), [g])
        got.append(dg.detach().numpy())
    _same(got[1], got[0], "derivative by g")


def test_pow_exponent_gradient_from_the_output_keeps_a_second_derivative_in_range():
    """fuzz seed 2113602076 (float64): 2^x, then its power -0.39 under a gradient of -1.05e308.
    The exponent's gradient g 2^x log 2 is read from 2^x's output, as torch's: its second
    derivative's term (+1.9e307) joins the two of the outer power (-2.7e307, -1.7e308) in the
    cotangent at 2^x, -1.77e308. Formed from x again, it went to x directly and the other two
    overflowed there: -inf for torch's -8.12e307."""
    x, b = A([-0.5934414471900167]), A(-0.39067245)
    g, v0, v1 = A([-1.0468862944107365e308]), A([0.3828291240145305]), 0.78621531
    got = []
    for L in (torch, hg):
        tx, tb = L.tensor(x, requires_grad=True), L.tensor(b, requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        gx, gb = grad((2.0**tx) ** tb, [tx, tb], L.tensor(g), create_graph=True)
        got.append([a.numpy() for a in grad((gx * L.tensor(v0)).sum() + gb * v1, [tx, tb])])
    for a, c in zip(got[1], got[0]):
        _same(a, c, "second derivative", rtol=1e-12)
    assert np.isfinite(got[1][0]).all()


def test_tanhshrink_gradient_near_zero_is_torchs():
    """fuzz seed 1486084804: tanhshrink's gradient g - g (1 - t^2) cancels near 0, so the
    rounding of tanh's backward shows; it is torch's g (1 - t^2), not g - g t^2."""
    x = A([-9.03784e-05, 2.3643249400513537e-05, 7.628662643855647e-05, 0.0005768574068568087])
    g = A([1.0, 0.8911669542823284, 0.05410227877154389, -0.9821881249409777])
    got = []
    for L in (torch, hg):
        t = L.tensor(x, requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        got.append(grad(_lib("torch" if L is torch else "hg")[1].tanhshrink(t), [t], L.tensor(g)))
    np.testing.assert_array_equal(got[1][0].numpy(), got[0][0].numpy())


def test_tanh_rounds_as_torch():
    """fuzz seed 22308229: NumPy's float32 tanh is an ulp off torch's (correctly rounded) one
    at 0.4828, 0.1588, 0.9656 and 0.3177, and tanhshrink's x - tanh(x) amplifies that ulp
    (1e-5 relative at 0.1588) beyond the tolerance through log and group_norm."""
    x = np.array([0.48281461, 0.158843, 0.96562922, 0.31768599, 0.12747717, -0.0], np.float32)
    for L in (torch, hg):
        t = L.tensor(x, requires_grad=True)
        y = _lib("torch" if L is torch else "hg")[1].tanhshrink(t)
        grad = torch.autograd.grad if L is torch else hg.grad
        (d,) = grad(y, [t], L.tensor(np.full(6, 0.7, np.float32)))
        if L is torch:
            want = (y.detach().numpy(), d.numpy(), L.tanh(L.tensor(x)).numpy())
    got = (y.detach().numpy(), d.numpy(), hg.tanh(hg.tensor(x)).numpy())
    # handgrad's tanh is the correctly rounded one (torch's float64 tanh rounded to float32).
    # torch's float32 result depends on the CPU: on the machine the seed was found on it was
    # correctly rounded at all five points; on a Xeon model 207 VM (2026-12-07) it is an ulp
    # off at 0.3177. Where
    # torch is correctly rounded, handgrad equals it bit for bit, tanhshrink and its gradient too.
    exact = torch.tanh(torch.tensor(x, dtype=torch.float64)).float().numpy()
    np.testing.assert_array_equal(got[2], exact)
    same = want[2] == exact
    assert same.sum() >= 4, "torch's tanh is off the correctly rounded one at most points"
    np.testing.assert_array_less(np.abs(want[2] - exact), np.spacing(np.abs(exact)) * 1.5)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a[same], b[same])
    assert np.signbit(got[2][-1])  # tanh(-0.0) = -0.0


def test_hardsigmoid_is_torchs_to_the_bit():
    """fuzz seed 493595327: torch's hardsigmoid is (x + 3) / 6 with the gradient g (1.0f / 6.0f),
    the float32 sixth also in float64; handgrad's g / 6 differed by 3e-8 (relative), which a
    softmax before it amplified. Bit for bit, both dtypes, with x on and beyond the kinks."""
    for dtype in (np.float32, np.float64):
        x = np.array([1 / 3, -2.9, 2.999, 0.1, -3.0, 3.0, 7.0, -INF, NAN], dtype)
        g = np.array([-1.3877, 0.3, 1.7, -0.2, 1.0, 1.0, 1.0, INF, 1.0], dtype)
        got = []
        for L in (torch, hg):
            t = L.tensor(x, requires_grad=True)
            y = _lib("torch" if L is torch else "hg")[1].hardsigmoid(t)
            grad = torch.autograd.grad if L is torch else hg.grad
            (d,) = grad(y, [t], L.tensor(g))
            got.append((y.detach().numpy(), d.numpy()))
        for a, b in zip(got[1], got[0]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "dtype, a, b, g, va, vb",
    [
        # fuzz seed 22293913: out = 5e-324, g = 0: handgrad's g (b / out) differentiated by a
        # met 1 / out^2 = inf (0 * inf = NaN), torch's (g b) / out is 0 first
        (np.float64, [-0.0], [-5e-324], [0.0], [0.0], [-0.3705]),
        # fuzz seed 22276632: a / out is subnormal (a = -1.4e-45) and loses its digits, g a not
        (np.float32, [-1.4e-45, 0.0], [0.10206, 1.0], [8.5e37, 2.0], [1.0, 0.5], [0.3, 1.0]),
        # g b subnormal: torch's g b / out rounds, and so does handgrad now (torch's value)
        (np.float64, [0.0, 0.0, 0.0], [-5e-324] * 3, [1.7, 1.5, 0.05], [1.0] * 3, [1.0] * 3),
        # 1 / r - a^2 / r^3 cancels (fuzz seeds 376605220, 493499121): the same noise
        (
            np.float64,
            [-1.6233905172813486e-155],
            [1.9149290673423592e-174],
            [-1.14938],
            [1.0],
            [0.0],
        ),
        (np.float32, [-1.5863e08], [0.1124], [0.37], [2.1], [-0.4]),
        (np.float64, [2.47161e146], [1.2238e-124], [3.1e30], [1.3e100], [0.2]),
    ],
)
def test_hypot_derivatives_are_torchs_to_the_bit(dtype, a, b, g, va, vb):
    """hypot's gradients are torch's grad * a / out, g a first, so that the second derivatives
    (by a, b and g) differentiate the same graph and agree bit for bit with torch's."""
    got = []
    for L in (torch, hg):
        ta, tb, tg = (L.tensor(np.array(z, dtype), requires_grad=True) for z in (a, b, g))
        grad = torch.autograd.grad if L is torch else hg.grad
        da, db = grad(L.hypot(ta, tb), [ta, tb], tg, create_graph=True)
        s = (da * L.tensor(np.array(va, dtype))).sum() + (db * L.tensor(np.array(vb, dtype))).sum()
        got.append([d.detach().numpy() for d in (da, db, *grad(s, [ta, tb, tg]))])
    for h, t in zip(*got[::-1]):
        np.testing.assert_array_equal(h, t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_atan2_derivatives_are_torchs_to_the_bit(dtype):
    """atan2's gradients in torch's graph, (g x) c and (g (-y)) c with c = 1 / (y^2 + x^2) set
    to 0 where y^2 + x^2 is 0: at the origin, where the squares underflow or overflow, beside
    inf and NaN, the gradients and the second derivatives (by y, x and g) are torch's bit for
    bit (fuzz seeds 493522798: y = 0, x = 0.4534, g = 8e37 in float32, handgrad NaN where torch
    4e36; 22360726: x up to 1e281)."""
    y = np.array([0.0, 1e-200, 0.0, 3.0, -0.0, 1e-160, -0.0, 1e300, INF, NAN, 0.5, 0.0, 1e93])
    x = np.array(
        [0.0, 0.0, 1e-200, 4.0, -0.0, 1e-170, -2.7e-80, 1e300, 1.0, 1.0, -INF, 0.4534, 2.0]
    )
    r = np.random.default_rng(0)
    g, u, v = r.normal(size=(3, y.size))
    g[11] = 8e37
    got = []
    for L in (torch, hg):
        ty, tx, tg = (L.tensor(a.astype(dtype), requires_grad=True) for a in (y, x, g))
        grad = torch.autograd.grad if L is torch else hg.grad
        dy, dx = grad(L.atan2(ty, tx), [ty, tx], tg, create_graph=True)
        s = (dy * L.tensor(u.astype(dtype))).sum() + (dx * L.tensor(v.astype(dtype))).sum()
        got.append([d.detach().numpy() for d in (dy, dx, *grad(s, [ty, tx, tg]))])
    for h, t in zip(*got[::-1]):
        np.testing.assert_array_equal(h, t)


def test_tanh_backward_is_torchs_primitive():
    """fuzz seed 22422861: tanhshrink's second derivative in float32 at x = 1e-9 with g = 1e30
    and a direction u = 1e10: torch's tanh_backward differentiates to gg ((-2 t) g), finite
    (2e31); the composition g (1 - t^2) formed gg g = inf first. Bit for bit, by x and g."""
    x = np.array([9.80984e-10, 3.65002e-24, -5.29587e-25, 0.3, -2.0], np.float32)
    g = np.array([1e30, 1e30, -3e35, 1e30, 2.0], np.float32)
    u = np.array([1e10, 2e12, 1e10, 1e10, 0.7], np.float32)
    got = []
    for L in (torch, hg):
        tx, tg = L.tensor(x, requires_grad=True), L.tensor(g, requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        y = _lib("torch" if L is torch else "hg")[1].tanhshrink(tx)
        (d,) = grad(y, [tx], tg, create_graph=True)
        got.append([a.detach().numpy() for a in (d, *grad((d * L.tensor(u)).sum(), [tx, tg]))])
    assert np.isfinite(got[0][1][:3]).all()  # (at 0.3 torch overflows too)
    for h, t in zip(*got[::-1]):
        np.testing.assert_array_equal(h, t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_gradient_rounds_as_torch(dtype):
    """torch's tanh_backward forms 1 - t^2 rounded once (a fused multiply-add), which cancels
    near |t| = 1; fuzz seed 493543145 (x = -7.27 and -16.6 in float64) amplified the last bit
    of the separately rounded form. Bit for bit on 2000 points, the seed's among them."""
    from handgrad.ops.elementwise import TanhBackward

    r = np.random.default_rng(0)
    x = np.concatenate([[-7.272039439009809, -16.597497253514412], r.uniform(-18, 18, 2000)])
    x, g = x.astype(dtype), r.normal(size=x.size).astype(dtype)
    # on the same t (torch's tanh is an ulp off the correctly rounded value at a few points)
    t = torch.tanh(torch.tensor(x)).numpy()
    want = torch.ops.aten.tanh_backward(torch.tensor(g), torch.tensor(t)).numpy()
    got = TanhBackward.apply(hg.tensor(g), hg.tensor(t)).numpy()
    np.testing.assert_array_equal(got, want)
    # and through tanh, at the seed's two points
    got = []
    for L in (torch, hg):
        a = L.tensor(x[:2], requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        got.append(grad(L.tanh(a), [a], L.tensor(g[:2]))[0].numpy())
    np.testing.assert_array_equal(got[1], got[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hardswish_derivatives_are_torchs(dtype):
    """hardswish's middle differentiates as torch's hardswish_backward, g (x / 3 + 0.5), whose
    derivatives are hardswish_backward(gg, x) and gg g / 3: fuzz seed 455505046 (x = 0.546,
    u = 6.5e307 in float64) made the composition's u (x + 3) overflow (inf, torch 4.5e307).
    Values, gradients and second derivatives (by x and g), on and beyond the kinks."""
    x = np.array([0.5464088338563469, -3.0, 3.0, -2.9, 2.9, 0.0, -0.0, 7.0, -8.0, INF, -INF])
    g = np.full(x.size, 0.08662979406738429)
    big = np.float64(6.527136686963285e307) if dtype == np.float64 else 3e38
    u = np.full(x.size, 1.3)
    u[0] = big
    got = []
    for L in (torch, hg):
        tx = L.tensor(x.astype(dtype), requires_grad=True)
        tg = L.tensor(g.astype(dtype), requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        y = _lib("torch" if L is torch else "hg")[1].hardswish(tx)
        (d,) = grad(y, [tx], tg, create_graph=True)
        s = (d * L.tensor(u.astype(dtype))).sum()
        got.append([a.detach().numpy() for a in (y, d, *grad(s, [tx, tg]))])
    assert np.isfinite(got[0][3][0])
    for h, t in zip(*got[::-1]):
        np.testing.assert_array_equal(h, t)


def test_norm_p3_of_one_zero_element_with_nan_gradient():
    check(
        lambda L, F, x: L.norm(x, p=3.0, dim=2),
        A([[[-2.0], [0.0], [2.0]]]),
        g=A([[-0.0, NAN, 0.0]]),
    )


def test_std_of_a_constant_row_is_exactly_zero():
    # six copies of -0.7938... average to 1 ulp off: torch's Welford reduction gives a variance
    # of exactly 0 (and std's gradient 0 even for a NaN g), so must handgrad
    x = np.vstack([np.full(6, -0.793836440739436), np.arange(6.0)])
    check(lambda L, F, x: L.std(x, -1, correction=0), x, g=A([NAN, 1.0]))
    check(lambda L, F, x: L.var(x, -1, correction=1), x, g=A([NAN, 1.0]))


def test_std_second_derivative_where_the_variance_overflows():
    # seed 1002541999: the variance of this row is inf (std's scale 1 / sigma is 0); the square's
    # rule g c + g c doubled sum(v c) = -9.1e307 in the second derivative to -inf, and -inf * 0
    # gave NaN where torch's (2 / D) g (x - mean) forms sum(v c) once (finite, torch 0)
    x = A([[-4.4942328371557893e307, 1.0383990829658833, -0.0]])
    v = A([[2.35584091, -1.03521811, -0.3341692]])
    check(lambda L, F, x: L.std(x, -1, keepdim=True, correction=1), x, g=0.0, v=v)
    check(lambda L, F, x: L.var(x, -1, correction=1), A([[0.3, -1.2, 2.5], [0.0, 0.7, -0.1]]))


@pytest.mark.parametrize("x", [A(1.0), A(INF), A([2.5]), A([1.0, 2.0, 3.0])])
def test_var_without_degrees_of_freedom(x):
    # N - correction <= 0 over all elements: torch's gradient g * (inf, NaN at the mean) is a
    # constant in x, so its second derivative is 0
    check(lambda L, F, x: L.var(x, correction=x.numel()), x)
    check(lambda L, F, x: L.var(x, correction=x.numel()), x, g=-2.0)
    # (check compares second derivatives only where torch has a graph: here it has none)
    t = hg.tensor(x, requires_grad=True)
    (gx,) = hg.grad(hg.var(t, correction=t.numel()), [t], create_graph=True)
    assert not gx.requires_grad, "var_no_dof: the gradient must be a constant in x, as torch's"


@pytest.mark.parametrize("correction", [0, 1])
@pytest.mark.parametrize("keepdim", [True, False])
def test_var_over_an_empty_dim_is_constant_in_its_upstream_gradient(correction, keepdim):
    # seed 376624838: var of a (0, 4) tensor along dim 0 is NaN; the derivative of its (empty)
    # input gradient w.r.t. the upstream gradient is an empty sum, 0 in torch, where scaling the
    # sum of squares by 1 / (N - correction) = inf afterwards gave 0 * inf = NaN
    res = []
    for L in (torch, hg):
        x = L.tensor(np.zeros((0, 4), np.float32), requires_grad=True)
        g = L.tensor(np.ones((1, 4) if keepdim else (4,), np.float32), requires_grad=True)
        out = L.var(x, dim=0, keepdim=keepdim, correction=correction)
        grad = torch.autograd.grad if L is torch else hg.grad
        (gx,) = grad(out, [x], g, create_graph=True)
        (gg,) = grad(gx.sum(), [g], allow_unused=True)
        res.append((out.detach().numpy(), gg.detach().numpy()))
    (ot, gt), (oh, gh) = res
    _same(oh, ot, "value")
    _same(gh, gt, "second derivative w.r.t. the upstream gradient")


# ---- norms, distances and their losses (fuzz seeds of issue 11) ------------------------------


def test_cosine_similarity_below_eps_under_a_large_gradient():
    # seed 64609872: ||w|| = 4e-19 < eps; the norm's gradient g / ||w|| overflowed float32 in
    # the composed sqrt(sum(w^2)), where torch's w / ||w|| (a unit vector) times g does not
    x = A([-1.2641957e-04, 1.9974550e00], dtype=np.float32)
    w = A([-4.1868944e-19, 4.9242370e-24], dtype=np.float32)
    check(lambda L, F, x, w: F.cosine_similarity(x, w, dim=-1), x, w, g=1.0309933e29, rtol=1e-5)


def test_p_norm_gradient_in_torch_order():
    # seed 1110292551: the float32 3-norm is inf; torch's x |x| / inf^2 times g = 0 is 0 for
    # x = 1.5e19 (x |x| = 2e38) and NaN for 7.9e21, where the composed root's chain rule
    # multiplied 0 by 3 x^2 = inf for both
    x = A([[[-5.4685711e-11, 1.0496429e-10]], [[7.9080344e21, 1.4666206e19]]], dtype=np.float32)
    check(lambda L, F, x: L.norm(x, p=3.0, dim=None, keepdim=True), x, g=0.0)
    # seed 1110259477: NaN upstream gradients of the other rows reached the second derivative of
    # the last one (g = 0 there; torch 0)
    x = A(
        [[-1.8751469e-28, 8.6266881e14], [-2.5253966e-08, -5.4429015e15],
         [2.5517755e13, 2.6320202e19], [-6.2115224e-09, 5.4252252e-27]],
        dtype=np.float32,
    )  # fmt: skip
    check(lambda L, F, x: L.norm(x, p=3.0, dim=-1), x, g=A([NAN, NAN, NAN, 0.0], np.float32))
    for p in (0.5, 1.5, 3.0):  # torch's three general-p formulas on ordinary values
        x = A([[0.3, -1.2, 2.5], [0.0, 0.7, -0.1]])
        check(lambda L, F, x, p=p: L.norm(x, p=p, dim=-1), x, g=A([0.9, -1.3]))


def test_instance_norm_gradient_with_a_huge_upstream_gradient():
    # seed 64645105: the composed normalization's gradient went through inf - inf (NaN)
    x = A([[[0.0669964826, 0.742098132], [0.243112413, -4.94065646e-324]]])
    g = A([[[0.161234717, 2.39664784], [2.80883933, -1.85503403e307]]])
    check(lambda L, F, x: F.instance_norm(x), x, g=g, second=False)


def test_instance_norm_second_derivative_where_the_variance_overflows():
    # seed 64546816: float32 squares of 8.5e37 overflow (var inf, 1 / sigma 0); torch's second
    # derivative is 0 there, the composition's was inf * 0 = NaN
    x = A([[[1.0, -8.5070587e37, 8.5070587e37, 1.0]]], dtype=np.float32)
    check(lambda L, F, x: F.instance_norm(x), x, g=0.0)


def test_instance_norm_second_derivative_of_a_constant_group_under_a_huge_gradient():
    # seed 22296434: a constant group (1 / sigma = 1 / sqrt(eps)) under g = 4.3e37 in float32:
    # the chain through 1 / sigma formed g / sigma^3 = inf before it met x - mean = 0 (NaN);
    # torch's second derivative is 0
    x = np.zeros((1, 1, 5, 1), np.float32)
    g = A([-4.3093072e37, 4.3093072e37, -0.33161378, 0.19574472, -0.16403678], np.float32)
    v = A([0.3, -1.2, 0.8, 2.0, -0.5], np.float32).reshape(x.shape)
    check(lambda L, F, x: F.instance_norm(x), x, g=g.reshape(x.shape), v=v, rtol=1e-5)
    check(lambda L, F, x: F.layer_norm(x, (5, 1)), x, g=g.reshape(x.shape), v=v, rtol=1e-5)


def test_layer_norm_second_derivative_of_a_constant_row_under_a_huge_direction():
    # seed 2030081466: a constant row (1 / sigma = 1 / sqrt(eps)), g = 0 and a direction u of
    # 1e307: the chain formed u / sigma (inf) before the projection's u - mean u, inf - inf =
    # NaN; torch's second derivative by x is 0 and by g the overflowed +-inf of P(u) w / sigma
    x, g = np.zeros(3), np.zeros(3)
    w, b = A([-2.199209, -0.847332, 0.401002]), A([0.416912, -0.568518, 1.112161])
    u = A([4.510001e306, 3.713535e307, 1.705416e307])
    res = []
    for name in ("torch", "hg"):
        L, F = _lib(name)
        grad = torch.autograd.grad if name == "torch" else hg.grad
        tx, tg = L.tensor(x, requires_grad=True), L.tensor(g, requires_grad=True)
        out = F.layer_norm(tx, (3,), L.tensor(w), L.tensor(b))
        (dx,) = grad(out, [tx], tg, create_graph=True)
        d2 = grad((dx * L.tensor(u)).sum(), [tx, tg])
        res.append([a.detach().numpy() for a in d2])
    for a, c in zip(res[1], res[0]):
        _same(a, c, "second derivative")
    assert (res[1][0] == 0).all() and np.isinf(res[1][1]).all()


def _norm_second_derivative(lib, x, g, u, w=None):
    grad = torch.autograd.grad if lib is torch else hg.grad
    tx, tg = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
    out = lib.nn.functional.layer_norm(tx, x.shape[-1:], None if w is None else lib.tensor(w))
    (dx,) = grad(out, [tx], tg, create_graph=True)
    return [a.detach().numpy() for a in grad((dx * lib.tensor(u)).sum(), [tx, tg])]


def test_layer_norm_second_derivative_under_a_huge_direction_runs_wider():
    # seed 22292030 (float32): u = -1.6e36 in a group with 1 / sigma = 12.5; the exact second
    # derivative 2.5e38 is torch's, the float32 chain overflowed (NaN, -inf) before the terms
    # cancelled. The recorded backward runs in float64 and rounds once.
    x = A([-0.09107295, 0.06004238, -0.12382229], np.float32)
    g = A([-0.44747552, -1.9099385, 0.08270732], np.float32)
    u = A([-1.5744279e36, 0.85217649, 0.0060011991], np.float32)
    w = A([3.959255, -0.875642, -0.782873], np.float32)
    t, h = _norm_second_derivative(torch, x, g, u, w), _norm_second_derivative(hg, x, g, u, w)
    for a, c in zip(h, t):
        np.testing.assert_allclose(a, c, rtol=1e-5)
    # seed 376554886 (float64): u = 8.4e307; the exact values (mpmath) are -1.742e308,
    # 5.560e307, 1.186e308; torch's float64 double backward gives -inf for the second, the
    # float64 chain gave NaN for the first. handgrad runs it in long double.
    if np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp:
        x = A([-0.38390319, -1.43519936, -0.24147724])
        g = A([0.67026245, -1.34898929, 0.40860596])
        u = A([8.39903393e307, -6.39816383e-001, -6.42690849e-001])
        d2x = _norm_second_derivative(hg, x, g, u)[0]
        exact = [-1.7420307167572447e308, 5.55972174617477e307, 1.1860585421397676e308]
        np.testing.assert_allclose(d2x, exact, rtol=1e-6)  # (x, g, u here to 9 digits)


def test_group_norm_second_derivative_by_its_weight_under_a_huge_direction():
    """fuzz seed 2113513418 (float32): group_norm(groups=1) with a weight, a direction u of
    -1.3e38 at x. The weight is inside the fused node, so that d = g w is formed in the wider
    float of its recorded backward: the cotangent of d, P(u) / sigma = -3.8e38, passes float32's
    range, those of g (w times it, 1.1e38) and of w (g times it, -8.4e31) do not. With the
    weight multiplied after the node, d's cotangent was cast to float32 (-inf) on its way to w
    and g: torch -8.44e31 and 1.1e38, handgrad -inf and inf."""
    x = A(
        [0.41077888, -0.41774514, 0.21992731, 0.0, -0.040111184, 0.30073804, -0.27397117,
         -0.019147232, -0.67900258, 0.17255348, 1.4012985e-45, -0.074770316], np.float32,
    ).reshape(1, 3, 4, 1)  # fmt: skip
    g = A(
        [0.0, -2.3841858e-07, 2.3841858e-07, 1.1920929e-07, 0.0, 0.0, 2.9802322e-08, 0.0,
         1.9073486e-06, 6.5994263e-03, -1.7452240e-04, 1.5258789e-05], np.float32,
    ).reshape(x.shape)  # fmt: skip
    u = A(
        [0.54770237, 3.1681006, -1.3054893e38, -0.71312118, 2.19736, 0.19900663, 0.41109276,
         5.0229874, -0.84647375, 3.4023509, 0.3716929, -1.4349257], np.float32,
    ).reshape(x.shape)  # fmt: skip
    w, b = (
        A([-0.29058787, 0.71162164, 0.19352971], np.float32),
        A([-1.2385659, -2.064343, -0.1049421], np.float32),
    )
    vw, vb = (
        A([1.3613147, -0.65146996, 0.66723209], np.float32),
        A([1.9496115, 1.1037917, -1.4561982], np.float32),
    )
    got = []
    for L in (torch, hg):
        grad = torch.autograd.grad if L is torch else hg.grad
        F = _lib("torch" if L is torch else "hg")[1]
        tx, tw, tb, tg = (L.tensor(a, requires_grad=True) for a in (x, w, b, g))
        dx, dw, db = grad(F.group_norm(tx, 1, tw, tb), [tx, tw, tb], tg, create_graph=True)
        s = (dx * L.tensor(u)).sum() + (dw * L.tensor(vw)).sum() + (db * L.tensor(vb)).sum()
        got.append([a.detach().numpy() for a in grad(s, [tx, tw, tg])])
    for a, c, what in zip(got[1], got[0], ("x", "the weight", "g")):
        assert np.isfinite(c).all()
        np.testing.assert_allclose(a, c, rtol=1e-5, err_msg=f"second derivative by {what}")


def test_batch_norm_second_derivative_under_a_huge_direction_runs_wider():
    # seed 1884927173 (float32): values near 0 (1 / sigma near 1 / sqrt(eps)) and u up to 6e36:
    # torch's second derivative is finite (4.8e35, ...), the float32 chain overflowed (NaN)
    x = A(
        [[[5.079087e-08, -1.103167e-27]], [[-2.387793e-08, 2.960724e-20]],
         [[4.943229e-08, 2.718132e-18]], [[-1.018811e-10, -1.427677e-18]]], np.float32,
    )  # fmt: skip
    g = A(
        [[[2.43927, 0.676042]], [[1.083763, -0.027793]], [[-0.918832, 0.029595]],
         [[-0.137449, -0.44901]]], np.float32,
    )  # fmt: skip
    u = A(
        [[[3.326015e18, 1.0315]], [[-3.808181e29, -0.2372269]], [[1.877833e30, -6.133692e36]],
         [[2.515045, 3.552159e18]]], np.float32,
    )  # fmt: skip
    res = []
    for name in ("torch", "hg"):
        L, F = _lib(name)
        grad = torch.autograd.grad if name == "torch" else hg.grad
        tx = L.tensor(x, requires_grad=True)
        w, b = L.tensor(A([-0.550171], np.float32)), L.tensor(A([0.508266], np.float32))
        (dx,) = grad(F.batch_norm(tx, None, None, w, b, True), [tx], L.tensor(g), create_graph=True)
        res.append(grad((dx * L.tensor(u)).sum(), [tx])[0].detach().numpy())
    assert np.isfinite(res[1]).all()
    np.testing.assert_allclose(res[1], res[0], rtol=1e-3)


def test_batch_norm_of_a_channel_whose_variance_overflows():
    # seed 22289356: float32 values at +-3.4e38, variance inf, 1 / sigma = 0: torch's output is
    # exactly the bias, where x - mean overflowed for 3.4e38 (inf * 0 = NaN)
    x = A([-3.4028235e38, 0.9404932, 0.1346935, 0.4388925, 3.4028235e38, -3.4028235e38], np.float32)
    w, b = A([-0.320947], np.float32), A([-0.5971598], np.float32)
    check(
        lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, True),
        x.reshape(6, 1),
        w,
        b,
        g=A([-1.0, -0.5, 0.0, 0.5, 1.0, 0.25]).reshape(6, 1),
        second=False,
    )


def test_batch_norm_second_derivative_where_the_variance_overflows():
    # seed 22291501: float64 values at +-4.5e307, variance inf, 1 / sigma = 0; through the
    # weight's gradient sum(g x^) the second derivative met sum(g (x - mean)) = inf times the
    # zero derivative of 1 / sigma (NaN); torch's is 0
    x = A([-4.4942328371557893e307, -0.568, -0.99, 1.77, 0.79, 4.4942328371557893e307, 0.876])
    check(
        lambda L, F, x, w, b: F.batch_norm(x, None, None, w, b, True),
        x.reshape(7, 1),
        A([-0.2256]),
        A([-0.53]),
        g=A([2.54, -0.91, -0.63, -1.09, 2.54, -0.91, -0.63]).reshape(7, 1),
        v=np.cos(np.arange(7.0)).reshape(7, 1) + 2,
    )


def test_instance_norm_of_a_group_whose_variance_overflows_is_plus_zero():
    # seed 493599119: torch runs instance_norm as a batch norm, x (w rstd) + (b - mean w rstd)
    # with rstd = 0, exactly +0 (x - mean gave -0 for the zeros); a later 1 / x tells them apart
    x = A([[[8.5e37, 0.0, 0.0, 0.36, 0.0, -0.15, -3e38]]], dtype=np.float32)
    check(lambda L, F, x: 1 / F.instance_norm(x), x, second=False)


def test_softmin_second_derivative_at_a_tie_of_huge_values():
    # seed 493528831: out = [0, 0, 0.5, 0.5] and the direction equal on the tie: torch's
    # g u - g sum(out u) cancels exactly (0); u (g - s) - g sum(out u) left 2.2e12 of noise
    x = A([-1.9340494e9, -1.3289781e10, -1.2890791e20, -1.2890791e20], np.float32)
    g = A([1.0717039, 0.039450012, 0.3821815, 0.1075579], np.float32)
    v = A([1.0350678e10, 1.1447037e10, -2.9997664e20, -2.9997664e20], np.float32)
    check(lambda L, F, x: F.softmin(x, 0), x, g=g, v=v, rtol=1e-5)


def test_log_softmax_second_derivative_under_a_huge_gradient():
    # seed 376568418: sum(g) = 7.8e307; torch's (-sum(g) e^out) u stays finite (2.7e307),
    # the composition's u sum(g) overflowed first (inf)
    x = A([0.2801418718965387, 1.0, 0.02295045476878844])
    g = A([7.784196111507124e307, -2.139865099217995, 4.910400269485125])
    v = A([-1.3699719164656883, -0.36637688082519654, 2.6133799609155917])
    check(lambda L, F, x: F.log_softmax(x, 0), x, g=g, v=v)


def test_layer_norm_of_a_row_whose_sum_overflows():
    # seed 1110239952: five copies of 4.5e307 sum to inf (mean inf, x - mean NaN); torch's
    # Welford mean never forms the sum and the output is exactly the bias
    x = np.vstack([np.full(5, 4.4942e307), A([0.2, 0.23, 0.21, 0.24, 0.19])])
    w, b = A([-0.2274, -2.1515, -2.4902, 0.5672, -0.7475]), A([0.1172, -0.71, 0.72, 0.54, -0.44])
    out = hF.layer_norm(hg.tensor(x), (5,), hg.tensor(w), hg.tensor(b)).numpy()
    ref = tF.layer_norm(torch.tensor(x), (5,), torch.tensor(w), torch.tensor(b)).numpy()
    _same(out, ref, "layer_norm")
    assert (out[0] == b).all()
    # (torch's gradients of the huge row are NaN, handgrad's finite: the accepted
    # torch_overflows; the ordinary row's derivatives are compared)
    g = A([0.3, -1.2, 0.8, 2.0, -0.5])
    check(lambda L, F, x, w, b: F.layer_norm(x, (5,), w, b), x[1:], w, b, g=g, rtol=1e-6)


def test_binary_cross_entropy_with_logits_gradient_near_the_largest_float():
    # seed 64676679: g (sigmoid(x) - y) = 1.28e308 is finite, g (1 - y) was not
    x, y = A([-0.5191727428420708, 0.3]), A([-1.1286571073990948, 0.5])
    check(
        lambda L, F, x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
        x,
        y,
        g=A([8.501837630383353e307, 1.0]),
        second=False,
    )


@pytest.mark.parametrize("pos_weight", [None, [0.5, 3.0]])
def test_binary_cross_entropy_with_logits_derivatives(pos_weight):
    x, y = A([[-3.0, 0.2], [40.0, -40.0]]), A([[0.0, 0.7], [1.0, 0.25]])

    def fn(L, F, x, y):
        pw = None if pos_weight is None else L.tensor(A(pos_weight))
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="sum")

    check(fn, x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_mean_divides_the_gradient_last(dtype):
    """torch's binary_cross_entropy_backward is g (p - y) / max((1 - p) p, e) / N with the scalar
    g, its double backwards divide by N last too; through a separate mean, (g / N) (p - y) / q
    parted from it by an ulp that a later step amplified (fuzz seed 1381926862). The same p
    in both: the values, the gradient and the second derivatives by g, p and y to the bit."""
    r = np.random.default_rng(5)
    p = np.concatenate([r.uniform(0, 1, 30), [0.0, 1.0, 1e-13, 0.5]]).astype(dtype)
    y = r.uniform(0, 1, p.shape).astype(dtype)
    u = r.standard_normal(p.shape).astype(dtype)
    got = []
    for name in ("torch", "hg"):
        L, F = _lib(name)
        grad = torch.autograd.grad if name == "torch" else hg.grad
        pt, yt = L.tensor(p, requires_grad=True), L.tensor(y, requires_grad=True)
        g = L.tensor(np.array(-0.16560042441451242, dtype), requires_grad=True)
        out = F.binary_cross_entropy(pt, yt)
        (d,) = grad(out, [pt], g, create_graph=True)
        second = grad((d * L.tensor(u)).sum(), [g, pt, yt])
        got.append([out.detach().numpy(), d.detach().numpy(), *(a.numpy() for a in second)])
    # the loss is a sum in float32, in another order than torch's vectorised one
    np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-6)
    for a, b in zip(got[1][1:], got[0][1:]):
        np.testing.assert_array_equal(a, b)


def test_binary_cross_entropy_with_logits_mean_divides_the_gradient_last():
    """fuzz seed 1778864417: the derivative of the mean's input gradient by g is
    sum((u / N) (sigmoid(x) - y)) in torch, 6.0e307; (g / N) (sigmoid(x) - y) through a
    separate mean summed u (sigmoid(x) - y) / N, inf."""
    x = A([-1.1370614028920125] * 3)
    y = A([0.38799876478384537, 0.69408021864977776, 4.4942328371557893e307])
    u = A([-4.012531758796819] * 3)
    got = []
    for name in ("torch", "hg"):
        L, F = _lib(name)
        grad = torch.autograd.grad if name == "torch" else hg.grad
        t = L.tensor(x, requires_grad=True)
        g = L.tensor(A(-0.5), requires_grad=True)
        out = F.binary_cross_entropy_with_logits(t, L.tensor(y))
        (d,) = grad(out, [t], g, create_graph=True)
        got.append(
            [
                out.detach().numpy(),
                d.detach().numpy(),
                *(a.numpy() for a in grad((d * L.tensor(u)).sum(), [g])),
            ]
        )
    assert got[0][2] == pytest.approx(6.011083996838379e307, rel=1e-12)
    for a, b in zip(got[1], got[0]):  # (handgrad's sigmoid(-1.137) is 1 ulp above torch's)
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_binary_cross_entropy_second_derivative_of_a_float32_sigmoid():
    # seed 64557442: out - out^2 lost the digits of 1 - out near out = 1 (2x off in grad2)
    check(
        lambda L, F, x: F.binary_cross_entropy(x.sigmoid(), L.tensor(A(0.0619676, np.float32))),
        A(8.867229, dtype=np.float32),
        g=0.8853495,
        rtol=1e-5,
    )


def test_binary_cross_entropy_second_derivative_under_a_subnormal_gradient():
    """fuzz seed 376548274: g = -8e-45; handgrad multiplied g by the numerator before dividing
    (0 where torch and the float64 value are -2.8e-45); torch forms the fraction first."""
    x = A([[1.8678751, -0.0], [INF, 0.8025743], [0.0, 1.1533365]], np.float32)
    y = A([[0.5602977, 0.16813146], [0.01818238, 0.5484027], [0.81193644, 0.8145645]], np.float32)
    v = A([[0.29378832, -0.75236192], [-0.51796337, 0.33684449], [1.35694984, 0.98241386]])
    got = []
    for name in ("torch", "hg"):
        L, F = _lib(name)
        grad = torch.autograd.grad if name == "torch" else hg.grad
        t = L.tensor(x, requires_grad=True)
        g = L.tensor(A(-8e-45, np.float32), requires_grad=True)
        out = F.binary_cross_entropy(t.sigmoid(), L.tensor(y), reduction="sum")
        (d,) = grad(out, [t], g, create_graph=True)
        got.append([a.numpy() for a in grad((d * L.tensor(v.astype(np.float32))).sum(), [t, g])])
    for a, b in zip(got[1], got[0]):
        np.testing.assert_array_equal(a, b)


def test_mean_backward_divides_before_its_transpose_sums():
    """torch's mean backward expands g and then divides by N, so the second derivative sums
    u_i / N; handgrad's used to sum the u_i first, which overflowed near the largest float
    (found through rms_norm by the fuzzer, seed 64542477: NaN where torch is finite)."""
    check(
        lambda L, F, x, w: (x * x).mean(0, keepdim=True) * w,
        A([1.5, 0.065, 6e307, 6e307]),
        A([-1.1, 0.8, -0.9, -0.1]),
        g=np.array([0.0, 0.13, 0.13, 0.0]),
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, F, x: F.relu(x),
        lambda L, F, x: F.relu6(x),
        lambda L, F, x: L.clamp(x, 0.0, 6.0),
        lambda L, F, x: L.clamp(x, max=0.0),
        lambda L, F, x: L.clamp(x, L.zeros_like(x), L.ones_like(x)),
    ],
)
def test_minus_zero_is_kept_on_a_tie_with_the_bound(fn):
    """torch's relu and clamp keep a -0.0 input (a tie with the bound 0 returns the input);
    1 / out tells it apart (found by the fuzzer, seed 64557627: relu then rdiv gave inf for
    torch's -inf)."""
    x = np.array([-0.0, 0.0, -1.0, np.nan, 2.0, 7.0], dtype=np.float32)
    h = fn(hg, hF, hg.tensor(x)).numpy()
    t = fn(torch, tF, torch.tensor(x)).numpy()
    np.testing.assert_array_equal(h, t)
    np.testing.assert_array_equal(np.signbit(h), np.signbit(t))


def test_cumsum_of_minus_zero_is_plus_zero():
    """torch's running sum starts from +0.0: cumsum of a leading -0.0 is +0.0, which a later
    1 / x tells apart (found by the fuzzer, seed 64594864)."""
    for dtype in (np.float32, np.float64):
        x = np.array([[-0.0, 2.0], [-0.0, -2.0], [1.0, -0.0]], dtype=dtype)
        for dim in (0, 1):
            h = hg.tensor(x).cumsum(dim).numpy()
            t = torch.tensor(x).cumsum(dim).numpy()
            np.testing.assert_array_equal(h, t)
            np.testing.assert_array_equal(np.signbit(h), np.signbit(t))


def test_remainder_zero_has_the_dividend_sign():
    """torch's remainder of a multiple of b is a zero with a's sign (NumPy's has b's); a later
    1 / x tells them apart (found by the fuzzer, seed 64542658)."""
    a = np.array([0.0, -0.0, 4.0, -4.0, 3.0, -3.0])
    for b in (2.0, -2.0):
        h = hg.remainder(hg.tensor(a), b).numpy()
        t = torch.remainder(torch.tensor(a), b).numpy()
        np.testing.assert_array_equal(h, t)
        np.testing.assert_array_equal(np.signbit(h), np.signbit(t))


# ---- prod and cumprod: torch's backward formulas, formula for formula ----------------------------


def test_cumprod_second_derivative_past_a_zero_under_a_nan_gradient():
    # fuzz seed 1110240507: in the second derivative, cumprod's own backward runs outside grad
    # mode, where torch's gradient past a slice's first zero is exactly 0 (not NaN g times 0)
    x = A([[0.0, -2.0, 2.0], [-1.0, 1.0, 0.0], [1.0, -2.0, -1.0]])
    g = A([[0.0, NAN, NAN], [0.0, NAN, 0.0], [0.0, 0.0, 0.0]])
    v = A([[-0.63, 0.88, 0.46], [-0.19, -0.58, 1.58], [-0.09, 1.5, 1.47]])
    check(lambda L, F, x: x.cumprod(0), x, g=g, v=v)


def test_prod_second_derivative_with_zeros_and_nans():
    # fuzz seed 1110263111: prod's gradient through zeros is formed by cumprod, whose backward
    # (in the second derivative) is torch's O(n) formula
    x = A(
        [
            [[-1.0, -1.0, -1.0], [-1.0, 0.0, NAN]],
            [[-1.0, -1.0, 0.0], [0.0, 0.0, 0.0]],
            [[-1.0, 0.0, -1.0], [NAN, 0.0, 0.0]],
            [[0.0, -1.0, 0.0], [-1.0, NAN, NAN]],
        ]
    )
    v = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    check(lambda L, F, x: x.prod(0), x, g=np.zeros((2, 3)), v=v)


def test_cumprod_gradient_forms_torchs_products():
    # fuzz seed 603819545: 0, inf, +-4.5e307 and denormals; with a zero in the tensor the
    # gradient is torch's prod(a[:k]) * cumprod(a[k+1:]), so the same products overflow
    big, tiny = 4.4942328371557893e307, 5e-324
    x = A(
        [
            [2.8592811718418762e-3, -0.67154258199064, -1.2521093421202434, INF, -0.72300998579],
            [-0.6582331351447951, big, -0.5903154802140351, -tiny, -big],
            [0.0, 1.0, 1.0, 1.0, 1.0],
        ]
    )
    g = A([[-0.5171838825348155, 0, 0, 0, 0], [-0.5171838825348155, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    v = A([[1.28, -0.2, 1.25, 1.04, 0.009], [0.16, -0.89, 0.27, -0.79, 0.48], [1, 1, 1, 1, 1]])
    check(lambda L, F, x: x.cumprod(1), x, g=g, v=v)


def test_prod_of_all_with_two_zeros_outside_grad_mode():
    # torch's prod() (no dim) returns zeros there, without forming the products (0 * inf)
    x = A([0.0, INF, 0.0, 2.0])
    got = []
    for L in (torch, hg):
        t = L.tensor(x, requires_grad=True)
        t.prod().backward(L.tensor(NAN, dtype=L.float64))
        got.append(t.grad.numpy())
    _same(got[1], got[0], "gradient")


def test_prod_with_a_zero_beside_factors_whose_product_overflows():
    # fuzz seed 693041358: finite factors with a zero are exactly -0 (nine negative factors) in
    # torch, where a partial product in NumPy's order overflows to -inf first (-inf * 0 = NaN)
    x = np.array(
        [-3.801799e19, -9.907072e17, -4.277247e17, -1.258488e17, -1.391992e11, -7.712069e09]
        + [-1.377121e09, -1.500043e-02, -1.338124e-05]
        + [0.0] * 16
        + [7.053465e-05, 2.790670e02, 1.491428e03, 2.456295e04, 2.846487e14, 1.046196e17]
        + [2.618885e27, 1.676181e28],
        np.float32,
    )
    want = torch.tensor(x).prod(-1, keepdim=True).numpy()
    got = hg.tensor(x).prod(-1, keepdim=True).numpy()
    assert want[0] == 0 and np.signbit(want[0])
    _same(got, want, "value")
    # with an inf factor the product is NaN in both
    y = x.copy()
    y[-1] = np.inf
    _same(hg.tensor(y).prod(-1).numpy(), torch.tensor(y).prod(-1).numpy(), "value")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_expm1_gradient_from_the_output(dtype):
    # torch 2.13's expm1 backward is g (out + 1): exactly 0 where out + 1 rounds to 0 (a = -40 in
    # float64, -20 in float32), where g e^a would be positive
    x = A([-40.0, -20.0, -1e-9, 0.0, 3.0, 700.0], dtype=dtype)
    got = []
    for L in (torch, hg):
        t = L.tensor(x, requires_grad=True)
        grad = torch.autograd.grad if L is torch else hg.grad
        got.append(grad(t.expm1(), [t], L.tensor(np.ones(6, dtype)))[0].numpy())
    assert np.array_equal(got[1], got[0])
    check(lambda L, F, x: x.expm1(), x, g=A([0.5, -1.0, 2.0, 1.0, -0.25, 1e-300], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log1p_of_subnormals_is_torchs(dtype):
    """torch's log1p of a subnormal a is 2 (a / 2): 0 at the smallest one, so a later log gives
    -inf (found by the fuzzer, seed 1253913920: log1p then log), and +0 also at the negative
    smallest one, so a later 1 / x gives +inf (seed 376578574)."""
    info = np.finfo(dtype)
    r = np.random.default_rng(0)
    x = (r.uniform(-1, 1, 1000) * info.tiny).astype(dtype)
    x[:4] = [info.smallest_subnormal, -info.smallest_subnormal, 0.0, info.tiny]
    h = hg.tensor(x).log1p().numpy()
    t = torch.tensor(x).log1p().numpy()
    np.testing.assert_array_equal(h, t)
    np.testing.assert_array_equal(np.signbit(h), np.signbit(t))


def test_sigmoid_second_derivative_where_its_own_term_is_zero():
    """sigmoid's backward is torch's primitive sigmoid_backward, whose derivative in the output
    s is one product gg g (1 - 2 s); as the sum gg g (1 - s) - gg g s it cancelled to 0 at
    s = 0.5 and swallowed the smaller term that soft_margin_loss sends to s (fuzz seed
    376517422: handgrad 0, torch -1.3e-22 per unit g)."""
    check(
        lambda L, F, x: F.soft_margin_loss(
            x.sigmoid(), L.tensor(A(-1.3569e-10, np.float32)), reduction="none"
        ),
        A(1.8320935e-31, np.float32),
        g=np.float32(-4.4782823e19),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, F, x: F.silu(
            F.mse_loss(x, L.tensor(A([0.2394], np.float32)), reduction="none").repeat(0)
        ).asin(),
        lambda L, F, x: (x * x).gather(0, L.tensor(np.zeros(0, np.int64))).mean(),
    ],
)
def test_second_derivative_through_an_empty_intermediate(fn):
    """The gradient of a node with an empty output is a constant 0, as torch's: it kept a graph
    back to the empty g, and the second derivative multiplied that 0 by the first derivative's
    inf (fuzz seeds 902683471, 64550814, 64596614: NaN where torch gives 0)."""
    check(fn, A([-INF], np.float32))


def test_relu_and_where_of_a_0d_tensor():
    """A 0-d comparison is a NumPy bool scalar, not an array: the bitwise selection takes it too
    (hypothesis drew shape () for relu's parity case)."""
    for v in (-2.0, -0.0, 3.0, np.nan):
        x = np.array(v, np.float32)
        h, t = hg.tensor(x).relu().numpy(), torch.tensor(x).relu().numpy()
        np.testing.assert_array_equal(h, t)
        assert np.signbit(h) == np.signbit(t)
        got = hg.where(hg.tensor(np.array(v > 0)), hg.tensor(x), 0.0).numpy()
        np.testing.assert_array_equal(got, np.where(v > 0, x, np.float32(0)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nll_loss_mean_divides_by_the_total_weight(dtype):
    # torch divides (sum / total, -(g / total) w): a multiplication by 1 / total rounds
    # differently, -(2 w) / w gave -1.9999999999999998 for -2 and a later trunc made it -1
    # (fuzz seed 493533137: the weight below, x = 2)
    w0 = 1.9596586486815082
    out = [
        F.nll_loss(L.tensor(np.array([2.0])), L.tensor(0), weight=L.tensor(np.array([w0])))
        for L, F in (_lib("torch"), _lib("hg"))
    ]
    assert float(out[0]) == float(out[1]) == -2.0
    r = np.random.default_rng(3)
    x, w = r.standard_normal((7, 5)).astype(dtype), r.uniform(0.1, 3, 5).astype(dtype)
    y, g = r.integers(0, 5, 7), np.asarray(r.standard_normal(), dtype)
    got = []
    for L, F in (_lib("torch"), _lib("hg")):
        xt = L.tensor(x, requires_grad=True)
        o = F.nll_loss(xt, L.tensor(y), weight=L.tensor(w))
        (gx,) = (torch.autograd.grad if L is torch else hg.grad)(o, [xt], L.tensor(g))
        got.append((np.asarray(o.detach().numpy()), np.asarray(gx.detach().numpy())))
    # to the last bit: the same divisions in the same order
    np.testing.assert_array_equal(got[1][0], got[0][0])
    np.testing.assert_array_equal(got[1][1], got[0][1])


def test_cummin_of_empty_gradient_is_a_constant():
    # torch's cummaxmin_backward returns its (empty) input: no graph back to g, so the second
    # derivative by w is 2 v g, not 0 times the NaN of the mean of the empty tensor (seed 22336174)
    res = []
    for L in (torch, hg):
        grad = torch.autograd.grad if L is torch else hg.grad
        x = L.tensor(np.zeros(0, np.float32), requires_grad=True)
        w = L.tensor(np.array(-2.0, np.float32), requires_grad=True)
        r = L.sqrt(L.relu(L.cummin(x, -1).values.mean()))
        m = L.maximum(r, w)
        gx, gw = grad(m * m, [x, w], L.tensor(np.array(0.5, np.float32)), create_graph=True)
        s = gx.sum() + gw * 3.0
        res.append(grad(s, [x, w], allow_unused=True)[1])
    assert float(res[1]) == float(res[0]) == 3.0


_EMPTY_BATCH_CONVS = {
    "conv_transpose2d": (lambda F, x, w, b: F.conv_transpose2d(x, w, b, 2, 1, groups=2), 2),
    "conv_transpose1d": (lambda F, x, w, b: F.conv_transpose1d(x, w, b, 2, groups=2), 1),
    "conv2d": (lambda F, x, w, b: F.conv2d(x, w, b, padding=1, groups=2), 2),
    "conv1d": (lambda F, x, w, b: F.conv1d(x, w, b, groups=2), 1),
}


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("name", sorted(_EMPTY_BATCH_CONVS))
def test_convolution_of_an_empty_batch_is_constant_in_g(name, bias):
    # torch's gradients of the input and the weight over an empty batch have no graph back to g
    # (the bias's, g summed, has): tied to g, their zeros met the NaN of the mean of the empty
    # result in a second derivative (seeds 1711444431, 455506935: NaN where torch has None)
    fn, nd = _EMPTY_BATCH_CONVS[name]
    r = np.random.default_rng(0)
    w0 = r.standard_normal((2, 1) + (3,) * nd)
    b0 = r.standard_normal(2)
    res = []
    for L, F in (_lib("torch"), _lib("hg")):
        grad = torch.autograd.grad if L is torch else hg.grad
        x = L.tensor(np.zeros((0, 2) + (4,) * nd), requires_grad=True)
        w = L.tensor(w0, requires_grad=True)
        b = L.tensor(b0, requires_grad=True) if bias else None
        out = fn(F, x, w, b).mean().reciprocal() * -1.88
        g = L.tensor(np.array(0.7), requires_grad=True)
        leaves = [x, w] + ([b] if bias else [])
        gs = grad(out, leaves, g, create_graph=True)
        s = sum((a * L.tensor(r.standard_normal(tuple(a.shape)))).sum() for a in gs)
        got = grad(s, leaves + [g], allow_unused=True) if s.requires_grad else [None] * 4
        res.append([None if a is None else a.detach().numpy() for a in got])
    for a, b in zip(res[1], res[0]):  # None: no path, zeros
        if b is None:
            assert a is None or not a.any()
        else:
            np.testing.assert_array_equal(np.zeros(b.shape) if a is None else a, b)


def test_repeat_by_zero_gradient_is_a_constant():
    # torch's repeat_backward returns zeros with no graph when a count is 0; a second derivative
    # through it is 0 (None), not 0 times the NaN of the mean of the empty result (seed 22310359)
    res = []
    for L in (torch, hg):
        grad = torch.autograd.grad if L is torch else hg.grad
        x = L.tensor(np.array([1.0, 2.0]), requires_grad=True)
        w = L.tensor(np.array([1.5]), requires_grad=True)
        y = x.repeat(0).mean(-1, keepdim=True)
        gx, gw = grad(w / (y * y), [x, w], L.tensor(np.array([0.3])), create_graph=True)
        assert np.isnan(gw.detach().numpy()).all() and not gx.detach().numpy().any()
        s = gx.sum() + (gw * L.tensor(np.array([2.0]))).sum()
        res.append(grad(s, [x, w], allow_unused=True))
    for a, b, shape in zip(res[1], res[0], [(2,), (1,)]):  # None: no path, zeros
        a = np.zeros(shape) if a is None else a.detach().numpy()
        np.testing.assert_array_equal(a, np.zeros(shape) if b is None else b.detach().numpy())


@pytest.mark.parametrize("empty_output", [True, False])
def test_cat_gradient_of_a_1d_empty_input_is_a_constant(empty_output):
    # torch's cat_tensors_backward returns at::zeros({0}) with no graph for an input of shape (0,);
    # a second derivative through it is 0 (None), not 0 times the NaN or inf after it (fuzz seed
    # 238756618: an empty x through cat and an l1_loss mean over nothing, NaN for add's w)
    res = []
    for L in (torch, hg):
        grad = torch.autograd.grad if L is torch else hg.grad
        x = L.tensor(np.zeros(0), requires_grad=True)
        w = L.tensor(np.array([1.5]), requires_grad=True)
        if empty_output:
            y = L.cat([x, x]).mean(-1, keepdim=True)  # NaN
        else:
            y = L.cat([x, L.tensor(np.array([0.0]))])  # w / y = inf
        gx, gw = grad(w / y, [x, w], L.tensor(np.array([0.3])), create_graph=True)
        s = gx.sum() + (gw * L.tensor(np.array([2.0]))).sum()
        res.append(grad(s, [x, w], allow_unused=True))
    for a, b, shape in zip(res[1], res[0], [(0,), (1,)]):  # None: no path, zeros
        a = np.zeros(shape) if a is None else a.detach().numpy()
        np.testing.assert_array_equal(a, np.zeros(shape) if b is None else b.detach().numpy())


def test_logcumsumexp_of_nothing_passes_g_back_as_torch():
    """torch's logcumsumexp_backward returns an empty g itself: no graph to the input. Its formula
    recorded over an empty input tied the gradient to it, and a second derivative's zeros met
    logit's NaN out of [0, 1] before the narrow to nothing (fuzz seed 24732686: NaN, torch 0)."""
    x = A([[1.9679, -0.588, 0.4097], [0.47, 0.546, -0.56]])
    check(lambda L, F, x: L.logcumsumexp(x.logit().narrow(1, 3, 0), 1), x)


def _module(L, make, fill=()):
    """``make(L)`` in float64 with torch's initial values (seed 0) in both libraries, the first
    entries of its first parameter overwritten by ``fill`` (infs and NaNs)."""
    torch.manual_seed(0)
    tm = make(torch).double()
    m = tm if L is torch else make(hg).double()
    with L.no_grad():
        for i, (p, tp) in enumerate(zip(m.parameters(), tm.parameters())):
            a = tp.detach().numpy().copy()
            if i == 0:
                a.reshape(-1)[: len(fill)] = fill
            p.copy_(L.tensor(a))
    return m


def _on_empty_batch(make, shape, loss, fill=(), inputs=1):
    """A program: ``loss(m(x, ...))`` of the module ``make(L)`` on an empty batch x of ``shape``
    (passed ``inputs`` times: query, key and value)."""

    def program(L):
        m, x = _module(L, make, fill), L.tensor(np.zeros(shape), requires_grad=True)
        return loss(m(*[x] * inputs)), [x, *m.parameters()]

    return program


def _of(value, loss):
    """A program: ``loss(L, w)`` of the leaf w = ``value``."""

    def program(L):
        w = L.tensor(np.asarray(value, np.float64), requires_grad=True)
        return loss(L, w), [w]

    return program


def _layer_norm_over_nothing(L):
    """The recorded backward of a layer_norm over an empty group forms 1 / sigma's node, whose
    own backward divided by M = 0 (ZeroDivisionError; fuzz seed 734335)."""
    x, w, b = (L.tensor(np.full((2, 0), v), requires_grad=True) for v in (0.0, 1.0, 0.0))
    return (L.nn.functional.layer_norm(x, (2, 0), w, b) ** 2).sum() + x.sum(), [x, w, b]


def _squares(out):
    return (out**2).sum()


def _lstm_squares(out):
    return (out[0] ** 2).sum() + (out[1][1] ** 2).sum()  # the outputs and the last cell state


_EMPTY_IDX = np.zeros(0, np.int64)
_INF_NAN = [1.0, INF, NAN]

# programs through nodes with an empty output: (loss, leaves) in L
EMPTY_PROGRAMS = {
    "linear": _on_empty_batch(lambda L: L.nn.Linear(3, 2), (0, 3), _squares),
    "linear_inf_nan_weight": _on_empty_batch(
        lambda L: L.nn.Linear(3, 2), (0, 3), _squares, fill=[INF, NAN, -INF]
    ),
    "linear_plain": _on_empty_batch(lambda L: L.nn.Linear(3, 2), (0, 3), lambda out: out.sum()),
    "lstm": _on_empty_batch(lambda L: L.nn.LSTM(3, 2, num_layers=2), (4, 0, 3), _lstm_squares),
    "lstm_batch_first_inf_weight": _on_empty_batch(
        lambda L: L.nn.LSTM(3, 2, batch_first=True), (0, 4, 3), _lstm_squares, fill=[INF, -INF]
    ),
    "attention": _on_empty_batch(
        lambda L: L.nn.MultiheadAttention(4, 2, batch_first=True),
        (0, 5, 4),
        lambda out: (out[0] ** 2).sum(),
        inputs=3,
    ),
    "conv2d": _on_empty_batch(lambda L: L.nn.Conv2d(2, 4, 3, padding=1), (0, 2, 5, 5), _squares),
    "conv2d_inf_nan_weight": _on_empty_batch(
        lambda L: L.nn.Conv2d(2, 4, 3), (0, 2, 5, 5), _squares, fill=[INF, NAN, -INF]
    ),
    "conv2d_plain": _on_empty_batch(
        lambda L: L.nn.Conv2d(2, 4, 3), (0, 2, 5, 5), lambda out: out.sum()
    ),
    "conv_transpose2d_plain": _on_empty_batch(
        lambda L: L.nn.ConvTranspose2d(4, 2, 3, bias=False), (0, 4, 3, 3), lambda out: out.sum()
    ),
    "conv_tanh_linear_critic": _on_empty_batch(
        lambda L: L.nn.Sequential(
            L.nn.Conv2d(2, 3, 3), L.nn.Tanh(), L.nn.Flatten(), L.nn.Linear(27, 1)
        ),
        (0, 2, 5, 5),
        lambda out: out.sum(),
    ),
    "sum_of_squares": _of(np.zeros((0, 3)), lambda L, x: (x * x).sum()),
    "square_of_sum_over_dim": _of(np.zeros((0, 3)), lambda L, x: (x.sum(1) ** 2).sum()),
    "sum_and_mean": _of(np.zeros((0, 3)), lambda L, x: x.sum() + x.mean()),
    "exp": _of(np.zeros((0, 3)), lambda L, x: x.exp().sum()),
    "reshape": _of(np.zeros((0, 3)), lambda L, x: x.reshape(3, 0).sum()),
    "repeat_by_0": _of(_INF_NAN, lambda L, w: (w.repeat(0) ** 2).sum()),
    "repeat_by_0_times_w": _of(_INF_NAN, lambda L, w: (w.repeat(0, 1) * w).sum()),
    "empty_index": _of(_INF_NAN, lambda L, w: (w[L.tensor(_EMPTY_IDX)] ** 2).sum()),
    "empty_gather": _of(
        _INF_NAN, lambda L, w: (w.gather(0, L.tensor(_EMPTY_IDX)) * w[:0].exp()).sum()
    ),
    "layer_norm_over_nothing": _layer_norm_over_nothing,
    "layer_norm_of_an_empty_batch": _of(
        np.zeros((0, 3)), lambda L, x: (L.nn.functional.layer_norm(x, (3,)) ** 2).sum()
    ),
    "cat_1d": _of(np.zeros(0), lambda L, x: (L.cat([x, x]) ** 2).sum()),
    "cat_2d": _of(np.zeros((0, 3)), lambda L, x: (L.cat([x, x]) ** 2).sum()),
}


def _arrays(ts):
    return [None if t is None else t.detach().numpy() for t in ts]


@pytest.mark.parametrize("name", sorted(EMPTY_PROGRAMS))
def test_recorded_gradient_through_an_empty_node_keeps_torchs_graph(name):
    """With create_graph, the gradient through a node with an empty output requires grad where
    torch's does (the formula reads a saved value that requires grad: a Linear's weight gradient
    g^T x, an LSTM's states), with the exact value 0 (never a NaN from an inf weight), and the
    gradient penalty's second derivatives are torch's: 0 where torch's are 0, None where None.
    handgrad's were constants (no graph), and the penalty raised "does not require grad"."""
    res = {}
    for L in (torch, hg):
        grad = torch.autograd.grad if L is torch else hg.grad
        loss, leaves = EMPTY_PROGRAMS[name](L)
        gs = grad(loss, leaves, create_graph=True, allow_unused=True)
        needs = [None if g is None else g.requires_grad for g in gs]
        penalty = [(g**2).sum() + g.sum() for g in gs if g is not None and g.requires_grad]
        second = grad(sum(penalty), leaves, allow_unused=True) if penalty else None
        res[L] = needs, _arrays(gs), None if second is None else _arrays(second)
    (nt, gt, st), (nh, gh, sh) = res[torch], res[hg]
    assert nh == nt, "requires_grad of the gradients"
    for a, b in zip(gh, gt):
        np.testing.assert_array_equal(a, b)  # shapes and values, exact (None where torch's is)
    assert (sh is None) == (st is None), "a second derivative where torch has none, or not"
    for a, b in zip(sh or [], st or []):
        assert (a is None) == (b is None), "a second-order path where torch has none, or not"
        if a is not None:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_sum_whose_pairwise_intermediate_overflows(reduction):
    """NumPy's pairwise sum added max and max/4 in one accumulator (inf) where torch's order,
    and the exact sum, give max/4 (fuzz seed 22363011, through hinge_embedding_loss)."""
    x = np.ones(40)
    x[10], x[12], x[23] = -1.7976931348623157e308, 4.4942328371557893e307, 1.7976931348623157e308
    y = np.where(np.arange(40) % 3 == 0, -1.0, 1.0)
    y[[10, 12, 23]] = 1.0
    check(lambda L, F, x: F.hinge_embedding_loss(x, L.tensor(y), reduction=reduction), x)
    check(lambda L, F, x: x.sum() if reduction == "sum" else x.mean(), x)
    big = np.float32(3.4e38)
    x32 = np.ones(40, np.float32)
    x32[10], x32[12], x32[23] = -big, big / 4, big
    check(lambda L, F, x: x.sum() if reduction == "sum" else x.mean(), x32, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_gradients_in_torchs_order(reduction):
    """torch's gradient is ((x - y) norm) g, norm = 2 / N: composed as d * d under a mean it was
    (g / N) d + (g / N) d, and g / N underflowed to 0 (fuzz seed 493616293, float32, g = -1e-45:
    NaN at x = -inf, 0 at x = -2.5e36 where torch has 2.8e-10)."""
    f32 = np.float32
    x = A([-INF, -2.5203566e36, 2.9626651e-02, 0.0, 0.5, 1.4e-45], dtype=f32)
    y = A([0.38809705, 0.0, -INF, 1.0, 1.4e-45, 1.6123049], dtype=f32)
    g = A(-1.4e-45 if reduction != "none" else [-1.4e-45, 2.0, 0.5, -1.0, 1e-45, 3e38], dtype=f32)
    check(lambda L, F, x, y: F.mse_loss(x, y, reduction=reduction), x, y, g=g, rtol=1e-6)


def test_mse_loss_second_derivative_by_a_broadcast_target():
    """fuzz seed 493518517: the sum of (x - w)^2 for an infinite x and a 0-d w; its second
    derivative by w is 2 (u g) in torch's double backward (6.4e37 there), handgrad's composed
    form gave inf."""
    f32 = np.float32
    x = A([[-7.2914761e-01, 1.0, 1.4e-45], [2.3886016e-01, -2.4727216e-01, 8.5070587e37]], f32)
    w = A([[1.9344797, 0.97812432, -1.4e-45], [9.0733748e-03, -1.4874272, 0.19274694]], f32)
    check(
        lambda L, F, x, w, v: F.mse_loss(F.mse_loss(x, w), v, reduction="sum"),
        x,
        w,
        A(-1.720666, dtype=f32),
        g=A(-1.4943233, dtype=f32),
        rtol=1e-6,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_of_nothing(reduction):
    """An empty loss: NaN (mean), 0 (sum) or empty, and empty gradients (fuzz seed 1980937521:
    handgrad's 2 / N raised ZeroDivisionError where torch's is inf in C++)."""
    x, y = np.zeros((2, 0, 3)), np.zeros((2, 0, 3))
    check(lambda L, F, x, y: F.mse_loss(x, y, reduction=reduction), x, y)


@pytest.mark.parametrize("fn", ["acos", "asin"])
@pytest.mark.parametrize(
    "dtype, a, g, u",
    [
        # near |a| = 1 under a huge g: the quotient g / sqrt(1 - a^2) differentiated by the
        # root overflowed (-inf) where torch's g rsqrt(1 - a^2) is finite (fuzz seeds 757847408,
        # 1980945712)
        (np.float32, [-0.9991269], [-1.1910731e36], [0.0055133053]),
        (np.float32, [0.98173225], [2.1175343e37], [0.071757995]),
        (np.float64, [-1.0, 1.0, 0.0, 0.5, NAN, 2.0], [1.0, -2.0, 0.0, 3e307, 1.0, 1.0], [1.0] * 6),
    ],
)
def test_acos_asin_derivatives_are_torchs_rsqrt_form(fn, dtype, a, g, u):
    """asin's and acos's gradients are torch's g rsqrt(1 - a^2) and g (-rsqrt(1 - a^2)): the
    values, and the second derivatives by a and by g, are torch's bit for bit."""
    got = []
    for L in (torch, hg):
        ta, tg = (L.tensor(np.array(z, dtype), requires_grad=True) for z in (a, g))
        grad = torch.autograd.grad if L is torch else hg.grad
        (da,) = grad(getattr(L, fn)(ta), [ta], tg, create_graph=True)
        s = (da * L.tensor(np.array(u, dtype))).sum()
        got.append([d.detach().numpy() for d in (da, *grad(s, [ta, tg]))])
    for h, t in zip(*got[::-1]):
        np.testing.assert_array_equal(h, t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_and_linear_over_an_inner_dim_of_one_keep_the_sign_of_zero(dtype):
    """With an inner dim of 1, torch's matrix product (2-D, or folded to 2-D, with more than one
    output row and column) and linear's addmm give the products themselves, -0.0 for -2.4e-80
    times 0 (fuzz seed 757785005: w @ x, then a reciprocal); its vector paths and batched
    products give +0.0. handgrad gives torch's sign in each case."""
    F = {"torch": tF.linear, "hg": hF.linear}
    shapes_a = [(1,), (2, 1), (1, 1), (3, 2, 1), (3, 1, 1)]
    shapes_b = [(1,), (1, 3), (1, 1), (2, 1, 3), (1, 1, 3)]
    for sa in shapes_a:
        for sb in shapes_b:
            a, b = np.full(sa, -2.4e-80, dtype), np.zeros(sb, dtype)
            b.reshape(-1)[-1] = 9.7e43 if dtype == np.float64 else 9.7e30
            try:
                t = (torch.tensor(a) @ torch.tensor(b)).numpy()
            except RuntimeError:  # batch dims that do not broadcast
                continue
            h = (hg.tensor(a) @ hg.tensor(b)).numpy()
            assert np.array_equal(np.signbit(h), np.signbit(t)), (sa, sb, h, t)
            np.testing.assert_array_equal(h, t)
    for xs in [(2, 1), (3, 2, 1), (1, 1), (1,)]:
        for bias in (None, -0.0, 0.0):
            x, w = np.full(xs, -1.0, dtype), np.zeros((3, 1), dtype)
            outs = []
            for name, L in (("torch", torch), ("hg", hg)):
                bb = None if bias is None else L.tensor(np.full(3, bias, dtype))
                outs.append(F[name](L.tensor(x), L.tensor(w), bb).numpy())
            if (
                xs in ((1, 1), (1,))
                and bias is not None
                and np.signbit(bias)
                and dtype == np.float64
            ):
                # one row: torch's addmv, whose sign here depends on the CPU's BLAS kernel:
                # -0.0 (handgrad's) where the fuzz seed was found, +0.0 on a Xeon model 207 VM
                assert np.signbit(outs[1]).all() and (outs[0] == 0).all(), xs
                continue
            assert np.array_equal(np.signbit(outs[1]), np.signbit(outs[0])), (xs, bias)


@pytest.mark.parametrize("xs", [(0,), (3, 0), (2, 1, 0)])
def test_linear_over_an_empty_inner_dim_is_its_bias_sign_of_zero_included(xs):
    """fuzz seed 1778762734: with in_features 0 torch's addmm returns the bias itself, so a bias
    -0.0 stays -0.0 (0 + b gave +0.0, which a later 1 / x tells apart)."""
    x, w, b = (
        np.zeros(xs, np.float32),
        np.zeros((2, 0), np.float32),
        np.array([-0.7635, -0.0], np.float32),
    )
    t = tF.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b)).numpy()
    h = hF.linear(hg.tensor(x), hg.tensor(w), hg.tensor(b)).numpy()
    np.testing.assert_array_equal(h, t)
    assert np.array_equal(np.signbit(h), np.signbit(t))


def _zero_signs(fn, *arrays):
    """fn(L, F, *tensors)'s output in both libraries, the sign of its zeros included."""
    out = {}
    for name in ("torch", "hg"):
        L, F = _lib(name)
        r = fn(L, F, *[L.tensor(a) for a in arrays])
        out[name] = np.asarray(r.detach().numpy() if name == "torch" else r.numpy())
    np.testing.assert_allclose(out["hg"], out["torch"], rtol=1e-6)
    zero = out["torch"] == 0
    np.testing.assert_array_equal(np.signbit(out["hg"][zero]), np.signbit(out["torch"][zero]))


_SIGNED_GROUPS = np.array(
    [[[0.0, -0.0, 0.0, -0.0], [-0.0, -0.0, -0.0, -0.0], [0.0, 0.0, 0.0, 0.0], [-1, 1, -1, 1]]],
    np.float32,
)


@pytest.mark.parametrize(
    "norm",
    [
        lambda L, F, x: F.instance_norm(x),  # seed 22388894
        lambda L, F, x: F.instance_norm(x, weight=L.tensor([1.0, -1.0, 2.0, -2.0])),
        lambda L, F, x: F.layer_norm(x, (4,)),
        lambda L, F, x: F.layer_norm(x, (4,), weight=L.tensor([1.0, -1.0, 2.0, -2.0])),
        lambda L, F, x: F.group_norm(x, 2, weight=L.tensor([1.0, -1.0, 2.0, -2.0])),
        lambda L, F, x: F.batch_norm(x.transpose(1, 2), None, None, training=True),
    ],
)
def test_normalization_of_minus_zero_is_plus_zero(norm):
    # torch forms x a + (b - mean a) (b = 0 without a bias): its zeros are +0.0 where
    # x - mean is -0.0; a later 1 / x tells them apart
    _zero_signs(norm, _SIGNED_GROUPS)


def test_adaptive_avg_pool_of_minus_zero_is_plus_zero():
    # seed 757845857: torch sums each window from +0
    x = np.array([[[-0.0, INF]]], np.float32)
    _zero_signs(lambda L, F, t: F.adaptive_avg_pool1d(t, 4), x)
    _zero_signs(lambda L, F, t: F.adaptive_avg_pool2d(t, (2, 3)), np.full((1, 2, 2), -0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_and_min_of_a_whole_tensor_of_signed_zeros_keep_torchs_zero(dtype):
    # seed 725021272: torch's max() reduces 32-byte lanes (the later of equal values), float32
    # lanes by shuffles at the end; 18 float32 zeros of both signs gave +0.0, NumPy's -0.0
    rng = np.random.default_rng(7)
    for n in [1, 2, 3, 5, 7, 8, 9, 12, 16, 18, 25, 33, 40]:
        for _ in range(12):
            x = np.where(rng.random(n) < 0.5, -0.0, 0.0).astype(dtype)
            if rng.random() < 0.3:
                x[rng.integers(0, n)] = -1.0
            _zero_signs(lambda L, F, a: a.max(), x)
            _zero_signs(lambda L, F, a: a.min(), -x)
            _zero_signs(lambda L, F, a: a.reshape(-1, 1).t().max(), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool_mean_that_rounds_to_zero_is_plus_zero(dtype):
    # seed 656052753: a window of one -5e-324 and padding, over 2, rounds to -0.0; torch adds
    # each window's quotient to a zeroed output (+0.0), and divides rather than multiplies
    t = np.finfo(dtype).smallest_subnormal
    x = np.array([[[-t, 1.0, -t, -0.0]]], dtype)
    for kw in ({}, {"count_include_pad": False}, {"ceil_mode": True}):
        _zero_signs(lambda L, F, a, kw=kw: F.avg_pool1d(a, 2, 2, 1, **kw), x)
        _zero_signs(lambda L, F, a, kw=kw: F.avg_pool1d(a, 3, 1, 1, **kw), x)
    x2 = x.reshape(1, 1, 2, 2)
    _zero_signs(lambda L, F, a: F.avg_pool2d(a, 2, 1, 1), x2)
    _zero_signs(lambda L, F, a: F.avg_pool2d(a, 2, 1, 1, divisor_override=3), x2)
    # divided, not multiplied by 1 / 3: bit for bit
    v = np.arange(1.0, 10.0, dtype=dtype).reshape(1, 1, 3, 3) * 5
    a = tF.avg_pool2d(torch.tensor(v), 3, 1, 1).numpy()
    b = hF.avg_pool2d(hg.tensor(v), 3, 1, 1).numpy()
    assert np.array_equal(a, b)


def test_cross_entropy_probs_mean_of_zero_terms_is_minus_zero():
    # seed 757803831: torch's -(sum of the terms) / (numel / C) over one class of logit 0
    x, p = np.zeros((1, 1)), np.ones((1, 1))
    _zero_signs(lambda L, F, a, b: F.cross_entropy(a, b, label_smoothing=0.2), x, p)
    _zero_signs(lambda L, F, a, b: F.cross_entropy(a, b), np.zeros((3, 1)), np.ones((3, 1)))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_probs_mean_of_an_empty_batch_is_constant_in_g(label_smoothing):
    # torch's -(sum of the terms).fill_(nan): the loss is NaN and its gradient a constant 0, so a
    # second derivative through a later NaN reaches g by no path (seed 1381923901: handgrad's
    # mean tied the 0 to g, and 0 times the later NaN made NaN where torch has None)
    res = []
    for L, F in (_lib("torch"), _lib("hg")):
        grad = torch.autograd.grad if L is torch else hg.grad
        x = L.tensor(np.zeros((0, 3)), requires_grad=True)
        y = F.cross_entropy(x, L.tensor(np.zeros((0, 3))), label_smoothing=label_smoothing)
        out = (y * y).logsumexp(0) * 0.0
        g = L.tensor(np.array(0.7), requires_grad=True)
        (gx,) = grad(out, [x], g, create_graph=True)
        assert np.isnan(float(y.detach().numpy())) and gx.shape == (0, 3)
        res.append(grad(gx.sum() + 0.0 * x.sum(), [x, g], allow_unused=True)[1])
    assert res[0] is None and (res[1] is None or float(res[1].numpy()) == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape, dim",
    [
        ((2, 1, 4), 0),
        ((6,), 0),
        ((40,), 0),
        ((3, 37), 1),
        ((3, 37), 0),
        ((5, 2, 19), 0),
        ((4, 9), ()),
    ],
)
def test_amax_amin_of_signed_zeros_as_torch(dtype, shape, dim):
    # seed 504934291: amax over (-0.0, 0.0) is torch's -0.0 (its scalar loop keeps the first of
    # equal values, its vectorised blocks the later), not NumPy's choice
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = np.where(rng.random(shape) < 0.5, -0.0, 0.0).astype(dtype)
        x[rng.random(shape) < 0.1] = -1.0
        _zero_signs(lambda L, F, t: t.amax(dim), x)
        _zero_signs(lambda L, F, t: (-t).amin(dim), x)


@pytest.mark.parametrize("n", [2, 5, 17, 24, 48])
def test_median_of_signed_zeros_as_torch(n):
    # seeds 504938588, 1988568726: the zero std::nth_element leaves at the median's place
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = np.where(rng.random(n) < 0.5, -0.0, 0.0)
        x[rng.random(n) < 0.2] = -1.0
        _zero_signs(lambda L, F, t: t.median(), x)
        _zero_signs(lambda L, F, t: t.reshape(2, -1).median(), x[: n // 2 * 2])


@pytest.mark.parametrize("g", [1.0, NAN])
def test_float32_std_that_rounds_to_zero_has_zero_gradient(g):
    # seed 1980945609: the std of 0 and -1.4e-45 is 7e-46, 0 in float32: torch's convention
    # (gradient 0 where std = 0) holds there, also under a NaN upstream gradient
    x = np.zeros((2, 2, 4), np.float32)
    x[1, 0, 3], x[0, 1, 1] = -1.4013e-45, 1.0
    check(lambda L, F, t: t.std(0, correction=0), x, g=np.full((2, 4), g), second=False)


def test_float32_batch_norm_whose_sums_overflow():
    # seed 1980940851: twenty float32 values at 8.5e37 an ulp or two apart: their sum and the
    # squares of their spread (5e30) overflow float32; torch accumulates in double, so its mean
    # is finite and 1 / sigma 2e-31, not NaN and 0
    x = np.full(20, 8.5070586659632215e37, np.float32)
    x[12:16], x[18] = 8.507058158902981e37, 8.507059173023462e37
    g = np.linspace(-1.5, 0.8, 20).astype(np.float32).reshape(1, 1, 5, 4)
    w, b = np.array([-0.5217], np.float32), np.array([0.228], np.float32)
    check(
        lambda L, F, t, w, b: F.batch_norm(t, None, None, w, b, training=True),
        x.reshape(1, 1, 5, 4),
        w,
        b,
        g=g,
        rtol=1e-5,
    )


def test_log_softmax_gradient_that_cancels_is_torchs_fused_one():
    # seed 757811041: g proportional to softmax, so g - e^out sum(g) cancels; torch's kernel
    # rounds it once (a fused multiply-add): 2.95e15, exact 5.7e15, unfused 0
    x = np.array([0.4231150502487071, 1.0])
    g = np.array([-4.467651470403087e31, -7.954579672062816e31])
    check(lambda L, F, t: L.log_softmax(t, -1), x, g=g, second=False, rtol=1e-12)


def test_float32_softmax_gradient_under_a_uniform_upstream_gradient():
    # seed 1574869334: softmin under mean's uniform g; torch accumulates sum(g out) with fused
    # multiply-adds, so out (g - sum(g out)) is exactly 0, not 5e-9
    x = np.array([[3.9089723e-14], [4.1709305e-03], [9.3814922e04], [0.0]], np.float32)
    g = np.full((4, 1), 0.21425171, np.float32)
    check(lambda L, F, t: F.softmin(t, dim=-2), x, g=g, second=False, rtol=1e-6)


def test_erf_gradient_forms_its_factor_before_g():
    """fuzz seed 1711433580: under g = 1.8e308 erf's gradient at -0.31 is finite in torch
    (the factor 2 e^(-a^2) / sqrt(pi) < 1 first); g 2 / sqrt(pi) first overflowed to inf."""
    x, g = np.array([-0.312421, 0.0, 2.0]), np.array([1.65e308, 1.7e308, -1.7e308])
    tx = torch.tensor(x, requires_grad=True)
    torch.erf(tx).backward(torch.tensor(g))
    hx = hg.tensor(x, requires_grad=True)
    hg.erf(hx).backward(hg.tensor(g))
    np.testing.assert_array_equal(hx.grad.numpy(), tx.grad.numpy())


def _second_derivatives(op: str, x, g, u) -> list:
    """[torch, handgrad]: each the gradient of F.<op> at x under g (recorded), then the
    derivatives of its sum against u by x and by g."""
    got = []
    for name in ("torch", "hg"):
        L, F = _lib(name)
        grad = torch.autograd.grad if name == "torch" else hg.grad
        t, tg = L.tensor(x, requires_grad=True), L.tensor(g, requires_grad=True)
        (d,) = grad(getattr(F, op)(t), [t], tg, create_graph=True)
        got.append(
            [d.detach().numpy(), *(a.numpy() for a in grad((d * L.tensor(u)).sum(), [t, tg]))]
        )
    return got


def test_selu_second_derivative_is_torchs_elu_double_backward():
    """fuzz seed 1778795767: torch's elu_double_backward is elu_backward(u g, x) (x <= 0): u g
    first (-1.9e307 where g scale alpha first overflowed to -inf), and the mask a product, so a
    NaN or infinite g at x > 0 gives NaN (handgrad's selection gave 0)."""
    x = A([-0.41254922074617717, INF, 1.2161426464432039, 0.20315356407154003, -1.15])
    g = A([-1.1333231445038902e308, np.nan, np.nan, -0.42658011301388377, np.nan])
    u = A([0.14647430296078637, -0.22483267580526128, 0.8784343023993954, 0.55, 0.69])
    got = _second_derivatives("selu", x, g, u)
    assert got[0][1][0] == pytest.approx(-1.9319272083432283e307, rel=1e-12)
    for a, b in zip(got[1], got[0]):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_logsigmoid_second_derivative_where_sigmoid_of_minus_x_rounds_to_1():
    """fuzz seed 1554065915: float32 x = -60.53, g = 1.22, u = -1.3e26; the second derivative
    -g u sigmoid(x) sigmoid(-x) is 0.83 (torch too); -softplus(-x) formed 1 - sigmoid(60.5) = 0."""
    x = A([-8.4191180e-27, -6.0525982e01, 2.8907602e02], np.float32)
    g = A([-0.45926028, 1.2249925, -0.8671334], np.float32)
    u = A([2.3811767e-01, -1.3072392e26, -1.0383936e00], np.float32)
    got = _second_derivatives("logsigmoid", x, g, u)
    assert got[1][1][1] == pytest.approx(0.82868314, rel=1e-5)
    for a, b in zip(got[1], got[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("a_grad", [False, True])
def test_matmul_of_a_matrix_and_a_stack_over_an_inner_dim_of_one_keeps_torchs_zero_sign(a_grad):
    # torch folds the stack into one mm (the products themselves) only when the matrix requires
    # grad; bmm accumulates into +0.0 (fuzz seed 232803275: 4.9e-324 x -0.43)
    a = np.array([[1.1059471], [4.9406565e-324]])
    b = np.array([[[[-0.42566668, 0.35644178]]]])
    want = torch.matmul(torch.tensor(a, requires_grad=a_grad), torch.tensor(b)).detach().numpy()
    got = (hg.tensor(a, requires_grad=a_grad) @ hg.tensor(b)).detach().numpy()
    np.testing.assert_array_equal(got, want)
    assert (np.signbit(got) == np.signbit(want)).all()
    assert np.signbit(want).sum() == (2 if a_grad else 1)  # the case this pins still differs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_is_finite_where_the_exact_sum_is(dtype):
    # fuzz seed 922851472: terms of +-8.5e37 (float32) whose exact sum 2.68e38 is finite, as
    # torch's is; the BLAS's order of a stack of rows passed the largest float (inf). The
    # same at float64's range, and where the exact sum overflows both give inf
    big = float(np.finfo(dtype).max) / 4
    row = [-0.95978945, 0.41781592, -3.191007, 0.91878676]
    x = np.tile(np.array(row, dtype), (4, 3, 1))
    x[0, 0] = [3.0, 0.0, 0.0, 2.0]  # 5 big: beyond the range exactly
    w = np.array([[big], [1.0], [-big], [big]], dtype)
    want = (torch.tensor(x) @ torch.tensor(w)).numpy()
    with np.errstate(over="ignore"):
        got = (hg.tensor(x) @ hg.tensor(w)).numpy()
    assert np.isfinite(want[1:]).all() and np.isinf(want[0, 0]).all()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    exact = float(np.sum(np.array(row, np.float64) * [big, 1.0, -big, big], dtype=np.longdouble))
    assert got[1, 2, 0] == pytest.approx(exact, rel=1e-6)


def test_contiguous_gives_c_order_memory_as_torch():
    # a transposed view made contiguous is laid out in C order (torch's strides), with the
    # gradient flowing through the copy; a contiguous tensor comes back as itself
    x = hg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    t = torch.arange(24.0, dtype=torch.float64).reshape(2, 3, 4)
    c = x.transpose(0, 1).contiguous()
    assert c.is_contiguous() and c.stride() == t.transpose(0, 1).contiguous().stride()
    np.testing.assert_array_equal(c.detach().numpy(), t.transpose(0, 1).numpy())
    (c * hg.tensor(np.arange(24.0).reshape(3, 2, 4))).sum().backward()
    np.testing.assert_array_equal(
        x.grad.numpy(), np.arange(24.0).reshape(3, 2, 4).transpose(1, 0, 2)
    )
    y = hg.randn(3, 4)
    assert y.contiguous() is y


@pytest.mark.parametrize("name", ["elu", "celu", "selu"])
def test_elu_second_derivative_at_zero_is_the_linear_sides(name):
    # torch's elu_double_backward masks x < 0: at x = +-0 the second derivative is 0 (the
    # linear side), and a zero cotangent gives 0 where g s alpha overflows (fuzz seed
    # 101217825: celu(alpha=0.5) at x = 0, float32 g = 3e38, cotangent 0: handgrad was NaN)
    for x, g, u in [(0.0, 1.0, 1.0), (-0.0, 1.0, 1.0), (0.0, 3.00733e38, 0.0), (-1.0, 2.0, 3.0)]:
        got = []
        for lib, F in (_lib("torch"), _lib("hg")):
            a = lib.tensor(np.array([x], np.float32), requires_grad=True)
            gl = lib.tensor(np.array([g], np.float32), requires_grad=True)
            grad = torch.autograd.grad if lib is torch else hg.grad
            f = getattr(F, name)
            y = f(a, 0.5) if name == "celu" else f(a)
            (d,) = grad(y, [a], gl, create_graph=True)
            got.append([r.detach().numpy() for r in grad((d * u).sum(), [a, gl])])
        for t, h in zip(*got):
            np.testing.assert_allclose(h, t, rtol=1e-6)


@pytest.mark.parametrize("layout", ["contiguous", "channel_rows"])
def test_batch_norm_plain_gradient_of_a_channel_constant_g_is_exactly_zero(layout):
    # fuzz seed 601021626: a loss's mean gives batch_norm a g constant along each channel;
    # torch forms g - mean g first (the mean from a float64 sum), exactly 0, where
    # g - (db + x^ dw) / M left 2.3e-7 (which a later normalize's 1 / eps amplified)
    rng = np.random.default_rng(3)
    for x in (np.zeros((3, 3), np.float32), rng.standard_normal((5, 3, 4)).astype(np.float32)):
        if layout == "channel_rows":  # channel-first memory: the channel-row kernels' path
            x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, 0)), 0, 1)
        w = np.array([-0.0499, -0.6204, 1.2872], np.float32)
        g = np.broadcast_to(np.float32(-0.17064972), x.shape)
        got = []
        for L, F in (_lib("torch"), _lib("hg")):
            a = L.tensor(x, requires_grad=True)
            y = F.batch_norm(a, None, None, L.tensor(w), None, training=True)
            y.backward(L.tensor(np.ascontiguousarray(g)))
            got.append(a.grad.numpy())
        t, h = got
        np.testing.assert_allclose(h, t, atol=1e-6)
        if not x.any():
            assert (h == 0).all() and (t == 0).all()


@pytest.mark.parametrize("nd", [1, 2])
def test_max_pool_of_signed_zeros_keeps_the_first(nd):
    # fuzz seed 1625040937: torch's kernel keeps a window's first maximum (val > max), so of
    # -0.0 and +0.0 the earlier; NumPy's maximum kept the later
    rng = np.random.default_rng(11)
    for _ in range(20):
        shape = (2, 3, 7) if nd == 1 else (2, 2, 5, 5)
        x = np.where(rng.random(shape) < 0.5, -0.0, 0.0).astype(np.float32)
        x.reshape(-1)[:3] = [-1.0, np.nan, 2.0]
        for k, s, p in ((2, 1, 1), (3, 2, 1), (2, 2, 0)):
            _zero_signs(lambda L, F, a, k=k, s=s, p=p: getattr(F, f"max_pool{nd}d")(a, k, s, p), x)


def test_var_sum_that_overflows_in_one_row_beside_a_nan_row():
    # fuzz seed 1624993172: var's gradient by g sums u (x - mean) over a row of +-4e307 terms
    # whose exact sum, 1.7e308, is finite; the sum redone without overflow was skipped because
    # another row held a NaN, and std's second derivative was NaN where torch's is 0
    big = -4.4942328371557893e307
    x = np.array(
        [
            [big, 0.15158873331788322, -0.64115308595420639, -0.64566928283893332, 0.784] * 2,
            [0.29639440420921104, -0.71326996788835995, big, np.nan, -0.31672844287305063] * 2,
        ]
    )
    u = np.array(
        [
            [-2.070262567265905, 0.8465788286539105, 1.8171406110432595, -1.682136303667986,
             0.45849268448188424] * 2,
            [0.52, -2.79, 0.81, -0.19, -1.14] * 2,
        ]
    )  # fmt: skip
    for op in ("var", "std"):
        got = []
        for L, _ in (_lib("torch"), _lib("hg")):
            a = L.tensor(x, requires_grad=True)
            g = L.tensor(np.array([[0.0], [np.nan]]), requires_grad=True)
            grad = torch.autograd.grad if L is torch else hg.grad
            (d,) = grad(
                getattr(L, op)(a, dim=-1, keepdim=True, correction=0), [a], g, create_graph=True
            )
            got.append([r.detach().numpy() for r in grad((d * L.tensor(u)).sum(), [a, g])])
        for t, h in zip(*got):
            np.testing.assert_allclose(h[0], t[0], rtol=1e-12)  # the finite row


def test_a_mean_beside_a_slice_of_inf_keeps_its_subnormal_terms():
    # fuzz seed 1709526685: the mean of [-5e-324, 0] is -0.0 (torch's); beside a slice of -inf
    # handgrad redid every finite slice's sum scaled down, which dropped the -5e-324 (+0.0)
    x = np.array([[-5e-324, -np.inf, 1.0], [0.0, 1.0, 2.0]])
    _zero_signs(lambda L, F, a: a.mean(0), x)
    _zero_signs(lambda L, F, a: a.sum(0), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_soft_margin_second_derivative_above_its_linear_region(dtype):
    # fuzz seed 1521080800: at z = -x y = 21.7 the second derivative is y^2 e^-z g (torch's
    # e^z / (1 + e^z) differentiated), 1.5e-9 g, -inf under an inf g; the linear region's
    # constant sigmoid of 1 gave 0 for both
    # (at z = 50 torch's (1 + e^z)^2 overflows float32 to inf and its value is 0: float64 only)
    cases = [(10.85, 1.0), (10.85, np.inf)] + ([(25.0, 1.0)] if dtype == np.float64 else [])
    for x, g in cases:
        got = []
        for L, F in (_lib("torch"), _lib("hg")):
            a = L.tensor(np.array([x], dtype), requires_grad=True)
            gl = L.tensor(np.array([g], dtype), requires_grad=True)
            grad = torch.autograd.grad if L is torch else hg.grad
            y = F.soft_margin_loss(a, L.tensor(np.array([-2.0], dtype)), reduction="none")
            (d,) = grad(y, [a], gl, create_graph=True)
            got.append([r.detach().numpy() for r in grad((d * 1.3).sum(), [a, gl])])
        for t, h in zip(*got):
            np.testing.assert_allclose(h, t, rtol=1e-5)
            assert (h != 0).all()


@pytest.mark.parametrize("name", ["elu", "celu", "selu"])
def test_elu_family_at_nan_takes_the_linear_side_as_torch(name):
    # torch's kernels branch on x <= 0, so a NaN (made mid-program, e.g. by fmod) gets the
    # linear side's gradient g * scale and second derivative 0, not NaN (fuzz seed 907696075)
    runs = []
    for lib in (hg, torch):
        x = lib.tensor([np.nan, -1.0, 2.0, 0.0, -0.0], requires_grad=True)
        y = getattr(lib.nn.functional, name)(x)
        (g,) = lib.autograd.grad(y, [x], lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), create_graph=True)
        (g2,) = lib.autograd.grad(g.sum(), [x])
        runs.append([y.detach().numpy(), g.detach().numpy(), g2.numpy()])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-6, equal_nan=True)
    assert np.isfinite(runs[0][1]).all()


@pytest.mark.parametrize("probe_holds", [True, False])
def test_relu_keeps_torchs_zero_and_nan_signs_on_either_path(monkeypatch, probe_holds):
    """relu's forward is NumPy's maximum(0, a) where a probe at import shows it returns a on a
    tie and at a NaN (ops/_max_zero.py), else a bitwise selection; both give torch's -0.0, +0.0
    and NaN with its sign, on contiguous and strided arrays of both widths."""
    from handgrad.ops import _max_zero

    monkeypatch.setattr(_max_zero, "KEEPS_SIGNS", probe_holds and _max_zero.KEEPS_SIGNS)
    for dtype in (np.float32, np.float64):
        a = np.array([-0.0, 0.0, -1.5, 2.0, np.nan, -np.nan, -np.inf, np.inf] * 5, dtype)
        for x in (a, a[::3]):
            want = torch.relu(torch.tensor(x)).numpy()
            got = hg.relu(hg.tensor(x)).numpy()
            bits = f"u{x.itemsize}"
            np.testing.assert_array_equal(got.view(bits), want.view(bits))


def test_where_of_a_0d_mask_under_a_broadcast_gradient_keeps_the_inputs_shape():
    """Fuzz seed 4545945: where(mask, s, a) with a 0-d mask and scalar s, a of (1, 2, 1), under
    an upstream gradient that is one value broadcast (every stride 0, as an expand's or a
    mean's gradient gives it). The backward's selection took that gradient as its one value and
    returned the mask's shape (), which the engine could not reshape to a's shape (an error;
    torch: the mask's selection)."""
    import torch

    got = []
    for lib in (hg, torch):
        for flag in (True, False):
            a = lib.tensor(np.array([[[1.0], [-2.0]]]), requires_grad=True)
            y = lib.where(lib.tensor(flag), lib.tensor(0.5, dtype=lib.float64), a)
            one = np.broadcast_to(np.array(3.0), (1, 2, 1))  # every stride 0
            up = hg.Tensor._wrap(one) if lib is hg else torch.tensor(3.0).expand(1, 2, 1)
            (g,) = (torch.autograd.grad if lib is torch else hg.grad)(y, [a], up)
            got.append(g.numpy())
    for h, t in zip(got[:2], got[2:]):
        np.testing.assert_array_equal(h, t)
