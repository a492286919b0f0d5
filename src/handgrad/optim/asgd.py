"""Averaged SGD, as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _no_differentiable, _scalar_dtype, _value


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak & Juditsky 1992, SIAM J. Control Optim.)::

        t <- t + 1
        g <- grad + weight_decay * theta                (-grad with maximize)
        theta <- theta (1 - lambd eta) - eta g          (eta: this step's rate, eta_0 = lr)
        ax <- theta                      if mu = 1     (before averaging starts)
        ax <- ax + mu (theta - ax)       otherwise     (running average of the iterates)
        eta <- lr / (1 + lambd lr t)^alpha
        mu <- 1 / max(1, t - t0)

    The optimized parameters are the SGD iterates; the average ``state[p]["ax"]`` (from step
    t0 on) is what one evaluates with. Conventions: PyTorch keeps eta and mu in float32 scalars
    unless the default dtype is float64; they are rounded the same way here.
    ``foreach`` and ``capturable`` are accepted for torch's signature (no effect);
    ``differentiable=True`` is refused.

    State per parameter: ``step``, ``eta``, ``mu``, ``ax``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize
        )
        _no_differentiable("ASGD", differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict) -> None:
        lr, lambd, alpha, t0, wd = (
            group["lr"],
            group["lambd"],
            group["alpha"],
            group["t0"],
            group["weight_decay"],
        )
        scalar = _scalar_dtype()
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["eta"] = float(scalar(lr))
                state["mu"] = 1.0
                state["ax"] = _buffer(np.zeros_like(theta))
            state["step"] += 1
            t = _value(state["step"])
            if wd != 0:
                g = g + wd * theta
            eta = _value(state["eta"])
            theta *= 1 - lambd * eta
            theta -= eta * g
            ax = state["ax"]._data
            if _value(state["mu"]) != 1:
                ax += (theta - ax) * _value(state["mu"])
            else:
                ax[...] = theta
            state["eta"] = float(scalar(lr / ((1 + lambd * lr * t) ** alpha)))
            state["mu"] = float(scalar(1 / max(1, t - t0)))
            self._bump(p)
