"""``torch.nn.utils.parametrizations.weight_norm``: the weight of a layer written as
w = g v / ||v|| (Salimans & Kingma 2016), with g and v the trained parameters.

The norm is taken over every dim but ``dim`` (per output unit for dim = 0), so each row of w
has length |g|: with g fixed at 1 this is ``nn.NormalizedLinear``, whose
output (w_i . x) / ||w_i|| is unchanged by rescaling w_i. The gradients, derived by the engine
through the composition, are the paper's: with G = dL/dw,

    dL/dg = G . v / ||v||,      dL/dv = (g / ||v||) (G - (dL/dg) v / ||v||),

the gradient with respect to v is G with its component along v removed (and scaled), so a
gradient step never changes ||v|| to first order.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .container import ModuleDict
from .module import Module, Parameter


def _norm_except(v: Tensor, dim: int | None) -> Tensor:
    if dim is None:
        return (v * v).sum().sqrt()
    d = dim % v.ndim
    others = tuple(i for i in range(v.ndim) if i != d)
    return (v * v).sum(others, keepdim=True).sqrt()


class _WeightNorm(Module):
    def __init__(self, dim: int | None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, g: Tensor, v: Tensor) -> Tensor:
        return v * (g / _norm_except(v, self.dim))


class ParametrizationList(Module):
    """The originals of one parametrized tensor (``original0``, ``original1``) and the
    parametrization that computes it from them."""

    def __init__(self, parametrization: Module, originals: list[np.ndarray]) -> None:
        super().__init__()
        self.add_module("0", parametrization)
        for i, a in enumerate(originals):
            self.register_parameter(f"original{i}", Parameter(a))

    def forward(self) -> Tensor:
        return self._modules["0"](
            *[self._parameters[f"original{i}"] for i in range(len(self._parameters))]
        )


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Replace ``module.<name>`` by g v / ||v|| with g = ||w|| (over all dims but ``dim``) and
    v = w at the start, so the layer computes the same function until it is trained. The
    module's class becomes ``Parametrized<Class>`` whose ``<name>`` is computed on access."""
    if name not in module._parameters or module._parameters[name] is None:
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    w = module._parameters[name]
    v = w._data.copy()
    g = _norm_except(Tensor._wrap(v), dim)._data.copy()
    del module._parameters[name]
    if "parametrizations" not in module._modules:
        module.parametrizations = ModuleDict()
    module.parametrizations[name] = ParametrizationList(_WeightNorm(dim), [g, v])
    cls = type(module)
    if not cls.__name__.startswith("Parametrized"):
        attrs = {"__module__": cls.__module__, "__doc__": cls.__doc__}
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), attrs)
    setattr(type(module), name, property(lambda self: self.parametrizations[name]()))
    return module


__all__ = ["weight_norm"]
