"""Autoencoders: the reconstruction loss, its gradient, and gradient descent with and without
momentum, exactly as problem set 004, question 6 asks for them; and the ``Autoencoder`` module
(multilayer-perceptron and convolutional) trained with ``hg.optim.SGD(momentum=...)``.

Question 6, answered (theta are all the parameters, f the encoder, g the decoder):

(a) Reconstruction loss, over a batch x_1 .. x_N:

        L(theta) = (1/N) sum_n || x_n - g(f(x_n)) ||^2

    (the squared Euclidean norm of each example's error, averaged over examples; ``F.mse_loss``
    would also divide by the dimension d).

(b) Its gradient, by the chain rule through x^_n = g(f(x_n)):

        grad_theta L = (2/N) sum_n J_theta(x^_n)^T (x^_n - x_n)

    where J_theta(x^_n) is the Jacobian of the reconstruction with respect to the parameters:
    back-propagation starts from dL/dx^_n = (2/N)(x^_n - x_n). ``one_layer_autoencoder_grad``
    writes it out layer by layer for one hidden layer.

(c) Gradient descent step, learning rate eta:      theta <- theta - eta grad_theta L(theta).

(d) With momentum mu (heavy ball, Polyak 1964; Rumelhart, Hinton and Williams 1986):

        v     <- mu v - eta grad_theta L(theta),       v = 0 at the start
        theta <- theta + v

    ``hg.optim.SGD(momentum=mu)`` writes the same method in PyTorch's form, v' <- mu v' + grad,
    theta <- theta - eta v' (buffer starting at the first gradient). With a constant eta the
    iterates are identical (v = -eta v' by induction); tests/test_autoencoder.py checks it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..random import Generator
from .._tensor import Tensor, lift

_REDUCTIONS = ("mean", "sum", "none")


# ---- question 6: the formulas ----------------------------------------------------------------


def reconstruction_loss(x: Tensor, x_hat: Tensor, reduction: str = "mean") -> Tensor:
    """L = (1/N) sum_n ||x_n - x^_n||^2 (004, question 6a): each example's squared error summed
    over its features, then averaged (``'mean'``), summed (``'sum'``) or kept per example
    (``'none'``, shape (N,)). ``x`` and ``x_hat`` are (N, ...) of the same shape.

    Gradient: dL/dx^_n = (2/N)(x^_n - x_n) for ``'mean'`` (no 1/N for ``'sum'``)."""
    x, x_hat = lift(x), lift(x_hat)
    if x.shape != x_hat.shape:
        raise ValueError(f"reconstruction_loss: x has shape {x.shape} but the reconstruction "
                         f"x_hat has shape {x_hat.shape}")
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"reconstruction_loss: expected a non-empty batch (N, ...), got shape "
                         f"{x.shape}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reconstruction_loss: reduction must be one of {_REDUCTIONS}, got "
                         f"{reduction!r}")
    d = x - x_hat
    per_example = (d * d).reshape(x.shape[0], -1).sum(1)
    if reduction == "none":
        return per_example
    return per_example.mean() if reduction == "mean" else per_example.sum()


_ACTIVATIONS = ("sigmoid", "linear")


def _one_layer_args(op: str, x: Any, w1: Any, b1: Any, w2: Any, b2: Any,
                    activation: str) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {_ACTIVATIONS}, got {activation!r}")
    shapes = [np.shape(a._data if isinstance(a, Tensor) else a) for a in (x, w1, b1, w2, b2)]
    sx, s1, sb1, s2, sb2 = shapes
    if len(sx) != 2 or len(s1) != 2 or len(s2) != 2:
        raise ValueError(f"{op}: expected x (N, d), W1 (h, d), W2 (d, h); got x {sx}, W1 {s1}, "
                         f"W2 {s2}")
    n, d = sx
    h = s1[0]
    if s1 != (h, d) or sb1 != (h,) or s2 != (d, h) or sb2 != (d,):
        raise ValueError(f"{op}: shapes do not fit x (N, d) = {sx}: expected W1 (h, d), b1 (h,), "
                         f"W2 (d, h), b2 (d,) with d = {d}; got W1 {s1}, b1 {sb1}, W2 {s2}, "
                         f"b2 {sb2}")


def one_layer_autoencoder(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor,
                          activation: str = "sigmoid") -> Tensor:
    """The reconstruction loss of a one-hidden-layer autoencoder, written with handgrad
    operations (the engine differentiates it; ``one_layer_autoencoder_grad`` is the same
    gradient by hand):

        A = X W1^T + b1,   H = s(A),   X^ = H W2^T + b2,   L = (1/N) ||X - X^||_F^2

    with rows of X the N examples, W1 (h, d), W2 (d, h), and s the logistic sigmoid or the
    identity (``activation='linear'``: the linear autoencoder, whose optimum spans the
    principal subspace, Baldi and Hornik 1989)."""
    _one_layer_args("one_layer_autoencoder", x, w1, b1, w2, b2, activation)
    a = x @ w1.T + b1
    h = a.sigmoid() if activation == "sigmoid" else a
    return reconstruction_loss(x, h @ w2.T + b2)


def one_layer_autoencoder_grad(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                               b2: np.ndarray, activation: str = "sigmoid"
                               ) -> tuple[float, tuple[np.ndarray, ...]]:
    """The loss and its gradient for ``one_layer_autoencoder``, derived by hand (004,
    question 6b), on NumPy arrays. Returns ``(L, (dW1, db1, dW2, db2))``.

    Back-propagation, one layer at a time (outer products summed over the batch):

        D2 = dL/dX^ = (2/N)(X^ - X)                            (N, d)
        dL/dW2 = D2^T H,             dL/db2 = sum_n D2[n]       (d, h), (d,)
        dL/dH  = D2 W2                                          (N, h)
        D1 = dL/dA = dL/dH * s'(A),  s'(A) = H (1 - H) for the sigmoid, 1 for the identity
        dL/dW1 = D1^T X,             dL/db1 = sum_n D1[n]       (h, d), (h,)

    (X enters twice, as the input and as the target; the parameters' gradient sees both through
    D2.) ``tests/test_autoencoder.py`` checks it with ``hg.check_vjp`` against the engine and
    finite differences."""
    _one_layer_args("one_layer_autoencoder_grad", x, w1, b1, w2, b2, activation)
    x, w1, b1, w2, b2 = (np.asarray(a._data if isinstance(a, Tensor) else a)
                         for a in (x, w1, b1, w2, b2))
    n = x.shape[0]
    a = x @ w1.T + b1
    h = 1.0 / (1.0 + np.exp(-a)) if activation == "sigmoid" else a
    x_hat = h @ w2.T + b2
    r = x_hat - x
    loss = float((r * r).sum() / n)
    d2 = (2.0 / n) * r
    dw2, db2 = d2.T @ h, d2.sum(0)
    dh = d2 @ w2
    d1 = dh * (h * (1.0 - h)) if activation == "sigmoid" else dh
    dw1, db1 = d1.T @ x, d1.sum(0)
    return loss, (dw1, db1, dw2, db2)


def _check_lists(op: str, params: Sequence, grads: Sequence, lr: float) -> None:
    if len(params) != len(grads):
        raise ValueError(f"{op}: got {len(params)} parameters but {len(grads)} gradients")
    for i, (p, g) in enumerate(zip(params, grads)):
        if np.shape(p) != np.shape(g):
            raise ValueError(f"{op}: parameter {i} has shape {np.shape(p)} but its gradient has "
                             f"shape {np.shape(g)}")
    if not lr >= 0:
        raise ValueError(f"{op}: learning rate lr must be >= 0, got {lr!r}")


def gradient_descent_step(params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
                          lr: float) -> list[np.ndarray]:
    """One step of gradient descent (004, question 6c): theta <- theta - lr grad_theta L.
    Returns the new parameters (NumPy arrays; the inputs are not modified)."""
    _check_lists("gradient_descent_step", params, grads, lr)
    return [np.asarray(p) - lr * np.asarray(g) for p, g in zip(params, grads)]


def momentum_step(params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
                  velocities: Sequence[np.ndarray] | None, lr: float, momentum: float
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One step of gradient descent with momentum (004, question 6d), heavy-ball form:

        v <- momentum v - lr grad_theta L,     theta <- theta + v

    ``velocities=None`` starts from v = 0. Returns ``(new_params, new_velocities)``. The same
    iterates as ``hg.optim.SGD(momentum=momentum)`` (PyTorch's form, buffer v' = -v / lr) while
    lr is constant."""
    _check_lists("momentum_step", params, grads, lr)
    if not 0 <= momentum:
        raise ValueError(f"momentum_step: momentum must be >= 0, got {momentum!r}")
    if velocities is None:
        velocities = [np.zeros(np.shape(p)) for p in params]
    _check_lists("momentum_step", params, velocities, lr)
    new_v = [momentum * np.asarray(v) - lr * np.asarray(g) for v, g in zip(velocities, grads)]
    return [np.asarray(p) + v for p, v in zip(params, new_v)], new_v


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
                raise ValueError(f"Autoencoder: the decoder returned shape {out.shape} for an "
                                 f"input of shape {x.shape}")
            out = out.reshape(x.shape)
        return out

    def loss(self, x: Tensor, reduction: str = "mean") -> Tensor:
        """The reconstruction loss of ``x`` (004, question 6a)."""
        return reconstruction_loss(x, self(x), reduction)


