"""Gradient attacks in the L-infinity box: the fast gradient sign method (FGSM) and projected
gradient descent (PGD), with the evaluation of a classifier under attack.

Both work on a batch ``x`` (N, ...) with labels ``y`` (N,), treat the model as a fixed function
(its parameters are not updated, and their ``.grad`` is left untouched), and return new inputs
with no graph attached. The model is called as it is: call ``model.eval()`` first if it has
dropout or batch normalisation, as you would to evaluate it.

Notation: L(x) = loss_fn(model(x), y) is the loss of the true labels (cross-entropy, i.e. minus
the log-probability of the correct class f_y(x)); g = grad_x L. Used in exercise 002-a4.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import enable_grad, grad, no_grad
from ..nn import functional as F
from ..nn.module import Module
from ..random import Generator, _generator

# ---- argument checks -------------------------------------------------------------------------


def _as_input(op: str, x: Any) -> Tensor:
    if isinstance(x, Tensor):
        data = x._data
    else:
        try:
            data = np.asarray(x)
        except Exception:
            raise TypeError(
                f"{op}: x must be a tensor or an array, got {type(x).__name__}"
            ) from None
    if data.dtype.kind != "f":
        raise TypeError(f"{op}: x must hold floating-point inputs, got dtype {data.dtype}")
    if data.ndim < 1 or data.shape[0] == 0:
        raise ValueError(f"{op}: x must be a non-empty batch (N, ...), got shape {data.shape}")
    return Tensor._wrap(data)


def _as_labels(op: str, y: Any, n: int) -> Tensor:
    data = y._data if isinstance(y, Tensor) else np.asarray(y)
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: y must be a 1-d array of class indices, got dtype {data.dtype} "
            f"shape {data.shape}"
        )
    if data.shape[0] != n:
        raise ValueError(
            f"{op}: x holds {n} examples but y holds {data.shape[0]} labels "
            f"(the batch sizes must match)"
        )
    return Tensor._wrap(data.astype(np.int64, copy=False))


def _check_eps(op: str, name: str, value: Any, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        rule = "> 0" if positive else ">= 0"
        raise ValueError(f"{op}: {name} must be a finite number {rule}, got {value!r}")
    return v


def _check_clip(op: str, clip: Any, x: np.ndarray) -> tuple[float, float] | None:
    if clip is None:
        return None
    try:
        lo, hi = (float(c) for c in clip)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: clip must be None or a pair (low, high), got {clip!r}") from None
    if not lo < hi:
        raise ValueError(f"{op}: clip must satisfy low < high, got {clip!r}")
    xmin, xmax = float(x.min()), float(x.max())
    if xmin < lo or xmax > hi:
        raise ValueError(
            f"{op}: x has values in [{xmin:.4g}, {xmax:.4g}], outside the valid range clip="
            f"({lo:g}, {hi:g}); pass the range your inputs live in (e.g. after normalisation), "
            f"or clip=None"
        )
    return lo, hi


@contextlib.contextmanager
def _frozen(model: Any) -> Iterator[None]:
    """Stop the model's parameters from requiring grad while attacking: only the gradient with
    respect to the input is needed, and the backward then skips the weight gradients."""
    params = [p for p in getattr(model, "parameters", lambda: [])() if p.requires_grad]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p in params:
            p.requires_grad = True


# ---- the input gradient ----------------------------------------------------------------------


def input_gradient(
    model: Callable[[Tensor], Tensor],
    x: Any,
    y: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
) -> Tensor:
    """g = grad_x L(x), L(x) = loss_fn(model(x), y): the gradient of the loss with respect to the
    input, one array of the shape of ``x``.

    With the default mean reduction the gradient of each example is divided by the batch size;
    the attacks use only its sign, which the positive factor does not change.
    """
    x = _as_input("input_gradient", x)
    y = _as_labels("input_gradient", y, x.shape[0])
    return _input_gradient(model, x, y, loss_fn, "input_gradient")


def _input_gradient(model: Callable, x: Tensor, y: Tensor, loss_fn: Callable, op: str) -> Tensor:
    xr = Tensor._wrap(x._data.copy(), requires_grad=True)
    with enable_grad(), _frozen(model):
        out = model(xr)
        if not isinstance(out, Tensor) or out.ndim != 2 or out.shape[0] != x.shape[0]:
            shape = getattr(out, "shape", type(out).__name__)
            raise ValueError(
                f"{op}: the model must return class scores (N, classes) for an "
                f"input of {x.shape[0]} examples, got {shape}"
            )
        loss = loss_fn(out, y)
        if loss.numel() != 1:
            raise ValueError(f"{op}: loss_fn must return a scalar, got shape {loss.shape}")
        (g,) = grad(loss, [xr])
    return g


# ---- the attacks -----------------------------------------------------------------------------


def fgsm(
    model: Callable[[Tensor], Tensor],
    x: Any,
    y: Any,
    eps: float,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
) -> Tensor:
    """The fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015): the exact solution
    of the linearised attack in the L-infinity box.

    Derivation. Near x the loss is linear, L(x~) ~= L(x) + g^T (x~ - x) with g = grad_x L(x).
    The attacker raises the loss within the box |x~_i - x_i| <= eps:

        max_{x~}  g^T (x~ - x)   s.t.  |x~_i - x_i| <= eps for all i.

    The objective and the box are both separable, so each coordinate is its own problem:
    max g_i d_i over d_i in [-eps, eps], whose solution is the end of the interval on the side of
    g_i's sign, d_i = eps sign(g_i) (any d_i when g_i = 0; sign(0) = 0 takes d_i = 0). Hence

        x~ = x + eps sign(grad_x L(x)).

    Written for the log-probability of the correct class f_y = -L, the same attack minimises
    g'^T (x~ - x) with g' = grad_x f_y = -g: x~_i - x_i = -eps sign(g'_i). The box is closed: with
    strict inequalities the optimum would not be attained.

    Valid pixels. With ``clip=(lo, hi)`` the box is intersected with [lo, hi]^n. The problem stays
    separable, each coordinate now ranging over [max(x_i - eps, lo), min(x_i + eps, hi)], and the
    end on the side of sign(g_i) is clip(x_i + eps sign(g_i), lo, hi): clipping the solution
    above is the exact solution of the constrained linearised problem, not an approximation.

    ``targeted=True`` takes ``y`` as the classes the attacker wants and *descends* their loss:
    x~ = x - eps sign(grad_x L(x; y_target)).

    Returns x~ as a tensor of ``x``'s shape and dtype, with no graph.
    """
    op = "fgsm"
    x = _as_input(op, x)
    y = _as_labels(op, y, x.shape[0])
    eps = _check_eps(op, "eps", eps)
    bounds = _check_clip(op, clip, x._data)
    g = _input_gradient(model, x, y, loss_fn, op)._data
    direction = -1.0 if targeted else 1.0
    adv = x._data + (direction * eps) * np.sign(g).astype(x.dtype, copy=False)
    if bounds is not None:
        np.clip(adv, bounds[0], bounds[1], out=adv)
    return Tensor._wrap(adv.astype(x.dtype, copy=False))


def pgd(
    model: Callable[[Tensor], Tensor],
    x: Any,
    y: Any,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = True,
    generator: Generator | None = None,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    clip: tuple[float, float] | None = (0.0, 1.0),
    targeted: bool = False,
) -> Tensor:
    """Projected gradient descent in the L-infinity box (Madry, Makelov, Schmidt, Tsipras and
    Vladu, 2018): FGSM repeated with a small step, projecting back after each step.

        x^0     = x + u, u ~ U(-eps, eps)^n (``random_start``; else x^0 = x), projected
        x^{t+1} = P( x^t + alpha sign(grad_x L(x^t)) ),       t = 0 .. steps - 1

    P is the Euclidean projection onto the feasible set B = {x~ : |x~_i - x_i| <= eps} intersected
    with the valid range [lo, hi]^n. Both are boxes, so B is the box with bounds
    max(x_i - eps, lo) <= x~_i <= min(x_i + eps, hi), and the projection onto a box is
    coordinate-wise clipping to its bounds (the squared distance is a sum of independent
    one-dimensional terms, each minimised at the nearest point of its interval).

    Each step is the sign-gradient (steepest ascent for the L-infinity norm) step of FGSM, so
    ``steps=1, alpha=eps, random_start=False`` is FGSM exactly. The usual choice is
    alpha = 2.5 eps / steps, which lets the iterate reach any corner of the box. The random start
    draws from ``generator`` (an ``hg.Generator``; the global one if ``None``), so a seeded
    generator makes the attack reproducible. ``targeted=True`` descends the loss of ``y``.

    Returns the last iterate x^steps (no graph), of ``x``'s shape and dtype.
    """
    op = "pgd"
    x = _as_input(op, x)
    y = _as_labels(op, y, x.shape[0])
    eps = _check_eps(op, "eps", eps)
    alpha = _check_eps(op, "alpha", alpha, positive=True)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"pgd: steps must be an int >= 1, got {steps!r}")
    bounds = _check_clip(op, clip, x._data)
    x0 = x._data
    lower, upper = x0 - eps, x0 + eps
    if bounds is not None:
        lower, upper = np.maximum(lower, bounds[0]), np.minimum(upper, bounds[1])
    lower, upper = lower.astype(x.dtype, copy=False), upper.astype(x.dtype, copy=False)
    adv = x0.copy()
    if random_start and eps > 0:
        adv += _generator(generator).uniform(-eps, eps, x0.shape).astype(x.dtype)
        np.clip(adv, lower, upper, out=adv)
    step = -alpha if targeted else alpha
    for _ in range(int(steps)):
        g = _input_gradient(model, Tensor._wrap(adv), y, loss_fn, op)._data
        adv += step * np.sign(g).astype(x.dtype, copy=False)
        np.clip(adv, lower, upper, out=adv)
    return Tensor._wrap(adv)


# ---- pixel space ------------------------------------------------------------------------------


class Normalized(Module):
    """``model`` behind the standardisation it was trained with: forward(x) =
    model((x - mean) / std). Attacks then act on pixels, so eps is in pixel units and the
    valid range is [0, 1]; the gradient reaching x is the model's input gradient divided by
    std, which has the same sign."""

    def __init__(self, model: Module, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        if not (math.isfinite(float(std)) and float(std) > 0):
            raise ValueError(f"Normalized: std must be a positive number, got {std!r}")
        if not math.isfinite(float(mean)):
            raise ValueError(f"Normalized: mean must be a finite number, got {mean!r}")
        self.model = model
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: Tensor) -> Tensor:
        return self.model((x - self.mean) / self.std)

    def extra_repr(self) -> str:
        return f"mean={self.mean:.4g}, std={self.std:.4g}"


# ---- evaluation under attack -----------------------------------------------------------------


ATTACKS = ("fgsm", "pgd")


def _predict(model: Callable, x: np.ndarray, batch_size: int) -> np.ndarray:
    with no_grad():
        return np.concatenate(
            [
                model(Tensor._wrap(x[i : i + batch_size]))._data.argmax(1)
                for i in range(0, len(x), batch_size)
            ]
        )


def attack(
    model: Callable[[Tensor], Tensor],
    x: Any,
    y: Any,
    eps: float,
    method: str = "fgsm",
    batch_size: int = 256,
    **kwargs: Any,
) -> Tensor:
    """Adversarial versions of all of ``x`` by ``method`` (``'fgsm'`` or ``'pgd'``), computed in
    batches of ``batch_size`` (memory only: each example's attack depends on it alone, except
    for the draws of PGD's random start). ``kwargs`` go to the attack (``alpha``, ``steps``,
    ``generator``, ``loss_fn``, ``clip``, ``targeted``)."""
    if method not in ATTACKS:
        raise ValueError(f"attack: method must be one of {ATTACKS}, got {method!r}")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"attack: batch_size must be an int >= 1, got {batch_size!r}")
    x = _as_input("attack", x)
    y = _as_labels("attack", y, x.shape[0])
    fn = fgsm if method == "fgsm" else pgd
    parts = [
        fn(model, x._data[i : i + batch_size], y._data[i : i + batch_size], eps, **kwargs)._data
        for i in range(0, x.shape[0], batch_size)
    ]
    return Tensor._wrap(np.concatenate(parts))


def robust_accuracy(
    model: Callable[[Tensor], Tensor],
    x: Any,
    y: Any,
    eps: Sequence[float],
    method: str = "fgsm",
    batch_size: int = 256,
    **kwargs: Any,
) -> list[float]:
    """Accuracy of ``model`` on the adversarial versions of (x, y), one figure per value of
    ``eps`` (eps = 0 is the clean accuracy). ``kwargs`` as for ``attack``; for PGD a callable
    ``alpha(eps)`` may be passed to scale the step with the budget."""
    x = _as_input("robust_accuracy", x)
    y = _as_labels("robust_accuracy", y, x.shape[0])
    eps = list(eps) if not np.isscalar(eps) else [eps]
    result = []
    for e in eps:
        e = _check_eps("robust_accuracy", "eps", e)
        kw = dict(kwargs)
        if callable(kw.get("alpha")):
            kw["alpha"] = kw["alpha"](e)
        adv = attack(model, x, y, e, method, batch_size, **kw)._data if e > 0 else x._data
        result.append(float((_predict(model, adv, batch_size) == y._data).mean()))
    return result


__all__ = ["ATTACKS", "Normalized", "attack", "fgsm", "input_gradient", "pgd", "robust_accuracy"]
