"""Activation functions as modules (torch.nn names and arguments). Each calls the function of
the same name in ``handgrad.nn.functional``; the derivatives are those of the primitives it is
made of (behaviour at kinks as in PyTorch: relu'(0) = 0, leaky_relu'(0) = negative_slope)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, lift
from . import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace  # accepted for compatibility; handgrad never works in place here

    def forward(self, input: Tensor) -> Tensor:
        return ops.relu(input)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input: Tensor) -> Tensor:
        return ops.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return ops.tanh(input)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return ops.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    """x Phi(x) (``approximate='tanh'`` for the tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x) (also called swish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) along ``dim``."""

    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i - logsumexp(x) along ``dim``."""

    def __init__(self, dim: Any = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def _simple(name: str, fn: Any, doc: str, args: tuple = ()) -> type:
    """A module whose forward is ``fn(input, *stored arguments)``; ``args`` lists (name,
    default) pairs in torch's order (``inplace`` is accepted and ignored)."""

    def __init__(self, *values: Any, inplace: bool = False, **kw: Any) -> None:
        Module.__init__(self)
        if len(values) > len(args):
            raise TypeError(f"{name}: expected at most {len(args)} arguments, got {len(values)}")
        given = dict(zip([a for a, _ in args], values))
        for a, default in args:
            setattr(self, a, kw.pop(a, given.get(a, default)))
        if kw:
            raise TypeError(f"{name}: unexpected arguments {sorted(kw)}")
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return fn(input, *[getattr(self, a) for a, _ in args])

    def extra_repr(self) -> str:
        return ", ".join(f"{a}={getattr(self, a)}" for a, _ in args)

    return type(
        name,
        (Module,),
        {
            "__init__": __init__,
            "forward": forward,
            "extra_repr": extra_repr,
            "__doc__": doc,
            "__module__": __name__,
        },
    )


Hardtanh = _simple(
    "Hardtanh",
    F.hardtanh,
    "x clamped to [min_val, max_val].",
    (("min_val", -1.0), ("max_val", 1.0)),
)
ReLU6 = _simple("ReLU6", F.relu6, "min(max(x, 0), 6).")
SELU = _simple("SELU", F.selu, "scale * elu(x, alpha) with the self-normalising constants.")
CELU = _simple(
    "CELU", F.celu, "x for x > 0, alpha (exp(x / alpha) - 1) otherwise.", (("alpha", 1.0),)
)
Softsign = _simple("Softsign", F.softsign, "x / (1 + |x|).")
Hardsigmoid = _simple("Hardsigmoid", F.hardsigmoid, "relu6(x + 3) / 6.")
Hardswish = _simple("Hardswish", F.hardswish, "x relu6(x + 3) / 6.")
Mish = _simple("Mish", F.mish, "x tanh(softplus(x)).")
LogSigmoid = _simple("LogSigmoid", F.logsigmoid, "log sigmoid(x) = -softplus(-x).")
Softmin = _simple("Softmin", F.softmin, "softmax(-x) along dim.", (("dim", None),))
Tanhshrink = _simple("Tanhshrink", F.tanhshrink, "x - tanh(x).")
Softshrink = _simple("Softshrink", F.softshrink, "Soft thresholding at lambd.", (("lambd", 0.5),))
Hardshrink = _simple("Hardshrink", F.hardshrink, "x where |x| > lambd, else 0.", (("lambd", 0.5),))
Threshold = _simple(
    "Threshold",
    F.threshold,
    "x where x > threshold, else value.",
    (("threshold", None), ("value", None)),
)
GLU = _simple(
    "GLU", F.glu, "a sigmoid(b) for the two halves a, b of the input along dim.", (("dim", -1),)
)


class PReLU(Module):
    """max(0, x) + a min(0, x) with a learned slope a: one shared, or one per channel
    (``num_parameters`` = C), initialised to ``init``."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        from .._tensor import get_default_dtype
        from .module import Parameter

        dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(np.full(num_parameters, init, dtype))

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """Softmax over the channels at every pixel of (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor) -> Tensor:
        x = lift(input)
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D or 4-D input, got shape {x.shape}")
        return ops.softmax(x, -3)


__all__ = [
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "GELU",
    "SiLU",
    "ELU",
    "Softmax",
    "Softmax2d",
    "LogSoftmax",
    "Hardtanh",
    "ReLU6",
    "SELU",
    "CELU",
    "Softsign",
    "Hardsigmoid",
    "Hardswish",
    "Mish",
    "LogSigmoid",
    "Softmin",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
    "Threshold",
    "GLU",
    "PReLU",
]
