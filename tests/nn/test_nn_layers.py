"""Every layer of handgrad.nn against the PyTorch layer with the same weights: outputs, input
gradients, parameter gradients and buffers, in train and eval modes; the normalized linear layer
also against finite differences and the hand-written formulas of problem set 002, Assignment 9."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad import nn

from nn_helpers import assert_same, blas_pool, run_both, to_np

torch.set_num_threads(1)
DTYPES = [np.float32, np.float64]


def _randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- Linear, Identity -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
def test_linear_matches_torch(dtype, bias, lead):
    t = torch.nn.Linear(4, 3, bias=bias).to(torch.float64 if dtype == np.float64 else torch.float32)
    h = nn.Linear(4, 3, bias=bias, dtype=dtype)
    out = run_both(h, t, [_randn(*lead, 4)], dtype)
    assert_same(h, t, *out, dtype=dtype, what="Linear")


def test_linear_gradients_run_side_by_side_without_a_graph(monkeypatch):
    """With two BLAS threads and no graph of the gradient, linear's weight gradient runs on a pool
    thread while its input gradient runs on the caller's (``blas.side_by_side``), no graph
    recorded on either; the values are one thread's, bit for bit, and torch's. With
    ``create_graph=True`` both run on the caller's thread and the weight gradient is recorded."""
    import threading

    from handgrad.ops import blas, linalg

    monkeypatch.setattr(blas, "_SIDE_BY_SIDE_MACS", 1)
    seen: list = []
    forward = linalg.Matmul.forward

    def spy(self, a, b):
        seen.append((threading.current_thread().name, hg.is_grad_enabled()))
        return forward(self, a, b)

    monkeypatch.setattr(linalg.Matmul, "forward", spy)
    r = np.random.default_rng(5)
    x, w, b = r.standard_normal((2, 7, 6)), r.standard_normal((5, 6)), r.standard_normal(5)

    def run(threads, create_graph=False):
        seen.clear()
        with blas_pool(threads):
            hx, hw = hg.tensor(x, requires_grad=True), hg.tensor(w, requires_grad=True)
            out = hg.nn.functional.linear(hx, hw, hg.tensor(b))
            return hg.autograd.grad((out * out).sum(), (hx, hw), create_graph=create_graph)

    one = run(1)
    assert {name for name, _ in seen} == {threading.current_thread().name}
    two = run(2)
    pool = [name for name, _ in seen if name != threading.current_thread().name]
    assert len(seen) == 2 and len(pool) == 1 and pool[0].startswith("handgrad-conv")
    assert not any(grad for _, grad in seen)
    for a, c in zip(one, two):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tout = torch.nn.functional.linear(tx, tw, torch.tensor(b))
    for a, c in zip(two, torch.autograd.grad((tout * tout).sum(), (tx, tw))):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12)
    gx, gw = run(2, create_graph=True)
    assert {name for name, _ in seen} == {threading.current_thread().name}
    assert all(grad for _, grad in seen) and gw.grad_fn is not None
    np.testing.assert_allclose(gw.detach().numpy(), one[1].numpy(), rtol=1e-12)


def test_linear_init_and_identity():
    torch.manual_seed(0)
    h = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w = h.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound
    x = hg.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x
    assert "in_features=400, out_features=300, bias=True" in repr(h)


# ---- NormalizedLinear -------------------------------------------------------------------------


class TorchNormalizedLinear(torch.nn.Linear):
    def forward(self, x):
        return torch.nn.functional.linear(x, self.weight, self.bias) / self.weight.norm(dim=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(), (6,), (2, 3)])
def test_normalized_linear_matches_torch_composition(dtype, bias, lead):
    t = TorchNormalizedLinear(5, 3, bias=bias).to(
        torch.float64 if dtype == np.float64 else torch.float32
    )
    h = nn.NormalizedLinear(5, 3, bias=bias, dtype=dtype)
    out = run_both(h, t, [_randn(*lead, 5)], dtype)
    assert_same(h, t, *out, dtype=dtype, what="NormalizedLinear")


