"""Mirror descent for parameters in the box (0, 1) (binary-entropy Bregman divergence) and on the
probability simplex (exponentiated gradient). Used in exercise 002-a11."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _Required, required

_DOMAINS = ("box", "simplex")


def _sigmoid(y: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(y))
    return np.where(y >= 0, 1 / (1 + e), e / (1 + e))


def _logsumexp(a: np.ndarray, axis: Any) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


class MirrorDescent(Optimizer):
    r"""Mirror descent: x_{t+1} = argmin_x <grad f(x_t), x - x_t> + D(x, x_t) / lr, with the
    Bregman divergence D of the domain's entropy (Nemirovski & Yudin 1983; Beck & Teboulle
    2003).

    ``domain='box'`` (every coordinate in (0, 1)), D the binary-entropy divergence
    sum_i x_i log(x_i / x0_i) + (1 - x_i) log((1 - x_i) / (1 - x0_i)). Setting the derivative to
    zero gives logit(x_i) = logit(x0_i) - lr g_i, so::

        y <- y - lr g            (y = logit(x), kept in the state: no log of x each step)
        x <- sigmoid(y)

    ``domain='simplex'`` (x >= 0, sum x = 1 over ``dim``, all elements if None), D the KL
    divergence: the exponentiated gradient / multiplicative weights update (Kivinen & Warmuth
    1997)::

        x <- x * exp(-lr g) / sum(x * exp(-lr g))     (in the log domain: w <- w - lr g,
                                                       w <- w - logsumexp(w), x = exp(w))

    The iterates never leave the domain: they are a sigmoid / a normalised exponential of the
    state. In finite precision a sigmoid can round to exactly 0 or 1; x is therefore clamped to
    [tiny, 1 - eps/2] of its dtype, which keeps it strictly inside without touching y.
    The parameters must start inside the domain (checked at the first step). State per
    parameter: ``dual`` (y, or w = log x).
    """

    def __init__(
        self,
        params: Any,
        lr: float | _Required = required,
        domain: str = "box",
        dim: int | None = None,
    ) -> None:
        if domain not in _DOMAINS:
            raise ValueError(f"MirrorDescent: domain must be one of {_DOMAINS}, got {domain!r}")
        super().__init__(params, dict(lr=lr, domain=domain, dim=dim))

    def _init_dual(self, theta: np.ndarray, domain: str, dim: Any, i: int) -> np.ndarray:
        x = theta.astype(np.float64)
        if domain == "box":
            if not ((x > 0) & (x < 1)).all():
                raise ValueError(
                    f"MirrorDescent: parameter {i} must lie strictly inside the box (0, 1) "
                    f"(values range over [{x.min()}, {x.max()}])"
                )
            return np.log(x) - np.log1p(-x)
        total = x.sum(axis=dim, keepdims=True)
        if not (x > 0).all() or not np.allclose(total, 1, atol=1e-5):
            raise ValueError(
                f"MirrorDescent: parameter {i} must be positive and sum to 1 over dim={dim} "
                f"(min {x.min()}, sums between {total.min()} and {total.max()})"
            )
        return np.log(x)

    def _step_group(self, group: dict) -> None:
        lr, domain, dim = group["lr"], group["domain"], group["dim"]
        for i, p in enumerate(group["params"]):
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {
                    "dual": Tensor._wrap(self._init_dual(theta, domain, dim, i))
                }
            w = state["dual"]._data
            w -= lr * g
            info = np.finfo(theta.dtype)
            if domain == "box":
                x = _sigmoid(w)
            else:
                w -= _logsumexp(w, dim)
                x = np.exp(w)
            theta[...] = np.clip(x, info.tiny, 1 - info.epsneg)
            self._bump(p)


__all__ = ["MirrorDescent"]
