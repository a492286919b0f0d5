"""More element-wise functions: the trigonometric and hyperbolic family, ``atan2`` and ``expm1``
as primitives; ``log2``, ``log10``, ``logaddexp``, ``logit``, ``xlogy``, ``hypot``, ``lerp``,
``addcmul``, ``addcdiv``, ``clamp_min``/``clamp_max``, ``nan_to_num`` and the rounding family
composed from primitives; ``isclose``/``allclose`` without gradients."""

from __future__ import annotations

import functools
import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor_base import get_default_dtype, lift
from ..autograd.function import Function
from ._blocks import blockwise
from ._select import select as _select
from .elementwise import (
    Sigmoid,
    Tanh,
    _binary,
    _unary,
    clamp,
    exp,
    log,
    log1p,
    reciprocal,
    rsqrt,
    sigmoid,
    softplus,
    tanh,
    where,
)
from .loss import BinaryCrossEntropy, BinaryCrossEntropyBackward, BinaryCrossEntropyWithLogits
from .reduce import _sum

if TYPE_CHECKING:  # the public Tensor, for a type checker
    from .._tensor import Tensor
else:  # at run time the bottom class: outputs are public Tensors (TensorBase._wrap)
    from .._tensor_base import TensorBase as Tensor


def fms(g: np.ndarray, e: np.ndarray, s: np.ndarray) -> np.ndarray:
    """g - e s rounded once, as torch's kernel forms it (a fused multiply-add): where g and e s
    cancel, the product's rounding error is the whole result (fuzz seed 757811041: g ~ 8e31,
    exact 5.7e15, torch 3.0e15, g - fl(e s) 0). float32 in float64 (the product is exact);
    float64 with Dekker's exact product error, where it is finite."""
    if g.dtype.itemsize < 8:
        return (g.astype(np.float64) - e.astype(np.float64) * s).astype(g.dtype)
    with np.errstate(all="ignore"):
        p = e * s
        eh, sh = [a * 134217729.0 - (a * 134217729.0 - a) for a in (e, s)]  # 26-bit halves
        err = ((eh * sh - p) + eh * (s - sh) + (e - eh) * sh) + (e - eh) * (s - sh)  # e s - p
        return np.where(np.isfinite(err), (g - p) - err, g - p)


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
    cos(arcsin a) = sqrt(1 - a^2), so dL/da = g / sqrt(1 - a^2), formed as torch's
    g rsqrt(1 - a^2): the quotient's derivative by the root divides g u by its square and
    overflows near |a| = 1 where torch's rsqrt form does not (float32 acos at a = -0.99913
    under g = -1.2e36: torch -9.0e37, the quotient -inf; fuzz seeds 757847408, 1980945712)."""

    name = "asin"

    def forward(self, a):
        return np.arcsin(a)

    def backward(self, g):
        a = self.inputs[0]
        return g * rsqrt(1 - a * a)


class Acos(Function):
    """out = arccos a.  arccos a = pi/2 - arcsin a, so dL/da = -g / sqrt(1 - a^2), formed
    as torch's g (-rsqrt(1 - a^2)) (see ``Asin``)."""

    name = "acos"

    def forward(self, a):
        return np.arccos(a)

    def backward(self, g):
        a = self.inputs[0]
        return g * -rsqrt(1 - a * a)


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
    dL/dy = g x / r^2 and dL/dx = -g y / r^2 (the engine sums over broadcast dims).

    In torch's graph, so that the second derivatives are torch's: (g x) c and (g (-y)) c with
    c = 1 / (y^2 + x^2), set to 0 where y^2 + x^2 is 0 (masked_fill: the gradient at the
    origin, or where the squares underflow, is 0). g x / r^2 differentiated overflowed where
    torch's products did not (float32 g / r^2 = inf at y = 0, x = 0.45, g = 8e37: NaN against
    torch's 4e36, fuzz seed 493522798; also 22360726)."""

    name = "atan2"

    def forward(self, y, x):
        return np.arctan2(y, x)

    def backward(self, g):
        y, x = self.inputs
        d = y * y + x * x
        c = where(Tensor._wrap(d._data == 0), 0.0, reciprocal(d))
        ny, nx = self.needs_input_grad
        return (g * x * c if ny else None), (g * -y * c if nx else None)


class Expm1(Function):
    """out = e^a - 1, accurate for small a.  dL/da = g e^a, computed from the output as torch
    2.13 does, g (out + 1): exactly 0 for a below -37 (float64; -17 in float32), where out + 1
    rounds to 0 and e^a is still positive."""

    name = "expm1"
    uses_inputs = False
    uses_output = True

    def forward(self, a):
        return np.expm1(a)

    def backward(self, g):
        return g * (self.output() + 1)


# ---- activations whose local derivative must be formed before it meets g ----------------------
# As composites, g x overflows (float32, |x| ~ 1e25 and a large g) and meets a derivative factor
# that is exactly 0 there (inf * 0 = NaN), where torch's fused backwards form the local derivative
# first: g (1 + x * 0) = g. Their backwards are torch's formulas, in Tensor ops.

_GELU_ALPHA = 0.5 * (2 / math.sqrt(math.pi)) / math.sqrt(2)  # 1 / sqrt(2 pi): the normal pdf at 0
_GELU_BETA = math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5  # sqrt(2 / pi), the tanh form's scale
_GELU_KAPPA = 0.044715