def test_normalized_linear_is_a_registered_primitive():
    assert hg.PRIMITIVES["normalized_linear"] is hg.ops.normalized_linear.NormalizedLinearFn
    h = nn.NormalizedLinear(3, 2)
    y = h(hg.randn(4, 3))
    assert y.grad_fn.name == "normalized_linear"
    # y_i does not change when a weight row is rescaled together with its bias
    x = hg.tensor(np.ones((1, 3), np.float32))
    before = to_np(h(x)).copy()
    with hg.no_grad():
        h.weight[0] = h.weight[0] * 7.0
        h.bias[0] = h.bias[0] * 7.0
    np.testing.assert_allclose(to_np(h(x)), before, rtol=1e-6)


def test_normalized_linear_finite_differences():
    r = np.random.default_rng(3)
    x, w, b = r.standard_normal((4, 5)), r.standard_normal((3, 5)), r.standard_normal(3)
    fn = nn.linear.normalized_linear
    report = hg.gradcheck(fn, [x, w, b])
    assert report, str(report)
    assert hg.gradgradcheck(fn, [x, w, b]), "second derivatives"


def _seed_formulas(g, x, w, b):
    """Problem set 002, Assignment 9, for one input vector x, written out component by
    component: dL/db_i = g_i / ||w_i||, dL/dx_j = sum_i g_i w_ij / ||w_i||,
    dL/dw_i = g_i (x / ||w_i|| - (w_i.x + b_i) w_i / ||w_i||^3)."""
    m, n = w.shape
    r = np.sqrt((w**2).sum(1))
    gb = np.array([g[i] / r[i] for i in range(m)])
    gx = np.array([sum(g[i] * w[i, j] / r[i] for i in range(m)) for j in range(n)])
    gw = np.stack([g[i] * (x / r[i] - (w[i] @ x + b[i]) * w[i] / r[i] ** 3) for i in range(m)])
    return gx, gw, gb


def test_normalized_linear_hand_formulas_check_vjp():
    r = np.random.default_rng(4)
    x, w, b = r.standard_normal(5), r.standard_normal((3, 5)), r.standard_normal(3)
    report = hg.check_vjp(nn.linear.normalized_linear, _seed_formulas, [x, w, b])
    assert report, str(report)


def test_seed_weight_formula_with_its_stray_sum_is_caught():
    """Eq. (24) of the seed read literally sums over i on the right-hand side; that gives every
    row the same gradient, and check_vjp flags it (only input 1, the weights, disagrees)."""

    def literal(g, x, w, b):
        gx, _, gb = _seed_formulas(g, x, w, b)
        r = np.sqrt((w**2).sum(1))
        total = sum(g[i] * (x / r[i] - (w[i] @ x + b[i]) * w[i] / r[i] ** 3) for i in range(len(g)))
        return gx, np.tile(total, (len(g), 1)), gb

    r = np.random.default_rng(5)
    x, w, b = r.standard_normal(5), r.standard_normal((3, 5)), r.standard_normal(3)
    report = hg.check_vjp(nn.linear.normalized_linear, literal, [x, w, b])
    assert not report
    assert [i.passed for i in report.inputs] == [True, False, True]


def test_normalized_linear_bad_shapes():
    with pytest.raises(RuntimeError, match=r"normalized_linear: input of shape \(2, 4\)"):
        nn.linear.normalized_linear(hg.randn(2, 4), hg.randn(3, 5))
    with pytest.raises(RuntimeError, match="bias of shape"):
        nn.linear.normalized_linear(hg.randn(2, 5), hg.randn(3, 5), hg.randn(4))


# ---- activations ------------------------------------------------------------------------------

