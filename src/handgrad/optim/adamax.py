"""Adamax, as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _check_betas, _lerp_, _no_differentiable


class Adamax(Optimizer):
    r"""Adamax, Adam with the infinity norm (Kingma & Ba 2015, ICLR, section 7.1)::

        t <- t + 1
        g <- grad + weight_decay * theta             (-grad with maximize)
        m <- beta1 m + (1 - beta1) g                 (EWA of gradients, m_0 = 0)
        u <- max(beta2 u, |g| + eps)                 (decayed running max of |g|, u_0 = 0)
        theta <- theta - lr / (1 - beta1^t) * m / u

    Conventions: PyTorch adds eps to |g| inside the max (the paper has no eps), so u > 0 from
    the first step. u needs no bias correction (a max is not biased towards 0).

    ``foreach`` and ``capturable`` are accepted for torch's signature (no effect);
    ``differentiable=True`` is refused.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize
        )
        _no_differentiable("Adamax", differentiable)
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check_betas("Adamax", group["betas"])

    def _step_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = (
            group["lr"],
            group["betas"],
            group["eps"],
            group["weight_decay"],
        )
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = _buffer(np.zeros_like(theta))
                state["exp_inf"] = _buffer(np.zeros_like(theta))
            state["step"] += 1
            if wd != 0:
                g = g + wd * theta
            m, u = state["exp_avg"]._data, state["exp_inf"]._data
            _lerp_(m, g, 1 - beta1)
            u *= beta2
            np.maximum(u, np.abs(g) + eps, out=u)
            theta += (-lr / (1 - beta1 ** state["step"]) * m) / u
            self._bump(p)
