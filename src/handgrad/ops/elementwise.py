"""Element-wise primitives. Broadcasting follows NumPy; the engine sums each gradient back to its
input's shape, so the backward formulas below are written for equal shapes.

Notation in the docstrings: ``out`` is the result, ``g`` the gradient of the loss with respect to
``out`` (dL/dout), and every product is element-wise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import get_default_dtype, lift
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ._blocks import blockwise
from ._max_zero import relu_array
from ._select import relu_backward
from ._select import select as _select
from .blas import shared_binary
from .zero_derivative import tie_gradient

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def _binary(fn: type[Function], a: Any, b: Any) -> Tensor:
    if type(a) is not type(b) or not isinstance(a, Tensor):  # two tensors of one class: as is
        if not isinstance(a, Tensor):
            b = lift(b)
            a = lift(a, b)
        elif not isinstance(b, Tensor):
            b = lift(b, a)
    try:
        return fn.apply(a, b)
    except ValueError:
        _check_broadcast(fn.name, a, b)
        raise


def _check_broadcast(op: str, *tensors: Tensor) -> None:
    try:
        np.broadcast_shapes(*[t.shape for t in tensors])
    except ValueError:
        shapes = " and ".join(str(t.shape) for t in tensors)
        raise ValueError(
            f"{op}: shapes {shapes} cannot be broadcast together (sizes must be equal or 1, "
            "aligned from the last dimension)"
        ) from None


class Add(Function):
    """out = a + b.  d out = da + db, so dL/da = g and dL/db = g."""

    name = "add"
    uses_inputs = False

    def forward(self, a, b):
        out = shared_binary(np.add, a, b)  # (large: on the BLAS pool's threads)
        return a + b if out is None else out

    def backward(self, g):
        return g, g


class Sub(Function):
    """out = a - b.  dL/da = g, dL/db = -g."""

    name = "sub"
    uses_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    """out = a b.  d out = b da + a db, so dL/da = g b and dL/db = g a."""

    name = "mul"

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    """out = a / b.  d out = da / b - a db / b^2, so dL/da = g / b and dL/db = -g a / b^2,
    computed as -g ((a / b) / b), PyTorch's order: b^2 would underflow to 0 (or overflow) for
    |b| below 1e-154 (or above 1e154) where the quotients stay finite."""

    name = "div"

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g / b if na else None), (-(g * (a / b / b)) if nb else None)


class Pow(Function):
    """out = a ** b.

    d out / da = b a^(b-1) and d out / db = a^b log a = out log a. Conventions as in PyTorch: where
    b = 0 the first is 0 (even at a = 0), and where a = 0 and b >= 0 the second is 0 (not 0 * -inf).

    The local derivative is formed before it meets g, PyTorch's order: g b overflows for a huge
    b (or g) where b a^(b-1) is 0 or moderate (float32 b = 8.5e37, a = 0.7: inf * 0 = NaN
    instead of 0; a huge g times 3 x^2 overflows at g * 3 first).
    """

    name = "pow"
    uses_output = True

    def forward(self, a, b):
        # only the exponent's gradient reads the output (torch's pow saves its result for a
        # tensor exponent only): the result of x ** 2 may still change in place before backward
        self.uses_output = self.needs_input_grad[1]
        return a**b

    def backward(self, g):
        a, b = self.inputs
        ga = where(b == 0, 0.0, g * (b * a ** (b - 1))) if self.needs_input_grad[0] else None
        if not self.needs_input_grad[1]:
            return ga, None
        # out log a, from the output as torch's, not a^b formed again: a second derivative then
        # sends its term through a^b to the output's cotangent, where it can bring the sum back
        # into range (fuzz seed 2113602076: 2^x, then x^-0.39 under a gradient of -1e308; the
        # cotangent at 2^x is -1.77e308 with that term, torch's, and -1.96e308 = -inf without
        # it, so the second derivative by x was -inf for torch's exact -8.12e307)
        # selected twice: the inner where makes the derivative by g 0 at a = 0, as torch's
        # (not 0 * (0 * log 0) = NaN, fuzz seed 376516185); the outer keeps those by a and b
        # the finite limits (accepted pow_second_derivative_at_zero_base)
        z = (a == 0) & (b >= 0)
        return ga, where(z, 0.0, g * where(z, 0.0, self.output() * log(a)))


class Reciprocal(Function):
    """out = 1 / a.  d out / da = -1 / a^2 = -out^2, so dL/da = -g out^2 (PyTorch's formula, from
    the output). A primitive rather than div(1, a): the quotient rule's second derivative forms
    (1 / a / a) / a, which overflows to inf for |a| below 1e-103 (float64) and turns a zero
    upstream gradient into 0 * inf = NaN; through out^2 the inf stays out of the graph."""

    name = "reciprocal"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        with np.errstate(divide="ignore"):
            return np.reciprocal(a)

    def backward(self, g):
        out = self.output()
        return -(g * (out * out))


class Neg(Function):
    """out = -a.  dL/da = -g."""

    name = "neg"
    uses_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    """out = e^a.  d out / da = e^a = out, so dL/da = g out."""

    name = "exp"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        return np.exp(a)

    def backward(self, g):
        return g * self.output()


class Log(Function):
    """out = log a.  dL/da = g / a."""

    name = "log"

    def forward(self, a):
        return np.log(a)

    def backward(self, g):
        return g / self.inputs[0]


class Log1p(Function):
    """out = log(1 + a), accurate for small a.  dL/da = g / (1 + a).

    At a subnormal a the value is torch's, ``2 (a / 2)``: a within one subnormal step of the exact
    log1p(a) = a, and +0 at the smallest one (of either sign), where a later ``log`` must give
    torch's -inf and a later ``1 / x`` its +inf."""

    name = "log1p"

    def forward(self, a):
        out = np.log1p(a)
        if a.dtype.kind == "f" and a.size:
            tiny = np.finfo(a.dtype).tiny
            sub = (np.abs(a) < tiny) & (a != 0)
            if sub.any():
                # + 0: torch's zero at -smallest_subnormal is +0, where 2 (a / 2) gives -0
                out = np.where(sub, 2 * (a * a.dtype.type(0.5)) + 0, out)
        return out

    def backward(self, g):
        return g / (self.inputs[0] + 1)


