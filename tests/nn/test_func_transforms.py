"""torch.func's transforms in handgrad.func (functional_call, grad, grad_and_value, vmap)
against torch.func: values, structures, nesting and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func as TF

import handgrad as hg
import handgrad.func as HF

torch.set_num_threads(1)
R = np.random.default_rng(0)
X = R.standard_normal((5, 4))
Y = R.integers(0, 3, 5)


def _model(lib, seed=1):
    m = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(), lib.nn.Linear(6, 3)).double()
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape))))
    return m


def _close(got, want, rtol=1e-10):
    if isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            _close(got[k], want[k], rtol)
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w, rtol)
    else:
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol)


def _per_sample(lib, F):
    model = _model(lib)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, x, y):
        logits = F.functional_call(model, p, (x.unsqueeze(0),))
        return lib.nn.functional.cross_entropy(logits, y.unsqueeze(0))

    return F.vmap(F.grad(loss), in_dims=(None, 0, 0))(params, lib.tensor(X), lib.tensor(Y))


def test_per_sample_gradients_as_torch_func():
    _close(_per_sample(hg, HF), _per_sample(torch, TF))


def test_functional_call_replaces_for_one_call_and_ties_weights():
    results = []
    for lib, F in ((hg, HF), (torch, TF)):
        first, second = lib.nn.Linear(3, 3, bias=False), lib.nn.Linear(3, 3, bias=False)
        tied = lib.nn.Sequential(first.double(), lib.nn.Tanh(), second.double())
        with lib.no_grad():
            first.weight.copy_(lib.tensor(np.random.default_rng(3).standard_normal((3, 3))))
        second.weight = first.weight  # tied, as an embedding and an output head
        original = first.weight
        w = lib.eye(3, dtype=lib.float64) * 2
        x = lib.tensor(np.array([[0.1, -0.2, 0.3]]))
        both = F.functional_call(tied, {"0.weight": w}, (x,))
        one = F.functional_call(tied, {"0.weight": w}, (x,), tie_weights=False)
        assert first.weight is original and second.weight is original  # restored
        with pytest.raises(AttributeError):
            F.functional_call(tied, {"0.weight": w, "9.weight": w}, (x,))
        results.append((both, one, tied(x)))
    _close(results[0], results[1])


def test_grad_structures_argnums_has_aux_and_nesting():
    results = []
    for lib, F in ((hg, HF), (torch, TF)):

        def f(a, b):
            return (a["u"] ** 2 * b[0]).sum() + b[1].sin().sum()

        a = {"u": lib.tensor([1.0, 2.0], dtype=lib.float64)}
        b = (lib.tensor([3.0, -1.0], dtype=lib.float64), lib.tensor([0.5], dtype=lib.float64))
        g_ab = F.grad(f, argnums=(0, 1))(a, b)
        g, aux = F.grad(lambda x: ((x**3).sum(), x.sum()), has_aux=True)(b[0])
        gv = F.grad_and_value(lambda x: (x**3).sum())(b[0])
        second = F.grad(F.grad(lambda x: x.sin() * x))(lib.tensor(0.7, dtype=lib.float64))
        unused = F.grad(lambda x, y: (x * 2).sum(), argnums=1)(b[0], b[1])
        results.append((g_ab, (g, aux), gv, second, unused))
    _close(results[0], results[1])


def test_vmap_in_dims_out_dims_and_nesting():
    results = []
    for lib, F in ((hg, HF), (torch, TF)):
        x = lib.tensor(X)
        dot = F.vmap(lambda a, b: (a * b).sum(), in_dims=(0, None))(x, x[0])
        cols = F.vmap(lambda c: c.max(), in_dims=1)(x)
        outer = F.vmap(F.vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None))(
            x[:, 0], x[0]
        )
        pair = F.vmap(lambda a: (a.sum(), a * 2), out_dims=(0, 1))(x)
        results.append((dot, cols, outer, pair))
    _close(results[0], results[1])


def test_errors_name_the_transform_and_the_values():
    with pytest.raises(RuntimeError, match=r"grad: the function must return a tensor with one"):
        HF.grad(lambda x: x * 2)(hg.ones(3))
    with pytest.raises(ValueError, match=r"vmap: the mapped dims must have one size, got sizes"):
        HF.vmap(lambda a, b: a + b)(hg.ones(3), hg.ones(4))
    with pytest.raises(ValueError, match=r"vmap: in_dims has 1 entries for 2"):
        HF.vmap(lambda a, b: a + b, in_dims=(0,))(hg.ones(3), hg.ones(3))
