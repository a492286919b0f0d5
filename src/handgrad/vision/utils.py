"""``torchvision.utils``: ``make_grid`` (a batch of images tiled into one) and ``save_image``,
with torchvision's arguments and arithmetic."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .._tensor import Tensor
from .transforms._transforms import _pil


def _as_batch(tensor: Any) -> np.ndarray:
    if isinstance(tensor, (list, tuple)):
        return np.stack(
            [t.detach()._data if isinstance(t, Tensor) else np.asarray(t) for t in tensor]
        )
    if isinstance(tensor, Tensor):
        return tensor.detach()._data
    raise TypeError(
        f"make_grid: tensor should be a tensor or a list of tensors, got {type(tensor).__name__}"
    )


def make_grid(
    tensor: Any,
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Tile a batch B x C x H x W (or a list of C x H x W images) into one image C x H' x W',
    ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each. One-channel
    images are repeated to three channels. ``normalize`` maps ``value_range`` (default: the
    min and max, of each image with ``scale_each``) to [0, 1], clamping outside it."""
    a = _as_batch(tensor)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        if a.shape[0] == 1:
            a = np.concatenate([a] * 3, 0)
        a = a[None]
    if a.ndim != 4:
        raise ValueError(
            f"make_grid: expected images B x C x H x W, C x H x W or H x W, got shape {a.shape}"
        )
    if a.shape[1] == 1:
        a = np.concatenate([a] * 3, 1)
    if normalize:
        a = a.copy()
        if value_range is not None and not (
            isinstance(value_range, tuple) and len(value_range) == 2
        ):
            raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified")

        def norm(img: np.ndarray) -> np.ndarray:
            low, high = value_range if value_range is not None else (img.min(), img.max())
            img = np.clip(img, low, high)
            return (img - low) / max(high - low, 1e-5)

        a = np.stack([norm(img) for img in a]) if scale_each else norm(a)
        a = a.astype(_as_batch(tensor).dtype, copy=False)
    if a.shape[0] == 1:
        return Tensor._wrap(np.ascontiguousarray(a[0]))
    nmaps = a.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = a.shape[2] + padding, a.shape[3] + padding
    grid = np.full(
        (a.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value, dtype=a.dtype
    )
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding : (y + 1) * height, x * width + padding : (x + 1) * width] = a[
            k
        ]
    return Tensor._wrap(grid)


def save_image(
    tensor: Any, fp: str | Path | BinaryIO, format: str | None = None, **kwargs: Any
) -> None:
    """``make_grid(tensor, **kwargs)`` saved as an image file (the format from ``fp``'s
    extension or ``format``): pixels ``clamp(x * 255 + 0.5, 0, 255)`` truncated to uint8, as
    torchvision."""
    grid = make_grid(tensor, **kwargs)._data
    pixels = np.clip(grid * 255 + 0.5, 0, 255).transpose(1, 2, 0).astype(np.uint8)
    _pil().fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(fp, format=format)


__all__ = ["make_grid", "save_image"]
