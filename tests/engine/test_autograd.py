"""The engine's behaviour: accumulation, freed graphs, retain_graph, create_graph, in-place
safety, hooks, grad mode, dtypes. (Per-primitive numbers are in test_parity.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
import handgrad.nn.functional as F


def test_chain_of_100k_operations_backpropagates_without_recursion():
    x = hg.tensor(1.0, dtype=hg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert x.grad.item() == pytest.approx(1.00001**100_000, rel=1e-9)


def test_gradients_accumulate_like_torch():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + 3)


def test_diamond_graph_sums_both_paths():
    x = hg.tensor(0.7, dtype=hg.float64, requires_grad=True)
    a = x.exp()
    y = a * a.sin() + a
    y.backward()
    xt = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    at = xt.exp()
    (at * at.sin() + at).backward()
    assert x.grad.item() == pytest.approx(xt.grad.item(), rel=1e-12)


def test_second_backward_through_freed_graph_is_an_error_unless_retained():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    z = (x.exp() * x).sum()
    z.backward(retain_graph=True)
    z.backward()  # allowed: the first call kept the graph


def test_backward_on_non_scalar_needs_gradient():
    x = hg.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(hg.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        (x * 2).backward(hg.ones(3))


def test_backward_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        hg.ones(3).sum().backward()


def test_requires_grad_on_integer_tensor_names_the_dtype():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        hg.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="int64"):
        hg.arange(3).requires_grad_()


def test_in_place_change_of_a_saved_input_is_caught():
    a = hg.tensor([1.0, 2.0, 3.0])
    w = hg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    z = (a * w).sum()
    a.add_(1.0)
    with pytest.raises(RuntimeError, match=r"mul: input 0 \(shape \(3,\)\).*in-place.*version 1"):
        z.backward()


def test_in_place_change_of_a_saved_output_is_caught():
    w = hg.tensor([0.5, -1.0], requires_grad=True)
    e = w.exp()
    loss = e.sum()
    with hg.no_grad():
        e.mul_(2.0)
    with pytest.raises(RuntimeError, match="exp: its output.*in-place"):
        loss.backward()


def test_in_place_change_of_a_view_bumps_the_base_version():
    a = hg.tensor([[1.0, 2.0], [3.0, 4.0]])
    w = hg.tensor([1.0, 1.0], requires_grad=True)
    z = (a * w).sum()
    a[0].mul_(5.0)  # a view of a's memory: shares its version counter
    with pytest.raises(RuntimeError, match="mul: input 0"):
        z.backward()


def test_in_place_change_not_needed_by_backward_is_fine():
    a = hg.tensor([1.0, 2.0])
    w = hg.tensor([0.5, -1.0], requires_grad=True)
    z = (a + w).sum()  # add does not use its inputs' values in backward
    a.add_(1.0)
    z.backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 1.0])


def test_in_place_on_leaf_that_requires_grad_needs_no_grad():
    w = hg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_.*leaf.*no_grad"):
        w.add_(1.0)
    with hg.no_grad():
        w.add_(1.0)
    np.testing.assert_allclose(w.detach().numpy(), 2.0)


def test_grad_returns_without_accumulating_and_supports_hessian_vector_products():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    A = hg.tensor(a @ a.T)
    x = hg.tensor(rng.standard_normal(4), requires_grad=True)
    f = (x * (A @ x)).sum() * 0.5 + (x**3).sum()
    (g,) = hg.grad(f, x, create_graph=True)
    assert x.grad is None
    v = hg.tensor(rng.standard_normal(4))
    (hv,) = hg.grad((g * v).sum(), x)
    expected = (a @ a.T) @ v.numpy() + 6 * x.detach().numpy() * v.numpy()
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-5)


def test_gradient_penalty_matches_torch():
    rng = np.random.default_rng(1)
    w0, x0 = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))

    def penalty(lib, w, x):
        out = lib.tanh(x @ w.T).sum()
        (gx,) = (hg.grad if lib is hg else torch.autograd.grad)(out, x, create_graph=True)
        return (gx * gx).sum()

    w, x = hg.tensor(w0, requires_grad=True), hg.tensor(x0, requires_grad=True)
    wt, xt = torch.tensor(w0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    penalty(hg, w, x).backward()
    penalty(torch, wt, xt).backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-9)


def test_grad_reports_unused_inputs():
    x, y = hg.ones(2, requires_grad=True), hg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 1.*not used.*allow_unused"):
        hg.grad((x * 2).sum(), [x, y])
    gx, gy = hg.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx is not None


def test_grad_with_respect_to_an_intermediate_tensor():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh,) = hg.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())


def test_no_grad_context_and_decorator_and_set_grad_enabled():
    x = hg.ones(2, requires_grad=True)
    with hg.no_grad():
        assert not (x * 2).requires_grad
        with hg.enable_grad():
            assert (x * 2).requires_grad

    @hg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with hg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_hooks_and_retain_grad():
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.detach().numpy())
    np.testing.assert_allclose(seen[0], 2 * h.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 10 * 4 * h.detach().numpy())


def test_leaf_grads_never_share_memory():
    a, b = hg.ones(3, requires_grad=True), hg.ones(3, requires_grad=True)
    (a + b).sum().backward()  # add passes the same gradient to both inputs
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    with hg.no_grad():
        a.grad.mul_(5)
    np.testing.assert_allclose(b.grad.numpy(), 1.0)


def test_float32_stays_float32():
    x = hg.randn(8, 5, requires_grad=True)
    w = hg.randn(3, 5, requires_grad=True)
    y = hg.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    h = F.linear(x, w) * 0.5 + 1.0
    h = (h - h.mean(0)) / (h.var(0) + 1e-5).sqrt()
    loss = F.cross_entropy(h.relu() ** 2, y) + (w * w).sum() * 1e-3 + np.float32(2.0) * h.mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    assert (hg.arange(5) / 2).dtype == np.float32  # true division of integers: default float


def test_mixed_precision_promotes_and_gradients_keep_each_dtype():
    a = hg.ones(3, dtype=hg.float32, requires_grad=True)
    b = hg.ones(3, dtype=hg.float64, requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_numpy_shares_memory_and_refuses_tensors_that_require_grad():
    t = hg.zeros(3)
    t.numpy()[0] = 5.0
    assert t[0].item() == 5.0
    with pytest.raises(RuntimeError, match="detach"):
        hg.zeros(3, requires_grad=True).numpy()


def test_tensor_creation_dtypes_follow_torch():
    assert hg.tensor([1.0, 2.0]).dtype == np.float32
    assert hg.tensor([1, 2]).dtype == np.int64
    assert hg.tensor([True]).dtype == np.bool_
    assert hg.tensor(np.zeros(2)).dtype == np.float64
    assert hg.zeros(2, 3).dtype == np.float32 and hg.arange(3).dtype == np.int64


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/inf is the point
def test_detect_anomaly_names_the_forward_operation():
    x = hg.tensor([-1.0, 1.0], requires_grad=True)
    with hg.detect_anomaly():
        with pytest.raises(RuntimeError, match="forward of 'log' produced nan"):
            x.log()
    x.log()  # outside the context: NaN is allowed, as in NumPy


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/inf is the point
def test_detect_anomaly_names_the_backward_operation():
    x = hg.tensor([0.0, 4.0], requires_grad=True)
    y = x.sqrt().sum()
    with hg.detect_anomaly():
        with pytest.raises(RuntimeError, match="backward of 'sqrt' produced inf"):
            y.backward()


def test_manual_seed_reproduces():
    hg.manual_seed(3)
    a = hg.randn(4)
    hg.manual_seed(3)
    b = hg.randn(4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_repr_is_torch_like():
    assert repr(hg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(hg.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(hg.ones(1, requires_grad=True) * 2)


def test_grad_of_the_same_input_asked_twice():
    """``grad(out, [x, x])`` returns the gradient at both positions, as torch.autograd.grad does
    (found by the fuzzer's trace: the second position came back None)."""
    x = hg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0  # a non-leaf asked for twice as well
    got = hg.grad((y * y).sum(), [x, y, x, y])
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx * 3.0
    want = torch.autograd.grad((ty * ty).sum(), [tx, ty, tx, ty])
    for a, w in zip(got, want):
        np.testing.assert_allclose(a.numpy(), w.numpy())


def test_gradient_sum_that_overflows_on_the_way_is_the_exact_finite_sum():
    # fuzz seed 907676047: x.expand(2, 2, 3).prod(-2).prod(1); the second pass's cotangent of
    # the first prod's output gets -1.61e308 and -3.84e307 from the second prod's double
    # backward, then +1.61e308 from the first prod's backward: the running sum overflowed to
    # -inf (the leaf's second derivative inf); kept apart and summed scaled, it is the exact
    # -3.84e307, and the leaf's the mpmath value G P / x_i sum_{j != i} v_j / x_j
    x = np.array(
        [
            [1.1972169957167056, 0.8069233040018359, -4.4942328371557893e307],
            [-0.18688931081903876, 0.33768738397829207, 2.1651357162754836],
        ]
    )
    g = np.array([-0.2713261283869095, -0.9425682906277301])
    v = np.array(
        [
            [2.178291463194913, -0.7109260819573326, -0.5923404420032891],
            [-0.8678490023903506, -2.202523282726877, -1.2878135840248197],
        ]
    )
    exact = [2.0178432758048074e307, 5.8372416421893412e306, -0.24598214975606279]

    def second(lib):
        xt = lib.tensor(x, requires_grad=True)
        out = xt.expand(2, 2, 3).prod(-2).prod(1)
        grad = torch.autograd.grad if lib is torch else hg.grad
        (gx,) = grad(out, [xt], lib.tensor(g), create_graph=True)
        return grad((gx * lib.tensor(v)).sum(), [xt])[0].detach().numpy()

    got, ref = second(hg), second(torch)
    np.testing.assert_allclose(got[0], exact, rtol=1e-14)
    np.testing.assert_allclose(got, ref, rtol=1e-14)
