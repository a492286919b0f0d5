"""Per-sample transforms (``torchvision.transforms`` names): callables applied by a dataset to
each image before batching. Images are NumPy arrays or tensors whose last two dimensions are
height and width; there is no PIL here, so ``ToTensor`` takes uint8 NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..random import Generator, _generator


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class Lambda:
    """Apply a user function ``fn(img)``."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"Lambda: fn should be callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, img: Any) -> Any:
        return self.fn(img)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.fn, '__name__', self.fn)!r})"


class ToTensor:
    """A NumPy image ``H x W`` or ``H x W x C`` to a tensor ``C x H x W``.

    uint8 pixels are scaled to float32 in [0, 1] (divided by 255); other dtypes are only
    transposed, keeping their dtype and values, as torchvision does for NumPy input."""

    def __call__(self, pic: np.ndarray) -> Tensor:
        if not isinstance(pic, np.ndarray):
            raise TypeError(
                f"ToTensor: expected a NumPy array (H x W or H x W x C), got {type(pic).__name__}"
            )
        if pic.ndim not in (2, 3):
            raise ValueError(
                f"ToTensor: expected an image H x W or H x W x C, got shape {pic.shape}"
            )
        chw = pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1)
        if pic.dtype == np.uint8:
            return Tensor._wrap(chw.astype(np.float32) / np.float32(255))
        return Tensor._wrap(np.ascontiguousarray(chw))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(img - mean[c]) / std[c]`` per channel of an image ``(..., C, H, W)``.

    On tensors that require grad the arithmetic goes through handgrad's operations, so it is
    differentiable. The result keeps a floating image's dtype (integer images become float32)."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences")
        if np.any(self.std == 0):
            raise ValueError(
                f"Normalize: std {self.std.tolist()} contains a zero, leading to division by zero"
            )

    def __call__(self, img: Any) -> Any:
        shape = tuple(img.shape)
        if len(shape) < 3:
            raise ValueError(f"Normalize: expected an image (..., C, H, W), got shape {shape}")
        c = shape[-3]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(
                    f"Normalize: {name} has {v.size} values but the image has {c} "
                    f"channels (shape {shape})"
                )
        dtype = img.dtype if img.dtype.kind == "f" else np.float32
        mean = self.mean.astype(dtype).reshape(-1, 1, 1)
        std = self.std.astype(dtype).reshape(-1, 1, 1)
        if isinstance(img, Tensor):
            if img.requires_grad:
                return (img.to(dtype) - Tensor._wrap(mean)) / Tensor._wrap(std)
            return Tensor._wrap((img._data.astype(dtype, copy=False) - mean) / std)
        return (np.asarray(img, dtype) - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _shift_int(a: np.ndarray, s: int, axis: int) -> np.ndarray:
    """``out[.., i, ..] = a[.., i - s, ..]`` along ``axis``, zero where ``i - s`` is outside."""
    n = a.shape[axis]
    out = np.zeros_like(a)
    if abs(s) >= n:
        return out
    dst = [slice(None)] * a.ndim
    src = [slice(None)] * a.ndim
    dst[axis], src[axis] = (
        (slice(s, None), slice(0, n - s)) if s >= 0 else (slice(0, n + s), slice(-s, None))
    )
    out[tuple(dst)] = a[tuple(src)]
    return out


def _bilinear_shift(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Translate the last two dimensions of ``img`` by ``(dy, dx)`` pixels (positive: down and
    right, the direction of ``np.roll``), with bilinear interpolation and zeros outside.

    ``out[y, x] = img[y - dy, x - dx]`` read between pixels: with ``dy = i + f``, ``i`` an integer
    and ``0 <= f < 1``, the sample lies between rows ``y - i`` and ``y - i - 1``, so along one
    axis ``out = (1 - f) S_i + f S_{i+1}`` where ``S_k`` is the integer shift by ``k``. Bilinear
    interpolation is this 1-D mix along rows, then along columns; the result is a
    cross-correlation with a 2 x 2 kernel ``[[(1-fy)(1-fx), (1-fy)fx], [fy(1-fx), fy fx]]``.
    Integer images are rounded to the nearest value and clipped to their dtype's range."""
    out = img.astype(np.float64) if img.dtype.kind != "f" else img
    for shift, axis in ((dy, img.ndim - 2), (dx, img.ndim - 1)):
        i = int(np.floor(shift))
        f = float(shift) - i
        lo = _shift_int(out, i, axis)
        out = lo if f == 0 else (1 - f) * lo + f * _shift_int(out, i + 1, axis)
    if img.dtype.kind in "iu":
        info = np.iinfo(img.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(img.dtype, copy=False)


class RandomTranslate:
    """Shift an image by a random sub-pixel amount ``dy, dx`` drawn uniformly from
    ``[-max_dy, max_dy] x [-max_dx, max_dx]`` (``max_shift`` in pixels: one number for both or a
    pair), with bilinear interpolation and zero fill (see ``_bilinear_shift``).

    Works on NumPy arrays and tensors ``(..., H, W)`` and keeps their type and dtype. It is data
    augmentation, outside the graph: the shift is not differentiated. The draw is
    ``rng.uniform(-max, max)`` for ``(dy, dx)`` together, from ``generator`` or the global one."""

    def __init__(
        self, max_shift: float | Sequence[float], generator: Generator | None = None
    ) -> None:
        m = np.asarray(max_shift, dtype=np.float64)
        if m.shape not in ((), (2,)) or not np.all(np.isfinite(m)) or np.any(m < 0):
            raise ValueError(
                f"RandomTranslate: max_shift must be one finite, non-negative "
                f"number or a pair (max_dy, max_dx), "
                f"got {max_shift!r}"
            )
        self.max_shift = np.broadcast_to(m, (2,)).copy()
        self.generator = generator

    def __call__(self, img: Any) -> Any:
        if img.ndim < 2:
            raise ValueError(
                f"RandomTranslate: expected an image (..., H, W), got shape {tuple(img.shape)}"
            )
        dy, dx = _generator(self.generator).uniform(-self.max_shift, self.max_shift)
        if isinstance(img, Tensor):
            return Tensor._wrap(_bilinear_shift(img._data, dy, dx))
        return _bilinear_shift(np.asarray(img), dy, dx)

    def __repr__(self) -> str:
        return f"RandomTranslate(max_shift={self.max_shift.tolist()})"
