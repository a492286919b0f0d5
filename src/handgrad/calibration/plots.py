"""The picture of a prior shift: the training, true and estimated class priors side by side
(matplotlib through ``handgrad.plots``: Agg renderer, written atomically)."""

from __future__ import annotations

import numpy as np

from ..plots import _figure, _save


def plot_priors(
    train_prior: np.ndarray, true_prior: np.ndarray, estimated: np.ndarray, path, title: str
):
    """Grouped bars per class: the training prior, the true new prior and the EM estimate."""
    k = len(true_prior)
    fig = _figure(max(6.0, 0.7 * k + 2), 4.5)
    ax = fig.add_subplot()
    width = 0.27
    positions = np.arange(k)
    for i, (values, label, colour) in enumerate(
        (
            (train_prior, "training prior p(y)", "0.7"),
            (true_prior, "true new prior p*(y)", "tab:blue"),
            (estimated, "EM estimate", "tab:orange"),
        )
    ):
        ax.bar(positions + (i - 1) * width, values, width, label=label, color=colour)
    ax.set_xticks(positions, [str(c) for c in range(k)])
    ax.set_xlabel("class")
    ax.set_ylabel("prior probability")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return _save(fig, path)
