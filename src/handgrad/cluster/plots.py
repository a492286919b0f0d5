"""The picture of online k-means: how far the centres move over each pass, one line per
learning rate (matplotlib through ``handgrad.plots``: Agg renderer, written atomically)."""

from __future__ import annotations

import numpy as np

from ..plots import _figure, _save


def plot_movement(runs: dict[str, dict], path, title: str):
    """The movement of all centres over each pass, one line per learning rate, log scale."""
    fig = _figure(7, 4.5)
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for name, run in runs.items():
        shifts = np.asarray(run["epoch_shifts"], dtype=np.float64)
        shown = np.where(shifts > 0, shifts, np.nan)  # a pass that moved nothing: no point
        ax.semilogy(
            np.arange(1, len(shifts) + 1),
            shown,
            "-o",
            markersize=3,
            label=f"rate {name} (inertia {run['inertia']:.1f})",
        )
    ax.set_xlabel("pass over the data")
    ax.set_ylabel("movement of the centres over the pass")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, path)
