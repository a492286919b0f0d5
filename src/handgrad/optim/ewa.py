"""SGD on an exponentially weighted average of the gradients. Used in exercises 000-a3a..b3."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check, _Required, required


class EWA(Optimizer):
    r"""SGD whose step direction is an exponentially weighted average (EWA) of the gradients
    (momentum, Polyak 1964, USSR Comput. Math. & Math. Phys., written as an average)::

        t <- t + 1
        q_t <- q / (1 - (1 - q)^t)   if debias   else   q
        v <- (1 - q_t) v + q_t g                 (v_0 = 0)
        theta <- theta - lr v

    Relation to the other conventions:

    - **PyTorch momentum** (``SGD(momentum=mu)``: b <- mu b + g, theta <- theta - lr' b, b_1 = g)
      is *plain* EWA with mu = 1 - q and lr' = q lr: by induction v_t = q b_t (v_1 = q g_1 =
      q b_1, and q b_t = (1 - q) q b_{t-1} + q g_t), so both take the same steps.
    - **Debiased** EWA: with q_t as above, v_t is an unbiased estimate of the expected gradient
      from t = 1 on (v_1 = g_1; a constant gradient c gives v_t = c for every t), while plain EWA
      starts biased towards 0 (v_1 = q g_1). Debiased EWA equals plain EWA divided by
      1 - (1 - q)^t at every step (the ratio satisfies the same recursion), which is exactly
      Adam's bias-corrected first moment m-hat with beta1 = 1 - q.

    ``weight_decay`` adds an L2 gradient as in SGD. State per parameter: ``step``, ``ewa``.
    """

    def __init__(
        self,
        params: Any,
        lr: float | _Required = required,
        q: float = 0.1,
        debias: bool = False,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, q=q, debias=debias, weight_decay=weight_decay, maximize=maximize)
        )

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("EWA", "q", group["q"], 0 < group["q"] <= 1, "the EWA weight must be in (0, 1]")

    def _step_group(self, group: dict) -> None:
        lr, q, debias, wd = group["lr"], group["q"], group["debias"], group["weight_decay"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {"step": 0, "ewa": Tensor._wrap(np.zeros_like(theta))}
            state["step"] += 1
            qt = q / (1 - (1 - q) ** state["step"]) if debias else q
            if wd != 0:
                g = g + wd * theta
            v = state["ewa"]._data
            v *= 1 - qt
            v += qt * g
            theta -= lr * v
            self._bump(p)
