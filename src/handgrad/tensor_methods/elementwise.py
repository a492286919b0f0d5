"""Element-wise methods and the arithmetic, comparison and bitwise operators: ``x.exp()`` is
``hg.exp(x)``, ``a + b`` is ``hg.add(a, b)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ops
from .._tensor_base import TensorBase, lift
from ..ops.elementwise import Add, Mul, Neg, Sub, _binary

if TYPE_CHECKING:  # pragma: no cover
    from .._tensor import Tensor
    from .._tensor_base import TensorBase as _Base  # what self is, for a type checker
else:
    _Base = object


def _bitwise(op: str, ufunc: Any, a: Any, b: Any) -> Tensor:
    """Integer and boolean operators have no gradient: the result is a constant."""
    x, y = lift(a)._data, lift(b)._data
    if x.dtype.kind not in "biu" or y.dtype.kind not in "biu":
        raise RuntimeError(f"{op}: needs integer or boolean tensors, got {x.dtype} and {y.dtype}")
    return TensorBase._wrap(np.asarray(ufunc(x, y)))


class ElementwiseMethods(_Base):
    __slots__ = ()
    __hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return ops.add(self, other, alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return ops.sub(self, other, alpha)

    def mul(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    def neg(self) -> Tensor:
        return ops.neg(self)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def log1p(self) -> Tensor:
        return ops.log1p(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def rsqrt(self) -> Tensor:
        return ops.rsqrt(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def erf(self) -> Tensor:
        return ops.erf(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return ops.clamp(self, min, max)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return ops.clip(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.minimum(self, other)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def round(self) -> Tensor:
        return ops.round(self)

    def square(self) -> Tensor:
        return ops.square(self)

    def reciprocal(self) -> Tensor:
        return ops.reciprocal(self)

    def eq(self, other: Any) -> Tensor:
        return ops.eq(self, other)

    def ne(self, other: Any) -> Tensor:
        return ops.ne(self, other)

    def lt(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def le(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def gt(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return ops.ge(self, other)

    def logical_not(self) -> Tensor:
        return ops.logical_not(self)

    def logical_and(self, other: Any) -> Tensor:
        return ops.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        return ops.logical_or(self, other)

    def tan(self) -> Tensor:
        return ops.tan(self)

    def sinh(self) -> Tensor:
        return ops.sinh(self)

    def cosh(self) -> Tensor:
        return ops.cosh(self)

    def asin(self) -> Tensor:
        return ops.asin(self)

    def acos(self) -> Tensor:
        return ops.acos(self)

    def atan(self) -> Tensor:
        return ops.atan(self)

    def arcsin(self) -> Tensor:
        return ops.arcsin(self)

    def arccos(self) -> Tensor:
        return ops.arccos(self)

    def arctan(self) -> Tensor:
        return ops.arctan(self)

    def atan2(self, other: Any) -> Tensor:
        return ops.atan2(self, other)

    def arctan2(self, other: Any) -> Tensor:
        return ops.arctan2(self, other)

    def expm1(self) -> Tensor:
        return ops.expm1(self)

    def log2(self) -> Tensor:
        return ops.log2(self)

    def log10(self) -> Tensor:
        return ops.log10(self)

    def logaddexp(self, other: Any) -> Tensor:
        return ops.logaddexp(self, other)

    def logit(self, eps: float | None = None) -> Tensor:
        return ops.logit(self, eps)

    def xlogy(self, other: Any) -> Tensor:
        return ops.xlogy(self, other)

    def hypot(self, other: Any) -> Tensor:
        return ops.hypot(self, other)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return ops.lerp(self, end, weight)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        return ops.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
        return ops.addcdiv(self, tensor1, tensor2, value=value)

    def clamp_min(self, min: Any) -> Tensor:
        return ops.clamp_min(self, min)

    def clamp_max(self, max: Any) -> Tensor:
        return ops.clamp_max(self, max)

    def nan_to_num(
        self,
        nan: float = 0.0,
        posinf: float | None = None,
        neginf: float | None = None,
    ) -> Tensor:
        return ops.nan_to_num(self, nan, posinf, neginf)

    def trunc(self) -> Tensor:
        return ops.trunc(self)

    def frac(self) -> Tensor:
        return ops.frac(self)

    def fmod(self, other: Any) -> Tensor:
        return ops.fmod(self, other)

    def remainder(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def deg2rad(self) -> Tensor:
        return ops.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return ops.rad2deg(self)

    def isclose(
        self,
        other: Any,
        rtol: float = 1e-05,
        atol: float = 1e-08,
        equal_nan: bool = False,
    ) -> Tensor:
        return ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(
        self,
        other: Any,
        rtol: float = 1e-05,
        atol: float = 1e-08,
        equal_nan: bool = False,
    ) -> bool:
        return ops.allclose(self, other, rtol, atol, equal_nan)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return ops.masked_fill(self, mask, value)

    def where(self, condition: Any, other: Any) -> Tensor:
        return ops.where(condition, self, other)  # torch: x.where(c, y) = where(c, x, y)

    def sgn(self) -> Tensor:
        return ops.sign(self)

    def true_divide(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def floor_divide(self, other: Any) -> Tensor:
        """Rounds the quotient toward minus infinity; a float result is the floor of the division
        (not differentiable: its gradient is zero almost everywhere)."""
        if self._data.dtype.kind == "f" or isinstance(other, float):
            return ops.floor(ops.div(self, other))
        return TensorBase._wrap(np.floor_divide(self._data, lift(other)._data))

    def logical_xor(self, other: Any) -> Tensor:
        return TensorBase._wrap(np.logical_xor(self._data, lift(other)._data))

    def bitwise_and(self, other: Any) -> Tensor:
        return _bitwise("bitwise_and", np.bitwise_and, self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return _bitwise("bitwise_or", np.bitwise_or, self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return _bitwise("bitwise_xor", np.bitwise_xor, self, other)

    def bitwise_not(self) -> Tensor:
        return TensorBase._wrap(np.invert(self._data))

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return _bitwise("bitwise_left_shift", np.left_shift, self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return _bitwise("bitwise_right_shift", np.right_shift, self, other)

    # ---- operators ---------------------------------------------------------------------------
    # The four arithmetic operators call their primitive directly: they are the hottest calls.

    def __add__(self, o: Any) -> Tensor:
        return _binary(Add, self, o)

    def __radd__(self, o: Any) -> Tensor:
        return ops.add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return _binary(Sub, self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return ops.sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return _binary(Mul, self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return _binary(Mul, o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return ops.div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return ops.div(o, self)

    def __floordiv__(self, o: Any) -> Tensor:
        return self.floor_divide(o)

    def __rfloordiv__(self, o: Any) -> Tensor:
        return lift(o, self).floor_divide(self)

    def __mod__(self, o: Any) -> Tensor:
        if self._data.dtype.kind == "f":
            return ops.remainder(self, o)
        return TensorBase._wrap(np.mod(self._data, lift(o)._data))

    def __pow__(self, o: Any) -> Tensor:
        return ops.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return ops.pow(o, self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __eq__(self, o: object) -> Tensor:  # type: ignore[override]
        return ops.eq(self, o)

    def __ne__(self, o: object) -> Tensor:  # type: ignore[override]
        return ops.ne(self, o)

    def __lt__(self, o: Any) -> Tensor:
        return ops.lt(self, o)

    def __le__(self, o: Any) -> Tensor:
        return ops.le(self, o)

    def __gt__(self, o: Any) -> Tensor:
        return ops.gt(self, o)

    def __ge__(self, o: Any) -> Tensor:
        return ops.ge(self, o)

    def __invert__(self) -> Tensor:
        return ops.logical_not(self)

    def __and__(self, o: Any) -> Tensor:
        return ops.logical_and(self, o)

    def __or__(self, o: Any) -> Tensor:
        return ops.logical_or(self, o)

    def __xor__(self, o: Any) -> Tensor:
        return self.bitwise_xor(o)

    def __lshift__(self, o: Any) -> Tensor:
        return self.bitwise_left_shift(o)

    def __rshift__(self, o: Any) -> Tensor:
        return self.bitwise_right_shift(o)