_HIDDEN_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
_OUTPUTS = ("sigmoid", "linear")


def _activation(op: str, name: str) -> type:
    if name not in _HIDDEN_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {tuple(_HIDDEN_ACTIVATIONS)}, got "
                         f"{name!r}")
    return _HIDDEN_ACTIVATIONS[name]


def mlp_autoencoder(in_features: int = 784, hidden: Sequence[int] = (128,), latent: int = 32,
                    activation: str = "relu", output: str = "sigmoid") -> Autoencoder:
    """Fully connected: Flatten -> [Linear -> act] per hidden width -> Linear to ``latent``;
    the decoder mirrors it, ending in a sigmoid (``output='sigmoid'``, for pixels in [0, 1])
    or a plain linear layer (``'linear'``)."""
    op = "mlp_autoencoder"
    act = _activation(op, activation)
    if output not in _OUTPUTS:
        raise ValueError(f"{op}: output must be one of {_OUTPUTS}, got {output!r}")
    for name, v in (("in_features", in_features), ("latent", latent), *(
            (f"hidden[{i}]", h) for i, h in enumerate(hidden))):
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


def conv_autoencoder(in_channels: int = 1, channels: Sequence[int] = (16, 32),
                     input_size: int = 28, activation: str = "relu",
                     output: str = "sigmoid") -> Autoencoder:
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
        raise ValueError(f"{op}: input_size {input_size} must be divisible by {factor} (one "
                         f"halving per stage of channels={tuple(channels)}) for the decoder to "
                         f"restore it")
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


