"""Adadelta, as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _check, _no_differentiable


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012, arXiv:1212.5701)::

        g <- grad + weight_decay * theta            (-grad with maximize)
        v <- rho v + (1 - rho) g^2                  (EWA of squared gradients, v_0 = 0)
        delta <- sqrt(u + eps) / sqrt(v + eps) * g  (unit-correcting ratio of RMS values)
        u <- rho u + (1 - rho) delta^2              (EWA of squared updates, u_0 = 0)
        theta <- theta - lr * delta

    Conventions: eps sits inside both roots, as in the paper and PyTorch; the paper has no lr
    (PyTorch's ``lr=1.0`` default recovers it). ``foreach`` and ``capturable`` are
    accepted for torch's signature (no effect); ``differentiable=True`` is refused.

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        _no_differentiable("Adadelta", differentiable)
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("Adadelta", "rho", group["rho"], 0 <= group["rho"] <= 1, "must be in [0, 1]")

    def _step_group(self, group: dict) -> None:
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = _buffer(np.zeros_like(theta))
                state["acc_delta"] = _buffer(np.zeros_like(theta))
            state["step"] += 1
            if wd != 0:
                g = g + wd * theta
            v, u = state["square_avg"]._data, state["acc_delta"]._data
            v *= rho
            v += (1 - rho) * (g * g)
            delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            u *= rho
            u += (1 - rho) * (delta * delta)
            theta -= lr * delta
            self._bump(p)
