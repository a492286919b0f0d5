"""More element-wise functions: the trigonometric and hyperbolic family, ``atan2`` and ``expm1``
as primitives; ``log2``, ``log10``, ``logaddexp``, ``logit``, ``xlogy``, ``hypot``, ``lerp``,
``addcmul``, ``addcdiv``, ``clamp_min``/``clamp_max``, ``nan_to_num`` and the rounding family
composed from primitives; ``isclose``/``allclose`` without gradients."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import lift
from ..autograd.function import Function
from .elementwise import _binary, _unary, clamp, exp, log, maximum, sqrt, where

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


class Tan(Function):
    """out = tan a.  d tan a = (1 + tan^2 a) da, so dL/da = g (1 + out^2)."""

    name = "tan"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        return np.tan(a)

    def backward(self, g):
        out = self.output()
        return g * (out * out + 1)


class Sinh(Function):
    """out = sinh a.  dL/da = g cosh a."""

    name = "sinh"

    def forward(self, a):
        return np.sinh(a)

    def backward(self, g):
        return g * cosh(self.inputs[0])


class Cosh(Function):
    """out = cosh a.  dL/da = g sinh a."""

    name = "cosh"

    def forward(self, a):
        return np.cosh(a)

    def backward(self, g):
        return g * sinh(self.inputs[0])


class Asin(Function):
    """out = arcsin a on [-1, 1].  From sin out = a: cos(out) d out = da, and
    cos(arcsin a) = sqrt(1 - a^2), so dL/da = g / sqrt(1 - a^2)."""

    name = "asin"

    def forward(self, a):
        return np.arcsin(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / sqrt(1 - a * a)


class Acos(Function):
    """out = arccos a.  arccos a = pi/2 - arcsin a, so dL/da = -g / sqrt(1 - a^2)."""

    name = "acos"

    def forward(self, a):
        return np.arccos(a)

    def backward(self, g):
        a = self.inputs[0]
        return -g / sqrt(1 - a * a)


class Atan(Function):
    """out = arctan a.  From tan out = a: (1 + a^2) d out = da, so dL/da = g / (1 + a^2)."""

    name = "atan"

    def forward(self, a):
        return np.arctan(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / (a * a + 1)


class Atan2(Function):
    """out = atan2(y, x), the angle of the point (x, y) in (-pi, pi]. Away from the branch cut
    it is arctan(y / x) plus a constant, so with r^2 = x^2 + y^2:
    dL/dy = g x / r^2 and dL/dx = -g y / r^2 (the engine sums over broadcast dims)."""

    name = "atan2"

    def forward(self, y, x):
        return np.arctan2(y, x)

    def backward(self, g):
        y, x = self.inputs
        r2 = x * x + y * y
        ny, nx = self.needs_input_grad
        return (g * x / r2 if ny else None), (-g * y / r2 if nx else None)


class Expm1(Function):
    """out = e^a - 1, accurate for small a.  dL/da = g e^a = g (out + 1)."""

    name = "expm1"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        return np.expm1(a)

    def backward(self, g):
        return g * (self.output() + 1)


tan = _unary(Tan)
sinh = _unary(Sinh)
cosh = _unary(Cosh)
asin = _unary(Asin)
acos = _unary(Acos)
atan = _unary(Atan)
expm1 = _unary(Expm1)
arcsin, arccos, arctan = asin, acos, atan


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of (other, input): ``atan2(y, x)``."""
    return _binary(Atan2, input, other)


arctan2 = atan2


def log2(input: Any) -> Tensor:
    return log(input) * (1 / math.log(2))


def log10(input: Any) -> Tensor:
    return log(input) * (1 / math.log(10))


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(e^a + e^b) = max + log(1 + e^(-|a - b|)), without overflow."""
    a = lift(input)
    b = lift(other, a)
    m = maximum(a, b)
    return m + log(exp(a - m) + exp(b - m))


def logit(input: Any, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    p = lift(input)
    if eps is not None:
        p = clamp(p, eps, 1 - eps)
    return log(p / (1 - p))


def xlogy(input: Any, other: Any) -> Tensor:
    """x log y, defined as 0 where x = 0 (even for y = 0): the entropy convention."""
    x = lift(input)
    y = lift(other, x)
    zero = Tensor._wrap(np.asarray(x._data == 0))
    safe_y = where(zero, 1.0, y) if y._data.dtype.kind == "f" else y
    return where(zero, 0.0, x * log(safe_y))


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(a^2 + b^2)."""
    a = lift(input)
    b = lift(other, a)
    return sqrt(a * a + b * b)


def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight (end - input)."""
    a = lift(input)
    return a + lift(weight, a) * (lift(end, a) - a)


def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value * tensor1 * tensor2."""
    a = lift(input)
    return a + lift(tensor1, a) * lift(tensor2, a) * value


def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value * tensor1 / tensor2."""
    a = lift(input)
    return a + lift(tensor1, a) / lift(tensor2, a) * value


def clamp_min(input: Any, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Any, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


def nan_to_num(input: Any, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf`` (the dtype's largest value by default), -inf ->
    ``neginf``; the gradient passes where the value was finite."""
    x = lift(input)
    d = x._data
    if d.dtype.kind != "f":
        return x
    info = np.finfo(d.dtype)
    fixed = np.nan_to_num(d, nan=nan, posinf=info.max if posinf is None else posinf,
                          neginf=info.min if neginf is None else neginf)
    return where(Tensor._wrap(np.isfinite(d)), x, Tensor._wrap(fixed))


def trunc(input: Any) -> Tensor:
    """Round towards zero (gradient 0 almost everywhere)."""
    x = lift(input)
    return where(x >= 0, x.floor(), x.ceil())


def frac(input: Any) -> Tensor:
    """x - trunc(x) (gradient 1)."""
    x = lift(input)
    return x - trunc(x).detach()


def fmod(input: Any, other: Any) -> Tensor:
    """The C remainder, with the sign of the dividend: a - trunc(a / b) b."""
    a = lift(input)
    b = lift(other, a)
    return a - trunc(a / b).detach() * b


def remainder(input: Any, other: Any) -> Tensor:
    """Python's remainder, with the sign of the divisor: a - floor(a / b) b."""
    a = lift(input)
    b = lift(other, a)
    return a - (a / b).floor().detach() * b


def deg2rad(input: Any) -> Tensor:
    return lift(input) * (math.pi / 180)


def rad2deg(input: Any) -> Tensor:
    return lift(input) * (180 / math.pi)


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|a - b| <= atol + rtol |b|, element-wise (no gradient)."""
    a, b = lift(input), lift(other)
    return Tensor._wrap(np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


__all__ = [
    "tan", "sinh", "cosh", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "atan2",
    "arctan2", "expm1", "log2", "log10", "logaddexp", "logit", "xlogy", "hypot", "lerp",
    "addcmul", "addcdiv", "clamp_min", "clamp_max", "nan_to_num", "trunc", "frac", "fmod",
    "remainder", "deg2rad", "rad2deg", "isclose", "allclose",
]