ACTIVATIONS = [
    ("ReLU", {}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 3.0}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("Softmax", {"dim": 1}),
    ("Softmax", {"dim": -1}),
    ("LogSoftmax", {"dim": 1}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}{k}" for n, k in ACTIVATIONS])
def test_activation_matches_torch(name, kw, dtype):
    x = _randn(3, 4, 5, seed=1) * 3
    x[0, 0, :2] = 0.0  # the kink: relu'(0) = 0, leaky_relu'(0) = slope, as in PyTorch
    h, t = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    out = run_both(h, t, [x], dtype)
    assert_same(h, t, *out, dtype=dtype, what=name)


# ---- normalization ----------------------------------------------------------------------------

BN_OPTIONS = [
    {},
    {"affine": False},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"track_running_stats": False},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kind,shape",
    [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 2, 3))],
)
@pytest.mark.parametrize("kw", BN_OPTIONS, ids=[str(k) for k in BN_OPTIONS])
def test_batchnorm_matches_torch_train_then_eval(kind, shape, kw, dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    t = getattr(torch.nn, kind)(3, **kw).to(tdt)
    h = getattr(nn, kind)(3, **kw, dtype=dtype)
    if t.affine:  # non-trivial affine parameters
        with torch.no_grad():
            t.weight.uniform_(0.5, 1.5)
            t.bias.uniform_(-1, 1)
    hg.load_torch_state_dict(h, t.state_dict())
    for step in range(3):  # running statistics accumulate over several batches
        for p in list(h.parameters()):
            p.grad = None
        t.zero_grad()
        x = _randn(*shape, seed=step) * 2 + 1
        out = run_both(h, t, [x], dtype, seed=step, copy=False)
        assert_same(h, t, *out, dtype=dtype, what=f"{kind} train step {step}")
    h.eval()
    t.eval()
    for p in list(h.parameters()):
        p.grad = None
    t.zero_grad()
    out = run_both(h, t, [_randn(*shape, seed=9)], dtype, seed=9, copy=False)
    assert_same(h, t, *out, dtype=dtype, what=f"{kind} eval")


def test_batchnorm_unbiased_running_var_and_errors():
    bn = nn.BatchNorm1d(2, momentum=1.0)
    x = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    bn(hg.tensor(x))
    np.testing.assert_allclose(
        bn.running_var.detach().numpy(), x.var(0, ddof=1)
    )  # N - 1 for the running
    assert int(bn.num_batches_tracked.item()) == 1
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(hg.randn(1, 2))
    with pytest.raises(ValueError, match="input has 3 channels"):
        bn(hg.randn(4, 3))
    with pytest.raises(ValueError, match="expected 4D input, got 2D"):
        nn.BatchNorm2d(2)(hg.randn(4, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape,norm,kw",
    [
        ((4, 6), 6, {}),
        ((2, 3, 4), (3, 4), {}),
        ((2, 3, 4), 4, {"elementwise_affine": False}),
        ((2, 5), 5, {"bias": False}),
        ((3, 5), 5, {"eps": 1e-2}),
    ],
)
def test_layernorm_matches_torch(shape, norm, kw, dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    t = torch.nn.LayerNorm(norm, **kw).to(tdt)
    if t.weight is not None:
        with torch.no_grad():
            t.weight.uniform_(0.5, 1.5)
            if t.bias is not None:
                t.bias.uniform_(-1, 1)
    h = nn.LayerNorm(norm, **kw, dtype=dtype)
    out = run_both(h, t, [_randn(*shape) * 3 + 2], dtype)
    assert_same(h, t, *out, dtype=dtype, what="LayerNorm")


def test_layernorm_bad_shape():
    with pytest.raises(RuntimeError, match=r"normalized_shape \(5,\) does not match"):
        nn.LayerNorm(5)(hg.randn(2, 4))


# ---- dropout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_dropout_eval_is_identity_and_deterministic_cases_match_torch(p):
    x = _randn(6, 7)
    h, t = nn.Dropout(p), torch.nn.Dropout(p)
    h.eval(), t.eval()
    assert_same(h, t, *run_both(h, t, [x]), what="Dropout eval")
    if p in (0.0, 1.0):  # deterministic in training too
        h.train(), t.train()
        assert_same(h, t, *run_both(h, t, [x]), what="Dropout train")


def test_dropout_train_mask_scale_and_gradient():
    hg.manual_seed(0)
    p = 0.3
    x = hg.tensor(np.random.default_rng(0).uniform(1, 2, (200, 100)), requires_grad=True)
    y = nn.Dropout(p)(x)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    # survivors are scaled by 1 / (1 - p); the gradient is the same mask and scale
    np.testing.assert_allclose(y.detach().numpy()[kept], x.detach().numpy()[kept] / (1 - p))
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p))
    # keep fraction ~ Binomial(20000, 0.7): 5 standard deviations is 0.016
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / kept.size)
    with pytest.raises(ValueError, match="p=1.5"):
        nn.Dropout(1.5)


