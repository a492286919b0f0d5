"""``torch.nn.utils.parametrizations``: ``weight_norm`` and ``spectral_norm``, registered with
``parametrize.register_parametrization`` under torch's names.

weight_norm writes the weight of a layer as w = g v / ||v|| (Salimans & Kingma 2016), with g and
v the trained parameters (``original0``, ``original1``). The norm is taken over every dim but
``dim`` (per output unit for dim = 0; over the whole tensor for dim None or -1, torch's
``norm_except_dim``), so each row of w has length |g|: with g fixed at 1 this is
``nn.NormalizedLinear``, whose output (w_i . x) / ||w_i|| is unchanged by rescaling w_i. The
gradients, derived by the engine through the composition, are the paper's: with G = dL/dw,

    dL/dg = G . v / ||v||,      dL/dv = (g / ||v||) (G - (dL/dg) v / ||v||),

the gradient with respect to v is G with its component along v removed (and scaled), so a
gradient step never changes ||v|| to first order.

spectral_norm divides the weight by an estimate of its largest singular value (Miyato et al.
2018): sigma = u . (W v), with u, v the buffers ``_u``, ``_v`` refined by ``n_power_iterations``
steps of power iteration (u <- W v / ||W v||, v <- W^T u / ||W^T u||, without gradient) at every
access in training mode, and 15 at registration. u and v start from normal draws of handgrad's
generator (torch's draws differ), so the estimates agree with torch's once the iteration has
converged. The gradient flows through W in both W / sigma and sigma, u and v held fixed.
"""

from __future__ import annotations

import numpy as np

from ... import creation
from ..._tensor import Tensor
from ..module import Module
from .parametrize import register_parametrization


def _norm_except(v: Tensor, dim: int | None) -> Tensor:
    if dim is None:
        return (v * v).sum().sqrt()
    d = dim % v.ndim
    others = tuple(i for i in range(v.ndim) if i != d)
    return (v * v).sum(others, keepdim=True).sqrt()


class _WeightNorm(Module):
    def __init__(self, dim: int | None) -> None:
        super().__init__()
        # torch's norm_except_dim takes -1 for "no dim kept": the norm of the whole tensor
        self.dim = None if dim == -1 else dim

    def forward(self, g: Tensor, v: Tensor) -> Tensor:
        return v * (g / _norm_except(v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Replace ``module.<name>`` by g v / ||v|| with g = ||w|| (over all dims but ``dim``) and
    v = w at the start, so the layer computes the same function until it is trained. The
    module's class becomes ``Parametrized<Class>`` whose ``<name>`` is computed on access."""
    if module._parameters.get(name) is None:
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


def _normalize(a: np.ndarray, eps: float) -> np.ndarray:
    return a / max(float(np.sqrt((a * a).sum())), eps)


class _SpectralNorm(Module):
    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        if n_power_iterations <= 0:
            raise ValueError(
                f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}"
            )
        self.dim = dim % weight.ndim if weight.ndim else 0
        self.eps = eps
        if weight.ndim > 1:
            self.n_power_iterations = n_power_iterations
            h, w = self._matrix(weight._data).shape
            u = creation.randn(h, dtype=weight.dtype)._data
            v = creation.randn(w, dtype=weight.dtype)._data
            self.register_buffer("_u", Tensor._wrap(_normalize(u, eps)))
            self.register_buffer("_v", Tensor._wrap(_normalize(v, eps)))
            self._power_method(self._matrix(weight._data), 15)

    def _matrix(self, w: np.ndarray) -> np.ndarray:
        if self.dim != 0:
            w = np.moveaxis(w, self.dim, 0)
        return w.reshape(w.shape[0], -1)

    def _power_method(self, w: np.ndarray, n: int) -> None:
        u, v = self._u._data, self._v._data
        for _ in range(n):
            u[...] = _normalize(w @ v, self.eps)
            v[...] = _normalize(w.T @ u, self.eps)
        self._u._version[0] += 1
        self._v._version[0] += 1

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return weight / weight.norm().clamp(min=self.eps)
        if self.training:
            self._power_method(self._matrix(weight._data), self.n_power_iterations)
        mat = weight.movedim(self.dim, 0) if self.dim != 0 else weight
        mat = mat.reshape(mat.shape[0], -1)
        sigma = (self._u.clone() * (mat @ self._v.clone())).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Replace ``module.<name>`` by W / sigma(W), sigma estimated by power iteration (see the
    module docstring); ``dim`` defaults to 1 for transposed convolutions, else 0, as torch's."""
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is None:
        dim = 1 if "ConvTranspose" in type(module).__name__ else 0
    return register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )


__all__ = ["spectral_norm", "weight_norm"]
