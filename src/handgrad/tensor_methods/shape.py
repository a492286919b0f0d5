"""Methods that rearrange elements without changing them: ``x.reshape(2, 3)``, ``x.T``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import composed, ops
from ..ops.dims import normalize_dims

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


class ShapeMethods(_Base):
    __slots__ = ()

    def movedim(self, source: Any, destination: Any) -> Tensor:
        return ops.movedim(self, source, destination)

    def moveaxis(self, source: Any, destination: Any) -> Tensor:
        return ops.moveaxis(self, source, destination)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return composed.swapaxes(self, axis0, axis1)

    def swapdims(self, axis0: int, axis1: int) -> Tensor:
        return composed.swapdims(self, axis0, axis1)

    def select(self, dim: int, index: int) -> Tensor:
        return composed.select(self, dim, index)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        return composed.rot90(self, k, dims)

    def fliplr(self) -> Tensor:
        return composed.fliplr(self)

    def flipud(self) -> Tensor:
        return composed.flipud(self)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return composed.tensor_split(self, indices_or_sections, dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        return composed.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return composed.triu(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return composed.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        return composed.diag(self, diagonal)

    def trace(self) -> Tensor:
        return composed.trace(self)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return composed.roll(self, shifts, dims)

    def tile(self, dims: Sequence[int]) -> Tensor:
        return composed.tile(self, dims)

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> Tensor:
        return composed.repeat_interleave(self, repeats, dim)

    def diff(
        self,
        n: int = 1,
        dim: int = -1,
        prepend: Tensor | None = None,
        append: Tensor | None = None,
    ) -> Tensor:
        return composed.diff(self, n, dim, prepend, append)

    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return ops.view(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return ops.view_as(self, other)

    def permute(self, *dims: Any) -> Tensor:
        return ops.permute(self, *dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    def expand(self, *shape: Any) -> Tensor:
        return ops.expand(self, *shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand_as(self, other)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return ops.broadcast_to(self, *shape)

    def squeeze(self, dim: Any = None) -> Tensor:
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def flip(self, dims: Any) -> Tensor:
        return ops.flip(self, dims)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.unbind(self, dim)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return ops.narrow(self, dim, start, length)

    def repeat(self, *sizes: Any) -> Tensor:
        return ops.repeat(self, *sizes)

    def t(self) -> Tensor:
        return ops.t(self)

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last dim
        (the building block of im2col); the gradient sums over the windows an element falls in."""
        d = normalize_dims("unfold", dimension, self.ndim)[0] if self.ndim else 0
        n = self.shape[d] if self.ndim else 1
        if size < 0 or size > n or step < 1:
            raise RuntimeError(
                f"unfold: size {size} and step {step} do not fit dim {d} of size {n}"
            )
        starts = np.arange(0, n - size + 1, step)
        idx = starts[:, None] + np.arange(size)[None, :]  # (windows, size)
        x = ops.getitem(self, (slice(None),) * d + (idx,))  # (..., windows, size, ...)
        return ops.movedim(x, d + 1, -1)

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(ops.unbind(self, 0))

    @property
    def T(self) -> Tensor:
        return ops.permute(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self) -> Tensor:
        if self.ndim == 0:
            return ops.reshape(self, ())  # torch: the identity on a 0-d tensor
        if self.ndim == 1:
            raise RuntimeError(
                f"mT: expected a matrix or a batch of matrices, got a 1-D tensor of shape "
                f"{self.shape}"
            )
        return ops.transpose(self, -2, -1)

    @property
    def H(self) -> Tensor:
        return self.T

    @property
    def mH(self) -> Tensor:
        return self.mT
