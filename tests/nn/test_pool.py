"""Pooling and resampling beyond the parity cases: indices and ties against PyTorch, the layers,
translate's own properties, and the error messages for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad.nn import functional as F

torch.set_num_threads(1)
TF = torch.nn.functional


def _ties(shape, seed=0):
    """Small integers: many ties, as after a ReLU."""
    return np.random.default_rng(seed).integers(-1, 2, shape).astype(np.float64)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True),
    ],
)
def test_max_pool_indices_and_tie_gradients_match_torch(kwargs):
    x = _ties((2, 3, 7, 8))
    xh, xt = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (out, idx), (want, want_idx) = (
        F.max_pool2d(xh, return_indices=True, **kwargs),
        TF.max_pool2d(xt, return_indices=True, **kwargs),
    )
    np.testing.assert_array_equal(out.detach().numpy(), want.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
    assert idx.dtype == np.int64
    g = np.random.default_rng(1).standard_normal(want.shape)
    out.backward(hg.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_max_pool1d_and_adaptive_indices_match_torch():
    x = _ties((2, 3, 11))
    out, idx = F.max_pool1d(hg.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    want, want_idx = TF.max_pool1d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
    x2 = _ties((2, 3, 7, 5))
    out, idx = F.adaptive_max_pool2d(hg.tensor(x2), (3, 4), return_indices=True)
    want, want_idx = TF.adaptive_max_pool2d(torch.tensor(x2), (3, 4), return_indices=True)
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())


def test_a_window_of_nans_sends_its_gradient_to_the_last_nan():
    # seeds 22288941, 757798091: torch's scan (val > max || isnan(val)) keeps a window's last NaN
    nan = np.nan
    x1 = np.array([[[nan, nan], [1.0, nan], [nan, 2.0]]])
    x2 = np.array([[[[nan, nan, 1.0], [nan, 0.5, nan], [2.0, nan, nan]]]])
    x3 = np.array([[[[180.9], [nan], [nan]]]])
    for fn, tfn, x, kw in (
        (F.max_pool1d, TF.max_pool1d, x1, dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)),
        (F.max_pool2d, TF.max_pool2d, x2, dict(kernel_size=2, stride=1, padding=1)),
        (F.max_pool2d, TF.max_pool2d, x2, dict(kernel_size=2, stride=1)),
        # seed 757798091: overlapping adaptive windows (3 -> 4) of [180.9, nan, nan]
        (F.adaptive_max_pool1d, TF.adaptive_max_pool1d, x1, dict(output_size=3)),
        (F.adaptive_max_pool2d, TF.adaptive_max_pool2d, x2, dict(output_size=(4, 2))),
        (
            F.adaptive_max_pool2d,
            TF.adaptive_max_pool2d,
            x3,
            dict(output_size=(4, 1)),
        ),
    ):
        (_, idx), (want, want_idx) = (
            fn(hg.tensor(x), return_indices=True, **kw),
            tfn(torch.tensor(x), return_indices=True, **kw),
        )
        np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
        xh, xt = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = np.random.default_rng(2).standard_normal(want.shape)
        fn(xh, **kw).backward(hg.tensor(g))
        tfn(xt, **kw).backward(torch.tensor(g))
        np.testing.assert_array_equal(xh.grad.numpy(), xt.grad.numpy())


def test_a_window_of_padding_only_gives_minus_inf_and_no_gradient():
    """With dilation a window can hold only padding (PyTorch allows it, and writes that
    window's gradient outside its plane); handgrad returns -inf and passes no gradient."""
    x = hg.tensor(np.ones((1, 1, 1, 1)), requires_grad=True)
    out = F.max_pool2d(x, (1, 2), stride=1, padding=(0, 1), dilation=(1, 2))
    assert out.shape == (1, 1, 1, 1) and out.item() == -np.inf
    out.backward(hg.ones(1, 1, 1, 1, dtype=np.float64))
    assert x.grad.item() == 0.0


LAYERS = [
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 7)),
    ("MaxPool1d", dict(kernel_size=2), (2, 3, 9)),
    (
        "AvgPool2d",
        dict(kernel_size=(2, 3), stride=1, padding=1, count_include_pad=False),
        (2, 3, 5, 6),
    ),
    ("AvgPool1d", dict(kernel_size=3, stride=2, ceil_mode=True), (2, 3, 8)),
    ("LPPool2d", dict(norm_type=2, kernel_size=2), (2, 3, 6, 6)),
    ("LPPool1d", dict(norm_type=3, kernel_size=2, stride=1), (2, 3, 6)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, None)), (2, 3, 7, 5)),
    ("AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 9)),
    ("AdaptiveMaxPool2d", dict(output_size=2), (2, 3, 5, 5)),
    ("AdaptiveMaxPool1d", dict(output_size=3), (2, 3, 7)),
    ("Upsample", dict(scale_factor=2, mode="bilinear"), (2, 3, 4, 5)),
    ("Upsample", dict(size=(7, 3), mode="nearest"), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", dict(scale_factor=2), (2, 3, 4, 5)),
    ("UpsamplingNearest2d", dict(size=5), (2, 3, 4, 3)),
    ("Unfold", dict(kernel_size=2, stride=2), (2, 3, 4, 6)),
    ("Fold", dict(output_size=(4, 6), kernel_size=2, stride=2), (2, 12, 6)),
]


@pytest.mark.parametrize("name,kwargs,shape", LAYERS, ids=[n for n, _, _ in LAYERS])
def test_layer_matches_torch_layer(name, kwargs, shape):
    x = np.abs(np.random.default_rng(2).standard_normal(shape)) + 0.1
    xh, xt = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, want = getattr(hg.nn, name)(**kwargs)(xh), getattr(torch.nn, name)(**kwargs)(xt)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(xh.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- translate --------------------------------------------------------------------------------


def test_a_window_sums_its_values_in_torchs_order():
    """avg_pool2d adds a window's values one by one in row-major order, as torch's CPU kernel:
    -7.6e-30, -1, 1, 2.9e-20 sum to 2.9e-20 there (the BLAS's order, the depthwise convolution's
    product with ones, gave 0), so lp_pool2d(norm_type=1)'s gradient, 0 only where a window sums
    to 0, is torch's (fuzz seed 194620718)."""
    x = np.zeros((1, 1, 3, 3), np.float32)
    x[0, 0, :2, :2] = [[-7.58478e-30, -1.0], [1.0, 2.9089e-20]]
    x[0, 0, 2] = [0.5, -0.25, 3.0]
    hx, tx = hg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for kw in ({"kernel_size": 2, "stride": 1}, {"kernel_size": 3, "stride": 2, "padding": 1}):
        np.testing.assert_array_equal(
            F.avg_pool2d(hx, **kw).detach().numpy(),
            torch.nn.functional.avg_pool2d(tx, **kw).detach().numpy(),
        )
    h, t = F.lp_pool2d(hx, 1.0, 2, stride=1), torch.nn.functional.lp_pool2d(tx, 1.0, 2, stride=1)
    assert t[0, 0, 0, 0].item() != 0  # the window that cancels
    (hg_grad,) = hg.autograd.grad(h.sum(), hx)
    (t_grad,) = torch.autograd.grad(t.sum(), tx)
    np.testing.assert_array_equal(hg_grad.numpy(), t_grad.numpy())


def test_integer_translation_moves_pixels_and_fills_zeros():
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    out = F.translate(hg.tensor(x), 1, -2).numpy()
    want = np.zeros_like(x)
    want[..., 1:, :3] = x[..., :3, 2:]
    np.testing.assert_array_equal(out, want)
    assert not F.translate(hg.tensor(x), 5, 0).numpy().any()  # shifted off the image


def test_half_pixel_translation_averages_neighbours():
    x = np.arange(6.0).reshape(1, 6)
    out = F.translate(hg.tensor(x), 0, 0.5).numpy()
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.5, 2.5, 3.5, 4.5]])