class Rsqrt(Function):
    """out = 1 / sqrt(a).  dL/da = -0.5 g out^3, torch's formula from the output. A primitive
    rather than div(1, sqrt(a)): the quotient's second derivative squares sqrt(a), whose
    reciprocal overflows for a below 1e-154 (float64) and meets a zero upstream gradient as
    inf * 0 = NaN where torch's is 0 (fuzz seed 376611865)."""

    name = "rsqrt"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        return 1 / np.sqrt(a)  # warns at 0 and below, as the div(1, sqrt(a)) it replaces did

    def backward(self, g):
        out = self.output()
        # out * out * out: torch's out.pow(3) is that product on CPU
        return g * -0.5 * (out * out * out)


class Sqrt(Function):
    """out = sqrt(a).  d out / da = 1 / (2 sqrt a), so dL/da = g / (2 out)."""

    name = "sqrt"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        return np.sqrt(a)

    def backward(self, g):
        return g / (self.output() * 2)


class Abs(Function):
    """out = |a|.  dL/da = g sign(a), with sign(0) = 0 (PyTorch's subgradient at the kink). Not
    tied to a (ops/zero_derivative.py): torch's g * a.sgn() is, but sgn's derivative there is an
    efficient zero that never reaches the steps before, where a tie's zeros met an inf as 0 * inf
    = NaN (fuzz seeds 1653382, 1667922, 1672083: a norm or distance with p = 1 after an inf)."""

    name = "abs"

    def forward(self, a):
        return np.abs(a)

    def backward(self, g):
        return g * sign(self.inputs[0])


class Sin(Function):
    """out = sin a.  dL/da = g cos a."""

    name = "sin"

    def forward(self, a):
        return np.sin(a)

    def backward(self, g):
        return g * cos(self.inputs[0])


class Cos(Function):
    """out = cos a.  dL/da = -g sin a."""

    name = "cos"

    def forward(self, a):
        return np.cos(a)

    def backward(self, g):
        return -(g * sin(self.inputs[0]))


