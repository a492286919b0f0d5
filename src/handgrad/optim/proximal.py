"""Proximal gradient methods: ``ProximalSGD`` (ISTA for the L1 penalty) and ``FISTA``, with
pluggable proximal operators, and the one soft thresholding (``shrink``) and FISTA momentum
(``fista_extrapolate``) that ``handgrad.sparse`` uses too. Used in exercises 002-a3b and 002-a6."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check, _Required, required


def shrink(a: np.ndarray, t: Any) -> np.ndarray:
    """Soft thresholding S_t(a) = sign(a) max(|a| - t, 0), the proximal map of t ||.||_1: the one
    implementation on arrays, used by ``L1Prox`` here and by the Lasso solvers of
    ``handgrad.sparse`` (whose ``soft_threshold`` adds the checks and a tensor form)."""
    return np.sign(a) * np.maximum(np.abs(a) - t, 0)


def fista_extrapolate(x: np.ndarray, x_prev: np.ndarray, t: float) -> tuple[np.ndarray, float]:
    """FISTA's momentum (Beck & Teboulle 2009): t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2 and the
    next point y_{k+1} = x_k + (t_k - 1) / t_{k+1} (x_k - x_{k-1}). Returns (y_{k+1}, t_{k+1});
    shared by ``FISTA`` and ``handgrad.sparse.fista``."""
    t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
    return x + ((t - 1) / t_next) * (x - x_prev), t_next


class L2Prox:
    r"""R(theta) = ||theta||^2 / 2. The proximal step
    argmin_theta <g, theta - theta_t> + lam ||theta||^2 / 2 + ||theta - theta_t||^2 / (2 lr)
    has the closed form theta = (theta_t - lr g) / (1 + lr lam): a shrinkage of the plain SGD
    step a = theta_t - lr g."""

    def __call__(self, a: np.ndarray, step: float) -> np.ndarray:
        return a / (1 + step)

    def __repr__(self) -> str:
        return "L2Prox()"


class L1Prox:
    r"""R(theta) = ||theta||_1. The proximal step is soft thresholding of a = theta_t - lr g:
    theta_i = sign(a_i) max(|a_i| - lr lam, 0); coordinates with |a_i| <= lr lam become exactly
    zero. Iterated, this is ISTA (Daubechies, Defrise & De Mol 2004)."""

    def __call__(self, a: np.ndarray, step: float) -> np.ndarray:
        return shrink(a, step)

    def __repr__(self) -> str:
        return "L1Prox()"


class Radial:
    r"""R(theta) = rho(||theta||) for a differentiable rho: R+ -> R+ given by its derivative
    ``rho_prime``. The proximal step is
    theta = (a / ||a||) l, a = theta_t - lr g, where l solves l + lr lam rho'(l) = ||a||.

    Why: at the minimiser, g + lam rho'(||theta||) theta / ||theta|| + (theta - theta_t) / lr = 0,
    i.e. theta (1 + lr lam rho'(||theta||) / ||theta||) = a, so theta is a positive multiple of
    a; taking norms gives the scalar equation for l = ||theta||. The root is found by bisection
    on [0, ||a||], which assumes h(l) = l + lr lam rho'(l) is increasing there (true when rho is
    convex, e.g. rho(l) = l^2 / 2 gives l = ||a|| / (1 + lr lam), the L2 prox). If h(0) >= ||a||
    (rho'(0) > 0, as for rho(l) = l, the group lasso) the step returns 0.

    The norm is that of the whole parameter tensor.
    """

    def __init__(
        self, rho_prime: Callable[[float], float], tol: float = 1e-12, max_iter: int = 200
    ) -> None:
        self.rho_prime, self.tol, self.max_iter = rho_prime, tol, max_iter

    def solve(self, norm_a: float, step: float) -> float:
        """The root l in [0, ||a||] of l + step rho'(l) = ||a||."""

        def h(ell: float) -> float:
            return ell + step * float(self.rho_prime(ell)) - norm_a

        lo, hi = 0.0, float(norm_a)
        if h(lo) >= 0:
            return 0.0
        if h(hi) <= 0:
            return hi
        for _ in range(self.max_iter):
            mid = 0.5 * (lo + hi)
            if h(mid) > 0:
                hi = mid
            else:
                lo = mid
            if hi - lo <= self.tol * max(1.0, norm_a):
                break
        return 0.5 * (lo + hi)

    def __call__(self, a: np.ndarray, step: float) -> np.ndarray:
        norm_a = float(np.sqrt((a.astype(np.float64) ** 2).sum()))
        if norm_a == 0:
            return np.zeros_like(a)
        return a * (self.solve(norm_a, step) / norm_a)

    def __repr__(self) -> str:
        return f"Radial({getattr(self.rho_prime, '__name__', self.rho_prime)})"


_PROX: dict[str, type[L2Prox] | type[L1Prox]] = {"l2": L2Prox, "l1": L1Prox}


def _make_prox(cls_name: str, prox: Any) -> Callable[[np.ndarray, float], np.ndarray]:
    if isinstance(prox, str):
        if prox.lower() not in _PROX:
            raise ValueError(
                f"{cls_name}: unknown prox={prox!r}; use 'l2', 'l1' or an object "
                "called as prox(a, lr * lam), such as Radial(rho_prime)"
            )
        return _PROX[prox.lower()]()
    if not callable(prox):
        raise TypeError(
            f"{cls_name}: prox must be 'l2', 'l1' or a callable prox(a, step), got "
            f"{type(prox).__name__}"
        )
    return prox


class ProximalSGD(Optimizer):
    r"""Proximal (stochastic) gradient descent on L(theta) + lam R(theta) (forward-backward
    splitting; Combettes & Wajs 2005, Multiscale Model. Simul.)::

        v <- (1 - q) v + q g          (EWA of the gradients, v_0 = 0; q = 1: v = g)
        theta <- prox_{lr lam R}(theta - lr v)
        prox_{s R}(a) = argmin_theta s R(theta) + ||theta - a||^2 / 2

    i.e. the minimiser of the linearised loss plus the *exact* regulariser plus a proximity term
    ||theta - theta_t||^2 / (2 lr). ``prox`` is 'l2'
    (R = ||theta||^2 / 2, closed form a / (1 + lr lam)), 'l1' (R = ||theta||_1, soft
    thresholding: this is ISTA), or any callable ``prox(a, step)`` such as ``Radial(rho_prime)``
    for R = rho(||theta||).

    Conventions: for the L2 penalty the proximal step with rate lr equals an ordinary SGD step
    with weight decay at rate lr' = lr / (1 + lr lam) (equivalently lr = lr' / (1 - lr' lam)):
    the two differ only in how the rate is named. The EWA weight q smooths the stochastic
    gradient only; the regulariser is never averaged. State per parameter: ``ewa`` when q < 1.
    """

    def __init__(
        self,
        params: Any,
        lr: float | _Required = required,
        prox: Any = "l2",
        lam: float = 0.0,
        q: float = 1.0,
    ) -> None:
        self._prox = _make_prox(type(self).__name__, prox)
        super().__init__(params, dict(lr=lr, lam=lam, q=q))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        name = type(self).__name__
        _check(name, "lam", group["lam"], group["lam"] >= 0, "the penalty weight must be >= 0")
        _check(name, "q", group["q"], 0 < group["q"] <= 1, "the EWA weight must be in (0, 1]")

    def _step_group(self, group: dict) -> None:
        lr, lam, q = group["lr"], group["lam"], group["q"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            if q < 1:
                state = self.state.setdefault(p, {})
                if "ewa" not in state:
                    state["ewa"] = Tensor._wrap(np.zeros_like(theta))
                v = state["ewa"]._data
                v *= 1 - q
                v += q * g
                g = v
            theta[...] = self._prox(theta - lr * g, lr * lam)
            self._bump(p)


class FISTA(ProximalSGD):
    r"""FISTA (Beck & Teboulle 2009, SIAM J. Imaging Sci.): the proximal gradient step taken
    from an extrapolated point, with O(1/k^2) convergence on convex problems instead of ISTA's
    O(1/k)::

        x_k <- prox_{lr lam R}(y_k - lr grad f(y_k))
        t_{k+1} <- (1 + sqrt(1 + 4 t_k^2)) / 2                    (t_1 = 1)
        y_{k+1} <- x_k + (t_k - 1) / t_{k+1} (x_k - x_{k-1})      (x_0 = the initial theta)

    The parameter holds y (where the next gradient must be evaluated); the latest proximal
    iterate x_k is ``state[p]['x']``. lr should be at most 1 / L, L the Lipschitz constant of
    grad f. Deterministic gradients are assumed (with stochastic ones the extrapolation
    accumulates noise). State per parameter: ``x``, ``t``.
    """

    def __init__(
        self, params: Any, lr: float | _Required = required, prox: Any = "l1", lam: float = 0.0
    ) -> None:
        super().__init__(params, lr, prox, lam, q=1.0)

    def _step_group(self, group: dict) -> None:
        lr, lam = group["lr"], group["lam"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            y = p._data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"x": Tensor._wrap(y.copy()), "t": 1.0}
            x_prev = state["x"]._data
            x = self._prox(y - lr * g, lr * lam).astype(y.dtype, copy=False)
            y[...], state["t"] = fista_extrapolate(x, x_prev, state["t"])
            x_prev[...] = x
            self._bump(p)