@functools.cache
def _scipy_erf() -> Any:
    """scipy's erf, or None without scipy (an optional extra: it comes with scikit-learn)."""
    try:
        from scipy.special import erf
    except ImportError:
        return None
    return erf


def erf_array(a: np.ndarray) -> np.ndarray:
    """erf of each element. NumPy has no erf: float32 and float64 arrays go through scipy's
    erf where scipy is installed (``handgrad[extras]`` brings it), which runs in C; otherwise,
    and for other dtypes, ``math.erf`` runs in Python per element (an exact GELU of 2M float32
    values took about 0.2 s per erf that way, 25 ms through scipy).

    - float32: scipy's float32 loop forms each erf in float64 and rounds it. scipy's float64
      erf is a few ulps from ``math.erf`` at most, which the rounding removes: the bits of
      ``math.erf`` rounded (tested bit for bit).
    - float64: up to 3 ulps from ``math.erf`` (on 14% of random values). torch's own float64
      erf (SLEEF's) is 1 ulp from ``math.erf`` on 2.8% of them: neither is correctly rounded,
      and both are far inside any parity tolerance."""
    if a.dtype in (np.float32, np.float64) and a.size:
        erf = _scipy_erf()
        if erf is not None:
            return erf(a)
    return np.vectorize(math.erf, otypes=[a.dtype])(a) if a.size else a.copy()


class Erf(Function):
    """out = erf(a) = 2/sqrt(pi) int_0^a e^(-t^2) dt.  dL/da = g 2/sqrt(pi) e^(-a^2).
    (The values: ``erf_array``.)"""

    name = "erf"

    def forward(self, a):
        return erf_array(a)

    def backward(self, g):
        a = self.inputs[0]
        # torch's order, (2 / sqrt(pi)) e^(-a^2) before g: g (2 / sqrt(pi)) overflowed for
        # g near the largest float where the gradient is finite (fuzz seed 1711433580)
        return (exp(-(a * a)) * (2 / math.sqrt(math.pi))) * g


erf = _unary(Erf)


def _tanh_np(a: np.ndarray) -> np.ndarray:
    """tanh as torch's (SLEEF's, all but correctly rounded): ``Tanh.forward``'s, through a wider
    type. NumPy's float32 tanh(-9.78) is -1 + 6e-8, an ulp off torch's -1, which gelu's
    1 + tanh turned into -1.6e-7 for torch's -0 and the exact -1.7e-8 (fuzz seed 1511178485)."""
    return Tanh().forward(a)


class Gelu(Function):
    """out = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, or with ``approximate='tanh'``
    x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, in torch's order of operations.
    dL/dx = gelu_backward(g, x), a primitive of its own as in torch (whose second derivative
    is torch's gelu_double_backward). The exact form's erf(x / sqrt 2) is kept for it when a
    graph is recorded: erf is the costly part (a Linear-GELU-Linear block on 2M values spent
    half its step in two erf calls), and the backward's Phi(x) is formed from the same erf."""

    name = "gelu"
    erf: np.ndarray | None = None

    def forward(self, a, approximate="none"):
        self.approximate = approximate
        with np.errstate(over="ignore", invalid="ignore"):
            if approximate == "tanh":
                inner = _GELU_BETA * (a + _GELU_KAPPA * (a * a * a))
                return (0.5 * a * (1 + _tanh_np(inner))).astype(a.dtype, copy=False)
            e = erf_array(a * (1 / math.sqrt(2)))
            if any(self.needs_input_grad):
                self.erf = e
            return (a * 0.5 * (1 + e)).astype(a.dtype, copy=False)

    def backward(self, g):
        return GeluBackward.apply(g, self.inputs[0], approximate=self.approximate, erf=self.erf)


class GeluBackward(Function):
    """out = g gelu'(x), torch's gelu_backward: g (Phi(x) + x phi(x)), or for the tanh form
    g (0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2)), t = tanh(beta (x + kappa x^3)).
    dL/dg = gelu_backward(gg, x); dL/dx = gg g gelu''(x) (torch's gelu_double_backward).
    ``erf``: erf(x / sqrt 2) where the forward kept it (``Gelu``), else formed here."""

    name = "gelu_backward"

    def forward(self, g, a, approximate="none", erf=None):
        self.approximate, self.erf = approximate, erf
        return self._values(g, a, approximate=approximate, erf=erf)

    @blockwise
    def _values(self, g, a, approximate, erf):
        with np.errstate(over="ignore", invalid="ignore"):
            if approximate == "tanh":
                x_sq = a * a
                t = _tanh_np(_GELU_BETA * (a + _GELU_KAPPA * (x_sq * a)))
                right = 0.5 * a * (1 - t * t) * (_GELU_BETA * (1 + 3 * _GELU_KAPPA * x_sq))
                d = 0.5 * (1 + t) + right
            else:
                cdf = 0.5 * (1 + (erf_array(a * (1 / math.sqrt(2))) if erf is None else erf))
                d = cdf + a * (_GELU_ALPHA * np.exp(a * a * -0.5))
            return (g * d).astype(np.result_type(g, a), copy=False)

    def backward(self, gg):
        g, x = self.inputs
        ng, nx = self.needs_input_grad
        dg = GeluBackward.apply(gg, x, approximate=self.approximate, erf=self.erf) if ng else None
        if not nx:
            return dg, None
        if self.approximate == "tanh":
            t = tanh((x + x * x * x * _GELU_KAPPA) * _GELU_BETA)
            sech = 1 / cosh((x + x * x * x * _GELU_KAPPA) * _GELU_BETA)
            f = x * 0.5
            tg = 1 - t * t
            h = (x * x * (3 * _GELU_KAPPA) + 1) * _GELU_BETA
            f_prime_gh = tg * h * 0.5
            g_prime_fh = f * h * ((sech * 2) * (-sech * t) * h)
            h_prime_fg = f * tg * (x * (6 * _GELU_KAPPA * _GELU_BETA))
            d2 = f_prime_gh * 2 + g_prime_fh + h_prime_fg
        else:
            x_sq = x * x
            pdf = exp(x_sq * -0.5) * _GELU_ALPHA
            d2 = pdf * 2 - x_sq * pdf
        return dg, gg * g * d2


