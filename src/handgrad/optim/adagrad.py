"""Adagrad, as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check, _no_differentiable


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011, JMLR)::

        t <- t + 1
        g <- grad + weight_decay * theta
        lr_t <- lr / (1 + (t - 1) * lr_decay)
        S <- S + g^2                                 (S_0 = initial_accumulator_value)
        theta <- theta - lr_t * g / (sqrt(S) + eps)

    The accumulator is a *sum*, not an average: the effective step shrinks like 1/sqrt(t)
    for stationary gradients, a built-in decreasing rate. It is the diagonal preconditioner
    M = diag(1 / sqrt(sum of squared gradients)), ``PreconditionedSGD``'s with a sum in place of
    its per-epoch mean. eps is added outside the root.

    State per parameter: ``step``, ``sum``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _no_differentiable("Adagrad", differentiable)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("Adagrad", "lr_decay", group["lr_decay"], group["lr_decay"] >= 0, "must be >= 0")
        v = group["initial_accumulator_value"]
        _check("Adagrad", "initial_accumulator_value", v, v >= 0, "must be >= 0")

    def _step_group(self, group: dict) -> None:
        lr, decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state.get(p)
            if state is None:
                init = group["initial_accumulator_value"]
                state = self.state[p] = {"step": 0, "sum": Tensor._wrap(np.full_like(theta, init))}
            state["step"] += 1
            if wd != 0:
                g = g + wd * theta
            clr = lr / (1 + (state["step"] - 1) * decay)
            S = state["sum"]._data
            S += g * g
            std = np.sqrt(S)
            std += eps
            theta -= clr * (g / std)
            self._bump(p)
