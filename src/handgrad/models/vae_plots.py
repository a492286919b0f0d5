"""Pictures of a trained VAE, as PNG files: reconstructions, samples from the prior, a traversal
of a 2-D slice of the latent space, the codes of labelled data, and the ELBO per epoch.
matplotlib is imported inside each function, through ``handgrad.plots`` (object API, Agg
renderer, atomic writes)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import no_grad


def _images(flat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """(N, d) -> (N, H, W) for single-channel images."""
    c, h, w = shape
    if c != 1:
        raise ValueError(f"VAE pictures show single-channel images, got input shape {tuple(shape)}")
    return np.asarray(flat).reshape(-1, h, w)


def _grid(images: np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """Tile (N, H, W) images into one array, ``cols`` per row, separated by ``pad`` pixels."""
    n, h, w = images.shape
    rows = math.ceil(n / cols)
    # light grey separators (0 is white, 1 black under the gray_r colour map)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), 0.2, dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = img
    return out


def _show(grid: np.ndarray, title: str, path: str | os.PathLike, scale: float = 0.45) -> Path:
    from ..plots import _figure, _save

    h, w = grid.shape
    fig = _figure(max(3.0, scale * w / 8), max(2.0, scale * h / 8 + 0.4))
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


@no_grad()
def plot_reconstructions(
    model: Any, x: np.ndarray, path: str | os.PathLike, shape: Sequence[int], n: int = 10
) -> Path:
    """Two rows: the first ``n`` inputs, and below them the decoder means mu(z) at the code
    means z = mu(x) (the deterministic reconstruction)."""
    x = np.asarray(x)[:n]
    mu, _ = model.encode(Tensor._wrap(x))
    recon = model.decode(mu)._data
    images = np.concatenate([_images(x.reshape(len(x), -1), shape), _images(recon, shape)])
    return _show(_grid(images, len(x)), "top: inputs; bottom: reconstructions mu(z = mu(x))", path)


@no_grad()
def plot_samples(
    model: Any, path: str | os.PathLike, shape: Sequence[int], n: int = 64, generator: Any = None
) -> Path:
    """Decoder means mu(z) for ``n`` codes z ~ N(0, I)."""
    samples = model.sample(n, generator)._data
    cols = int(math.ceil(math.sqrt(n)))
    return _show(_grid(_images(samples, shape), cols), f"{n} samples: mu(z), z ~ N(0, I)", path)


@no_grad()
def plot_latent_traversal(
    model: Any,
    path: str | os.PathLike,
    shape: Sequence[int],
    steps: int = 15,
    dims: tuple[int, int] = (0, 1),
) -> Path:
    """The decoder mean over a ``steps`` x ``steps`` grid of codes: latent dimensions ``dims``
    run through the standard normal quantiles of evenly spaced probabilities in (0, 1) (so the
    grid covers the prior evenly, as in Kingma and Welling's figure 4), the others stay at 0."""
    from statistics import NormalDist

    k = model.latent_dim
    if k < 2 or len(set(dims)) != 2 or not all(0 <= d < k for d in dims):
        raise ValueError(
            f"plot_latent_traversal: needs two distinct latent dimensions among "
            f"0..{k - 1}, got dims={dims}"
        )
    probs = (np.arange(steps) + 0.5) / steps
    values = np.array([NormalDist().inv_cdf(p) for p in probs])
    z = np.zeros((steps * steps, k), dtype=np.float32)
    for r in range(steps):
        for c in range(steps):
            # rows go down the second dimension from high to low, columns along the first
            z[r * steps + c, dims[0]] = values[c]
            z[r * steps + c, dims[1]] = values[steps - 1 - r]
    images = _images(model.decode(Tensor._wrap(z))._data, shape)
    title = (
        f"latent traversal: z{dims[0]} (across) and z{dims[1]} (down) over "
        f"[{values[0]:.2f}, {values[-1]:.2f}]" + (", other dims 0" if k > 2 else "")
    )
    return _show(_grid(images, steps, pad=0), title, path, scale=0.3)


@no_grad()
def plot_latent_codes(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike,
    dims: tuple[int, int] = (0, 1),
) -> Path:
    """Scatter of the code means mu(x) of labelled examples in two latent dimensions, coloured
    by class."""
    from ..plots import _figure, _save

    mu = np.concatenate(
        [model.encode(Tensor._wrap(x[i : i + 512]))[0]._data for i in range(0, len(x), 512)]
    )
    fig = _figure(5.5, 4.8)
    ax = fig.subplots()
    points = ax.scatter(mu[:, dims[0]], mu[:, dims[1]], c=y, cmap="tab10", s=5, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="class")
    ax.set_xlabel(f"z{dims[0]}")
    ax.set_ylabel(f"z{dims[1]}")
    ax.set_title(f"code means mu(x) of {len(x)} examples")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_elbo(history: Sequence[dict], path: str | os.PathLike) -> Path:
    """Training (and validation) ELBO per epoch, in nats per example, with sigma on a second
    axis."""
    from ..plots import _figure, _save

    fig = _figure(6, 4)
    ax = fig.subplots()
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r["train_elbo"] for r in history], "-o", markersize=3, label="train")
    if all("val_elbo" in r for r in history):
        ax.plot(epochs, [r["val_elbo"] for r in history], "-s", markersize=3, label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO (nats per example)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    twin = ax.twinx()
    twin.plot(epochs, [r["sigma"] for r in history], ":", color="gray")
    twin.set_ylabel("decoder sigma (dotted)")
    ax.set_title("evidence lower bound")
    return _save(fig, path)


__all__ = [
    "plot_elbo",
    "plot_latent_codes",
    "plot_latent_traversal",
    "plot_reconstructions",
    "plot_samples",
]
