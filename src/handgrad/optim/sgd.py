"""Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, _check, _no_differentiable


class SGD(Optimizer):
    r"""SGD with momentum, in PyTorch's form (Sutskever et al. 2013, ICML, rewritten)::

        g <- grad + weight_decay * theta            (weight decay as an L2 gradient)
        if momentum != 0:
            v <- g                                  at the first step (no dampening then)
            v <- momentum * v + (1 - dampening) * g afterwards
            g <- g + momentum * v  if nesterov else v
        theta <- theta - lr * g

    Conventions differ between sources, and the differences matter when comparing numbers:

    - **PyTorch** (here): v accumulates raw gradients, v <- mu v + g, theta <- theta - lr v;
      the buffer starts at g, and lr multiplies it at use, so changing lr acts at once.
    - **Sutskever et al.**: v <- mu v - lr g, theta <- theta + v: lr is inside the buffer. With
      a constant lr both give the same iterates (v_sutskever = -lr v_torch); after an lr change
      the old velocity keeps its old scale.
    - **EWA form**: v <- (1 - q) v + q g, v_0 = 0,
      theta <- theta - eps v. It is PyTorch momentum with mu = 1 - q and lr = q eps exactly
      (v_ewa = q v_torch by induction); see ``handgrad.optim.EWA``.
    - ``dampening`` d scales new gradients by (1 - d) after the first step; d = mu makes the
      buffer an EWA from the second step on (PyTorch's first step stays un-dampened).
    - Nesterov: PyTorch steps with g + mu v (the look-ahead form of Sutskever's Nesterov update,
      written for the parameters rather than the look-ahead point).
    - ``maximize`` ascends instead (gradient negated).

    State per parameter: ``momentum_buffer``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _no_differentiable("SGD", differentiable)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        _check("SGD", "momentum", group["momentum"], group["momentum"] >= 0, "must be >= 0")
        if group["nesterov"]:
            _check(
                "SGD",
                "nesterov momentum",
                (group["momentum"], group["dampening"]),
                group["momentum"] > 0 and group["dampening"] == 0,
                "Nesterov momentum requires momentum > 0 and dampening = 0",
            )

    @property
    def _scratch(self) -> dict:
        if "_scratch_arrays" not in self.__dict__:
            self._scratch_arrays: dict = {}  # per parameter; not part of the state dict
        return self._scratch_arrays

    def _step_group(self, group: dict) -> None:
        lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        for p in group["params"]:
            g = self._grad(p, group)
            if g is None:
                continue
            theta = p._data
            if wd != 0:
                g = g + wd * theta
            if mu != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    v = np.array(g, dtype=theta.dtype, copy=True)
                    state["momentum_buffer"] = Tensor._wrap(v)
                else:
                    v = buf._data
                    v *= mu
                    if damp:
                        v += (1 - damp) * g
                    else:
                        v += g
                g = g + mu * v if nesterov else v
            # theta -= lr g through a kept scratch array: NumPy has no fused axpy, and a fresh
            # temporary of the parameter's size every step costs more than the update itself.
            scratch = self._scratch.get(p)
            if scratch is None or scratch.shape != theta.shape or scratch.dtype != theta.dtype:
                scratch = self._scratch[p] = np.empty_like(theta)
            np.multiply(g, lr, out=scratch, casting="unsafe")
            theta -= scratch
            self._bump(p)
