"""Equivariance to sub-pixel translations, measured: how far ``f(T x)`` is from ``T' f(x)`` away
from the borders, where ``T`` shifts the input by (dy, dx) pixels with bilinear interpolation
(``F.translate``) and ``T'`` shifts the output by the same distance in output pixels
((dy, dx) divided by the jump, the effective stride: a stride-2 layer halves it).

Why a convolution passes: the bilinear shift is itself a cross-correlation, of each channel with a
2x2 kernel (plus an integer shift). Correlations with stride 1 commute,
``k * (t * x) = t * (k * x)``, for every channel and every term of the sum over input channels; the
bias passes unchanged because the shift kernel sums to 1. Only the borders differ, where one side
interpolates with zero padding the other never saw. Subsampling (stride, max pooling) does not
commute with a sub-pixel shift, and max is not linear, so max pooling with stride 2 is measurably
not equivariant. Used in exercise 000-a4a.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._tensor import Tensor, lift
from ..autograd import no_grad
from ..composed.resample import translate
from .receptive import receptive_field


@dataclass
class EquivarianceReport:
    """``max_abs``: the largest |f(T x) - T' f(x)| over the interior; ``max_rel``: that divided by
    the largest |T' f(x)| there; ``interior``: (first, last) output rows and columns compared;
    ``difference``: the interior difference itself."""

    shift: tuple
    out_shift: tuple
    interior: tuple
    max_abs: float
    max_rel: float
    difference: np.ndarray

    def __float__(self) -> float:
        return self.max_rel

    def __str__(self) -> str:
        return (
            f"equivariance to a shift of {self.shift} (output shift {self.out_shift}): max "
            f"|f(T x) - T' f(x)| = {self.max_abs:.3g} ({self.max_rel:.3g} relative) over "
            f"output rows/columns {self.interior}"
        )


def _analyse(f: Any, x_shape: tuple) -> Any:
    """The last layer's receptive-field record when ``f`` can be analysed, else None."""
    try:
        rec = receptive_field(f, x_shape)[-1]
    except Exception:  # noqa: BLE001  (a plain callable, or a layer the analysis does not know)
        return None
    return rec if rec.jump is not None else None


def _interior(
    rec: Any, x_shape: tuple, out_hw: tuple, shift: tuple, out_shift: tuple, border: Any
) -> tuple:
    """Per axis, the (first, last) output index whose value cannot see a border effect."""
    if border is not None:
        b = (border, border) if isinstance(border, int) else tuple(border)
        return tuple((bi, n - 1 - bi) for bi, n in zip(b, out_hw))
    margins_in = [math.ceil(abs(s)) + 1 for s in shift]
    margins_out = [math.ceil(abs(s)) + 1 for s in out_shift]
    if rec is None:  # not analysable: keep the central half
        return tuple((max(n // 4, m), n - 1 - max(n // 4, m)) for n, m in zip(out_hw, margins_out))
    out = []
    for n_out, n_in, r, j, s, mi, mo in zip(
        out_hw, x_shape[2:], rec.rf, rec.jump, rec.start, margins_in, margins_out
    ):
        o = np.arange(n_out)
        lo, hi = s + o * j - (r - 1) / 2, s + o * j + (r - 1) / 2
        ok = (lo >= mi) & (hi <= n_in - 1 - mi) & (o >= mo) & (o <= n_out - 1 - mo)
        idx = np.nonzero(ok)[0]
        out.append((int(idx[0]), int(idx[-1])) if len(idx) else (0, -1))
    return tuple(out)


def equivariance(
    f: Callable, x: Any, shift: Any, border: Any = None, out_shift: Any = None
) -> EquivarianceReport:
    """Compare ``f(translate(x, dy, dx))`` with ``translate(f(x), dy', dx')`` away from the
    borders, for images ``x`` (N, C, H, W) and ``shift`` = (dy, dx) (or one number for both).

    ``out_shift`` defaults to the shift divided by f's jump (its effective stride) when f is a
    module or a list of layers that ``receptive_field`` analyses, else to the shift scaled by
    the output size over the input size. The compared region leaves out every output unit whose
    receptive field (when ``f`` is a module
    or a list of layers that ``receptive_field`` can analyse) comes within ceil(|shift|) + 1 of
    the input border, and every unit within ceil(|out_shift|) + 1 of the output border; give
    ``border`` (output units per side) to choose it yourself.
    """
    x = lift(x)
    if x.ndim != 4:
        raise ValueError(f"equivariance: expected images (N, C, H, W), got shape {x.shape}")
    shift = (
        (float(shift), float(shift))
        if isinstance(shift, (int, float))
        else tuple(float(s) for s in shift)
    )
    with no_grad():
        y = f(x)
        y_shifted_input = f(translate(x, *shift))
    if y.ndim != 4:
        raise ValueError(f"equivariance: f must return images (N, C, H, W), got {y.shape}")
    rec = _analyse(f, x.shape)
    if out_shift is None and rec is not None:
        out_shift = tuple(s / j for s, j in zip(shift, rec.jump))
    elif out_shift is None:
        out_shift = tuple(s * m / n for s, m, n in zip(shift, y.shape[2:], x.shape[2:]))
    else:
        out_shift = (
            (float(out_shift),) * 2
            if isinstance(out_shift, (int, float))
            else tuple(float(s) for s in out_shift)
        )
    with no_grad():
        y_ref = translate(y, *out_shift)
    (r0, r1), (c0, c1) = _interior(rec, x.shape, y.shape[2:], shift, out_shift, border)
    if r1 < r0 or c1 < c0:
        raise ValueError(
            f"equivariance: no output unit is far enough from the borders to compare (output "
            f"{y.shape[2:]}, shift {shift}); use a larger input or pass border="
        )
    a = Tensor.__array__(y_shifted_input)[..., r0 : r1 + 1, c0 : c1 + 1].astype(np.float64)
    b = Tensor.__array__(y_ref)[..., r0 : r1 + 1, c0 : c1 + 1].astype(np.float64)
    diff = a - b
    max_abs = float(np.abs(diff).max())
    scale = float(np.abs(b).max())
    return EquivarianceReport(
        shift,
        out_shift,
        ((r0, r1), (c0, c1)),
        max_abs,
        max_abs / scale if scale > 0 else max_abs,
        diff,
    )


__all__ = ["EquivarianceReport", "equivariance"]