class Mish(Function):
    """out = x tanh(softplus(x)) (Misra 2019). dL/dx = g (t + x sigmoid(x) (1 - t^2)),
    t = tanh(softplus(x)): torch's infinitely differentiable mish backward, whose second
    derivative follows from these Tensor ops (softplus stays finite where torch's
    log1p(exp(x)) overflows)."""

    name = "mish"

    @blockwise
    def forward(self, a):
        with np.errstate(over="ignore", invalid="ignore"):
            return (a * np.tanh(np.logaddexp(0, a))).astype(a.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        t = tanh(softplus(x))
        return g * (t + x * sigmoid(x) * (1 - t * t))


class EluNegative(Function):
    """out = alpha expm1(s x), the exponential branch of elu (s = 1) and celu (s = 1 / alpha),
    as torch's elu kernel. dL/dx = g s alpha e^(s x), torch's elu_backward from the input: e^(s x)
    itself, not the output's out / alpha + 1 (expm1's backward), which rounds to 0 below
    s x = -37 (float64; -17 in float32) while torch's gradient is still positive (fuzz seeds
    376542887, 376599834). celu's backward takes s as torch's derivatives.yaml does,
    1 / float32(alpha) (``grad_scale``), which differs from the forward's 1 / alpha in float64."""

    name = "elu"

    @blockwise
    def forward(self, a, alpha, scale, grad_scale):
        self.alpha, self.scale = alpha, grad_scale
        return np.expm1(a * scale) * alpha

    def backward(self, g):
        return EluNegativeBackward.apply(g, self.inputs[0], alpha=self.alpha, scale=self.scale)


class EluNegativeBackward(Function):
    """out = g s alpha e^(s x), ``EluNegative``'s gradient: torch's elu_backward from the input
    (x <= 0), in its order. Its own backward is torch's elu_double_backward:

        dL/dg = gg s alpha e^(s x)                  (elu_backward of gg),
        dL/dx = (gg g s) s alpha e^(s x), for x < 0  (elu_backward of gg g s), else 0.

    The product gg g s comes first, so a zero gg gives 0 where g s alpha overflows (fuzz seed
    101217825: celu at x = 0 with float32 g = 3e38 and gg = 0, the chain rule through
    g s alpha e^(s x) gave 0 * inf = NaN, torch 0); and x = 0 takes 0, the positive side's
    second derivative, as torch's mask (x < 0), here selected rather than multiplied."""

    name = "elu_negative_backward"

    @blockwise
    def forward(self, g, a, alpha, scale):
        self.alpha, self.scale = alpha, scale
        with np.errstate(over="ignore", invalid="ignore"):
            return g * scale * alpha * np.exp(a * scale)

    def backward(self, gg):
        g, a = self.inputs
        need, kw = self.needs_input_grad, {"alpha": self.alpha, "scale": self.scale}
        dg = EluNegativeBackward.apply(gg, a, **kw) if need[0] else None
        dx = None
        if need[1]:
            dx = where(a < 0, EluNegativeBackward.apply(gg * g * self.scale, a, **kw), 0.0)
        return dg, dx


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _selu_coefs(dtype: Any) -> tuple:
    """torch's elu kernel's coefficients for selu in ``dtype``: scale, and alpha scale formed in
    that dtype (float32(alpha) float32(scale) for float32)."""
    t = np.dtype(dtype).type if np.dtype(dtype).kind == "f" else np.float64
    return t(_SELU_SCALE), t(_SELU_ALPHA) * t(_SELU_SCALE)


class Selu(Function):
    """out = scale x for x > 0, alpha scale expm1(x) otherwise (a NaN too), torch's elu kernel
    with selu's constants. The backward is ``SeluBackward``, torch's elu_backward, whose own
    backward is torch's elu_double_backward: as elu(x) times scale, the second derivative
    formed g scale alpha before u (g = -1.1e308: -inf against torch's -1.9e307), and its
    selection gave 0 where torch's mask (x <= 0) multiplies a NaN or infinite g into NaN (fuzz
    seed 1778795767)."""

    name = "selu"

    @blockwise
    def forward(self, a):
        pos, neg = _selu_coefs(a.dtype)
        with np.errstate(all="ignore"):
            return _select(a > 0, a * pos, np.expm1(a) * neg).astype(a.dtype, copy=False)

    def backward(self, g):
        return SeluBackward.apply(g, self.inputs[0])


class SeluBackward(Function):
    """out = g (alpha scale) e^x for x <= 0, g scale otherwise (a NaN too): torch's elu_backward
    with selu's constants, in its order and with its branch (fuzz seed 907696075).
    dL/dg = selu_backward(gg, x); dL/dx = selu_backward(gg g, x) times (x < 0) as a number,
    torch's elu_double_backward (a product, not a selection; 0 at x = 0, the linear side's
    second derivative, as torch's)."""

    name = "selu_backward"

    @blockwise
    def forward(self, g, a):
        dtype = np.result_type(g, a)
        pos, neg = _selu_coefs(dtype)
        with np.errstate(all="ignore"):
            return _select(a <= 0, g * neg * np.exp(a), g * pos).astype(dtype, copy=False)

    def backward(self, gg):
        g, a = self.inputs
        need = self.needs_input_grad
        dg = SeluBackward.apply(gg, a) if need[0] else None
        dx = SeluBackward.apply(gg * g, a) * (a < 0).to(gg.dtype) if need[1] else None
        return dg, dx


class LeakyRelu(Function):
    """out = a where a > 0, else s a (torch's leaky_relu: the slope s applies at 0, and a NaN
    stays NaN). d out / da = 1 where a > 0, else s, so dL/da = leaky_relu_backward(g, a) =
    g where a > 0, else g s: torch's kernel, the product g s formed on the slope's side only
    (an infinite g there times s = 0 gives NaN in both).

    One node, where the composition where(a > 0, a, a s) made five whole-array nodes. For
    0 < s <= 1 (every usual slope) the value is max(a, s a), two passes: s a <= a exactly where
    a > 0, and where they tie both are the same zero (s a = -0.0 for a = -0.0); s = 0 would make
    inf s a NaN that max passes. Other slopes, and the backward, select over cache-sized blocks.
    LeakyReLU(0.2) on (32, 64, 32, 32), forward and backward, one thread: 6.9 -> 4.1 ms."""

    name = "leaky_relu"

    @blockwise
    def forward(self, a, negative_slope=0.01):
        self.slope = negative_slope
        with np.errstate(invalid="ignore", over="ignore"):  # (inf s = NaN where s = 0, as torch)
            if 0 < negative_slope <= 1:
                return np.maximum(a, a * negative_slope)
            return _select(a > 0, a, a * negative_slope)

    def backward(self, g):
        return LeakyReluBackward.apply(g, self.inputs[0], negative_slope=self.slope)


class LeakyReluBackward(Function):
    """out = g where a > 0, else g s: torch's leaky_relu_backward(g, a, s). Linear in g, so
    dL/dg = leaky_relu_backward(gg, a); piecewise constant in a, so dL/da = 0 (zeros, selected:
    never 0 times gg, which may hold inf), the gradient tied to a as torch's."""

    name = "leaky_relu_backward"

    @blockwise
    def forward(self, g, a, negative_slope=0.01):
        self.slope = negative_slope
        with np.errstate(invalid="ignore", over="ignore"):
            return _select(a > 0, g, g * negative_slope)

    def backward(self, gg):
        a = self.inputs[1]
        need = self.needs_input_grad
        dg = LeakyReluBackward.apply(gg, a, negative_slope=self.slope) if need[0] else None
        return dg, (Tensor._wrap(np.zeros(a.shape, a.dtype)) if need[1] else None)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu with torch's kernels and derivatives (see ``LeakyRelu``)."""
    if not isinstance(negative_slope, numbers.Real):
        raise TypeError(
            f"leaky_relu: negative_slope must be a number, got "
            f"{type(negative_slope).__name__} {negative_slope!r}"
        )
    return LeakyRelu.apply(lift(x), negative_slope=negative_slope)


def _mean_all(loss: np.ndarray) -> np.ndarray:
    """The mean of every element (a sum that does not overflow, then / N), NaN over nothing."""
    with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as in torch
        return np.asarray(_sum(loss, tuple(range(loss.ndim)), False) / loss.size).astype(loss.dtype)


class BinaryCrossEntropyWithLogitsMean(BinaryCrossEntropyWithLogits):
    """``reduction='mean'`` (no weight) of ``BinaryCrossEntropyWithLogits`` as one primitive:
    sum / N, and torch's backward g (sigmoid(x) - y) / N, divided last. Through a separate mean
    the input gradient was (g / N) (sigmoid(x) - y), so its derivative by g summed
    u (sigmoid(x) - y) / N, which overflows where torch's (u / N) (sigmoid(x) - y) does not
    (float64 u = -4.01, y = 4.49e307, N = 3: torch 6.0e307, handgrad inf; fuzz seed
    1778864417)."""

    name = "binary_cross_entropy_with_logits_mean"

    def forward(self, x, y, *pw):
        loss = super().forward(x, y, *pw)
        self.shape, self.count = loss.shape, loss.size
        return _mean_all(loss)

    def backward(self, g):
        grads = super().backward(g.expand(self.shape))
        return tuple(None if d is None else d / self.count for d in grads)


class BinaryCrossEntropyMean(BinaryCrossEntropy):
    """``reduction='mean'`` (no weight) of ``BinaryCrossEntropy`` as one primitive: sum / N, and
    torch's backward g (p - y) / max(p (1 - p), e) / N with the scalar g, divided last (its
    double backwards too). Through a separate mean the gradient was (g / N) (p - y) / q, an
    ulp or two off torch's where a later step amplifies it (fuzz seed 1381926862)."""

    name = "binary_cross_entropy_mean"

    def forward(self, p, y):
        loss = super().forward(p, y)
        self.count = loss.size
        return _mean_all(loss)

    def backward(self, g):
        p, y = self.inputs
        gp = gy = None
        if self.needs_input_grad[0]:
            gp = BinaryCrossEntropyMeanBackward.apply(g, p, y, count=self.count)
        if self.needs_input_grad[1]:
            gy = g * (log1p(-p) - log(p)) / self.count
        return gp, gy


class BinaryCrossEntropyMeanBackward(BinaryCrossEntropyBackward):
    """``BinaryCrossEntropyMean``'s input gradient: ``binary_cross_entropy_backward``'s
    g (p - y) / max(p (1 - p), e), then divided by N, and its derivatives (the second
    derivatives of the mean loss) divided by N last too, as torch's double backwards divide."""

    name = "binary_cross_entropy_mean_backward"

    def forward(self, g, p, y, count=1):
        self.count = count
        return super().forward(g, p, y) / count

    def backward(self, G):
        return tuple(None if d is None else d / self.count for d in super().backward(G))


class LogSigmoid(Function):
    """out = -softplus(-x) (+ 0.0: torch's +0.0 at large x). dL/dx = g sigmoid(-x)
    (``LogSigmoidBackward``), whose derivative by x is -g u sigmoid(x) sigmoid(-x): as the
    composition -softplus(-x) it was -g u (1 - s) s with s = sigmoid(-x), and 1 - s is 0 once s
    rounds to 1 (float32 x = -60.5, g u = -1.6e26: 0, where torch and the exact value are 0.83;
    fuzz seed 1554065915). sigmoid(x) sigmoid(-x) keeps e^-|x| on both sides, so the value at
    large positive x stays exact too (``logsigmoid_second_derivative_cancels``)."""

    name = "logsigmoid"

    @blockwise
    def forward(self, a):
        return (-np.logaddexp(0, -a) + 0.0).astype(a.dtype, copy=False)

    def backward(self, g):
        return LogSigmoidBackward.apply(g, self.inputs[0])


class LogSigmoidBackward(Function):
    """out = g sigmoid(-x). dL/dg = gg sigmoid(-x); dL/dx = -(gg g) sigmoid(x) sigmoid(-x)."""

    name = "logsigmoid_backward"

    @blockwise
    def forward(self, g, a):
        return (g * Sigmoid().forward(-a)).astype(np.result_type(g, a), copy=False)

    def backward(self, gg):
        g, a = self.inputs
        need = self.needs_input_grad
        dg = LogSigmoidBackward.apply(gg, a) if need[0] else None
        dx = -(gg * g * sigmoid(a) * sigmoid(-a)) if need[1] else None
        return dg, dx


class HardsigmoidMiddle(Function):
    """out = (x + 3) / 6, hardsigmoid strictly between -3 and 3, in torch's kernel's order (x / 6
    + 0.5 rounds differently). dL/dx = g c, c = 1.0f / 6.0f as in torch's hardsigmoid_backward:
    the float32 sixth (0.16666667163) also in float64, where the exact sixth differed by 3e-8,
    which a softmax before it amplified (fuzz seed 493595327)."""

    name = "hardsigmoid"

    @blockwise
    def forward(self, a):
        return ((a + 3) / 6).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * _SIXTH_FLOAT32


_SIXTH_FLOAT32 = float(np.float32(1) / np.float32(6))


class HardswishMiddle(Function):
    """out = x (x + 3) / 6, hardswish strictly between -3 and 3. dL/dx = g (x / 3 + 0.5), torch's
    hardswish_backward (``HardswishBackwardMiddle``), so that the second derivatives are
    torch's: the composition's second pass formed u (x + 3) first, which overflowed where
    torch's u (x / 3 + 0.5) is finite (u = 6.5e307: inf against 4.5e307, fuzz seed
    455505046)."""

    name = "hardswish"

    @blockwise
    def forward(self, a):
        return a * (a + 3) / 6

    def backward(self, g):
        return HardswishBackwardMiddle.apply(g, self.inputs[0])


class HardswishBackwardMiddle(Function):
    """out = g (x / 3 + 0.5), torch's hardswish_backward between -3 and 3. dL/dg =
    hardswish_backward(gg, x), dL/dx = gg g / 3, torch's derivatives.yaml formulas."""

    name = "hardswish_backward"

    @blockwise
    def forward(self, g, a):
        return (g * (a / 3 + 0.5)).astype(np.result_type(g, a), copy=False)

    def backward(self, gg):
        g, a = self.inputs
        return HardswishBackwardMiddle.apply(gg, a), gg * g / 3


class SoftMargin(Function):
    """out = softplus(-x y) (softplus's linear region above 20 included). dL/dx = g (-y s),
    s = sigmoid(-x y): the local derivative is formed before it meets g, torch's order, so a zero
    s stays 0 where composing softplus with the product gave (v y) s = inf * 0 = NaN in the
    derivative by g in a huge direction v (fuzz seed 376611419)."""

    name = "soft_margin_loss"

    def forward(self, x, y):
        z = -x * y
        return _select(z > 20, z, np.logaddexp(0, z)).astype(x.dtype, copy=False)

    def backward(self, g):
        x, y = self.inputs
        z = -x * y
        # above 20, s = sigmoid(z) = 1 - e^-z to the dtype's precision: its value rounds to 1,
        # but its derivative keeps e^-z, as torch's e^z / (1 + e^z) does, where a constant 1 gave
        # a second derivative of 0 (fuzz seed 1521080800: z = 21.7 in float32 under an inf g,
        # torch -inf); the branch reads z only where it is selected
        big = z > 20
        s = where(big, 1.0 - exp(-where(big, z, 20.0)), sigmoid(z))
        nx, ny = self.needs_input_grad
        return (g * (s * -y) if nx else None), (g * (s * -x) if ny else None)


def _mse_norm(reduction: str, n: int) -> float:
    if reduction != "mean":
        return 2.0
    return 2.0 / n if n else float("inf")  # torch's 2. / numel in C++: inf (an empty loss)


class MseLoss(Function):
    """(x - y)^2, averaged (``'mean'``), summed (``'sum'``) or kept (``'none'``); x and y of one
    shape. A primitive so that its gradients are torch's formulas term for term (derivatives.yaml,
    ``mse_loss_backward``): dL/dx = ((x - y) norm) g with norm = 2 / N (mean) or 2, and dL/dy the
    same with x and y swapped. Composed as d * d under a mean, the gradient was (g / N) d + (g / N)
    d: g / N underflows to 0 where torch's (d norm) g is finite (fuzz seed 493616293, float32:
    0 * inf = NaN at x = -inf, 0 at x = -2.5e36 where torch has 2.8e-10)."""

    name = "mse_loss"

    def forward(self, x, y, reduction):
        self.reduction = reduction
        d = x - y
        loss = d * d
        if reduction == "none":
            return loss
        total = _sum(loss, tuple(range(loss.ndim)), False)
        if reduction == "sum":
            return np.asarray(total)
        with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as in torch
            return np.asarray(total / loss.size).astype(x.dtype)

    def backward(self, g):
        x, y = self.inputs
        need = self.needs_input_grad
        gx = MseLossBackward.apply(g, x, y, reduction=self.reduction) if need[0] else None
        gy = MseLossBackward.apply(g, y, x, reduction=self.reduction) if need[1] else None
        return gx, gy


class MseLossBackward(Function):
    """torch's ``mse_loss_backward(g, x, y)`` = ((x - y) norm) g, in that order, and its
    derivatives (derivatives.yaml): by g, mse_loss_backward(u, x, y) summed to g's shape; by x,
    2 (u g) / N (mean) or 2 (u g); by y, minus that."""

    name = "mse_loss_backward"

    def forward(self, g, x, y, reduction):
        self.reduction = reduction
        norm = x.dtype.type(_mse_norm(reduction, x.size))
        return ((x - y) * norm) * g

    def backward(self, u):
        g, x, y = self.inputs
        need = self.needs_input_grad
        gg = gx = gy = None
        if need[0]:
            gg = MseLossBackward.apply(u, x, y, reduction=self.reduction)
            if g.shape != gg.shape:
                gg = gg.sum()  # g is the 0-d gradient of a reduced loss
        if need[1] or need[2]:
            ug = 2 * (u * g)
            if self.reduction == "mean":
                ug = ug / x.numel()
            gx = ug if need[1] else None
            gy = -ug if need[2] else None
        return gg, gx, gy


def hardsigmoid_middle(x: Tensor) -> Tensor:
    """(x + 3) / 6 with torch's gradient (see ``HardsigmoidMiddle``)."""
    return HardsigmoidMiddle.apply(x)


def hardswish_middle(x: Tensor) -> Tensor:
    """x (x + 3) / 6 with torch's gradients (see ``HardswishMiddle``)."""
    return HardswishMiddle.apply(x)


def logsigmoid(x: Tensor) -> Tensor:
    """log sigmoid(x) (see ``LogSigmoid``)."""
    return LogSigmoid.apply(lift(x))


def selu(x: Tensor) -> Tensor:
    """selu with torch's kernels and derivatives (see ``Selu``)."""
    return Selu.apply(lift(x))


def elu_negative(x: Tensor, alpha: float, scale: float, grad_scale: float) -> Tensor:
    """alpha expm1(scale x), elu's and celu's exponential branch (see ``EluNegative``)."""
    return EluNegative.apply(x, alpha=alpha, scale=scale, grad_scale=grad_scale)


def soft_margin(x: Tensor, y: Tensor) -> Tensor:
    """softplus(-x y) element-wise, soft_margin_loss before its reduction (see ``SoftMargin``)."""
    return SoftMargin.apply(x, y)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return Gelu.apply(lift(input), approximate=approximate)


def mish(input: Tensor) -> Tensor:
    return Mish.apply(lift(input))


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


class LogAddExp(Function):
    """out = log(e^a + e^b), NumPy's ``logaddexp`` (no overflow; equal infinities give that
    infinity, as in IEEE and PyTorch: logaddexp(-inf, -inf) = -inf keeps log-space recursions
    alive). A primitive because the composition max + log(e^(a-m) + e^(b-m)) gives
    inf - inf = NaN there.

    d out / da = e^a / (e^a + e^b) = 1 / (1 + e^(b - a)), likewise for b: PyTorch's formulas, so
    the gradients agree at the infinities too (NaN where b - a is inf - inf)."""

    name = "logaddexp"

    def forward(self, a, b):
        return np.logaddexp(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g / (exp(b - a) + 1) if na else None), (g / (exp(a - b) + 1) if nb else None)


def logaddexp(input: Any, other: Any) -> Tensor:
    """log(e^a + e^b) (see ``LogAddExp``)."""
    return _binary(LogAddExp, input, other)


def logit(input: Any, eps: float | None = None) -> Tensor:
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given. Outside [0, 1]
    (without eps) the value is NaN and so is the gradient, as in torch (the composition alone
    would give a finite gradient of a NaN value)."""
    p = lift(input)
    if eps is not None:
        p = clamp(p, eps, 1 - eps)
        return log(p / (1 - p))
    return _Logit.apply(p)


class _Logit(Function):
    """out = log(p / (1 - p)). dL/dp is torch's infinitely differentiable logit backward,
    g / (p (1 - p)) inside [0, 1] and a NaN constant outside (selected, so neither p nor g moves
    it). Its second derivative follows from those ops as torch's does: composing
    log(p / (1 - p)) instead gave 0 * inf = NaN where g = 0 meets a huge direction (fuzz seed
    376525213)."""

    name = "logit"

    def forward(self, p):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(p / (1 - p))

    def backward(self, g):
        p = self.inputs[0]
        return where((p >= 0) & (p <= 1), g / (p * (1 - p)), float("nan"))


class Xlogy(Function):
    """out = x log y, defined as 0 where x = 0 unless y is NaN (the entropy convention; y = 0 or
    y < 0 included).

    The function is linear in x, so d out / dx = log y, also at x = 0 (where the value is pinned
    but the slope is not). PyTorch's rule: dL/dx = xlogy(g, y) (g log y, and 0 where g = 0), set to
    0
    where x = 0 and y <= 0 (log y undefined there); dL/dy = g x / y."""

    name = "xlogy"

    def forward(self, x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x * np.log(y)
        return np.where((x == 0) & ~np.isnan(y), 0, out).astype(out.dtype, copy=False)

    def backward(self, g):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        gx = gy = None
        if nx:
            pinned = Tensor._wrap((x._data == 0) & (y._data <= 0))
            gx = where(pinned, 0.0, Xlogy.apply(g, y))  # xlogy(g, y): exactly 0 where g = 0
        if ny:
            gy = g * x / y
        return gx, gy


def xlogy(input: Any, other: Any) -> Tensor:
    """x log y, 0 where x = 0 (see ``Xlogy``)."""
    x, y = lift(input), lift(other)
    if isinstance(input, Tensor) and not isinstance(other, Tensor):
        y = lift(other, x)
    elif isinstance(other, Tensor) and not isinstance(input, Tensor):
        x = lift(input, y)
    # integers are promoted to a float dtype, as in PyTorch
    if x._data.dtype.kind != "f":
        x = x.to(y._data.dtype if y._data.dtype.kind == "f" else get_default_dtype())
    if y._data.dtype.kind != "f":
        y = y.to(x._data.dtype)
    return _binary(Xlogy, x, y)


class Hypot(Function):
    """out = sqrt(a^2 + b^2), NumPy's ``hypot``: scaled, so 3e20 and 4e20 in float32 give 5e20,
    not inf (a^2 overflows). A primitive for that reason.

    dL/da = g a / out, dL/db = g b / out (NaN at a = b = 0), as in PyTorch."""

    name = "hypot"
    uses_output = True

    def forward(self, a, b):
        return np.hypot(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        out = self.output()
        # torch's order, g * a first: its double backward then differentiates the same graph
        return ((g * a) / out if na else None), ((g * b) / out if nb else None)


def hypot(input: Any, other: Any) -> Tensor:
    """sqrt(a^2 + b^2) without overflow (see ``Hypot``)."""
    return _binary(Hypot, input, other)


def _fused(b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """b + c d rounded once to d's dtype, as an fma. float32: the product is exact in
    float64 and the sum's own rounding error (two-sum) decides a float64 sum that lands on a
    float32 midpoint, so the result is correctly rounded. float64: formed in long double (64
    bits of mantissa on x86), which only a result within 2^-64 of a float64 midpoint rounds
    off by its last bit."""
    if d.dtype == np.float64:
        wide = np.longdouble
        return (b.astype(wide) + c.astype(wide) * d.astype(wide)).astype(np.float64)
    b64, p = b.astype(np.float64), c.astype(np.float64) * d.astype(np.float64)
    s = b64 + p
    bb = s - p
    err = (b64 - bb) + (p - (s - bb))  # s + err = b + p exactly
    r = s.astype(d.dtype)
    r64 = r.astype(np.float64)
    nb = np.nextafter(r, np.where(s > r64, np.inf, -np.inf).astype(d.dtype))
    # s is a midpoint that rounding to even took away from the exact sum's side
    up = (s != r64) & ((r64 + nb.astype(np.float64)) / 2 == s) & (err * (s - r64) > 0)
    return np.where(up, nb, r)


class Lerp(Function):
    """out = a + w (e - a) where |w| < 0.5, else e - (e - a) (1 - w): torch's two forms, each
    exact at its own end, each rounded once as torch's fused multiply-add (``_fused``).
    dL/da = g (1 - w), dL/de = g w, dL/dw = g (e - a), torch's formulas (the composition's
    g - g w rounded differently and the program amplified it, fuzz seed 376611870); with a
    number w, 1 - w is formed in float64 first, as torch's lerp.Scalar."""

    name = "lerp"

    def forward(self, a, e, w, one_minus=None):
        self.one_minus = one_minus
        with np.errstate(invalid="ignore", over="ignore"):
            d, small = e - a, np.abs(w) < 0.5
            if d.dtype not in (np.float32, np.float64):
                return np.where(small, a + w * d, e - d * (1 - w))
            # torch's kernels fuse the multiply-add, a + w d and e - d (1 - w), rounded once
            # (fma): a separate add rounds twice and loses the sign of an underflowed product
            # beside a zero (fuzz seed 928238528: lerp(0, -1.4e-45, 0.039) is -0.0 in torch,
            # seen through 1 / x), or a subnormal half (lerp(0, 5e-324, 0.5) is 0 in torch)
            c = np.where(small, w, -(1 - w))
            return _fused(np.where(small, a, e), c, d)

    def backward(self, g):
        a, e, w = self.inputs
        na, ne, nw = self.needs_input_grad
        ga = (g * (1 - w) if self.one_minus is None else g * self.one_minus) if na else None
        return ga, (g * w if ne else None), (g * (e - a) if nw else None)


