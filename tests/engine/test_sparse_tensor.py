"""Sparse COO tensors against torch: construction, coalescing, conversions, the product with a
dense matrix (values and the gradient of a two-layer graph convolution), and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg

# torch warns once per process that it skips its own index checks; not what is tested here
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")


def _dense_with_zeros(seed: int, shape: tuple) -> np.ndarray:
    r = np.random.default_rng(seed)
    a = r.standard_normal(shape) * (r.random(shape) < 0.4)
    return a.astype(np.float32)


@pytest.mark.parametrize("shape", [(4, 5), (3,), (2, 3, 4), (0, 3)])
def test_to_sparse_matches_torch(shape):
    a = _dense_with_zeros(0, shape)
    a.flat[:1] = np.nan if a.size else 0  # NaN is a stored (nonzero) entry, as in torch
    h, t = hg.tensor(a).to_sparse(), torch.tensor(a).to_sparse()
    assert h.is_sparse and t.is_sparse and not hg.tensor(a).is_sparse
    np.testing.assert_array_equal(h.indices().numpy(), t.indices().numpy())
    np.testing.assert_array_equal(h.values().numpy(), t.values().numpy())
    assert h.shape == tuple(t.shape) and h._nnz() == t._nnz() and h.is_coalesced()
    np.testing.assert_array_equal(h.to_dense().numpy(), t.to_dense().numpy())


def test_uncoalesced_entries_add_up_as_torch():
    indices = np.array([[1, 0, 1, 2], [2, 1, 2, 0]])
    values = np.array([1.0, 2.0, 3.5, -1.0], np.float32)
    h = hg.sparse_coo_tensor(hg.tensor(indices), hg.tensor(values), (3, 4))
    t = torch.sparse_coo_tensor(
        torch.tensor(indices), torch.tensor(values), (3, 4), check_invariants=True
    )
    assert h.is_coalesced() == t.is_coalesced() is False
    with pytest.raises(RuntimeError, match="coalesce"):
        h.indices()
    hc, tc = h.coalesce(), t.coalesce()
    np.testing.assert_array_equal(hc.indices().numpy(), tc.indices().numpy())
    np.testing.assert_array_equal(hc.values().numpy(), tc.values().numpy())
    np.testing.assert_array_equal(h.to_dense().numpy(), t.to_dense().numpy())
    np.testing.assert_array_equal(h.t().to_dense().numpy(), t.t().to_dense().numpy())


def test_size_is_inferred_and_python_floats_give_float32_as_torch():
    h = hg.sparse_coo_tensor([[0, 2], [1, 0]], [1.0, 2.0])
    t = torch.sparse_coo_tensor([[0, 2], [1, 0]], [1.0, 2.0])
    assert h.shape == tuple(t.shape) == (3, 2)
    assert str(h.dtype) == str(t.dtype).replace("torch.", "")


def _gcn(lib, adj, x, w1, w2):
    h = lib.relu(lib.sparse.mm(adj, x @ w1))
    return lib.log_softmax(lib.sparse.mm(adj, h @ w2), dim=1)


def test_graph_convolution_values_and_gradients_match_torch():
    r = np.random.default_rng(3)
    n = 30
    edges = r.integers(0, n, (2, 90))
    edges = np.concatenate([edges, np.stack([np.arange(n)] * 2)], axis=1)  # self loops
    deg = np.bincount(edges[0], minlength=n).astype(np.float64)
    weights = (1 / deg[edges[0]]).astype(np.float32)  # row-normalised, duplicates add up
    arrays = [r.standard_normal(s).astype(np.float32) for s in ((n, 8), (8, 16), (16, 4))]
    out = {}
    for lib in (hg, torch):
        adj = lib.sparse_coo_tensor(lib.tensor(edges), lib.tensor(weights), (n, n))
        x, w1, w2 = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = _gcn(lib, adj, x, w1, w2)
        y[:, 0].sum().backward()
        out[lib.__name__] = [y.detach().numpy()] + [t.grad.numpy() for t in (x, w1, w2)]
    for a, b in zip(out["handgrad"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_mm_and_spmm_and_matmul_agree():
    a = _dense_with_zeros(4, (5, 6))
    b = np.random.default_rng(5).standard_normal((6, 2)).astype(np.float32)
    s, d = hg.tensor(a).to_sparse(), hg.tensor(b)
    want = a @ b
    for got in (
        hg.sparse.mm(s, d),
        hg.sparse.spmm(s, d),
        hg.spmm(s, d),
        hg.mm(s, d),
        s @ d,
        hg.matmul(s, d),
        s.mm(d),
    ):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_legacy_constructor_as_torch(dtype):
    """torch.sparse.FloatTensor(indices, values, size) keeps the values' dtype in torch 2.13."""
    i, v = np.array([[0, 1], [2, 0]]), np.array([0.5, 2.0], dtype)
    h = hg.sparse.FloatTensor(hg.tensor(i), hg.tensor(v), (2, 3))
    t = torch.sparse.FloatTensor(torch.tensor(i), torch.tensor(v), (2, 3))
    assert str(h.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(h.to_dense().numpy(), t.to_dense().numpy())


def test_errors_name_the_fault():
    s = hg.tensor(np.eye(3, dtype=np.float32)).to_sparse()
    with pytest.raises(RuntimeError, match=r"3x3 and 4x2"):
        hg.sparse.mm(s, hg.ones(4, 2))
    with pytest.raises(RuntimeError, match="same dtype"):
        hg.sparse.mm(s, hg.ones(3, 2, dtype=hg.float64))
    with pytest.raises(RuntimeError, match="index 5 in dimension 1 is out of bounds for size 3"):
        hg.sparse_coo_tensor([[0], [5]], [1.0], (3, 3))
    with pytest.raises(TypeError, match="sparse COO tensor"):
        hg.sparse.mm(hg.ones(2, 2), hg.ones(2, 2))
    with pytest.raises(NotImplementedError, match="sparse leaf that requires grad"):
        hg.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), requires_grad=True)


