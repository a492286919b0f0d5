"""Methods that select, gather or scatter elements: ``x[i]``, ``x.gather(1, idx)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import composed, ops
from .._tensor_base import TensorBase, lift
from ..ops.dims import normalize_dims
from ..ops.shape import _index

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


class IndexingMethods(_Base):
    __slots__ = ()

    def masked_select(self, mask: Tensor) -> Tensor:
        return composed.masked_select(self, mask)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        return composed.index_add(self, dim, index, source, alpha=alpha)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None) -> Tensor:
        return composed.scatter(self, dim, index, src, value=value)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return composed.count_nonzero(self, dim)

    def argwhere(self) -> Tensor:
        return composed.argwhere(self)

    def isin(self, test_elements: Any, *, invert: bool = False) -> Tensor:
        return composed.isin(self, test_elements, invert=invert)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        return composed.bincount(self, weights, minlength)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        return composed.take_along_dim(self, indices, dim)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        return composed.nonzero(self, as_tuple=as_tuple)

    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        return composed.unique(self, sorted, return_inverse, return_counts, dim)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        return ops.gather(self, dim, index)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return ops.scatter_add(self, dim, index, src)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return ops.index_select(self, dim, index)

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        d = normalize_dims("index_fill", dim, self.ndim)[0]
        mask = np.zeros(self.shape[d], bool)
        mask[lift(index)._data] = True
        view = [1] * self.ndim
        view[d] = self.shape[d]
        return ops.where(TensorBase._wrap(mask.reshape(view)), value, self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._inplace("__setitem__")
        value = value._data if isinstance(value, TensorBase) else value
        self._data[_index(index, self.shape)] = value

    def __contains__(self, item: Any) -> bool:
        return bool(np.any(self._data == lift(item)._data))
