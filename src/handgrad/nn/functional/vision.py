"""Vision functions, as torch.nn.functional groups them: ``pad``, ``interpolate``,
``pixel_shuffle``/``pixel_unshuffle``, ``channel_shuffle``, and ``grid_sample`` and
``affine_grid`` (the spatial transformer of Jaderberg et al. 2015), as
compositions: the sample at a real-valued location (x, y) is the bilinear blend of the four
pixels around it,

    out = sum over corners (xc, yc) of  w_x(xc) w_y(yc) input[yc, xc],
    w_x(x0) = x0 + 1 - x,  w_x(x0 + 1) = x - x0  (x0 = floor x), and alike in y,

so d out / d input[yc, xc] = w_x w_y (the gather's scatter-add carries it back) and
d out / d x = sum over corners of (d w_x / d x) w_y input[yc, xc] with d w_x / d x = -1 or +1:
the gradient with respect to the sampling grid, which is what lets a network learn where to
look. Locations outside the image read zeros (``padding_mode='zeros'``) or the nearest border
pixel (``'border'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import ops
from ..._tensor import Tensor, lift
from ...composed.resample import interpolate, translate
from ...ops.shape import pad


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """[-1, 1] to pixel indices: -1 and 1 are the centres of the corner pixels
    (align_corners=True) or their outer edges (False)."""
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` (N, C, H, W) at the locations ``grid`` (N, H_out, W_out, 2), given as
    (x, y) in [-1, 1]; returns (N, C, H_out, W_out)."""
    x, g = lift(input), lift(grid)
    if mode not in ("bilinear", "nearest"):
        raise ValueError(f"grid_sample: mode must be 'bilinear' or 'nearest', got {mode!r}")
    if padding_mode not in ("zeros", "border"):
        raise ValueError(
            f"grid_sample: padding_mode must be 'zeros' or 'border', got {padding_mode!r}"
        )
    if x.ndim != 4 or g.ndim != 4 or g.shape[-1] != 2 or g.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"grid_sample: expected input (N, C, H, W) and grid (N, H_out, W_out, "
            f"2) with the same N, got {x.shape} and {g.shape}"
        )
    ac = bool(align_corners)
    n, c, h, w = x.shape
    g = g.to(x.dtype)
    ix = _unnormalize(g[..., 0], w, ac)
    iy = _unnormalize(g[..., 1], h, ac)
    if padding_mode == "border":
        ix, iy = ops.clamp(ix, 0, w - 1), ops.clamp(iy, 0, h - 1)
    src = x.permute(0, 2, 3, 1)  # (N, H, W, C): gathering pixels keeps channels last
    batch = np.arange(n).reshape(n, 1, 1)

    def corner(yc: np.ndarray, xc: np.ndarray) -> Tensor:
        inside = (xc >= 0) & (xc < w) & (yc >= 0) & (yc < h)
        vals = src[batch, np.clip(yc, 0, h - 1), np.clip(xc, 0, w - 1)]  # (N, Ho, Wo, C)
        return vals * Tensor._wrap(inside[..., None].astype(x._data.dtype))

    if mode == "nearest":
        xn = np.round(ix._data).astype(np.int64)  # round half to even, as torch's nearbyint
        yn = np.round(iy._data).astype(np.int64)
        return corner(yn, xn).permute(0, 3, 1, 2)
    x0 = np.floor(ix._data).astype(np.int64)
    y0 = np.floor(iy._data).astype(np.int64)
    wx1 = ix - Tensor._wrap(x0.astype(x._data.dtype))  # in [0, 1): the weight of x0 + 1
    wy1 = iy - Tensor._wrap(y0.astype(x._data.dtype))
    wx0, wy0 = 1 - wx1, 1 - wy1
    out = (
        corner(y0, x0) * (wy0 * wx0).unsqueeze(-1)
        + corner(y0, x0 + 1) * (wy0 * wx1).unsqueeze(-1)
        + corner(y0 + 1, x0) * (wy1 * wx0).unsqueeze(-1)
        + corner(y0 + 1, x0 + 1) * (wy1 * wx1).unsqueeze(-1)
    )
    return out.permute(0, 3, 1, 2)


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps ``theta`` (N, 2, 3) for an output of ``size``
    (N, C, H, W): grid[n, i, j] = theta[n] (x_j, y_i, 1) with x, y the normalised pixel centres.
    Linear in theta, so its gradient is the outer product with the base grid."""
    t = lift(theta)
    if len(size) != 4 or t.ndim != 3 or t.shape[1:] != (2, 3) or t.shape[0] != size[0]:
        raise ValueError(
            f"affine_grid: expected theta (N, 2, 3) and size (N, C, H, W) with the "
            f"same N, got {t.shape} and {tuple(size)}"
        )
    n, _, h, w = size

    def centres(k: int) -> np.ndarray:
        if k == 1:
            return np.zeros(1)
        lin = np.linspace(-1.0, 1.0, k)
        return lin if align_corners else lin * (k - 1) / k

    xs, ys = centres(w), centres(h)
    base = np.stack(
        [
            np.broadcast_to(xs[None, :], (h, w)),
            np.broadcast_to(ys[:, None], (h, w)),
            np.ones((h, w)),
        ],
        -1,
    ).astype(t._data.dtype)  # (H, W, 3)
    flat = Tensor._wrap(base.reshape(1, h * w, 3))
    return (flat @ t.mT).reshape(n, h, w, 2)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j goes to pixel (h r + i,
    w r + j) of channel c (Shi et al. 2016). A reshape and a permutation."""
    x, r = lift(input), int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise RuntimeError(
            f"pixel_shuffle: input of shape {x.shape} needs >= 3 dims and a "
            f"channel count divisible by upscale_factor^2 = {r * r}"
        )
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    x, r = lift(input), int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-1] % r or x.shape[-2] % r:
        raise RuntimeError(
            f"pixel_unshuffle: input of shape {x.shape} needs >= 3 dims and "
            f"height and width divisible by downscale_factor = {r}"
        )
    *lead, c, h, w = x.shape
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * m, ...) -> channels reordered (g, m) -> (m, g) (ShuffleNet, Zhang et al. 2018)."""
    x = lift(input)
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"channel_shuffle: {c} channels are not divisible into {groups} groups")
    rest = x.shape[2:]
    return x.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


__all__ = [
    "pad",
    "interpolate",
    "translate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
    "grid_sample",
    "affine_grid",
]
