"""Module backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``)
and the handle ``Tensor.register_hook`` returns, compared with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    h, t = hg.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    with hg.no_grad():
        h.weight.copy_(hg.tensor(w))
        h.bias.copy_(hg.tensor(b))
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        t.bias.copy_(torch.tensor(b))
    return h, t, x


def _run(lib, layer, x, input_grad, register):
    records = []
    handles = register(layer, records)
    inp = lib.tensor(x, requires_grad=input_grad)
    out = layer(inp)
    # a hook the caller puts on the output runs before the module sees grad_output
    out.register_hook(lambda g: g * 3)
    (out * lib.arange(3.0)).sum().backward()
    for handle in handles:
        handle.remove()
    layer(inp).sum().backward()  # removed: no more records
    return records, None if inp.grad is None else inp.grad.numpy()


def _norms(records):
    return [[-1.0 if g is None else float(g.norm()) for g in r] for r in records]


@pytest.mark.parametrize("input_grad", [True, False])
def test_full_backward_hook_sees_and_replaces_grads_as_torch(input_grad):
    def register(layer, records):
        def pre(module, grad_output):
            records.append(("pre", *grad_output))
            return (grad_output[0] * 2,)

        def full(module, grad_input, grad_output):
            records.append(("full", *grad_input, *grad_output))
            if grad_input[0] is not None:
                return (grad_input[0] + 1,)
            return None

        return [layer.register_full_backward_pre_hook(pre), layer.register_full_backward_hook(full)]

    h, t, x = _pair()
    got, got_grad = _run(hg, h, x, input_grad, register)
    want, want_grad = _run(torch, t, x, input_grad, register)
    assert [r[0] for r in got] == [r[0] for r in want]
    for g, w in zip(_norms([r[1:] for r in got]), _norms([r[1:] for r in want])):
        assert g == pytest.approx(w, rel=1e-5)
    assert len(got) == len(want)
    np.testing.assert_allclose(h.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-5)
    if input_grad:
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-5)
    else:
        assert got_grad is None and want_grad is None


def test_full_backward_hook_on_a_module_returning_a_tuple():
    class Split(hg.nn.Module):
        def forward(self, x):
            return x * 2, x.sum()

    class TSplit(torch.nn.Module):
        def forward(self, x):
            return x * 2, x.sum()

    results = []
    for lib, module in ((hg, Split()), (torch, TSplit())):
        seen = []
        module.register_full_backward_hook(
            lambda m, gi, go, seen=seen: seen.append([float(g.sum()) for g in gi + go])
        )
        x = lib.ones(3, requires_grad=True)
        a, s = module(x)
        (a * 3).sum().add(s * 5).backward()
        results.append((seen, x.grad.tolist()))
    assert results[0] == results[1]


def test_tensor_register_hook_returns_a_removable_handle():
    x = hg.ones(3, requires_grad=True)
    y = x * 2
    handle = y.register_hook(lambda g: g * 10)
    handle.remove()
    handle.remove()  # twice is a no-op, as torch's
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    z = x * 2
    z.register_hook(lambda g: g * 10)()  # called, as the remover function it was
    z.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0, 4.0]


def test_full_backward_hook_runs_once_per_backward_of_a_retained_graph():
    counts = []
    for lib in (hg, torch):
        layer = lib.nn.Linear(2, 2)
        calls = []
        layer.register_full_backward_hook(
            lambda m, gi, go, calls=calls: calls.append(float(go[0].sum()))
        )
        out = layer(lib.ones(1, 2, requires_grad=True)).sum()
        out.backward(retain_graph=True)
        out.backward()
        counts.append(calls)
    assert counts[0] == counts[1] == [2.0, 2.0]
