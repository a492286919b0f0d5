"""Parity cases for the trigonometric and hyperbolic primitives, atan2, expm1, cumprod,
logcumsumexp, logaddexp, logit outside [0, 1], xlogy, hypot, fmod and remainder."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .common import Case, binary, rng, shape, unary, values


def _scaled(kind: str, scale: float, shift: float = 0.0):
    def draw(data):
        return [values(rng(data), shape(data), kind) * scale + shift], {}

    return draw


def _away_from_jumps(data):
    """a / b in (2.09, 2.8) in magnitude, either sign: the quotient's integer part is constant
    within a finite-difference step, so fmod and remainder are smooth there."""
    r = rng(data)
    s = shape(data)
    b = r.uniform(1.0, 1.05, s) * r.choice([-1.0, 1.0], s)
    a = r.uniform(2.2, 2.8, s) * r.choice([-1.0, 1.0], s)
    return [a, b], {}


def _cumprod_draw(kind: str):
    def draw(data):
        s = shape(data, min_dims=1)
        d = data.draw(st.integers(-len(s), len(s) - 1), label="dim")
        return [values(rng(data), s, kind)], {"dim": d}

    return draw


def _hardswish_backward_fn(lib, g, a):
    if lib.__name__ == "torch":
        return lib.ops.aten.hardswish_backward(g, a)
    from handgrad.ops.special import HardswishBackwardMiddle

    # the middle only, where torch's kernel is g (x / 3 + 0.5): a in (-2.25, 2.25) here
    return HardswishBackwardMiddle.apply(g, a)


def _logsigmoid_backward_fn(lib, g, a):
    if lib.__name__ == "torch":
        return lib.ops.aten.log_sigmoid_backward(g, a, (-a.abs()).exp().detach())
    from handgrad.ops.special import LogSigmoidBackward

    return LogSigmoidBackward.apply(g, a)


def _selu_backward_fn(lib, g, a):
    if lib.__name__ == "torch":
        c = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946, 1.0)
        return lib.ops.aten.elu_backward(g, *c, False, a)
    from handgrad.ops.special import SeluBackward

    return SeluBackward.apply(g, a)


def _elu_negative_backward_fn(lib, g, a, alpha):
    # a <= 0 only: torch's elu_backward takes the positive branch above 0 (celu's input scale
    # 1 / float32(alpha), as torch's derivatives.yaml passes it)
    s = 1.0 / float(np.float32(alpha))
    if lib.__name__ == "torch":
        return lib.ops.aten.elu_backward(g, alpha, 1.0, s, False, a)
    from handgrad.ops.special import EluNegativeBackward

    return EluNegativeBackward.apply(g, a, alpha=alpha, scale=s)


CASES = {
    "cumprod": [
        Case(lambda lib, a, dim: a.cumprod(dim), _cumprod_draw("nonzero")),
        Case(
            lambda lib, a, dim: a.cumprod(dim),
            _cumprod_draw("ints"),
            note="zeros: the explicit products of the others",
        ),
    ],
    "logcumsumexp": [
        Case(lambda lib, a, dim: a.logcumsumexp(dim), _cumprod_draw("any")),
        Case(
            lambda lib, a, dim: (a * 300).logcumsumexp(dim),
            _cumprod_draw("any"),
            fd=False,
            second=False,
            tol32=(1e-3, 1e-4),
            note="wide values: no global shift; in float32 the two libraries' "
            "sums of exponentials round differently (2.4e-4 seen)",
        ),
        Case(lambda lib, a, dim: a.logcumsumexp(dim), _cumprod_draw("ints"), note="ties"),
    ],
    "logaddexp": [
        Case(lambda lib, a, b: lib.logaddexp(a, b), binary("any", "any")),
        Case(
            lambda lib, a, b: lib.logaddexp(a * 50, b * 50),
            binary("ints", "ints"),
            fd=False,
            note="ties and far apart",
        ),
    ],
    "logit": [
        Case(lambda lib, p: lib.logit(p), _scaled("pos", 0.4, -0.15), note="inside (0, 1)"),
        Case(
            lambda lib, p: lib.logit(p),
            _scaled("any", 1.5, 0.5),
            fd=False,
            note="logit's NaN outside [0, 1]: value and gradient constants, derivatives 0",
        ),
    ],
    "elu": [
        Case(lambda lib, a: lib.nn.functional.elu(a * 3, 0.7), unary("nonzero")),
        Case(lambda lib, a: lib.nn.functional.celu(a * 3, 1.3), unary("nonzero"), note="celu"),
    ],
    # the middle of hardsigmoid, (x + 3) / 6 with torch's float32 sixth in its gradient; torch
    # has no double backward for hardsigmoid
    "hardsigmoid": [
        Case(lambda lib, a: lib.nn.functional.hardsigmoid(a * 2.5), unary(), second=False)
    ],
    # the middle of hardswish, x (x + 3) / 6, and its gradient g (x / 3 + 0.5) as torch's
    # hardswish_backward, whose backward is hardswish's second derivative
    "logsigmoid": [Case(lambda lib, a: lib.nn.functional.logsigmoid(a * 4), unary())],
    "logsigmoid_backward": [
        Case(
            lambda lib, g, a: _logsigmoid_backward_fn(lib, g, (a - 0.5) * 8), binary("any", "unit")
        )
    ],
    "selu": [Case(lambda lib, a: lib.nn.functional.selu(a * 3), unary("nonzero"))],
    "elu_negative_backward": [
        Case(
            lambda lib, g, a: _elu_negative_backward_fn(lib, g, -(a.abs()) * 3 - 0.1, 0.7),
            binary("any", "unit"),
        ),
        Case(
            lambda lib, g, a: _elu_negative_backward_fn(lib, g, -(a.abs()) * 3 - 0.1, 1.3),
            binary("any", "unit"),
            note="celu's scale 1 / alpha",
        ),
    ],
    "selu_backward": [
        Case(lambda lib, g, a: _selu_backward_fn(lib, g, (a - 0.5) * 6), binary("any", "unit"))
    ],
    "hardswish": [Case(lambda lib, a: lib.nn.functional.hardswish(a * 2.5), unary())],
    "hardswish_backward": [
        Case(lambda lib, g, a: _hardswish_backward_fn(lib, g, (a - 0.5) * 5), binary("any", "unit"))
    ],
    "soft_margin_loss": [
        Case(
            # the target is not differentiable in torch: a constant of x's shape
            lambda lib, x: lib.nn.functional.soft_margin_loss(
                x * 3, x.detach() * 0 - 1.3, reduction="none"
            ),
            unary(),
        )
    ],
    "lerp": [
        Case(lambda lib, a, b: lib.lerp(a, b, 0.3), binary("any", "any"), note="small weight"),
        Case(lambda lib, a, b: lib.lerp(a, b, 0.9958), binary("any", "any"), note="from the end"),
        Case(
            lambda lib, a, b: lib.lerp(a, b, (a.detach() * 0 + 1) * -0.7),
            binary("any", "any"),
            note="a tensor weight",
        ),
    ],
    "xlogy": [
        Case(lambda lib, x, y: lib.xlogy(x, y), binary("any", "pos")),
        Case(
            lambda lib, x, y: lib.xlogy(x, y),
            binary("ints", "ints"),
            fd=False,
            second=False,
            note="x = 0 and y <= 0: the pinned value, torch's slope rule",
        ),
    ],
    "hypot": [
        Case(lambda lib, a, b: lib.hypot(a, b), binary("nonzero", "nonzero")),
        Case(
            lambda lib, a, b: lib.hypot(a * 1e30, b * 1e30),
            binary("nonzero", "any"),
            fd=False,
            second=False,
            note="no overflow of a^2",
        ),
    ],
    "fmod": [
        Case(
            lambda lib, a, b: lib.fmod(a * 3, b),
            binary("distinct", "nonzero"),
            fd=False,
            note="the quotient jumps: no finite differences across it",
        ),
        Case(lambda lib, a, b: lib.fmod(a, b), _away_from_jumps, note="finite differences"),
    ],
    "remainder": [
        Case(lambda lib, a, b: lib.remainder(a * 3, b), binary("distinct", "nonzero"), fd=False),
        Case(lambda lib, a, b: lib.remainder(a, b), _away_from_jumps, note="finite differences"),
    ],
    "tan": [Case(lambda lib, a: a.tan(), _scaled("any", 0.4))],
    "sinh": [Case(lambda lib, a: a.sinh(), _scaled("any", 1.0))],
    "cosh": [Case(lambda lib, a: a.cosh(), _scaled("any", 1.0))],
    "asin": [Case(lambda lib, a: a.asin(), _scaled("unit", 1.8, -0.9))],
    "acos": [Case(lambda lib, a: a.acos(), _scaled("unit", 1.8, -0.9))],
    "atan": [Case(lambda lib, a: a.atan(), _scaled("any", 2.0))],
    "atan2": [Case(lambda lib, y, x: lib.atan2(y, x), binary("nonzero", "nonzero"))],
    "expm1": [Case(lambda lib, a: a.expm1(), _scaled("any", 1.0))],
}