# ---- embedding, flatten -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"padding_idx": 2},
        {"padding_idx": -1},
        {"scale_grad_by_freq": True},
        {"max_norm": 1.0},
        {"padding_idx": 0, "scale_grad_by_freq": True},
    ],
)
def test_embedding_matches_torch(kw, dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    t = torch.nn.Embedding(6, 3, **kw).to(tdt)
    h = nn.Embedding(6, 3, **kw, dtype=dtype)
    idx = np.array([[0, 2, 2, 5], [1, 2, 0, 5]])
    out = run_both(h, t, [idx], dtype)
    assert_same(h, t, *out, dtype=dtype, what=f"Embedding {kw}")
    if "padding_idx" in kw:
        assert not np.any(to_np(h.weight.grad)[kw["padding_idx"]])


def test_embedding_errors_and_init():
    e = nn.Embedding(5, 2, padding_idx=1)
    assert not np.any(e.weight.detach().numpy()[1])
    with pytest.raises(IndexError, match=r"index 5 is out of range \[0, 5\)"):
        e(hg.tensor([0, 5]))
    with pytest.raises(RuntimeError, match="indices must be integers"):
        e(hg.tensor([0.0]))
    f = nn.Embedding.from_pretrained(hg.ones(3, 2))
    assert not f.weight.requires_grad


@pytest.mark.parametrize(
    "h,t,shape",
    [
        (nn.Flatten(), torch.nn.Flatten(), (2, 3, 4, 5)),
        (nn.Flatten(0, 2), torch.nn.Flatten(0, 2), (2, 3, 4, 5)),
        (nn.Unflatten(1, (3, 4)), torch.nn.Unflatten(1, (3, 4)), (2, 12, 5)),
        (nn.Unflatten(-1, (-1, 2)), torch.nn.Unflatten(-1, (-1, 2)), (2, 3, 8)),
    ],
    ids=["flatten", "flatten02", "unflatten", "unflatten-1"],
)
def test_flatten_unflatten_match_torch(h, t, shape):
    assert_same(h, t, *run_both(h, t, [_randn(*shape)]), what=type(h).__name__)


def test_unflatten_bad_sizes():
    with pytest.raises(RuntimeError, match=r"sizes \(3, 5\) do not multiply to the size 12"):
        nn.Unflatten(1, (3, 5))(hg.randn(2, 12))


# ---- losses -----------------------------------------------------------------------------------


def _cls_data(n=6, c=4):
    r = np.random.default_rng(7)
    return r.standard_normal((n, c)) * 2, r.integers(0, c, n)


LOSSES = [
    ("CrossEntropyLoss", {}, "cls"),
    ("CrossEntropyLoss", {"reduction": "sum"}, "cls"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "cls"),
    ("CrossEntropyLoss", {"ignore_index": 1}, "cls"),
    ("CrossEntropyLoss", {"weight": [1.0, 2.0, 0.5, 1.5]}, "cls"),
    ("CrossEntropyLoss", {}, "prob"),
    ("NLLLoss", {}, "logp"),
    ("NLLLoss", {"reduction": "none"}, "logp"),
    ("MSELoss", {}, "reg"),
    ("MSELoss", {"reduction": "sum"}, "reg"),
    ("L1Loss", {}, "reg"),
    ("L1Loss", {"reduction": "none"}, "reg"),
    ("BCEWithLogitsLoss", {}, "bin"),
    ("BCEWithLogitsLoss", {"pos_weight": [2.0, 1.0, 0.5, 1.0]}, "bin"),
    ("BCELoss", {}, "binp"),
    ("BCELoss", {"weight": [2.0, 1.0, 0.5, 1.0]}, "binp"),
    ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, "kl"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw,kind", LOSSES, ids=[f"{n}-{k}-{d}" for n, k, d in LOSSES])
def test_loss_matches_torch(name, kw, kind, dtype):
    r = np.random.default_rng(8)
    x, y = _cls_data()
    if kind == "prob":
        y = np.exp(r.standard_normal(x.shape))
        y /= y.sum(1, keepdims=True)
    elif kind == "logp":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    elif kind == "reg":
        y = r.standard_normal(x.shape)
    elif kind == "bin":
        y = (r.random(x.shape) > 0.5).astype(float)
    elif kind == "binp":
        x = 1 / (1 + np.exp(-x))
        y = r.random(x.shape)
    elif kind == "kl":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
        y = np.exp(r.standard_normal(x.shape))
        y /= y.sum(1, keepdims=True)
        if kw.get("log_target"):
            y = np.log(y)
    tkw = {
        k: torch.tensor(np.asarray(v, dtype)) if isinstance(v, list) else v for k, v in kw.items()
    }
    hkw = {k: hg.tensor(np.asarray(v, dtype)) if isinstance(v, list) else v for k, v in kw.items()}
    h, t = getattr(nn, name)(**hkw), getattr(torch.nn, name)(**tkw)
    hs = [
        hg.tensor(x.astype(dtype), requires_grad=True),
        hg.tensor(y.astype(dtype) if y.dtype.kind == "f" else y),
    ]
    ts = [
        torch.tensor(x.astype(dtype), requires_grad=True),
        torch.tensor(y.astype(dtype) if y.dtype.kind == "f" else y),
    ]
    out_h, out_t = h(*hs), t(*ts)
    g = np.random.default_rng(0).standard_normal(tuple(out_t.shape)).astype(dtype)
    out_h.backward(hg.tensor(g))
    out_t.backward(torch.tensor(g))
    assert_same(h, t, out_h, out_t, hs[:1], ts[:1], dtype=dtype, what=name)


def test_loss_bad_reduction():
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        nn.MSELoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


# ---- a whole model ----------------------------------------------------------------------------


def _mlp(lib):
    n = lib.nn
    return n.Sequential(
        n.Linear(5, 8),
        n.BatchNorm1d(8),
        n.ReLU(),
        n.Dropout(0.2),
        n.Linear(8, 8),
        n.LayerNorm(8),
        n.GELU(),
        n.Linear(8, 3),
        n.LogSoftmax(1),
    )


def test_model_round_trip_with_torch_gives_identical_outputs():
    torch.manual_seed(1)
    t = _mlp(torch).double()
    h = _mlp(hg).double()
    t.eval(), h.eval()
    x = _randn(7, 5)
    assert_same(h, t, *run_both(h, t, [x]), what="MLP eval")
    # and back: handgrad weights into a fresh torch model
    t2 = _mlp(torch).double().eval()
    t2.load_state_dict(hg.to_torch_state_dict(h))
    np.testing.assert_array_equal(to_np(t2(torch.tensor(x))), to_np(t(torch.tensor(x))))