class Tanh(Function):
    """out = tanh a.  d out / da = 1 - tanh^2 a, so dL/da = g (1 - out^2)."""

    name = "tanh"
    uses_inputs = False
    uses_output = True

    @blockwise
    def forward(self, a):
        # torch's tanh (SLEEF's 1-ulp kernels) is all but correctly rounded; NumPy's SIMD one
        # is an ulp off for a third of float32 and a fifth of float64 inputs, and x - tanh(x)
        # (tanhshrink near 0) amplifies that ulp beyond any tolerance (fuzz seeds 22308229,
        # 22310837). A wider type rounded back gives torch's value: float32 through float64
        # (99.99% bit-equal), float64 through the 80-bit long double where there is one (99.3%).
        if a.dtype == np.float32:
            return np.tanh(a, dtype=np.float64).astype(np.float32)
        if a.dtype == np.float64 and np.finfo(np.longdouble).nmant > 52:
            return np.tanh(a.astype(np.longdouble)).astype(np.float64)
        return np.tanh(a)

    def backward(self, g):
        # torch's tanh_backward, a primitive of its own, whose rounding tanhshrink amplifies
        return TanhBackward.apply(g, self.output())


class TanhBackward(Function):
    """out = g (1 - t^2), torch's tanh_backward. dL/dg = tanh_backward(gg, t); dL/dt =
    gg ((-2 t) g), torch's order: the composition's gg g overflowed first where the product
    with the small t is finite (float32 tanhshrink at x = 1e-9 with g u = 1e39: inf against
    torch's 2.4e30, fuzz seed 22422861)."""

    name = "tanh_backward"

    @blockwise
    def forward(self, g, t):
        return (g * _one_minus_square(t)).astype(np.result_type(g, t), copy=False)

    def backward(self, gg):
        g, t = self.inputs
        return TanhBackward.apply(gg, t), gg * (t * -2 * g)


def _one_minus_square(t: np.ndarray) -> np.ndarray:
    """1 - t^2 rounded once, as torch's tanh_backward forms it (a fused multiply-add): near
    |t| = 1 it cancels, and the separately rounded t^2 left it up to an ulp of 1 off, which
    a program amplified (fuzz seed 493543145: 1 - t^2 = 1.9e-6 at x = -7.27, float64)."""
    if t.dtype == np.float32:  # t^2 is exact in float64
        return (1 - np.square(t, dtype=np.float64)).astype(np.float32)
    if t.dtype != np.float64:
        return 1 - t * t
    with np.errstate(over="ignore", invalid="ignore"):
        p = t * t
        c = t * 134217729.0  # Veltkamp's split (2^27 + 1): hi + lo = t, each of 26 bits
        hi = c - (c - t)
        lo = t - hi
        e = ((hi * hi - p) + 2 * hi * lo) + lo * lo  # p + e = t^2 exactly (Dekker)
        s = 1 - p
        z = s - 1  # Knuth's two-sum: s + err = 1 - p exactly
        err = (1 - (s - z)) + (-p - z)
        out = s + (err - e)
    return np.where(np.isfinite(out), out, 1 - p)  # (inf or NaN t: the plain form's value)


class Sigmoid(Function):
    """out = 1 / (1 + e^-a).  d out / da = out (1 - out), so dL/da = g out (1 - out).

    Forward computes e^-|a| only, so no overflow for large |a|.
    """

    name = "sigmoid"
    uses_inputs = False
    uses_output = True

    @blockwise
    def forward(self, a):
        # 1 / (1 + e) for a >= 0, e / (1 + e) otherwise: one division of the selected numerator
        e = np.exp(-np.abs(a))
        return (_select(a >= 0, np.ones((), e.dtype), e) / (1 + e)).astype(a.dtype, copy=False)

    def backward(self, g):
        out = self.output()
        # torch's order, g (1 - out) out: 1 - out is exact near out = 1 (Sterbenz), where
        # out - out * out loses its digits (float32 sigmoid(8.9): 4e-4 relative, issue 11)

        return SigmoidBackward.apply(g, out)


