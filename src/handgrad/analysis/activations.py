"""Activation statistics: for every weight layer, the output variance the fan-in rule predicts
beside the one measured. Used in exercise 002-a1.

A unit y = sum_{i=1}^n w_i x_i with the w_i i.i.d., zero mean, independent of the x_i, and the
x_i i.i.d. with zero mean has E[y] = 0 and Var(y) = n Var(w) Var(x). This is why initialisers set
Var(w) = gain^2 / fan_in. Two refinements make the prediction hold for real networks, and the
report gives them separately:

- if the inputs do not have zero mean (after a ReLU, say), Var(w_i x_i) = Var(w) E[x_i^2], so
  the rule becomes Var(y) = n Var(w) E[x^2] (He et al. 2015): the form n Var(w) Var(x)
  underestimates by E[x^2] / Var(x) (about 1.47 for ReLU of a Gaussian);
- a bias adds its own spread across units, Var(b).

For ``NormalizedLinear`` the effective weights are the unit rows w_i / ||w_i||, whose entries
have variance about 1 / n, so the prediction is about Var(x): the layer preserves the scale
whatever the initialisation. For a convolution n is the fan-in C_in / groups * prod(kernel);
zero padding makes border units see fewer non-zero inputs, so the rule slightly overestimates
there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._tensor import Tensor, lift
from ..autograd import no_grad
from ..nn.linear import NormalizedLinear


@dataclass
class LayerStats:
    """One weight layer's statistics on the batch given to ``activation_stats``."""

    name: str
    kind: str
    fan_in: int
    var_w: float
    var_x: float
    mean_sq_x: float
    var_b: float
    predicted: float  # n Var(w) Var(x): the fan-in rule
    predicted_second_moment: float  # n Var(w) E[x^2] + Var(b)
    measured: float  # Var(y) over the batch and all output units

    @property
    def ratio(self) -> float:
        """measured / predicted (the fan-in rule n Var(w) Var(x))."""
        return self.measured / self.predicted if self.predicted else float("nan")

    def __str__(self) -> str:
        return (
            f"{self.name:<12} {self.kind:<16} n={self.fan_in:<6d} "
            f"predicted {self.predicted:10.4g}  (with E[x^2], Var(b): "
            f"{self.predicted_second_moment:10.4g})  measured {self.measured:10.4g}"
        )


def _is_weight_layer(m: Any) -> bool:
    w = m._parameters.get("weight")
    return w is not None and w.ndim >= 2 and not getattr(m, "transposed", False)


def activation_stats(model: Any, x: Any) -> list[LayerStats]:
    """Run ``model(x)`` once (without recording a graph) and report, for every module whose
    weight has at least 2 dims (Linear, NormalizedLinear, Conv1d/2d; transposed convolutions are
    skipped), the fan-in prediction of its output variance beside the measured variance, in the
    order the layers ran. The statistics of w are those of its current values (the
    initialisation, before training)."""
    records: list[LayerStats] = []
    handles = []

    def hook(module: Any, args: tuple, out: Tensor) -> None:
        name = names[id(module)]
        xin = lift(args[0])._data.astype(np.float64)
        w = module.weight._data.astype(np.float64)
        fan_in = int(np.prod(w.shape[1:]))
        b = module._parameters.get("bias")
        b = b._data.astype(np.float64) if b is not None else None
        if isinstance(module, NormalizedLinear):  # the effective weights are w_i / ||w_i||
            r = np.sqrt((w * w).sum(1))
            w = w / r[:, None]
            b = b / r if b is not None else None
        var_w, var_x, msq = float(w.var()), float(xin.var()), float((xin * xin).mean())
        var_b = float(b.var()) if b is not None else 0.0
        records.append(
            LayerStats(
                name=name,
                kind=type(module).__name__,
                fan_in=fan_in,
                var_w=var_w,
                var_x=var_x,
                mean_sq_x=msq,
                var_b=var_b,
                predicted=fan_in * var_w * var_x,
                predicted_second_moment=fan_in * var_w * msq + var_b,
                measured=float(out._data.astype(np.float64).var()),
            )
        )

    names = {}
    for name, m in model.named_modules():
        if _is_weight_layer(m):
            names[id(m)] = name or type(m).__name__
            handles.append(m.register_forward_hook(hook))
    try:
        with no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return records


def format_stats(stats: list[LayerStats]) -> str:
    """The statistics as a table, one layer a line."""
    return "\n".join(str(s) for s in stats)


__all__ = ["LayerStats", "activation_stats", "format_stats"]
