"""A scatter plot of a 2-d embedding, coloured by label, as a PNG (matplotlib imported lazily,
through ``handgrad.plots``: Agg renderer, no pyplot state, written atomically)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..plots import _figure, _save


def plot_embedding(
    Y: Any, labels: Any, path: str | os.PathLike, title: str | None = None, point_size: float = 6.0
) -> Path:
    """Scatter the first two columns of ``Y`` (N, >= 2), one colour per label (N,) with a
    legend, to the PNG ``path``; returns the path. ``labels=None`` draws one colour."""
    op = "plot_embedding"
    y = np.asarray(Y._data if isinstance(Y, Tensor) else Y)
    if y.ndim != 2 or y.shape[1] < 2 or y.shape[0] == 0:
        raise ValueError(f"{op}: Y must be an (N, 2) embedding, got shape {y.shape}")
    if labels is not None:
        labels = np.asarray(labels._data if isinstance(labels, Tensor) else labels)
        if labels.shape != (y.shape[0],):
            raise ValueError(
                f"{op}: labels must have shape ({y.shape[0]},), one per point of Y, "
                f"got shape {labels.shape}"
            )
    fig = _figure(7, 6)
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(y[:, 0], y[:, 1], s=point_size)
    else:
        classes = np.unique(labels)
        from matplotlib import colormaps

        colours = colormaps["tab10" if len(classes) <= 10 else "tab20"]
        for i, c in enumerate(classes):
            mask = labels == c
            ax.scatter(
                y[mask, 0], y[mask, 1], s=point_size, color=colours(i % colours.N), label=str(c)
            )
        ax.legend(
            markerscale=2,
            fontsize="small",
            title="label",
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
        )
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_side_by_side(embeddings: dict, labels: np.ndarray, path, titles) -> object:
    """The embeddings next to each other, coloured by label, each on its own scale (the axes
    show the extent: the Gaussian kernel's is much smaller, its classes crowded together)."""
    from matplotlib import colormaps

    classes = np.unique(labels)
    colours = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    fig = _figure(13, 6)
    axes = fig.subplots(1, len(embeddings))
    for ax, y, title in zip(np.atleast_1d(axes), embeddings.values(), titles):
        for i, c in enumerate(classes):
            mask = labels == c
            ax.scatter(y[mask, 0], y[mask, 1], s=6, color=colours(i % colours.N), label=str(c))
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[-1].legend(
        markerscale=2, fontsize="small", title="label", loc="center left", bbox_to_anchor=(1.0, 0.5)
    )
    return _save(fig, path)
