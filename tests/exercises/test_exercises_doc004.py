"""Problem set 004: each exercise's computed answer checked by a second, independent route
(PyTorch, SciPy, scikit-learn, optimality conditions)."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import optimize, signal

import handgrad.exercises as ex
from handgrad.exercises import doc004


def run(id, **params):
    return ex.run_one(id, **params)


def solve(id, **params):
    e = ex.get(id)
    return e.solve(**{**e.params, **params})


def test_004_q1a_distill_linear():
    res = solve("004-q1a-distill-linear", widths=[5, 7, 4, 2], steps=20)
    x = torch.randn(10, 5, dtype=torch.float64)
    h = x
    for w, b in res.context["layers"]:  # the trained layers, run by torch
        h = torch.nn.functional.linear(h, torch.tensor(w), torch.tensor(b))
    single = x.numpy() @ res.context["W"].T + res.context["b"]
    np.testing.assert_allclose(h.numpy(), single, atol=1e-12)
    assert res.value["max_output_difference"] < 1e-12


def test_004_q1b_sparse_coding_vs_autoencoder():
    res = solve("004-q1b-sparse-coding-vs-autoencoder")
    x, z, d = res.context["x"], res.context["codes"], res.context["dictionary"]
    alpha = ex.get("004-q1b-sparse-coding-vs-autoencoder").params["alpha"]
    # the sparse codes are Lasso solutions for the dictionary: KKT, per example,
    # D (x - D^T z) in alpha * subdifferential of ||z||_1 (to the solver's tolerance)
    corr = (x - z @ d) @ d.T
    nz = np.abs(z) > 1e-10
    assert np.abs(corr[nz] - alpha * np.sign(z[nz])).max() < 0.05 * alpha
    assert np.abs(corr[~nz]).max() <= alpha * 1.05
    assert res.value["sparse_coding_zero_fraction"] > 0.5
    assert (np.abs(res.context["ae_codes"]) < 1e-10).mean() < 0.1  # dense autoencoder codes


def test_004_q2a_softmax_gradient():
    v = run("004-q2a-softmax-gradient", W=None, x=None, b=None, label=2, seed=1)
    W = torch.tensor(v.details["W"], requires_grad=True)
    x, b = torch.tensor(v.details["x"]), torch.tensor(v.details["b"])
    torch.nn.functional.cross_entropy((W @ x + b)[None], torch.tensor([2])).backward()
    np.testing.assert_allclose(v.computed["dl/dW"], W.grad.numpy(), atol=1e-12)


def test_004_q2b_confident_mistake():
    v = run("004-q2b-confident-mistake", margin=800.0)
    a = torch.tensor([[0.0, 0.0, 800.0]], dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(a, torch.tensor([0]))
    loss.backward()
    assert abs(v.computed["stable_loss"] - loss.item()) < 1e-9
    np.testing.assert_allclose(v.computed["gradient_wrt_logits"], a.grad.numpy()[0], atol=1e-12)
    assert v.computed["naive_loss"] == math.inf


def test_004_q3a_chain_rule_method():
    v = run("004-q3a-chain-rule-method")
    x = torch.tensor(1.0, requires_grad=True)
    y = torch.tensor(0.0, requires_grad=True)
    f = (x * x + torch.sigmoid(y)) / (3 * x + y - torch.sigmoid(x))
    seen, stack = set(), [f.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen or type(node).__name__ == "AccumulateGrad":
            continue
        seen.add(node)
        stack += [n for n, _ in node.next_functions]
    assert v.computed["nodes"] == len(seen)  # the same graph, node for node
    assert v.computed["primitives"][-1] == "div"


def test_004_q3b_chain_rule_values():
    v = run("004-q3b-chain-rule-values")

    def f(x, y):
        s = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
        return (x * x + s(y)) / (3 * x + y - s(x))

    h = 1e-6
    assert abs(v.computed["df/dx"] - (f(1 + h, 0) - f(1 - h, 0)) / (2 * h)) < 1e-8
    assert abs(v.computed["df/dy"] - (f(1, h) - f(1, -h)) / (2 * h)) < 1e-8


def test_004_q4a_pooling_kinds():
    v = run("004-q4a-pooling-kinds", p=3.0)
    x = torch.tensor(v.details["input"])[None, None]
    expected = {
        "max": torch.nn.MaxPool2d(2)(x),
        "average": torch.nn.AvgPool2d(2)(x),
        "Lp (power average)": torch.nn.LPPool2d(3.0, 2)(x),
    }
    for name, out in expected.items():
        np.testing.assert_allclose(v.computed[name]["output"], out[0, 0].numpy(), atol=1e-12)


def test_004_q4b_pooling_formulas():
    v = run("004-q4b-pooling-formulas", p=2.5, seed=3)
    x = torch.tensor(np.random.default_rng(3).random((1, 1, 6, 6)) + 0.1, requires_grad=True)
    for name, mod in (
        ("max", torch.nn.MaxPool2d(2)),
        ("average", torch.nn.AvgPool2d(2)),
        ("Lp (power average)", torch.nn.LPPool2d(2.5, 2)),
    ):
        out = mod(x)
        windows = x.detach().unfold(2, 2, 2).unfold(3, 2, 2).reshape(1, 1, 3, 3, 4)
        formula = {
            "max": windows.max(-1).values,
            "average": windows.mean(-1),
            "Lp (power average)": (windows**2.5).sum(-1) ** 0.4,
        }[name]
        torch.testing.assert_close(out.detach(), formula)
        assert v.computed[name]["max_difference"] < 1e-12
        assert v.computed[name]["gradient_formula_checked"]


def test_004_q4c_pooling_reason():
    v = run("004-q4c-pooling-reason", size=160, peaks=400, seed=1)
    # an isolated detection stays in its 2x2 window with probability 1/2 for a one-pixel shift
    # along one axis and 1/4 along both: (1/2 + 1/2 + 1/4) / 3 on average
    assert abs(v.computed["pooled_detections_unchanged"] - 5 / 12) < 0.06
    assert abs(v.computed["relative_change_without_pooling"] - math.sqrt(2)) < 0.02  # disjoint
    assert v.computed["relative_change_with_max_pooling"] < 1.2


def test_004_q5a_output_count():
    v = run("004-q5a-output-count")
    out = torch.nn.functional.conv2d(
        torch.tensor(doc004.IMAGE, dtype=torch.float64)[None, None],
        torch.tensor(doc004.KERNEL, dtype=torch.float64)[None, None],
    )
    assert v.computed == out.numel() == 9


def test_004_q5b_convolution_values():
    v = run("004-q5b-convolution-values")
    np.testing.assert_allclose(v.computed, signal.correlate2d(doc004.IMAGE, doc004.KERNEL, "valid"))
    np.testing.assert_allclose(
        v.details["true_convolution"], signal.convolve2d(doc004.IMAGE, doc004.KERNEL, "valid")
    )


def test_004_q5c_input_gradient():
    v = run("004-q5c-input-gradient")
    # the transposed convolution: g (all ones) fully convolved with the kernel
    np.testing.assert_allclose(
        v.computed, signal.convolve2d(np.ones((3, 3)), doc004.KERNEL, "full")
    )
    g = np.random.default_rng(0).standard_normal((3, 3))
    v2 = run("004-q5c-input-gradient", upstream=g.tolist())
    np.testing.assert_allclose(v2.computed, signal.convolve2d(g, doc004.KERNEL, "full"), atol=1e-12)


def _torch_ae(seed=0, n=8, d=6, h=3):
    x, w1, b1, w2, b2 = doc004._ae_instance(n, d, h, seed)
    ps = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]
    xt = torch.tensor(x)

    def loss(p):
        hid = torch.sigmoid(xt @ p[0].T + p[1])
        return ((hid @ p[2].T + p[3] - xt) ** 2).sum(1).mean()

    return loss, ps


def test_004_q6a_ae_loss():
    loss, ps = _torch_ae()
    v = run("004-q6a-ae-loss")
    assert abs(v.computed["value"] - loss(ps).item()) < 1e-12


def test_004_q6b_ae_gradient():
    loss, ps = _torch_ae()
    grads = torch.autograd.grad(loss(ps), ps)
    v = run("004-q6b-ae-gradient")
    for name, g in zip(("dL/dW1", "dL/db1", "dL/dW2", "dL/db2"), grads):
        np.testing.assert_allclose(v.computed[name], g.numpy(), atol=1e-12)


def test_004_q6c_gd_step():
    loss, ps = _torch_ae()
    opt = torch.optim.SGD(ps, lr=0.5)
    before = loss(ps)
    before.backward()
    opt.step()
    v = run("004-q6c-gd-step")
    assert abs(v.computed["loss_before"] - before.item()) < 1e-12
    assert abs(v.computed["loss_after"] - loss(ps).item()) < 1e-12


def test_004_q6d_momentum_step():
    loss, ps = _torch_ae()
    opt = torch.optim.SGD(ps, lr=0.5, momentum=0.9)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        value = loss(ps)
        losses.append(value.item())
        value.backward()
        opt.step()
    v = run("004-q6d-momentum-step")
    np.testing.assert_allclose(v.computed["losses"], losses, atol=1e-12)


def test_004_q7_topk_error():
    from sklearn.metrics import top_k_accuracy_score

    res = solve("004-q7-topk-error")
    scores, y = res.context["scores"], res.context["y"]
    for k, key in ((1, "top1_error"), (5, "top5_error")):
        err = 1 - top_k_accuracy_score(y, scores, k=k, labels=np.arange(scores.shape[1]))
        assert abs(res.value[key] - err) < 1e-12
    assert abs(res.value["top1_error"] - 0.5) < 0.05 and res.value["top5_error"] < 0.01


def test_004_q8a_crowding():
    from sklearn.metrics import silhouette_score

    res = solve("004-q8a-crowding")
    emb, labels = res.context["embeddings"], res.context["labels"]
    # a second measure of how separate the clusters are: the silhouette
    assert silhouette_score(emb["student-t"], labels) > silhouette_score(emb["gaussian"], labels)
    assert res.value["separation_tsne"] > res.value["separation_symmetric_sne"]


def test_004_q8b_sne_gradient():
    v = run("004-q8b-sne-gradient", Y=None, P=None, points=6, seed=2)
    rng = np.random.default_rng(2)
    P = torch.tensor(doc004.question_affinities(rng.standard_normal((6, 5)), 1.5))
    Y = torch.tensor(rng.standard_normal((6, 2)), requires_grad=True)
    d = ((Y[:, None] - Y[None]) ** 2).sum(-1)
    off = ~torch.eye(6, dtype=torch.bool)
    q = torch.exp(-d) * off / (torch.exp(-d) * off).sum()
    kl = (P[off] * torch.log(P[off] / q[off])).sum()
    kl.backward()
    np.testing.assert_allclose(v.computed["dC/dY"], Y.grad.numpy(), atol=1e-10)
    assert v.computed["max_difference_from_symmetric_sne_grad"] < 1e-12


def test_004_q9a_soft_threshold():
    x = np.random.default_rng(0).standard_normal(12) * 1.5
    t = 0.7
    v = run("004-q9a-soft-threshold")
    for i, xi in enumerate(x):
        best = optimize.minimize_scalar(
            lambda z, xi=xi: 0.5 * (z - xi) ** 2 + t * abs(z),
            bounds=(xi - 3, xi + 3),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
        assert abs(v.computed["argmin"][i] - best) < 1e-6
    assert v.verdict == "agree"


def test_004_q9b_ista():
    from sklearn.linear_model import Lasso

    res = solve("004-q9b-ista", iterations=3000)
    a, b = res.context["A"], res.context["b"]
    lam = ex.get("004-q9b-ista").params["lam"]
    ref = Lasso(alpha=lam / len(b), fit_intercept=False, tol=1e-12, max_iter=100000).fit(a, b)
    np.testing.assert_allclose(res.context["x"], ref.coef_, atol=1e-6)
    assert res.value["max_difference_ista"] < 1e-10


def test_004_q9c_prox_subgradient():
    from handgrad.sparse import soft_threshold

    rng = np.random.default_rng(1)
    x, t = rng.standard_normal(20), 0.5
    u = soft_threshold(x, t)
    obj = lambda z: 0.5 * ((z - x) ** 2).sum() + t * np.abs(z).sum()  # noqa: E731
    for i in range(20):  # u is a minimiser: no coordinate move improves the objective
        for step in (1e-4, -1e-4):
            assert obj(u + step * np.eye(20)[i]) >= obj(u) - 1e-12
    v = run("004-q9c-prox-subgradient")
    assert v.computed["max_violation"] < 1e-12 and v.verdict == "agree"


def test_004_q9d_gradient_mapping():
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(0)
    a, b, lam = rng.standard_normal((20, 10)), rng.standard_normal(20), 0.5
    # at the Lasso minimiser G = 0, so the claim there is the optimality condition
    # -grad g(x*) in lam d||x*||_1, checked on scikit-learn's solution
    x = Lasso(alpha=lam / 20, fit_intercept=False, tol=1e-14, max_iter=100000).fit(a, b).coef_
    from handgrad.exercises.doc004 import subdifferential_violation

    assert subdifferential_violation(-(a.T @ (a @ x - b)), x, lam) < 1e-6
    v = run("004-q9d-gradient-mapping")
    assert v.computed["max_violation"] < 1e-10 and v.verdict == "agree"