def _as_array(op: str, data: Any) -> np.ndarray:
    if hasattr(data, "tensors"):  # a TensorDataset: its inputs
        data = data.tensors[0]
    array = data._data if isinstance(data, Tensor) else np.asarray(data)
    if array.dtype.kind != "f" or array.ndim < 2 or array.shape[0] == 0:
        raise ValueError(f"{op}: data must be a non-empty floating-point batch (N, ...), got "
                         f"dtype {array.dtype} shape {array.shape}")
    return array


def fit_autoencoder(model: Autoencoder, data: Any, epochs: int = 10, lr: float = 0.1,
                    momentum: float = 0.9, batch_size: int = 64,
                    generator: Generator | None = None) -> list[float]:
    """Train by minibatch SGD with momentum (004, question 6d; ``hg.optim.SGD``) on the
    reconstruction loss. ``data`` is an array or tensor (N, ...) or a ``TensorDataset`` (its
    first tensor); batches are shuffled with ``generator``. Returns the mean training loss of
    each epoch."""
    from ..data import DataLoader, TensorDataset
    from ..optim import SGD

    op = "fit_autoencoder"
    x = _as_array(op, data)
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {v!r}")
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    loader = DataLoader(TensorDataset(Tensor._wrap(x)), batch_size=batch_size, shuffle=True,
                        generator=generator)
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
    x = _as_array("reconstruct", data)
    return np.concatenate([model(Tensor._wrap(x[i:i + batch_size]))._data
                           for i in range(0, len(x), batch_size)])


__all__ = [
    "Autoencoder", "conv_autoencoder", "fit_autoencoder", "gradient_descent_step",
    "mlp_autoencoder", "momentum_step", "one_layer_autoencoder", "one_layer_autoencoder_grad",
    "reconstruct", "reconstruction_loss",
]