def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight (end - input), in torch's two forms (see ``Lerp``)."""
    a = lift(input)
    one_minus = 1.0 - float(weight) if isinstance(weight, (int, float)) else None
    return Lerp.apply(a, lift(end, a), lift(weight, a), one_minus=one_minus)


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


def nan_to_num(
    input: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf`` (the dtype's largest value by default), -inf ->
    ``neginf``; the gradient passes where the value was finite."""
    x = lift(input)
    d = x._data
    if d.dtype.kind != "f":
        return x
    info = np.finfo(d.dtype)
    fixed = np.nan_to_num(
        d,
        nan=nan,
        posinf=info.max if posinf is None else posinf,
        neginf=info.min if neginf is None else neginf,
    )
    return where(Tensor._wrap(np.isfinite(d)), x, Tensor._wrap(fixed))


def trunc(input: Any) -> Tensor:
    """Round towards zero (gradient 0 almost everywhere)."""
    x = lift(input)
    return where(x >= 0, x.floor(), x.ceil())


def frac(input: Any) -> Tensor:
    """x - trunc(x) (gradient 1)."""
    x = lift(input)
    return x - trunc(x).detach()


class Fmod(Function):
    """out = a - trunc(a / b) b, the C remainder (sign of the dividend), computed by NumPy's
    ``fmod``: exact, and IEEE at the edges (fmod(5, inf) = 5, fmod(inf, 2) = NaN), where the
    formula gives 5 - 0 * inf = NaN.

    The quotient is piecewise constant: dL/da = g, dL/db = -g trunc(a / b) (PyTorch's rule)."""

    name = "fmod"

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.fmod(a, b)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        na, nb = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            q = Tensor._wrap(np.trunc(a / b))
        return (g if na else None), (-(g * q) if nb else None)


class Remainder(Function):
    """out = a - floor(a / b) b, Python's remainder (sign of the divisor), computed by NumPy's
    ``remainder`` (exact, IEEE at the edges: remainder(-5, inf) = inf, as torch).

    dL/da = g, dL/db = -g floor(a / b) (PyTorch's rule)."""

    name = "remainder"

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.remainder(a, b)
        # a zero result has a's sign, as torch's (fmod's zero, then adjusted toward b only when
        # nonzero); NumPy's has b's, which a later 1 / x tells apart
        return np.where(r == 0, np.copysign(r, a), r).astype(r.dtype, copy=False)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        na, nb = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            q = Tensor._wrap(np.floor_divide(a, b))  # Python's a // b: -5 // inf = -1, as torch
        return (g if na else None), (-(g * q) if nb else None)


def fmod(input: Any, other: Any) -> Tensor:
    """The C remainder, with the sign of the dividend (see ``Fmod``)."""
    return _binary(Fmod, input, other)


def remainder(input: Any, other: Any) -> Tensor:
    """Python's remainder, with the sign of the divisor (see ``Remainder``)."""
    return _binary(Remainder, input, other)


def deg2rad(input: Any) -> Tensor:
    return lift(input) * (math.pi / 180)


def rad2deg(input: Any) -> Tensor:
    return lift(input) * (180 / math.pi)


def isclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|a - b| <= atol + rtol |b|, element-wise (no gradient)."""
    a, b = lift(input), lift(other)
    return Tensor._wrap(np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(
    input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


__all__ = [
    "erf",
    "tan",
    "sinh",
    "cosh",
    "asin",
    "acos",
    "atan",
    "arcsin",
    "arccos",
    "arctan",
    "atan2",
    "arctan2",
    "expm1",
    "log2",
    "log10",
    "logaddexp",
    "logit",
    "xlogy",
    "hypot",
    "lerp",
    "addcmul",
    "addcdiv",
    "clamp_min",
    "clamp_max",
    "nan_to_num",
    "trunc",
    "frac",
    "fmod",
    "remainder",
    "deg2rad",
    "rad2deg",
    "isclose",
    "allclose",
]
