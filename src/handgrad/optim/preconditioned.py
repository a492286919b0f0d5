"""SGD with a diagonal preconditioner. Used in exercises 001-q7a..e."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check, _Required, required

_MODES = ("rms", "epoch")


class PreconditionedSGD(Optimizer):
    r"""theta <- theta - lr M g with a diagonal, positive M (the diagonal scalings of Adagrad,
    Duchi et al. 2011, and RMSprop, Tieleman & Hinton 2012)::

        fixed:   M = diag(preconditioner)                 (given per parameter)
        'rms':   s <- alpha s + (1 - alpha) g^2,  s-hat = s / (1 - alpha^t)
                 M = 1 / (sqrt(s-hat) + eps)              (updated every step)
        'epoch': M = 1 / (sqrt(mean of g^2 over the last epoch) + eps), recomputed when
                 ``end_epoch()`` is called; M = I during the first epoch.

    'epoch' is the diagonal of the inverses of the square roots of the mean squared gradients
    during the epoch; 'rms' is its running version (RMSprop
    with bias correction and no momentum; Adagrad uses the sum instead of the mean).

    Why it matters: on least squares started at theta_0 = 0, the iterates stay in the span
    of M X^T, so a fixed M changes *which* solution an under-determined problem converges to:
    for the single equation a.theta = 1 with a = (1, 0.1, 0.01), plain SGD goes to the min-norm
    solution a / ||a||^2, while M = diag(1 / |a_i|) (what the RMS of the gradients 2 (1 - a.theta)
    a gives) goes to (1, 1, 1) / sum|a_i| = (1, 1, 1) / 1.11.

    ``preconditioner``: 'rms', 'epoch', or the fixed diagonal: one array per parameter (a list
    in parameter order, or a dict keyed by parameter), each broadcastable to the parameter.
    State per parameter: ``step`` and ``square_avg`` ('rms'); ``sq_sum``, ``count``, ``diag``
    ('epoch').
    """

    def __init__(
        self,
        params: Any,
        lr: float | _Required = required,
        preconditioner: Any = "rms",
        alpha: float = 0.99,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))
        self._fixed: dict[Tensor, np.ndarray] | None = None
        if isinstance(preconditioner, str):
            if preconditioner not in _MODES:
                raise ValueError(
                    f"PreconditionedSGD: preconditioner must be 'rms', 'epoch' or "
                    f"the diagonal arrays, got {preconditioner!r}"
                )
            self.mode = preconditioner
        else:
            self.mode = "fixed"
            self._fixed = self._fixed_diagonals(preconditioner)

    def _fixed_diagonals(self, diag: Any) -> dict:
        params = [p for g in self.param_groups for p in g["params"]]
        if isinstance(diag, dict):
            items = [(p, diag.get(p)) for p in params]
        else:
            diag = list(diag) if isinstance(diag, (list, tuple)) else [diag]
            if len(diag) != len(params):
                raise ValueError(
                    f"PreconditionedSGD: got {len(diag)} preconditioner arrays for "
                    f"{len(params)} parameters"
                )
            items = list(zip(params, diag))
        out = {}
        for i, (p, d) in enumerate(items):
            if d is None:
                raise ValueError(f"PreconditionedSGD: no preconditioner for parameter {i}")
            d = np.asarray(d._data if isinstance(d, Tensor) else d, dtype=p.dtype)
            try:
                np.broadcast_to(d, p.shape)
            except ValueError:
                raise ValueError(
                    f"PreconditionedSGD: preconditioner {i} of shape {d.shape} does "
                    f"not broadcast to its parameter's shape {p.shape}"
                ) from None
            if (d < 0).any():
                raise ValueError(
                    f"PreconditionedSGD: preconditioner {i} has negative entries "
                    f"(min {d.min()}); M must be positive semi-definite"
                )
            out[p] = d
        return out

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check(
            "PreconditionedSGD",
            "alpha",
            group["alpha"],
            0 <= group["alpha"] < 1,
            "must be in [0, 1)",
        )

    def end_epoch(self) -> None:
        """'epoch' mode: set M from the mean squared gradient of the epoch that ended, and start
        accumulating the next one."""
        if self.mode != "epoch":
            raise RuntimeError(
                f"PreconditionedSGD.end_epoch: only for preconditioner='epoch' "
                f"(this one is {self.mode!r})"
            )
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state is None or state["count"] == 0:
                    continue
                mean_sq = state["sq_sum"]._data / state["count"]
                state["diag"] = Tensor._wrap(
                    (1 / (np.sqrt(mean_sq) + group["eps"])).astype(p.dtype)
                )
                state["sq_sum"]._data[...] = 0
                state["count"] = 0

    def diagonal(self, p: Tensor) -> np.ndarray:
        """The current diagonal of M for parameter ``p``."""
        for group in self.param_groups:
            if any(q is p for q in group["params"]):
                return self._diag(p, group)
        raise ValueError("PreconditionedSGD.diagonal: not a parameter of this optimizer")

    def _diag(self, p: Tensor, group: dict) -> np.ndarray:
        if self.mode == "fixed":
            assert self._fixed is not None  # __init__ sets it whenever the mode is "fixed"
            return np.broadcast_to(self._fixed[p], p.shape)
        state = self.state.get(p)
        if self.mode == "epoch":
            return (
                np.ones(p.shape, p.dtype)
                if state is None or "diag" not in state
                else state["diag"]._data
            )
        if state is None:
            raise RuntimeError("PreconditionedSGD.diagonal: no step taken yet for this parameter")
        s_hat = state["square_avg"]._data / (1 - group["alpha"] ** state["step"])
        return 1 / (np.sqrt(s_hat) + group["eps"])

    def _step_group(self, group: dict) -> None:
        lr, alpha = group["lr"], group["alpha"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            if self.mode == "rms":
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {
                        "step": 0,
                        "square_avg": Tensor._wrap(np.zeros_like(theta)),
                    }
                state["step"] += 1
                s = state["square_avg"]._data
                s *= alpha
                s += (1 - alpha) * (g * g)
            elif self.mode == "epoch":
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {
                        "sq_sum": Tensor._wrap(np.zeros_like(theta)),
                        "count": 0,
                    }
                state["sq_sum"]._data += g * g
                state["count"] += 1
            theta -= lr * (self._diag(p, group) * g)
            self._bump(p)


__all__ = ["PreconditionedSGD"]
