"""Adafactor, as torch.optim.Adafactor."""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _buffer, _check, _value


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern 2018, ICML), in PyTorch's form: second moments of a matrix
    gradient kept as a row and a column factor (O(m + n) memory instead of O(m n))::

        t <- t + 1;  g <- grad (-grad with maximize)
        beta2_t <- 1 - t^beta2_decay                  (the decay rises towards 1 as t grows)
        rho_t <- min(lr, 1 / sqrt(t))
        alpha <- max(eps2, RMS(theta)) rho_t          (relative step size, before the decay)
        theta <- theta (1 - lr weight_decay)
        if g has 2+ dims (the last two are rows x columns):
            R <- beta2_t R + (1 - beta2_t) mean_cols(g^2)      (row factor, shape (..., m, 1))
            C <- beta2_t C + (1 - beta2_t) mean_rows(g^2)      (column factor, (..., 1, n))
            V <- R C / max(mean(R), eps1)                      (rank-1 estimate of E[g^2])
        else:
            V <- beta2_t V + (1 - beta2_t) g^2
        u <- g / sqrt(max(V, eps1^2))
        theta <- theta - alpha / max(1, RMS(u) / d) * u        (update clipping at d)

    Conventions (PyTorch's, which differ from the paper): no first moment; eps1 defaults to
    the dtype's machine epsilon (``eps=(None, 1e-3)``); lr caps the relative step rho_t;
    weight decay is decoupled. RMS(x) = ||x||_2 / sqrt(numel). ``foreach`` is accepted for
    torch's signature (no effect).

    State per parameter: ``step``, and ``row_var`` and ``col_var`` (factored, 2+ dims) or
    ``variance`` (vectors and scalars).
    """

    _per_parameter_state = False  # the factors are not of the parameter's shape

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            beta2_decay=beta2_decay,
            eps=tuple(eps),
            d=d,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        lr, (eps1, eps2) = group["lr"], group["eps"]
        _check("Adafactor", "learning rate lr", lr, lr >= 0, "must be >= 0")
        _check(
            "Adafactor",
            "beta2_decay",
            group["beta2_decay"],
            group["beta2_decay"] <= 0,
            "must be <= 0",
        )
        _check("Adafactor", "epsilon1 eps[0]", eps1, eps1 is None or eps1 >= 0, "must be >= 0")
        _check("Adafactor", "epsilon2 eps[1]", eps2, eps2 >= 0, "must be >= 0")
        _check("Adafactor", "clipping threshold d", group["d"], group["d"] >= 1, "must be >= 1")
        _check(
            "Adafactor",
            "weight_decay",
            group["weight_decay"],
            group["weight_decay"] >= 0,
            "must be >= 0",
        )

    def _step_group(self, group: dict) -> None:
        lr, wd, d, decay = group["lr"], group["weight_decay"], group["d"], group["beta2_decay"]
        eps1, eps2 = group["eps"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            state = self.state[p]
            if not state:
                state["step"] = 0
                if g.ndim > 1:
                    state["row_var"] = _buffer(np.zeros(g.shape[:-1] + (1,), g.dtype))
                    state["col_var"] = _buffer(np.zeros(g.shape[:-2] + (1, g.shape[-1]), g.dtype))
                else:
                    state["variance"] = _buffer(np.zeros_like(g))
            state["step"] = _value(state["step"]) + 1
            t = state["step"]
            e1 = np.finfo(theta.dtype).eps if eps1 is None else eps1
            one_minus_beta2 = t**decay
            rho = min(lr, 1 / (t**0.5))
            alpha = max(eps2, float(np.linalg.norm(theta.ravel())) / theta.size**0.5) * rho
            if wd != 0:
                theta *= 1 - lr * wd
            if g.ndim > 1:
                row, col = state["row_var"]._data, state["col_var"]._data
                # torch squares the norm (not a sum of squares): the same rounding
                row_mean = np.square(np.sqrt((g * g).sum(-1, keepdims=True))) / g.shape[-1]
                col_mean = np.square(np.sqrt((g * g).sum(-2, keepdims=True))) / g.shape[-2]
                row += one_minus_beta2 * (row_mean - row)
                col += one_minus_beta2 * (col_mean - col)
                var = (row @ col) / np.maximum(row.mean(-2, keepdims=True), e1)
            else:
                v = state["variance"]._data
                v += one_minus_beta2 * (g * g - v)
                var = v.copy()
            update = g / np.sqrt(np.maximum(var, e1 * e1))
            denom = max(1.0, float(np.linalg.norm(update.ravel())) / (update.size**0.5 * d))
            theta -= (alpha / denom) * update
            self._bump(p)