def test_translate_gradient_is_the_opposite_shift():
    """translate is linear, so its gradient is its adjoint: <T x, y> = <x, T^T y>, and T^T is
    the shift by (-dy, -dx)."""
    r = np.random.default_rng(3)
    x, y = r.standard_normal((2, 3, 6, 7)), r.standard_normal((2, 3, 6, 7))
    xh = hg.tensor(x, requires_grad=True)
    (F.translate(xh, 0.3, -1.6) * hg.tensor(y)).sum().backward()
    np.testing.assert_allclose(
        xh.grad.numpy(), F.translate(hg.tensor(y), -0.3, 1.6).numpy(), rtol=1e-12, atol=1e-12
    )


# ---- errors -----------------------------------------------------------------------------------

ERRORS = [
    (
        lambda: F.max_pool2d(hg.randn(1, 1, 5, 5), 3, padding=2),
        r"max_pool2d: padding \(2, 2\) should be at most half of the kernel size \(3, 3\)",
    ),
    (
        lambda: F.max_pool2d(hg.randn(1, 1, 2, 2), 3),
        (
            r"max_pool2d: the output would be empty: input of shape \(1, 1, 2, 2\) with kernel "
            r"\(3, 3\)"
        ),
    ),
    (
        lambda: F.avg_pool2d(hg.randn(5, 5), 2),
        (
            r"avg_pool2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input \(N, C, H, W\), got "
            r"an input of shape \(5, 5\)"
        ),
    ),
    (lambda: F.max_pool1d(hg.randn(1, 3, 5), 0), r"max_pool1d: kernel_size must be >= 1"),
    (
        lambda: F.adaptive_avg_pool2d(hg.randn(1, 2, 4, 4), (0, 2)),
        r"adaptive_avg_pool2d: output_size must be positive",
    ),
    (
        lambda: F.interpolate(hg.randn(1, 1, 4, 4), scale_factor=2, mode="trilinear"),
        r"interpolate: mode 'trilinear' is not supported",
    ),
    (
        lambda: F.interpolate(hg.randn(1, 1, 4), scale_factor=2, mode="bicubic"),
        r"interpolate: mode 'bicubic' needs a 4-D input",
    ),
    (
        lambda: F.interpolate(hg.randn(1, 1, 4, 4), scale_factor=2, align_corners=True),
        r"interpolate: align_corners can only be set with the interpolating modes",
    ),
    (
        lambda: F.interpolate(hg.randn(1, 1, 4, 4)),
        r"interpolate: give exactly one of size and scale_factor",
    ),
    (
        lambda: F.interpolate(hg.randn(1, 1, 4, 4), size=3, mode="linear"),
        r"interpolate: mode 'linear' needs a 3-D input",
    ),
    (
        lambda: F.unfold(hg.randn(1, 2, 3, 3), 4),
        (
            r"unfold: kernel size \(4, 4\) \(dilated to \(4, 4\)\) is larger than the padded input "
            r"\(3, 3\)"
        ),
    ),
    (
        lambda: F.fold(hg.randn(1, 8, 5), (4, 4), 2, stride=2),
        r"fold: output_size=\(4, 4\).* give 2 \* 2 = 4 blocks, but the input has 5",
    ),
    (
        lambda: F.fold(hg.randn(1, 7, 4), (4, 4), 2, stride=2),
        r"fold: input has 7 rows in dim 1, not divisible by the kernel size 2 \* 2 = 4",
    ),
    (
        lambda: F.translate(hg.randn(5), 0.5, 0.5),
        r"translate: expected an input \(..., H, W\), got shape \(5,\)",
    ),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=range(len(ERRORS)))
def test_errors_name_the_operation_and_the_shapes(call, message):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError), match=message):
        call()
