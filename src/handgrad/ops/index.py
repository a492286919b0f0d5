"""gather and scatter_add: each is the other's backward."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from .dims import normalize_dims
from .shape import pad

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _full_index(index: np.ndarray, dim: int) -> tuple:
    """The advanced index that addresses a[..., index[...], ...] along ``dim`` (index broadcast
    against the positions of every other dimension)."""
    grids: list[np.ndarray] = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def _check(op: str, a_shape: tuple, dim: int, index: np.ndarray) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    if index.ndim != len(a_shape):
        raise RuntimeError(
            f"{op}: index has {index.ndim} dims but the tensor has {len(a_shape)} "
            f"(index shape {index.shape}, tensor shape {a_shape})"
        )
    for d, (m, n) in enumerate(zip(index.shape, a_shape)):
        if d != dim and m > n:
            raise RuntimeError(
                f"{op}: index shape {index.shape} is larger than the tensor shape {a_shape} in "
                f"dim {d}"
            )
    if index.size and (index.min() < -a_shape[dim] or index.max() >= a_shape[dim]):
        bad = index.max() if index.max() >= a_shape[dim] else index.min()
        raise IndexError(
            f"{op}: index {bad} is out of bounds for dim {dim} with size {a_shape[dim]}"
        )


class Gather(Function):
    """out[i][j][k] = a[i][index[i][j][k]][k] for dim = 1 (likewise for any dim).
    Each out element is one a element, so dL/da = zeros with g added at those positions:
    scatter_add(zeros_like(a), dim, index, g)."""

    name = "gather"
    uses_inputs = False

    def forward(self, a, index, dim):
        _check("gather", a.shape, dim, index)
        self.dim, self.shape = dim, a.shape
        return a[_full_index(index, dim)]

    def backward(self, g):
        zeros = Tensor._wrap(np.zeros(self.shape, dtype=g.dtype))
        return scatter_add(zeros, self.dim, self.inputs[1], g), None


class ScatterAdd(Function):
    """out = a copy of ``a`` with src[i][j][k] added at out[i][index[i][j][k]][k] (dim = 1).
    dL/da = g (a passes through) and dL/dsrc[i][j][k] = g[i][index[i][j][k]][k]: gather(g)."""

    name = "scatter_add"
    uses_inputs = False

    def forward(self, a, index, src, dim):
        _check("scatter_add", a.shape, dim, index)
        self.dim = dim
        out = a.copy()
        np.add.at(out, _full_index(index, dim), src[tuple(slice(0, n) for n in index.shape)])
        return out

    def backward(self, g):
        na, _, ns = self.needs_input_grad
        index = self.inputs[1]
        gs = None
        if ns:
            gs = gather(g, self.dim, index)
            src_shape = self.inputs[2].shape
            if gs.shape != src_shape:  # src may be larger than index: the rest got no gradient
                pads = []
                for m, n in reversed(list(zip(gs.shape, src_shape))):
                    pads += [0, n - m]
                gs = pad(gs, pads)
        return (g if na else None), None, gs


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    x, idx = lift(input), lift(index)
    d = normalize_dims("gather", dim, x.ndim)[0] if x.ndim else 0
    if x.ndim == 0:  # a 0-d input is gathered as a 1-element vector (torch accepts it)
        return Gather.apply(x.reshape(1), idx.reshape(-1), dim=0).reshape(idx.shape)
    return Gather.apply(x, idx, dim=d)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    x, idx = lift(input), lift(index)
    s = lift(src, x)
    d = normalize_dims("scatter_add", dim, x.ndim)[0] if x.ndim else 0
    return ScatterAdd.apply(x, idx, s, dim=d)


__all__ = ["gather", "scatter_add"]
