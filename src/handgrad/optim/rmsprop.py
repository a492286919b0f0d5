"""RMSprop (with the centered variant and momentum), as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check, _no_differentiable


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Coursera lecture 6e, 2012; centered: Graves 2013, arXiv:1308.0850)::

        g <- grad + weight_decay * theta
        s <- alpha s + (1 - alpha) g^2                 (EWA of squared gradients, s_0 = 0)
        if centered:  a <- alpha a + (1 - alpha) g;  d <- sqrt(s - a^2) + eps
        else:         d <- sqrt(s) + eps
        if momentum > 0:  b <- momentum b + g / d;  theta <- theta - lr b
        else:             theta <- theta - lr g / d

    Conventions: PyTorch adds eps outside the root (TensorFlow inside: sqrt(s + eps)) and does
    no bias correction, so the first steps are large (s_1 = (1 - alpha) g^2). ``alpha`` is the
    decay (1 - q in ``EWA``'s notation). The
    centered form divides by an estimate of the standard deviation instead of the RMS.

    State per parameter: ``step``, ``square_avg`` (and ``grad_avg``, ``momentum_buffer``).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _no_differentiable("RMSprop", differentiable)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("RMSprop", "momentum", group["momentum"], group["momentum"] >= 0, "must be >= 0")
        _check("RMSprop", "alpha", group["alpha"], 0 <= group["alpha"] <= 1, "must be in [0, 1]")

    def _step_group(self, group: dict) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mu, centered = group["weight_decay"], group["momentum"], group["centered"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {
                    "step": 0,
                    "square_avg": Tensor._wrap(np.zeros_like(theta)),
                }
                if mu > 0:
                    state["momentum_buffer"] = Tensor._wrap(np.zeros_like(theta))
                if centered:
                    state["grad_avg"] = Tensor._wrap(np.zeros_like(theta))
            state["step"] += 1
            if wd != 0:
                g = g + wd * theta
            s = state["square_avg"]._data
            s *= alpha
            s += (1 - alpha) * (g * g)
            if centered:
                a = state["grad_avg"]._data
                a += (1 - alpha) * (g - a)
                d = np.sqrt(s - a * a)
            else:
                d = np.sqrt(s)
            d += eps
            if mu > 0:
                b = state["momentum_buffer"]._data
                b *= mu
                b += g / d
                theta -= lr * b
            else:
                theta -= lr * (g / d)
            self._bump(p)
