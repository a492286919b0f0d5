"""Pictures of a training run, as PNG files: loss and accuracy curves, a grid of misclassified
images, the confusion matrix.

matplotlib is an optional extra, imported inside each function. The figures are built with
matplotlib's object API (``matplotlib.figure.Figure``) rather than ``pyplot``: no GUI backend is
ever selected (the Agg renderer writes the PNG) and no global figure state is touched, so this
works on a headless machine and inside other people's programs. Each file is written with
``handgrad.files.atomic_write``, so an interrupted run never leaves half a picture.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_write


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'handgrad[extras]'") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        fig.savefig(f, format="png")
    return path


def plot_history(history: Any, path: str | os.PathLike, val_label: str = "val") -> Path:
    """Loss (left) and accuracy (right) per epoch, training and validation (labelled
    ``val_label``). ``history`` is a ``handgrad.train.History`` or its ``to_dict()``."""
    records = history.records if hasattr(history, "records") else history["epochs"]
    fig = _figure(10, 4)
    from matplotlib.ticker import MaxNLocator

    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in records]
    for ax, what in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        for split, style, label in (("train", "-o", "train"), ("val", "-s", val_label)):
            values = [r.get(f"{split}_{what}") for r in records]
            if any(v is not None for v in values):
                shown = [
                    np.nan if v is None else (100 * v if what == "accuracy" else v) for v in values
                ]
                ax.plot(epochs, shown, style, label=label, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)" if what == "accuracy" else "cross-entropy loss")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    ax_loss.set_title("loss")
    ax_acc.set_title("accuracy")
    return _save(fig, path)


def plot_misclassified(
    images: np.ndarray,
    pred: np.ndarray,
    target: np.ndarray,
    path: str | os.PathLike,
    max_images: int = 36,
    class_names: Sequence[str] | None = None,
) -> Path:
    """A grid of the first ``max_images`` examples with ``pred != target``, each titled
    "predicted (true)". ``images`` is (N, H, W) or (N, 1, H, W)."""
    images, pred, target = np.asarray(images), np.asarray(pred), np.asarray(target)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(
            f"plot_misclassified: images must be (N, H, W) or (N, 1, H, W), "
            f"got shape {images.shape}"
        )
    wrong = np.flatnonzero(pred != target)[:max_images]
    name = (lambda c: str(class_names[c])) if class_names is not None else str
    cols = max(1, min(9, len(wrong)))
    rows = max(1, -(-len(wrong) // cols))
    fig = _figure(1.3 * cols, 1.5 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, wrong):
        ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
        ax.set_title(f"{name(pred[i])} ({name(target[i])})", fontsize=9, color="tab:red")
    total = int((pred != target).sum())
    fig.suptitle(f"misclassified: {total} of {len(target)}; predicted (true)", fontsize=10)
    return _save(fig, path)


def plot_confusion_matrix(
    matrix: np.ndarray, path: str | os.PathLike, class_names: Sequence[str] | None = None
) -> Path:
    """The confusion matrix (rows: true class, columns: predicted) as a heat map with counts."""
    m = np.asarray(matrix)
    c = m.shape[0]
    names = [str(n) for n in class_names] if class_names is not None else [str(i) for i in range(c)]
    fig = _figure(1.0 + 0.45 * c, 0.6 + 0.45 * c)
    ax = fig.subplots()
    im = ax.imshow(m, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(c), names)
    ax.set_yticks(range(c), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(m) / max(m.sum(), 1)
    ax.set_title(f"confusion matrix (accuracy {100 * accuracy:.2f}%)")
    threshold = m.max() / 2 if m.size else 0
    for i in range(c):
        for j in range(c):
            if m[i, j]:
                ax.text(
                    j,
                    i,
                    str(m[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if m[i, j] > threshold else "black",
                )
    return _save(fig, path)


__all__ = ["plot_history", "plot_misclassified", "plot_confusion_matrix"]
