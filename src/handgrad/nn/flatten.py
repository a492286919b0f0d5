"""``Flatten`` and ``Unflatten``: reshapes as modules, so they fit in a ``Sequential``."""

from __future__ import annotations

from collections.abc import Sequence

from .. import ops
from .._tensor import Tensor
from .module import Module


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one (by default all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        shape = list(input.shape)
        d = self.dim % input.ndim if input.ndim else 0
        sizes = list(self.unflattened_size)
        known = 1
        for s in sizes:
            known *= s if s != -1 else 1
        if -1 in sizes:
            sizes[sizes.index(-1)] = shape[d] // known if known else 0
        n = 1
        for s in sizes:
            n *= s
        if n != shape[d]:
            raise RuntimeError(
                f"Unflatten: sizes {self.unflattened_size} do not multiply to the size "
                f"{shape[d]} of dim {self.dim} (input shape {tuple(input.shape)})"
            )
        return input.reshape(tuple(shape[:d] + sizes + shape[d + 1 :]))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


__all__ = ["Flatten", "Unflatten"]
