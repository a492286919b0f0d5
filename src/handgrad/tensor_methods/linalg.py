"""Matrix methods: ``a @ b``, ``a.mm(b)``, ``a.inverse()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import composed, ops

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


class LinalgMethods(_Base):
    __slots__ = ()

    def inverse(self) -> Tensor:
        return ops.inverse(self)

    def det(self) -> Tensor:
        return ops.det(self)

    def matmul(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def mm(self, mat2: Tensor) -> Tensor:
        return ops.mm(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return ops.bmm(self, mat2)

    def dot(self, other: Tensor) -> Tensor:
        return ops.dot(self, other)

    def mv(self, vec: Tensor) -> Tensor:
        if self.ndim != 2 or getattr(vec, "ndim", None) != 1:
            raise RuntimeError(
                f"mv: expected a matrix and a vector, got {self.shape} and "
                f"{getattr(vec, 'shape', type(vec).__name__)}"
            )
        return ops.matmul(self, vec)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return composed.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def __matmul__(self, o: Any) -> Tensor:
        return ops.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return ops.matmul(o, self)