class SigmoidBackward(Function):
    """out = g (1 - s) s, torch's sigmoid_backward, a primitive of its own as in torch.
    dL/dg = sigmoid_backward(gg, s); dL/ds = gg g (1 - 2 s), torch's one product. As a
    composition, dL/ds was the sum gg g (1 - s) - gg g s, which cancels to 0 at s = 0.5 and
    there swallowed a smaller gradient reaching s by another path (sigmoid then
    soft_margin_loss: handgrad 0, torch -5e-22; fuzz seed 376517422)."""

    name = "sigmoid_backward"

    @blockwise
    def forward(self, g, s):
        return (g * (1 - s) * s).astype(np.result_type(g, s), copy=False)

    def backward(self, gg):
        g, s = self.inputs
        return SigmoidBackward.apply(gg, s), gg * g * (s * -2 + 1)


class Relu(Function):
    """out = max(a, 0).  dL/da = 0 where out <= 0, else g: the gradient at a = 0 is 0, as in
    PyTorch. The gradient is selected, not multiplied by the mask: an infinite g on the flat side
    (``relu(x).sqrt()`` at x <= 0) must give 0, not 0 * inf = NaN.

    The mask is a constant, so the second derivative is 0 almost everywhere: under create_graph
    the gradient is tied to out with that 0 derivative, as torch's threshold_backward(g, out, 0)
    (ops/zero_derivative.py).
    """

    name = "relu"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        # -0.0 stays -0.0, as in torch (np.maximum(-0.0, 0) is +0.0; 1 / relu(x) tells them apart):
        # NumPy's maximum(0, a) where it keeps them (ops/_max_zero.py), else a bitwise selection
        out = relu_array(a)
        return _select(a < 0, np.zeros((), a.dtype), a) if out is None else out

    def backward(self, g):
        # a NaN passes g, as in torch
        fast = None if is_grad_enabled() else relu_backward(self.out, g._data)
        if fast is not None:  # (one compiled pass, ops/_select.py)
            return Tensor._wrap(fast)
        return tie_gradient(where(Tensor._wrap(self.out <= 0), 0.0, g), self)


class Silu(Function):
    """out = a sigmoid(a) (SiLU, swish).  d out / da = s (1 + a (1 - s)) with s = sigmoid(a), so
    dL/da = g s (1 + a (1 - s)), in torch's order: (g s) times (1 + a (1 - s)), as its
    silu_backward kernel and, under create_graph, its differentiable form of it (formed as
    g (s (...)), the second derivative overflowed to inf where torch's is 8.3e307, fuzz seed
    3438021).

    A primitive because the composition a * sigmoid(a) differentiates into g a, which overflows
    (float32, |a| ~ 1e26, a large g) and meets sigmoid's 0 as inf * 0 = NaN, where the
    derivative is exactly 0; g s is 0 there."""

    name = "silu"

    @blockwise
    def forward(self, a):
        return a * Sigmoid().forward(a)

    def backward(self, g):
        a = self.inputs[0]
        s = sigmoid(a)
        return g * s * (1 + a * (1 - s))