def test_gradients_through_the_values_and_to_sparse_as_torch():
    """Learnable edge weights: the gradient reaches the values tensor (each duplicate entry gets
    the gradient of its position) and, through to_sparse(), the dense tensor's nonzeros."""
    r = np.random.default_rng(8)
    indices = np.array([[0, 2, 2, 1], [1, 0, 0, 3]])
    arrays = [r.standard_normal(4), r.standard_normal((4, 2)), r.standard_normal((3, 4))]
    arrays[2][0, 0] = 0.0
    g = r.standard_normal((3, 2))
    grads = {}
    for lib in (hg, torch):
        v, b, x = (lib.tensor(a, requires_grad=True) for a in arrays)
        a = lib.sparse_coo_tensor(lib.tensor(indices), v, (3, 4), check_invariants=True)
        y = lib.sparse.mm(a, b) + lib.sparse.mm(x.to_sparse(), b) + a.to_dense() @ b
        y = y + lib.sparse.mm(a.coalesce(), b)
        y.backward(lib.tensor(g))
        grads[lib.__name__] = [y.detach().numpy()] + [t.grad.numpy() for t in (v, b, x)]
    for ours, theirs in zip(grads["handgrad"], grads["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_second_derivatives_through_the_values_by_finite_differences():
    # torch's gradient with respect to sparse values has no graph, so this order is checked
    # against finite differences only.
    r = np.random.default_rng(9)
    indices = hg.tensor(np.array([[0, 1, 1], [1, 0, 0]]))

    def f(v, b):
        return hg.sparse.mm(hg.sparse_coo_tensor(indices, v, (2, 2)), b).tanh()

    inputs = [
        hg.tensor(r.standard_normal(3), requires_grad=True),
        hg.tensor(r.standard_normal((2, 3)), requires_grad=True),
    ]
    assert hg.gradgradcheck(f, inputs)


def test_optimizer_steps_on_the_values_are_seen_by_the_next_product():
    v = hg.nn.Parameter(hg.tensor([1.0, 2.0]))
    a = hg.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
    b = hg.eye(2)
    np.testing.assert_array_equal(hg.sparse.mm(a, b).detach().numpy(), [[0, 1], [2, 0]])
    with hg.no_grad():
        v.mul_(3.0)
    np.testing.assert_array_equal(hg.sparse.mm(a, b).detach().numpy(), [[0, 3], [6, 0]])


def test_course_sparse_coding_names_are_still_there():
    for name in ("DictionaryLearning", "fista", "ista", "soft_threshold", "sparse_encode"):
        assert hasattr(hg.sparse, name)
