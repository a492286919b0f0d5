"""Adam and AdamW (with AMSGrad), as in torch.optim."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check_betas, _no_differentiable


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015, ICLR), with AMSGrad (Reddi, Kale & Kumar 2018, ICLR)::

        t <- t + 1
        g <- grad + weight_decay * theta              (Adam: L2 through the gradient)
        theta <- theta * (1 - lr * weight_decay)      (AdamW, or decoupled_weight_decay=True)
        m <- beta1 m + (1 - beta1) g                  (EWA of gradients, m_0 = 0)
        v <- beta2 v + (1 - beta2) g^2                (EWA of squared gradients, v_0 = 0)
        vmax <- max(vmax, v)                          (amsgrad only; then v := vmax below)
        theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Conventions: m and v are the *plain* EWA (``EWA``) with q = 1 - beta,
    started at 0 and divided by 1 - beta^t afterwards (bias correction). That equals the
    *debiased* EWA with q_t = q / (1 - (1-q)^t) exactly (see ``EWA(debias=True)``). eps is
    added to sqrt(v-hat), not inside the root (some sources, e.g. TensorFlow's epsilon-hat,
    add it to the uncorrected sqrt(v)). PyTorch's AMSGrad takes the maximum of the
    *uncorrected* v. With a batch of B examples, v tracks the square of the batch-mean gradient,
    which shrinks with B; ``handgrad.func.PerSampleAdam`` uses the
    mean of per-example squares instead.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _no_differentiable(type(self).__name__, differentiable)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        name = type(self).__name__
        _check_betas(name, group["betas"])

    def _moments(self, p: Any, group: dict, i: int) -> tuple | None:
        """(the gradient g for the first moment, the square for the second) of parameter ``p``
        (the i-th of its group), weight decay applied, or None to leave p alone: g and g * g.
        PerSampleAdam (func/per_sample.py) forms both from per-example gradients instead."""
        g = self._grad(p, group)
        if g is None:
            return None
        wd = group["weight_decay"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p._data *= 1 - group["lr"] * wd
            else:
                g = g + wd * p._data
        return g, g * g

    def _step_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        amsgrad = group["amsgrad"]
        for i, p in enumerate(group["params"]):
            moments = self._moments(p, group, i)
            if moments is None:
                continue
            g, g2 = moments
            theta = p._data
            state = self.state.get(p)
            if state is None:
                state = self.state[p] = {
                    "step": 0,
                    "exp_avg": Tensor._wrap(np.zeros_like(theta)),
                    "exp_avg_sq": Tensor._wrap(np.zeros_like(theta)),
                }
                if amsgrad:
                    state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(theta))
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            m += (1 - beta1) * (g - m)  # PyTorch's lerp; the same EWA, rounded as torch does
            v *= beta2
            v += (1 - beta2) * g2
            step_size = lr / (1 - beta1**t)
            bc2_sqrt = math.sqrt(1 - beta2**t)
            if amsgrad:
                vmax = state["max_exp_avg_sq"]._data
                np.maximum(vmax, v, out=vmax)
                v = vmax
            denom = np.sqrt(v) / bc2_sqrt
            denom += eps
            theta -= step_size * (m / denom)
            self._bump(p)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter 2019, ICLR)::

        theta <- theta * (1 - lr * weight_decay)     before the Adam step on the raw gradient

    Unlike Adam's ``weight_decay`` (an L2 term added to the gradient, then divided by
    sqrt(v)), the decay here is not rescaled per coordinate. Default weight_decay = 0.01, as in
    PyTorch. The Adam step itself is as in ``Adam``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            differentiable=differentiable,
            decoupled_weight_decay=True,
        )
