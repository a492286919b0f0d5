"""RAdam, as in torch.optim."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _check_betas, _lerp_, _no_differentiable


class RAdam(Optimizer):
    r"""RAdam, rectified Adam (Liu et al. 2020, ICLR), optionally with decoupled weight decay::

        t <- t + 1
        theta <- theta (1 - lr weight_decay)          if decoupled_weight_decay
        g <- grad + weight_decay theta                otherwise  (-grad with maximize)
        m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
        m_hat <- m / (1 - beta1^t)
        rho_inf <- 2 / (1 - beta2) - 1
        rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:   (the variance of the adaptive rate is tractable)
            r <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta <- theta - lr m_hat r sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:           (early steps: SGD with momentum, no adaptive denominator)
            theta <- theta - lr m_hat

    Conventions: the threshold is rho_t > 5, as PyTorch (the paper says 4); eps is added to
    sqrt(v) before the bias correction sqrt(1 - beta2^t) multiplies.
    ``foreach`` and ``capturable`` are accepted for torch's signature (no effect);
    ``differentiable=True`` is refused.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        _no_differentiable("RAdam", differentiable)
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check_betas("RAdam", group["betas"])

    def _step_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = (
            group["lr"],
            group["betas"],
            group["eps"],
            group["weight_decay"],
        )
        rho_inf = 2 / (1 - beta2) - 1
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = _buffer(np.zeros_like(theta))
                state["exp_avg_sq"] = _buffer(np.zeros_like(theta))
            state["step"] += 1
            t = state["step"]
            if wd != 0:
                if group["decoupled_weight_decay"]:
                    theta *= 1 - lr * wd
                else:
                    g = g + wd * theta
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            _lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * (g * g)
            bc1, bc2 = 1 - beta1**t, 1 - beta2**t
            m_hat = m / bc1
            rho_t = rho_inf - 2 * t * beta2**t / bc2
            if rho_t > 5.0:
                rect = math.sqrt(
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                )
                adaptive = math.sqrt(bc2) / (np.sqrt(v) + eps)
                theta -= m_hat * lr * adaptive * rect
            else:
                theta -= m_hat * lr
            self._bump(p)
