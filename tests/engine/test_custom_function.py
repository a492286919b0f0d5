"""torch-style custom autograd functions (autograd/custom_function.py) against torch's: one
and several outputs, unused and non-differentiable outputs, setup_context, needs_input_grad,
second derivatives, and the errors; torch.autograd.gradcheck's signature."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg


def _classes(lib):
    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x[:k] * 2, x[k:] ** 2, x.argmax()

        @staticmethod
        def backward(ctx, ga, gb, gi):
            (x,) = ctx.saved_tensors
            return lib.cat([ga * 2, gb * 2 * x[ctx.k :]]) + gi.sum() * 0, None

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            (ctx.x,) = inputs

        @staticmethod
        def backward(ctx, g):
            return g * 3 * ctx.x**2

    return Split, Cube


def _run(lib):
    Split, Cube = _classes(lib)
    x = lib.tensor(np.array([0.5, -1.0, 2.0, 3.0]), requires_grad=True)
    a, b, i = Split.apply(x, 1)
    (a.sum() * 3 + (b * lib.arange(3.0, dtype=lib.float64)).sum()).backward()
    out = [a, b, x.grad, lib.tensor(float(i.requires_grad))]
    x.grad = None
    a, b, i = Split.apply(x, 2)
    b.sum().backward()  # a unused: its gradient arrives as zeros
    out.append(x.grad)
    (g,) = lib.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = lib.autograd.grad(g.sum(), x)
    out += [g, h]
    with lib.no_grad():
        out.append(lib.tensor(float(Cube.apply(x).requires_grad)))
    return [o.detach().numpy() for o in out]


def test_custom_functions_as_torch():
    for got, want in zip(_run(hg), _run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_custom_function_errors_name_the_function():
    class Twice(hg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2, g

    x = hg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Twice.backward returned 2 gradients, expected 1"):
        Twice.apply(x).sum().backward()
    x2 = hg.ones(3, requires_grad=True) * 1
    y = Twice.apply(x2)
    with hg.no_grad():
        x2.add_(1)
    with pytest.raises(RuntimeError, match=r"Twice: saved tensor 0 \(shape \(3,\)\) was modified"):
        y.sum().backward()

    class Dirty(hg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(NotImplementedError, match="Dirty: mark_dirty"):
        Dirty.apply(hg.ones(2, requires_grad=True))


def test_autograd_gradcheck_has_torchs_signature_and_result():
    x = hg.tensor(np.array([0.2, -0.4]), requires_grad=True)
    assert hg.autograd.gradcheck(lambda t: t.sin() * t, x) is True
    assert hg.autograd.gradgradcheck(lambda t: t.sin() * t, (x,)) is True

    class Wrong(hg.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * t

        @staticmethod
        def backward(ctx, g):
            return g

    assert hg.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError, match="gradcheck failed"):
        hg.autograd.gradcheck(Wrong.apply, (x,))
