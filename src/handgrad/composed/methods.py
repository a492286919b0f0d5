"""``ComposedMethods``: the Tensor methods of functions that live outside the core engine
(element-wise predicates, ``unflatten``, ``scatter_reduce``), one ``def`` each, as the method
groups of ``tensor_methods`` are; ``Tensor`` inherits them through ``random.SamplingMethods``,
which adds the samplers (they need the generator, a layer above ``composed``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import ops
from . import predicates
from .arrange import scatter_reduce, unflatten

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor


class ComposedMethods:
    __slots__ = ()

    def isnan(self) -> Tensor:
        return ops.isnan(self)

    def isfinite(self) -> Tensor:
        return ops.isfinite(self)

    def isinf(self) -> Tensor:
        return predicates.isinf(self)

    def isposinf(self) -> Tensor:
        return predicates.isposinf(self)

    def isneginf(self) -> Tensor:
        return predicates.isneginf(self)

    def isreal(self) -> Tensor:
        return predicates.isreal(self)

    def signbit(self) -> Tensor:
        return predicates.signbit(self)

    def logical_xor(self, other: Any) -> Tensor:
        return predicates.logical_xor(self, other)

    def equal(self, other: Any) -> bool:
        return ops.elementwise.equal(self, other)  # type: ignore[arg-type]  # a Tensor at run time

    def scatter_reduce(
        self, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True
    ) -> Tensor:
        return scatter_reduce(self, dim, index, src, reduce, include_self=include_self)  # type: ignore[arg-type]

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        return unflatten(self, dim, sizes)  # type: ignore[arg-type]
