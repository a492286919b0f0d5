"""Rprop, as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _check, _no_differentiable


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun 1993, ICNN), the iRprop- variant::

        g <- grad                                   (-grad with maximize)
        s <- sign(g * g_prev)
        step <- clamp(step * eta_plus,  *step_sizes)   where s > 0  (same sign: speed up)
        step <- clamp(step * eta_minus, *step_sizes)   where s < 0  (sign flip: overshot)
        g <- 0                                         where s < 0  (and skip this coordinate)
        theta <- theta - sign(g) * step
        g_prev <- g

    Only the signs of the gradients are used; each coordinate has its own step, started at lr.
    Conventions: after a sign flip the gradient is zeroed (no step, and the next step counts as
    "no previous sign"), as PyTorch. Rprop is meant for full-batch training.
    ``foreach`` and ``capturable`` are accepted for torch's signature (no effect);
    ``differentiable=True`` is refused.

    State per parameter: ``step``, ``prev``, ``step_size``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        etas: tuple = (0.5, 1.2),
        step_sizes: tuple = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        _no_differentiable("Rprop", differentiable)
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        minus, plus = group["etas"]
        _check(
            "Rprop", "etas", group["etas"], 0 < minus < 1 < plus, "need 0 < etas[0] < 1 < etas[1]"
        )

    def _step_group(self, group: dict) -> None:
        (eta_minus, eta_plus), (smin, smax) = group["etas"], group["step_sizes"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["prev"] = _buffer(np.zeros_like(theta))
                state["step_size"] = _buffer(np.full_like(g, group["lr"]))
            state["step"] += 1
            prev, size = state["prev"]._data, state["step_size"]._data
            s = np.sign(g * prev)
            factor = np.where(s > 0, eta_plus, np.where(s < 0, eta_minus, 1.0)).astype(size.dtype)
            size *= factor
            np.clip(size, smin, smax, out=size)
            g = np.where(s < 0, 0, g).astype(theta.dtype, copy=False)
            theta -= np.sign(g) * size
            prev[...] = g
            self._bump(p)