class Softplus(Function):
    """out = log(1 + e^(beta a)) / beta, and out = a where beta a > threshold (PyTorch's linear
    region). d out / da = sigmoid(beta a), and 1 in the linear region.

    A primitive, not a composition: composing log1p(exp(x)) overflows for large x and its
    gradient turns into inf/inf there.
    """

    name = "softplus"

    @blockwise
    def forward(self, a, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold
        z = a * beta
        return _select(z > threshold, a, np.logaddexp(0, z) / beta).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.inputs[0]
        z = a * self.beta
        return g * where(z > self.threshold, 1.0, sigmoid(z))


class Clamp(Function):
    """out = min(max(a, lo), hi) for numbers lo, hi.  dL/da = g where lo <= a <= hi, else 0
    (selected, so an infinite g outside gives 0): at the boundaries the gradient passes, as in
    PyTorch."""

    name = "clamp"

    def forward(self, a, min=None, max=None):  # noqa: A002
        self.lo, self.hi = min, max
        # the bound first: on a tie NumPy returns its second operand, and torch keeps a, so
        # that clamp(-0.0, min=0) is -0.0 as in torch (1 / out tells them apart)
        if min is not None and max is not None:
            out = np.minimum(max, np.maximum(min, a))
        elif min is not None:
            out = np.maximum(min, a)
        else:
            out = np.minimum(max, a)
        return out.astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.inputs[0]._data
        mask = np.ones(a.shape, dtype=bool)
        if self.lo is not None:
            mask &= a >= self.lo
        if self.hi is not None:
            mask &= a <= self.hi
        return where(Tensor._wrap(mask), g, 0.0)


class ClampTensor(Function):
    """out = min(max(a, lo), hi) with tensors lo and hi (broadcast). PyTorch's gradients, each
    selected by a constant mask:

        dL/da  = g where lo <= a <= hi,
        dL/dlo = g where a < lo and lo < hi,
        dL/dhi = g where a > hi or hi < lo (when lo > hi the result is hi everywhere).

    A NaN in a, lo or hi gives NaN (NumPy's maximum/minimum propagate it) and no gradient."""

    name = "clamp_tensor"

    def forward(self, a, lo, hi):
        return np.minimum(hi, np.maximum(lo, a))  # on a tie, a (its -0.0), as in torch

    def backward(self, g):
        a, lo, hi = (t._data for t in self.inputs)
        na, nlo, nhi = self.needs_input_grad
        with np.errstate(invalid="ignore"):
            ga = where(Tensor._wrap((a >= lo) & (a <= hi)), g, 0.0) if na else None
            glo = where(Tensor._wrap((a < lo) & (lo < hi)), g, 0.0) if nlo else None
            ghi = where(Tensor._wrap((a > hi) | (hi < lo)), g, 0.0) if nhi else None
        return ga, glo, ghi


class Maximum(Function):
    """out = max(a, b) element-wise. dL/da = g where a > b, dL/db = g where b > a; at ties each
    gets g / 2 (PyTorch's convention, which keeps the sum of the two gradients equal to g).
    Where a NaN makes every comparison false both get g, as in PyTorch."""

    name = "maximum"

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        return _tie_split(g, a < b, a > b, a == b)


class Minimum(Function):
    """out = min(a, b) element-wise; the mirror image of maximum (ties split g / 2)."""

    name = "minimum"

    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        return _tie_split(g, a > b, a < b, a == b)


def _tie_split(
    g: Tensor, a_loses: np.ndarray, b_loses: np.ndarray, tie: np.ndarray
) -> tuple[Tensor, Tensor]:
    # Selected, never multiplied by a 0/1 weight: an infinite g must not turn into NaN on the
    # side that does not receive it.
    shared = where(Tensor._wrap(tie), g * 0.5, g)
    return where(Tensor._wrap(a_loses), 0.0, shared), where(Tensor._wrap(b_loses), 0.0, shared)


class Where(Function):
    """out = a where cond else b.  dL/da = g where cond (else 0), dL/db = g where not cond."""

    name = "where"
    uses_inputs = False

    def forward(self, cond, a, b):
        self.cond = cond
        return _select(cond, a, b)

    def backward(self, g):
        cond = Tensor._wrap(self.cond)
        _, na, nb = self.needs_input_grad
        zero = lift(0.0, g)
        return None, (where(cond, g, zero) if na else None), (where(cond, zero, g) if nb else None)


class To(Function):
    """out = a cast to another dtype.  dL/da = g cast back to a's dtype."""

    name = "to"
    uses_inputs = False

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.to(self.src) if self.src.kind in "fc" else None


class Clone(Function):
    """out = a copy of a.  dL/da = g."""

    name = "clone"
    uses_inputs = False

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


# ---- functions ---------------------------------------------------------------------------------


def add(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, input, other)


def sub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Sub, input, other)


def mul(input: Any, other: Any) -> Tensor:
    return _binary(Mul, input, other)


def div(input: Any, other: Any) -> Tensor:
    if isinstance(input, Tensor) and input._data.dtype.kind in "iub":
        input = input.to(get_default_dtype())  # true division, as in PyTorch
    return _binary(Div, input, other)


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001
    return _binary(Pow, input, exponent)


