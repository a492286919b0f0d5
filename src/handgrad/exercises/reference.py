"""NumPy-only reference computations of the problem sets, written out by hand so an exercise can
compare them with the library: the one-hidden-layer autoencoder of problem set 004, question 6
(its loss with handgrad operations, the same gradient by hand on NumPy arrays) and the plain
gradient-descent and momentum steps.

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
    iterates are identical (v = -eta v' by induction); tests/algorithms/test_autoencoder.py checks
    it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..models.autoencoder import reconstruction_loss

_ACTIVATIONS = ("sigmoid", "linear")


def _one_layer_args(op: str, x: Any, w1: Any, b1: Any, w2: Any, b2: Any, activation: str) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {_ACTIVATIONS}, got {activation!r}")
    shapes = [np.shape(a._data if isinstance(a, Tensor) else a) for a in (x, w1, b1, w2, b2)]
    sx, s1, sb1, s2, sb2 = shapes
    if len(sx) != 2 or len(s1) != 2 or len(s2) != 2:
        raise ValueError(
            f"{op}: expected x (N, d), W1 (h, d), W2 (d, h); got x {sx}, W1 {s1}, W2 {s2}"
        )
    n, d = sx
    h = s1[0]
    if s1 != (h, d) or sb1 != (h,) or s2 != (d, h) or sb2 != (d,):
        raise ValueError(
            f"{op}: shapes do not fit x (N, d) = {sx}: expected W1 (h, d), b1 (h,), "
            f"W2 (d, h), b2 (d,) with d = {d}; got W1 {s1}, b1 {sb1}, W2 {s2}, "
            f"b2 {sb2}"
        )


def one_layer_autoencoder(
    x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, activation: str = "sigmoid"
) -> Tensor:
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


def one_layer_autoencoder_grad(
    x: np.ndarray,
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
    activation: str = "sigmoid",
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
    D2.) ``tests/algorithms/test_autoencoder.py`` checks it with ``hg.check_vjp`` against the
    engine and finite differences."""
    _one_layer_args("one_layer_autoencoder_grad", x, w1, b1, w2, b2, activation)
    x, w1, b1, w2, b2 = (
        np.asarray(a._data if isinstance(a, Tensor) else a) for a in (x, w1, b1, w2, b2)
    )
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
            raise ValueError(
                f"{op}: parameter {i} has shape {np.shape(p)} but its gradient has "
                f"shape {np.shape(g)}"
            )
    if not lr >= 0:
        raise ValueError(f"{op}: learning rate lr must be >= 0, got {lr!r}")


def gradient_descent_step(
    params: Sequence[np.ndarray], grads: Sequence[np.ndarray], lr: float
) -> list[np.ndarray]:
    """One step of gradient descent (004, question 6c): theta <- theta - lr grad_theta L.
    Returns the new parameters (NumPy arrays; the inputs are not modified)."""
    _check_lists("gradient_descent_step", params, grads, lr)
    return [np.asarray(p) - lr * np.asarray(g) for p, g in zip(params, grads)]


def momentum_step(
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    velocities: Sequence[np.ndarray] | None,
    lr: float,
    momentum: float,
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


__all__ = [
    "gradient_descent_step",
    "momentum_step",
    "one_layer_autoencoder",
    "one_layer_autoencoder_grad",
]
