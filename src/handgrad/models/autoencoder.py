"""Autoencoders: the reconstruction loss and the ``Autoencoder`` module (multilayer-perceptron and
convolutional) trained with ``hg.optim.SGD(momentum=...)``. Used in exercises 004-q6a..d."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn
from .._tensor import Tensor, lift
from .._validation import as_batch
from ..autograd import no_grad
from ..random import Generator

_REDUCTIONS = ("mean", "sum", "none")


def reconstruction_loss(x: Tensor, x_hat: Tensor, reduction: str = "mean") -> Tensor:
    """L = (1/N) sum_n ||x_n - x^_n||^2: each example's squared error summed
    over its features, then averaged (``'mean'``), summed (``'sum'``) or kept per example
    (``'none'``, shape (N,)). ``x`` and ``x_hat`` are (N, ...) of the same shape.

    Gradient: dL/dx^_n = (2/N)(x^_n - x_n) for ``'mean'`` (no 1/N for ``'sum'``)."""
    x, x_hat = lift(x), lift(x_hat)
    if x.shape != x_hat.shape:
        raise ValueError(
            f"reconstruction_loss: x has shape {x.shape} but the reconstruction "
            f"x_hat has shape {x_hat.shape}"
        )
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(
            f"reconstruction_loss: expected a non-empty batch (N, ...), got shape {x.shape}"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"reconstruction_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )
    d = x - x_hat
    per_example = (d * d).reshape(x.shape[0], -1).sum(1)
    if reduction == "none":
        return per_example
    return per_example.mean() if reduction == "mean" else per_example.sum()


# ---- the module ------------------------------------------------------------------------------


class Autoencoder(nn.Module):
    """x -> z = f(x) -> x^ = g(z), trained to reconstruct its input:
    L = (1/N) sum_n ||x_n - g(f(x_n))||^2 (``reconstruction_loss``).

    ``encoder`` f and ``decoder`` g are any modules; ``forward`` returns the reconstruction in
    the input's shape (an MLP decoder's flat output is reshaped). Build the usual ones with
    ``mlp_autoencoder`` and ``conv_autoencoder``; train with ``fit_autoencoder``.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x: Tensor) -> Tensor:
        """The code z = f(x)."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """The decoder's output g(z), in its own shape."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction g(f(x)), in ``x``'s shape."""
        out = self.decoder(self.encoder(x))
        if out.shape != x.shape:
            if out.numel() != x.numel():
                raise ValueError(
                    f"Autoencoder: the decoder returned shape {out.shape} for an "
                    f"input of shape {x.shape}"
                )
            out = out.reshape(x.shape)
        return out

    def loss(self, x: Tensor, reduction: str = "mean") -> Tensor:
        """The reconstruction loss of ``x`` (``reconstruction_loss``)."""
        return reconstruction_loss(x, self(x), reduction)


_HIDDEN_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
_OUTPUTS = ("sigmoid", "linear")


def _activation(op: str, name: str) -> type:
    if name not in _HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"{op}: activation must be one of {tuple(_HIDDEN_ACTIVATIONS)}, got {name!r}"
        )
    return _HIDDEN_ACTIVATIONS[name]


def mlp_autoencoder(
    in_features: int = 784,
    hidden: Sequence[int] = (128,),
    latent: int = 32,
    activation: str = "relu",
    output: str = "sigmoid",
) -> Autoencoder:
    """Fully connected: Flatten -> [Linear -> act] per hidden width -> Linear to ``latent``;
    the decoder mirrors it, ending in a sigmoid (``output='sigmoid'``, for pixels in [0, 1])
    or a plain linear layer (``'linear'``)."""
    op = "mlp_autoencoder"
    act = _activation(op, activation)
    if output not in _OUTPUTS:
        raise ValueError(f"{op}: output must be one of {_OUTPUTS}, got {output!r}")
    for name, v in (
        ("in_features", in_features),
        ("latent", latent),
        *((f"hidden[{i}]", h) for i, h in enumerate(hidden)),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")
    widths = [in_features, *hidden, latent]
    enc: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        enc.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            enc.append(act())
    dec: list[nn.Module] = []
    back = widths[::-1]
    for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
        dec.append(nn.Linear(a, b))
        if i < len(back) - 2:
            dec.append(act())
    if output == "sigmoid":
        dec.append(nn.Sigmoid())
    return Autoencoder(nn.Sequential(*enc), nn.Sequential(*dec))


def conv_autoencoder(
    in_channels: int = 1,
    channels: Sequence[int] = (16, 32),
    input_size: int = 28,
    activation: str = "relu",
    output: str = "sigmoid",
) -> Autoencoder:
    """Convolutional: each encoder stage is a 3x3 convolution with stride 2 and padding 1
    (H -> ceil(H / 2)) and an activation; each decoder stage a 3x3 transposed convolution with
    stride 2, padding 1 and output_padding 1 ((H - 1) 2 - 2 + 3 + 1 = 2H), so the output has
    the input's size when ``input_size`` is divisible by 2^len(channels) (28 -> 14 -> 7 -> 14
    -> 28 for the default). The code is the last feature map, channels[-1] x H/4 x W/4."""
    op = "conv_autoencoder"
    act = _activation(op, activation)
    if output not in _OUTPUTS:
        raise ValueError(f"{op}: output must be one of {_OUTPUTS}, got {output!r}")
    if not channels:
        raise ValueError(f"{op}: channels must name at least one stage, got {channels!r}")
    factor = 2 ** len(channels)
    if input_size % factor:
        raise ValueError(
            f"{op}: input_size {input_size} must be divisible by {factor} (one "
            f"halving per stage of channels={tuple(channels)}) for the decoder to "
            f"restore it"
        )
    widths = [in_channels, *channels]
    enc: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        enc += [nn.Conv2d(a, b, 3, stride=2, padding=1), act()]
    dec: list[nn.Module] = []
    back = widths[::-1]
    for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
        dec.append(nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1))
        if i < len(back) - 2:
            dec.append(act())
    if output == "sigmoid":
        dec.append(nn.Sigmoid())
    return Autoencoder(nn.Sequential(*enc), nn.Sequential(*dec))


def fit_autoencoder(
    model: Autoencoder,
    data: Any,
    epochs: int = 10,
    lr: float = 0.1,
    momentum: float = 0.9,
    batch_size: int = 64,
    generator: Generator | None = None,
) -> list[float]:
    """Train by minibatch SGD with momentum (``hg.optim.SGD``) on the
    reconstruction loss. ``data`` is an array or tensor (N, ...) or a ``TensorDataset`` (its
    first tensor); batches are shuffled with ``generator``. Returns the mean training loss of
    each epoch."""
    from ..data import DataLoader, TensorDataset
    from ..optim import SGD

    op = "fit_autoencoder"
    x = as_batch(op, data)
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    loader = DataLoader(
        TensorDataset(Tensor._wrap(x)), batch_size=batch_size, shuffle=True, generator=generator
    )
    losses = []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for (batch,) in loader:
            optimizer.zero_grad()
            loss = model.loss(batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * batch.shape[0]
        losses.append(total / len(x))
    model.eval()
    return losses


@no_grad()
def reconstruct(model: Autoencoder, data: Any, batch_size: int = 256) -> np.ndarray:
    """The model's reconstructions of ``data`` (N, ...), as a NumPy array, without a graph."""
    x = as_batch("reconstruct", data)
    return np.concatenate(
        [model(Tensor._wrap(x[i : i + batch_size]))._data for i in range(0, len(x), batch_size)]
    )


__all__ = [
    "Autoencoder",
    "conv_autoencoder",
    "fit_autoencoder",
    "mlp_autoencoder",
    "reconstruct",
    "reconstruction_loss",
]
