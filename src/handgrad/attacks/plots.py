"""Pictures of an attack, as PNG files: accuracy against eps, and a grid of original and
perturbed digits with the model's predictions. matplotlib is imported inside each function,
through ``handgrad.plots`` (object API, Agg renderer, atomic writes)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def plot_accuracy_vs_eps(
    eps: Sequence[float],
    accuracy: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "",
) -> Path:
    """Accuracy (%) against the L-infinity budget eps, one line per attack (``accuracy`` maps a
    label such as ``'FGSM'`` to one figure per eps)."""
    from ..plots import _figure, _save

    eps = list(eps)
    for name, acc in accuracy.items():
        if len(acc) != len(eps):
            raise ValueError(
                f"plot_accuracy_vs_eps: {name!r} has {len(acc)} accuracies for "
                f"{len(eps)} values of eps"
            )
    fig = _figure(5.5, 4)
    ax = fig.subplots()
    for (name, acc), marker in zip(accuracy.items(), "osd^v"):
        ax.plot(eps, [100 * a for a in acc], f"-{marker}", label=name, markersize=4)
    ax.set_xlabel("eps (L-infinity budget, pixel units)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or "accuracy under attack")
    return _save(fig, path)


def plot_adversarial_examples(
    original: np.ndarray,
    rows: Mapping[str, np.ndarray],
    predictions: Mapping[str, np.ndarray],
    target: np.ndarray,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
) -> Path:
    """A grid: one column per example, the first row the originals, then one row per entry of
    ``rows`` (label -> perturbed images of the same shape). Each image is titled with the
    model's prediction (``predictions`` maps ``'original'`` and each row label to predicted
    classes), in red where it is wrong. Images are (N, H, W) or (N, 1, H, W)."""
    from ..plots import _figure, _save

    def squeeze(a: np.ndarray, what: str) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim == 4 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 3:
            raise ValueError(
                f"plot_adversarial_examples: {what} must be (N, H, W) or "
                f"(N, 1, H, W), got shape {a.shape}"
            )
        return a

    images = {"original": squeeze(original, "original")}
    images.update({k: squeeze(v, repr(k)) for k, v in rows.items()})
    target = np.asarray(target)
    n = len(target)
    for k, v in images.items():
        if len(v) != n or len(np.asarray(predictions[k])) != n:
            raise ValueError(
                f"plot_adversarial_examples: row {k!r} has {len(v)} images and "
                f"{len(np.asarray(predictions[k]))} predictions for {n} targets"
            )
    name = (lambda c: str(class_names[c])) if class_names is not None else str
    fig = _figure(1.1 * n + 1.2, 1.25 * len(images) + 0.4)
    axes = np.asarray(fig.subplots(len(images), n, squeeze=False))
    for r, (label, imgs) in enumerate(images.items()):
        pred = np.asarray(predictions[label])
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(imgs[c], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            wrong = pred[c] != target[c]
            ax.set_title(name(pred[c]), fontsize=9, color="tab:red" if wrong else "black")
        axes[r, 0].set_ylabel(label, fontsize=8)
    fig.suptitle("predictions on original and perturbed digits (red: wrong)", fontsize=10)
    return _save(fig, path)


__all__ = ["plot_accuracy_vs_eps", "plot_adversarial_examples"]
