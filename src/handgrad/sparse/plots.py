"""The picture of ISTA against FISTA: the objective gap per iteration on a log scale
(matplotlib through ``handgrad.plots``: Agg renderer, written atomically)."""

from __future__ import annotations

import numpy as np

from ..plots import _figure, _save


def plot_gaps(lasso: dict, path, shape: tuple[int, int]):
    """F(x_k) - F* per iteration for ISTA and FISTA on a log scale, with their guarantees;
    ``lasso`` as ``handgrad sparse`` computes it (gaps, bounds, lam), ``shape`` that of A."""
    fig = _figure(7, 4.5)
    ax = fig.add_subplot()
    colours = {"ISTA": "tab:blue", "FISTA": "tab:orange"}
    for name, gap in lasso["gaps"].items():
        k = np.arange(len(gap))
        shown = np.where(gap > 0, gap, np.nan)  # F* reached to rounding: no point on a log scale
        ax.semilogy(k, shown, color=colours[name], label=name)
        kk = k[1:]
        bound = (
            lasso["bounds"][name] / (2 * kk)
            if name == "ISTA"
            else lasso["bounds"][name] / (kk + 1) ** 2
        )
        rule = "L||x*||²/(2k)" if name == "ISTA" else "2L||x*||²/(k+1)²"
        ax.semilogy(kk, bound, "--", color=colours[name], alpha=0.6, label=f"{name} bound {rule}")
    m, n = shape
    ax.set_xlabel("iteration k")
    ax.set_ylabel("F(x_k) - F*")
    ax.set_title(f"Lasso, A {m}x{n} with correlated columns, lam = {lasso['lam']:.3g}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, path)
