"""NAdam, as in torch.optim."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import (
    Optimizer,
    _buffer,
    _check,
    _check_betas,
    _lerp_,
    _no_differentiable,
    _scalar_dtype,
    _value,
)


class NAdam(Optimizer):
    r"""NAdam, Adam with Nesterov momentum (Dozat 2016, ICLR workshop), with the momentum
    schedule of the paper and, optionally, decoupled weight decay (NAdamW)::

        t <- t + 1
        g <- grad (-grad with maximize)
        theta <- theta (1 - lr weight_decay)          if decoupled_weight_decay
        g <- g + weight_decay theta                   otherwise
        mu_t <- beta1 (1 - 0.5 * 0.96^(t psi))        (psi = momentum_decay)
        mu_{t+1} <- beta1 (1 - 0.5 * 0.96^((t+1) psi))
        P <- P * mu_t                                  (mu_product, P_0 = 1)
        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        d <- sqrt(v / (1 - beta2^t)) + eps
        theta <- theta - lr (1 - mu_t) / (1 - P) * g / d - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d

    Conventions: the Nesterov look-ahead is folded into the step (the current gradient with
    weight (1 - mu_t), the momentum with the *next* mu), as PyTorch does. PyTorch keeps the
    product P in a float32 scalar unless the default dtype is float64; it is rounded the same
    way here, so the steps agree to the last bit.
    ``foreach`` and ``capturable`` are accepted for torch's signature (no effect);
    ``differentiable=True`` is refused.

    State per parameter: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
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
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        _no_differentiable("NAdam", differentiable)
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check_betas("NAdam", group["betas"])
        _check(
            "NAdam",
            "momentum_decay",
            group["momentum_decay"],
            group["momentum_decay"] >= 0,
            "must be >= 0",
        )

    def _step_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, psi = group["weight_decay"], group["momentum_decay"]
        scalar = _scalar_dtype()
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["mu_product"] = 1.0
                state["exp_avg"] = _buffer(np.zeros_like(theta))
                state["exp_avg_sq"] = _buffer(np.zeros_like(theta))
            state["step"] += 1
            t = _value(state["step"])
            if wd != 0:
                if group["decoupled_weight_decay"]:
                    theta *= 1 - lr * wd
                else:
                    g = g + wd * theta
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            # in the scalar dtype, as torch's in-place product of a 0-d tensor
            product = float(scalar(_value(state["mu_product"])) * scalar(mu))
            state["mu_product"] = product
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            _lerp_(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v / (1 - beta2**t)) + eps
            theta += (-lr * (1.0 - mu) / (1.0 - product) * g) / denom
            theta += (-lr * mu_next / (1.0 - product * mu_next) * m) / denom
            self._bump(p)