def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


def _unary(fn: type[Function]) -> Any:
    def op(input: Tensor) -> Tensor:
        if input is None or isinstance(input, str):  # lift would make None a NaN
            raise TypeError(
                f"{fn.name}: input must be a tensor or a number, got {type(input).__name__}"
            )
        x = lift(input)
        if x._data.dtype.kind not in "fc":
            x = x.to(get_default_dtype())  # exp of an integer tensor is a float tensor
        return fn.apply(x)

    op.__name__ = fn.name
    op.__doc__ = fn.__doc__
    return op


exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
sqrt = _unary(Sqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)


def abs(input: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(input)


def relu(input: Tensor) -> Tensor:
    return Relu.apply(input)


def silu(input: Tensor) -> Tensor:
    return Silu.apply(lift(input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(input, beta=beta, threshold=threshold)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        x = lift(input)
        lo = lift(-np.inf if min is None else min, x)
        hi = lift(np.inf if max is None else max, x)
        _check_broadcast("clamp", x, lo, hi)
        return ClampTensor.apply(x, lo, hi)
    return Clamp.apply(input, min=min, max=max)


clip = clamp


def maximum(input: Tensor, other: Any) -> Tensor:
    return _binary(Maximum, input, other)


def minimum(input: Tensor, other: Any) -> Tensor:
    return _binary(Minimum, input, other)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    cond = lift(condition)
    if cond._data.dtype != np.bool_:
        cond = Tensor._wrap(cond._data.astype(bool))
    if isinstance(input, Tensor):
        other = lift(other, input)
    elif isinstance(other, Tensor):
        input = lift(input, other)
    else:
        input, other = lift(input), lift(other)
    _check_broadcast("where", cond, input, other)
    return Where.apply(cond, input, other)


def to(input: Tensor, dtype: Any) -> Tensor:
    return To.apply(input, dtype=np.dtype(dtype))


def clone(input: Tensor) -> Tensor:
    return Clone.apply(input)


def square(input: Tensor) -> Tensor:
    return mul(input, input)


reciprocal = _unary(Reciprocal)


rsqrt = _unary(Rsqrt)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    return where(mask, lift(value, input), input)


# ---- not differentiable: results are constants -------------------------------------------------


def _constant(np_fn: Any, name: str) -> Any:
    def op(input: Any, *args: Any) -> Tensor:
        x = lift(input)
        rest = [lift(a, x)._data for a in args]
        return Tensor._wrap(np.asarray(np_fn(x._data, *rest)))

    op.__name__ = name
    op.__doc__ = f"{name} (element-wise, not differentiable: the result is a constant)."
    return op


def _sign(a: np.ndarray) -> np.ndarray:
    out = np.sign(a)
    return np.where(np.isnan(a), 0, out).astype(out.dtype) if out.dtype.kind == "f" else out


sign = _constant(_sign, "sign")  # sign(NaN) = 0, as torch.sign
floor = _constant(np.floor, "floor")
ceil = _constant(np.ceil, "ceil")
round = _constant(np.round, "round")  # noqa: A001
isnan = _constant(np.isnan, "isnan")
isfinite = _constant(np.isfinite, "isfinite")
eq = _constant(np.equal, "eq")
ne = _constant(np.not_equal, "ne")
lt = _constant(np.less, "lt")
le = _constant(np.less_equal, "le")
gt = _constant(np.greater, "gt")
ge = _constant(np.greater_equal, "ge")
logical_not = _constant(np.logical_not, "logical_not")
logical_and = _constant(np.logical_and, "logical_and")
logical_or = _constant(np.logical_or, "logical_or")


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both have the same shape and elements (``torch.equal``)."""
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "neg",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "abs",
    "relu",
    "silu",
    "softplus",
    "clamp",
    "clip",
    "maximum",
    "minimum",
    "where",
    "to",
    "clone",
    "square",
    "reciprocal",
    "rsqrt",
    "masked_fill",
    "sign",
    "floor",
    "ceil",
    "round",
    "isnan",
    "isfinite",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logical_not",
    "logical_and",
    "logical_or",
    "equal",
]
