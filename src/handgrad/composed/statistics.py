"""Statistics of torch's top-level namespace, composed of differentiable operations (so their
gradients are those of sort, where, sums and products): ``nansum``, ``nanmean``, ``quantile``,
``nanquantile``, ``cov``, ``corrcoef``; and ``histc`` (counts: not differentiable)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..ops.dims import normalize_dims
from ..ops.elementwise import where
from ..ops.shape import stack

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:
    from .._tensor_base import TensorBase as Tensor


def nansum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The sum with NaN counted as 0 (their gradient is 0)."""
    x = lift(input)
    x = x if dtype is None else x.to(dtype)
    return _sum(where(Tensor._wrap(np.isnan(x._data)), 0.0, x), dim, keepdim)


def _sum(x: Tensor, dim: Any, keepdim: bool) -> Tensor:
    return x.sum() if dim is None and not keepdim else x.sum(dim, keepdim=keepdim)


def nanmean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """The mean of the non-NaN values (NaN where there are none, as torch)."""
    x = lift(input)
    x = x if dtype is None else x.to(dtype)
    count = Tensor._wrap((~np.isnan(x._data)).astype(x.dtype))
    total = nansum(x, dim, keepdim)
    n = _sum(count, dim, keepdim)
    with np.errstate(invalid="ignore"):
        return total / n


_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(
    input: Any,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    _ignore_nan: bool = False,
) -> Tensor:
    """The q-th quantiles along ``dim`` (of all values when None), torch's rule: sorted values v
    of n, position q (n - 1), interpolated between its neighbours as ``interpolation`` says. A
    float q gives the quantile's shape; a 1-D q puts its quantiles first. A NaN in a slice makes
    its quantiles NaN (``nanquantile`` ignores NaNs)."""
    op = "nanquantile" if _ignore_nan else "quantile"
    if interpolation not in _MODES:
        raise ValueError(f"{op}: interpolation must be one of {_MODES}, got {interpolation!r}")
    x = lift(input)
    qs = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{op}: q must be a scalar or 1-D with values in [0, 1], got {qs}")
    if x.numel() == 0:
        raise RuntimeError(f"{op}: the input must be non-empty, got shape {x.shape}")
    zero_d = x.ndim == 0
    if dim is None or zero_d:  # a 0-d input's dim 0 (or -1) is its one element, as torch
        if zero_d and dim is not None:
            normalize_dims(op, dim, 1)
        x, d = x.reshape(-1), 0
    else:
        d = normalize_dims(op, dim, x.ndim)[0]
    v = x.sort(dim=d).values.movedim(d, -1)  # NaN sorts last
    n_all = v.shape[-1]
    nan = np.isnan(v._data)
    n = (n_all - nan.sum(-1, keepdims=True)) if _ignore_nan else np.full(v.shape[:-1] + (1,), n_all)
    # a slice with a NaN (quantile): torch reads its last sorted value, a NaN, and sends the
    # gradient there; a slice of NaNs only (nanquantile): its first
    bad = nan.any(-1, keepdims=True) if not _ignore_nan else (n == 0)
    at = 0 if _ignore_nan else n_all - 1
    outs = []
    for qq in qs.reshape(-1):
        pos = qq * np.maximum(n - 1, 0)
        lo, hi = np.floor(pos), np.ceil(pos)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = np.round(pos)  # half to even, as torch
        if interpolation == "midpoint":
            w = np.where(hi > lo, 0.5, 0.0)
        else:
            w = pos - lo
        lo, hi, w = np.where(bad, at, lo), np.where(bad, at, hi), np.where(bad, 0, w)
        lo_i, hi_i = lo.astype(np.int64), hi.astype(np.int64)
        a, b = v.gather(-1, Tensor._wrap(lo_i)), v.gather(-1, Tensor._wrap(hi_i))
        out = a + (b - a) * Tensor._wrap(w.astype(x.dtype))
        outs.append(out.squeeze(-1))
    stacked = outs[0] if qs.ndim == 0 else stack(outs, 0)
    if keepdim and not zero_d:
        if dim is None:
            shape = (1,) * lift(input).ndim
            stacked = stacked.reshape(stacked.shape[: qs.ndim] + shape)
        else:
            stacked = stacked.unsqueeze(d + qs.ndim)
    return stacked


def nanquantile(
    input: Any,
    q: Any,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
) -> Tensor:
    """``quantile`` of the non-NaN values of each slice (NaN for a slice of NaNs only)."""
    return quantile(input, q, dim, keepdim, interpolation=interpolation, _ignore_nan=True)


def cov(input: Any, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
    """The covariance of the variables in the rows of ``input`` (observations in columns), as
    torch.cov: sum_k w_k (x_ik - m_i)(x_jk - m_j) / (sum w - correction), with frequency and
    analytic weights multiplying into w (the correction then scaled as torch and NumPy do)."""
    x = lift(input)
    if x.ndim > 2:
        raise ValueError(f"cov: expected a 1-D or 2-D input, got shape {x.shape}")
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    fw = None if fweights is None else lift(fweights).to(x.dtype)
    aw = None if aweights is None else lift(aweights).to(x.dtype)
    w = aw if fw is None else (fw if aw is None else fw * aw)
    if w is None:
        w_sum: Any = float(n)
        mean = x.mean(1, keepdim=True)
        norm = w_sum - correction
        xc = x - mean
        prod = xc @ xc.mT
    else:
        w_sum = w.sum()
        mean = (x * w).sum(1, keepdim=True) / w_sum
        if aw is None or correction == 0:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aw).sum() / w_sum
        xc = x - mean
        prod = (xc * w) @ xc.mT
    # a correction at or above the weight's sum divides by 0, as torch's (NaN or inf)
    norm = norm.clamp(min=0.0) if isinstance(norm, Tensor) else max(norm, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = prod / norm
    return out.squeeze() if lift(input).ndim < 2 else out


def corrcoef(input: Any) -> Tensor:
    """Pearson's correlation coefficients of the rows, cov / sqrt(var_i var_j), clipped to
    [-1, 1] as torch does."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1.0, 1.0)


def histc(input: Any, bins: int = 100, min: float = 0.0, max: float = 0.0) -> Tensor:  # noqa: A002
    """Counts of the values in ``bins`` equal bins over [min, max] (the data's range when the
    two are equal), values outside ignored, the top edge in the last bin; the input's dtype, as
    torch."""
    x = lift(input)
    a = x._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:  # torch: the data's range when min equals max
        lo, hi = float(a.min()), float(a.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histc: the range [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
    counts, _ = np.histogram(a[np.isfinite(a)], bins=bins, range=(lo, hi))
    return Tensor._wrap(counts.astype(x.dtype))


__all__ = ["corrcoef", "cov", "histc", "nanmean", "nanquantile", "nansum", "quantile"]
