"""Problem set 004 (004_35d4f772405e03c8.txt): DS-GA 1008 Spring 2016, assignment 3. No solutions
are given; the "prove/show that" statements of question 9 are the claims."""

from __future__ import annotations

import math

import numpy as np

from . import exercise
from .base import Finding, Result, fmt, progress, render
from .claims import statement_claim
from .grading import vjp_slot

STATEMENT = "problem statement"

IMAGE = [[4, 5, 2, 2, 1], [3, 3, 2, 2, 4], [4, 3, 4, 1, 1], [5, 1, 4, 1, 2], [5, 1, 3, 1, 4]]
KERNEL = [[4, 3, 3], [5, 5, 5], [2, 4, 3]]


def _t(a, grad=False):
    import handgrad as hg

    return hg.tensor(np.asarray(a, dtype=np.float64), dtype=hg.float64, requires_grad=grad)


# ---- Question 1 ------------------------------------------------------------------------------


@exercise(
    "004-q1a-distill-linear",
    params=dict(widths=[8, 16, 16, 3], steps=200, seed=0),
    derivation="""
        Without non-linearities the network is a composition of affine maps
        x -> W_l x + b_l, and a composition of affine maps is affine:
        W = W_L ... W_2 W_1 and b = W_L (... (W_2 b_1 + b_2) ...) + b_L. Experiment: train a
        Sequential of nn.Linear layers with hg.optim.SGD, fold it into one nn.Linear, and compare
        the outputs on new inputs.
    """,
    answer="Multiply the weight matrices (and push the biases through) into a single linear "
    "layer W = W_L ... W_1, b = W_L(...(W_2 b_1 + b_2)...) + b_L: it computes the same "
    "function (only its rank is limited by the narrowest layer).",
)
def distill_linear(widths, steps, seed) -> Result:
    import handgrad as hg

    hg.manual_seed(seed)
    layers = [hg.nn.Linear(a, b).double() for a, b in zip(widths[:-1], widths[1:])]
    net = hg.nn.Sequential(*layers)
    rng = np.random.default_rng(seed)
    x = _t(rng.standard_normal((128, widths[0])))
    y = _t(rng.standard_normal((128, widths[-1])))
    opt = hg.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        hg.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    w = np.eye(widths[0])
    b = np.zeros(widths[0])
    for layer in layers:
        lw, lb = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        w, b = lw @ w, lw @ b + lb
    single = hg.nn.Linear(widths[0], widths[-1]).double()
    with hg.no_grad():
        single.weight.copy_(_t(w))
        single.bias.copy_(_t(b))
        x_new = _t(rng.standard_normal((64, widths[0])))
        diff = float(np.abs(net(x_new).numpy() - single(x_new).numpy()).max())
    n_before = sum(p.numel() for p in net.parameters())
    n_after = sum(p.numel() for p in single.parameters())
    return Result(
        {
            "max_output_difference": diff,
            "parameters_before": n_before,
            "parameters_after": n_after,
            "composed_weight_shape": list(w.shape),
        },
        summary=f"one Linear({widths[0]}, {widths[-1]}) with W = W_L...W_1: outputs identical to "
        f"{diff:.1e} ({n_before} parameters -> {n_after})",
        context={
            "W": w,
            "b": b,
            "layers": [(lay.weight.detach().numpy(), lay.bias.detach().numpy()) for lay in layers],
        },
    )


@exercise(
    "004-q1b-sparse-coding-vs-autoencoder",
    params=dict(features=16, atoms=32, nonzeros=3, samples=300, alpha=0.1, seed=0),
    derivation="""
        Sparse coding: x ~ D z with an (often overcomplete) dictionary D and a sparse code
        z = argmin ||x - D z||^2 / 2 + alpha ||z||_1, found for each x by an optimisation
        (ISTA/FISTA): the dictionary is a decoder only. An autoencoder's counterpart is its
        decoder weight matrix, but it also learns an encoder that produces the code in one
        feed-forward pass; without a sparsity penalty its codes are dense. Experiment:
        hg.sparse.DictionaryLearning and an hg.models.mlp_autoencoder on signals that are sparse
        combinations of random atoms.
    """,
    answer="The sparse-coding dictionary is only a decoder (codes are inferred per input by "
    "solving an L1-regularised least squares, so they are sparse and inference is "
    "iterative); in an autoencoder the decoder weights play the dictionary's role but the "
    "codes come from a learned encoder in one pass, and are dense unless sparsity is "
    "imposed.",
    requires=("handgrad.sparse:DictionaryLearning",),
)
def sparse_vs_autoencoder(features, atoms, nonzeros, samples, alpha, seed) -> Result:
    import handgrad as hg
    from handgrad.models import fit_autoencoder, mlp_autoencoder
    from handgrad.sparse import DictionaryLearning

    rng = np.random.default_rng(seed)
    d0 = rng.standard_normal((atoms, features))
    d0 /= np.linalg.norm(d0, axis=1, keepdims=True)
    z0 = np.zeros((samples, atoms))
    for row in z0:
        row[rng.choice(atoms, nonzeros, replace=False)] = rng.standard_normal(nonzeros) * 2
    x = z0 @ d0
    dl = DictionaryLearning(
        atoms, alpha=alpha, max_iter=15, code_max_iter=100, random_state=seed
    ).fit(x)
    codes = dl.transform(x)
    sc_zero = float((np.abs(codes) < 1e-10).mean())
    sc_err = float(((codes @ dl.components_ - x) ** 2).sum(1).mean() / (x**2).sum(1).mean())
    progress(1, 2, "autoencoder")
    hg.manual_seed(seed)
    ae = mlp_autoencoder(features, hidden=(), latent=atoms, activation="relu", output="linear")
    ae.double()
    fit_autoencoder(
        ae,
        x,
        epochs=30,
        lr=0.01,
        momentum=0.9,
        batch_size=32,
        generator=hg.Generator().manual_seed(seed),
    )
    with hg.no_grad():
        ae_codes = ae.encode(_t(x)).numpy()
        ae_err = float(((ae(_t(x)).numpy() - x) ** 2).sum(1).mean() / (x**2).sum(1).mean())
    ae_zero = float((np.abs(ae_codes) < 1e-10).mean())
    progress(2, 2, "autoencoder")
    return Result(
        {
            "sparse_coding_zero_fraction": sc_zero,
            "sparse_coding_relative_error": sc_err,
            "autoencoder_zero_fraction": ae_zero,
            "autoencoder_relative_error": ae_err,
            "dictionary_shape": list(dl.components_.shape),
            "decoder_weight_shape": list(ae.decoder[0].weight.shape),
        },
        summary=f"sparse coding: {fmt(100 * sc_zero, 3)}% of code entries exactly 0 (codes by "
        f"FISTA per input); autoencoder: {fmt(100 * ae_zero, 3)}% (codes by one encoder "
        f"pass); "
        f"relative errors {fmt(sc_err)} vs {fmt(ae_err)}",
        context={"x": x, "codes": codes, "dictionary": dl.components_, "ae_codes": ae_codes},
    )


# ---- Question 2 ------------------------------------------------------------------------------


def softmax_ce(W, x, b, c):
    import handgrad.nn.functional as F

    return -F.log_softmax(W @ x + b, 0)[c]


def _ce_onehot(W, x, b, y):
    """l = -sum_i y_i log softmax(W x + b)_i (y one-hot): the loss with the label as an input."""
    import handgrad.nn.functional as F

    return -(y * F.log_softmax(W @ x + b, 0)).sum()


def _q2a_instance(ctx) -> dict:
    d = ctx.result.details
    W = np.asarray(d["W"], float)
    return {
        "g": np.array(1.0),
        "W": W,
        "x": np.asarray(d["x"], float),
        "b": np.asarray(d["b"], float),
        "y": np.eye(len(W))[ctx.params["label"]],
    }


def _q2a_sample(rng, params) -> dict:
    k, d = int(rng.integers(2, 6)), int(rng.integers(1, 5))
    return {
        "g": np.array(1.0),
        "W": rng.standard_normal((k, d)),
        "x": rng.standard_normal(d),
        "b": rng.standard_normal(k),
        "y": np.eye(k)[int(rng.integers(k))],
    }


Q2A_SLOTS = [
    vjp_slot(
        "dl/dW",
        "dl/dW (a k x d matrix) in terms of W, x, b and the one-hot label "
        "y (softmax(v) is available).",
        _ce_onehot,
        ["W", "x", "b", "y"],
        0,
        {
            "W": "weights (k x d)",
            "x": "input (d)",
            "b": "bias (k)",
            "y": "one-hot label (k)",
            "g": "dL/dl = 1",
        },
        _q2a_sample,
        _q2a_instance,
        example="(softmax(W @ x + b) - y)[:, None] * x[None, :]",
    )
]


@exercise(
    "004-q2a-softmax-gradient",
    params=dict(W=[[1, 0], [0, 1], [1, -1]], x=[1, 2], b=[0, 0, 1], label=1, d=4, k=3, seed=0),
    slots=Q2A_SLOTS,
    note="The instance is W, x, b and the label (small integers, to follow by hand; e.g. --set "
    "x=2,1). With W, x, b null, a random k x d instance from seed.",
    derivation="""
        With a = W x + b and yhat = softmax(a), l = -sum_i y_i log yhat_i = -a_c + log sum_j e^{a_j}
        (c the true class), so dl/da_i = yhat_i - y_i and, since da_i/dW_ij = x_j,
        dl/dW_ij = (yhat_i - y_i) x_j, i.e. dl/dW = (yhat - y) x^T (and dl/db = yhat - y).
        Checked with hg.check_vjp against the engine and finite differences.
    """,
    answer="dl/dW_ij = (yhat_i - y_i) x_j",
)
def softmax_gradient(W, x, b, label, d, k, seed) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    W = rng.standard_normal((k, d)) if W is None else np.asarray(W, dtype=np.float64)
    x = rng.standard_normal(W.shape[1]) if x is None else np.asarray(x, np.float64).ravel()
    b = rng.standard_normal(len(W)) if b is None else np.asarray(b, dtype=np.float64).ravel()
    if W.ndim != 2 or W.shape[1] != len(x) or b.shape != (len(W),) or not 0 <= int(label) < len(W):
        raise ValueError(
            f"004-q2a-softmax-gradient: W must be k x d with d = len(x) = "
            f"{len(x)}, b of length k and 0 <= label < k; got W {W.shape}, "
            f"b {b.shape}, label {label}"
        )
    k = len(W)

    def formula(g, w):
        a = w @ x + b
        yhat = np.exp(a - a.max())
        yhat /= yhat.sum()
        y = np.eye(k)[label]
        return g * np.outer(yhat - y, x)

    report = hg.check_vjp(
        lambda w: softmax_ce(w, _t(x), _t(b), label), formula, [W], grad_output=np.array(1.0)
    )
    wt = _t(W, True)
    (gw,) = hg.grad(softmax_ce(wt, _t(x), _t(b), label), [wt])
    a = W @ x + b
    yhat = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    return Result(
        {"formula": "dl/dW_ij = (yhat_i - y_i) x_j", "dl/dW": gw.numpy().tolist()},
        summary=f"dl/dW_ij = (yhat_i - y_i) x_j; on the instance a = W x + b = "
        f"{render(a.tolist())}, yhat = {render(yhat.tolist())}, yhat - y = "
        f"{render((yhat - np.eye(k)[label]).tolist())}, dl/dW = "
        f"{render(gw.numpy().tolist())} (check_vjp {'passed' if report else 'FAILED'})",
        checks={"check_vjp": (bool(report), str(report))},
        details={
            "check_vjp_passed": bool(report),
            "W": W.tolist(),
            "x": x.tolist(),
            "b": b.tolist(),
        },
    )


@exercise(
    "004-q2b-confident-mistake",
    params=dict(margin=1000.0, k=3, seed=0),
    derivation="""
        yhat_c1 -> 0 makes l = -log yhat_c1 -> +infinity, while the gradient stays bounded:
        dl/da = yhat - y -> e_c2 - e_c1 (dl/dW = (e_c2 - e_c1) x^T): a large but finite push.
        In exact arithmetic softmax never outputs exactly 0 or 1, and a framework computes
        l = logsumexp(a) - a_c1 (F.cross_entropy), which stays finite (about the margin)
        even where softmax itself rounds to 0 and log(softmax) gives inf.
    """,
    answer="The loss grows without bound (-log of a vanishing probability) while the gradient "
    "saturates at (e_c2 - e_c1) x^T; computed as logsumexp(a) - a_c1 the loss stays "
    "finite, and softmax never reaches exactly 1, so training just takes a large, bounded "
    "step.",
)
def confident_mistake(margin, k, seed) -> Result:
    import handgrad as hg
    import handgrad.nn.functional as F

    a = np.zeros(k)
    a[-1] = margin
    at = _t(a[None], True)
    stable = F.cross_entropy(at, hg.tensor([0]))
    (ga,) = hg.grad(stable, [at])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        naive = float(-np.log(np.exp(a - a.max()) / np.exp(a - a.max()).sum())[0])
    return Result(
        {
            "naive_loss": naive,
            "stable_loss": float(stable.item()),
            "gradient_wrt_logits": ga.numpy()[0].tolist(),
        },
        summary=f"-log(softmax) = {naive}, F.cross_entropy = {fmt(stable.item())}; "
        f"dl/da = yhat - y = {render(ga.numpy()[0].tolist())} (bounded)",
    )


# ---- Question 3 ------------------------------------------------------------------------------


def chain_f(x, y):
    return (x * x + y.sigmoid()) / (3 * x + y - x.sigmoid())


def _graph_ops(t) -> list[str]:
    """The primitives of the graph that produced ``t``, in a forward (topological) order."""
    order, seen = [], set()
    stack = [(t._ctx, False)]
    while stack:
        node, done = stack.pop()
        if node is None or (id(node) in seen and not done):
            continue
        if done:
            order.append(node.name)
            continue
        seen.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            if getattr(inp, "_ctx", None) is not None and id(inp._ctx) not in seen:
                stack.append((inp._ctx, False))
    return order


@exercise(
    "004-q3a-chain-rule-method",
    params=dict(x=1.0, y=0.0),
    derivation="""
        Write f as a graph of primitives: u1 = x^2, u2 = sigmoid(y), u3 = u1 + u2 (numerator),
        u4 = 3x, u5 = u4 + y, u6 = sigmoid(x), u7 = u5 - u6 (denominator), f = u3 / u7.
        Forward: evaluate the nodes in order. Backward: start from df/df = 1 and visit the nodes
        in reverse, each passing to its inputs the incoming gradient times its local derivative
        (d(a/b) = da/b - a db/b^2, sigmoid' = s(1 - s), ...); a variable used twice (x) sums the
        gradients from its uses. This is what the engine's backward does.
    """,
    answer="Build the computational graph of elementary operations, evaluate it forward, then "
    "propagate df/du backwards node by node with each node's local derivative, summing "
    "over the paths (x appears in the numerator and denominator).",
)
def chain_rule_method(x, y) -> Result:
    xt, yt = _t(x, True), _t(y, True)
    f = chain_f(xt, yt)
    ops = _graph_ops(f)
    return Result(
        {"primitives": ops, "nodes": len(ops)},
        summary="forward graph: " + " -> ".join(ops) + "; backward in reverse order",
    )


@exercise(
    "004-q3b-chain-rule-values",
    params=dict(x=1.0, y=0.0),
    derivation="""
        At (1, 0): numerator N = 1 + sigmoid(0) = 1.5, denominator D = 3 - sigmoid(1) = 2.26894.
        df/dx = (2x D - N (3 - sigmoid'(1))) / D^2 = (2 D - 1.5 (3 - 0.196612)) / D^2 = 0.0646;
        df/dy = (sigmoid'(0) D - N) / D^2 = (0.25 D - 1.5) / D^2 = -0.1812.
        Computed by hg.grad, checked by hg.gradcheck.
    """,
)
def chain_rule_values(x, y) -> Result:
    import handgrad as hg

    xt, yt = _t(x, True), _t(y, True)
    f = chain_f(xt, yt)
    gx, gy = hg.grad(f, [xt, yt])
    ok = hg.gradcheck(chain_f, [_t(x, True), _t(y, True)])
    return Result(
        {"f": float(f.item()), "df/dx": float(gx.item()), "df/dy": float(gy.item())},
        summary=f"df/dx = {fmt(gx.item(), 6)}, df/dy = {fmt(gy.item(), 6)} "
        f"(f = {fmt(f.item(), 6)}; gradcheck {'passed' if ok else 'FAILED'})",
        checks={
            "gradcheck": (
                bool(ok),
                "hg.gradcheck of the engine's df/dx, df/dy against finite differences",
            )
        },
    )


# ---- Question 4 ------------------------------------------------------------------------------

POOLS = {
    "max": ("nn.MaxPool2d", "y = max_{(i,j) in R} x_ij"),
    "average": ("nn.AvgPool2d", "y = (1/|R|) sum_{(i,j) in R} x_ij"),
    "Lp (power average)": ("nn.LPPool2d", "y = (sum_{(i,j) in R} x_ij^p)^(1/p)"),
}


def _pool_modules(kernel, p):
    import handgrad as hg

    return {
        "max": hg.nn.MaxPool2d(kernel),
        "average": hg.nn.AvgPool2d(kernel),
        "Lp (power average)": hg.nn.LPPool2d(p, kernel),
    }


@exercise(
    "004-q4a-pooling-kinds",
    params=dict(kernel=2, p=2.0, size=4, seed=0),
    derivation="""
        Max pooling (torch nn.SpatialMaxPooling, today nn.MaxPool2d), average pooling
        (nn.SpatialAveragePooling / nn.AvgPool2d) and L2 / power-average pooling
        (nn.SpatialLPPooling / nn.LPPool2d); each reduces every window R of the input to one
        number. Run on a small instance with handgrad's modules of the same names.
    """,
    answer="max pooling (nn.MaxPool2d), average pooling (nn.AvgPool2d), Lp pooling "
    "(nn.LPPool2d; Torch7: SpatialMaxPooling, SpatialAveragePooling, SpatialLPPooling).",
)
def pooling_kinds(kernel, p, size, seed) -> Result:
    x = np.random.default_rng(seed).random((1, 1, size, size))
    import handgrad as hg

    out = {}
    with hg.no_grad():
        for name, m in _pool_modules(kernel, p).items():
            out[name] = {"module": POOLS[name][0], "output": m(_t(x)).numpy()[0, 0].tolist()}
    return Result(
        out,
        summary="; ".join(f"{k}: {v['module']}" for k, v in out.items()),
        details={"input": x[0, 0].tolist()},
    )


@exercise(
    "004-q4b-pooling-formulas",
    params=dict(kernel=2, p=3.0, size=6, seed=0),
    derivation="""
        For each window R: max y = max_R x; average y = (1/|R|) sum_R x; Lp
        y = (sum_R x^p)^(1/p) (PyTorch's LPPool2d: no 1/|R| inside; p = 1 is sum pooling,
        p -> infinity max pooling). Gradients: max routes g to the arg max; average spreads g/|R|;
        Lp gives g (x/y)^(p-1). Each formula is compared with the module's output on random
        positive inputs, and the gradients with hg.check_vjp.
    """,
    answer="max: y = max_{R} x; average: y = |R|^-1 sum_R x; Lp: y = (sum_R x^p)^(1/p).",
)
def pooling_formulas(kernel, p, size, seed) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    x = rng.random((1, 1, size, size)) + 0.1
    n = size // kernel
    win = (
        x[0, 0, : n * kernel, : n * kernel]
        .reshape(n, kernel, n, kernel)
        .transpose(0, 2, 1, 3)
        .reshape(n, n, -1)
    )
    formulas = {
        "max": win.max(-1),
        "average": win.mean(-1),
        "Lp (power average)": (win**p).sum(-1) ** (1 / p),
    }
    out, vjp_ok = {}, {}
    mods = _pool_modules(kernel, p)
    for name, m in mods.items():
        with hg.no_grad():
            y = m(_t(x)).numpy()[0, 0]
        out[name] = {
            "formula": POOLS[name][1],
            "max_difference": float(np.abs(y - formulas[name]).max()),
        }

    def grad_formula(name):
        def f(g, xx):
            w = xx[0, 0, : n * kernel, : n * kernel].reshape(n, kernel, n, kernel)
            gw = np.zeros_like(w)
            gg = g[0, 0][:, None, :, None]
            if name == "max":
                m = w.max(axis=(1, 3), keepdims=True)
                gw = (w == m) * gg
            elif name == "average":
                gw = np.broadcast_to(gg / kernel**2, w.shape).copy()
            else:
                y = ((w**p).sum(axis=(1, 3), keepdims=True)) ** (1 / p)
                gw = gg * (w / y) ** (p - 1)
            full = np.zeros_like(xx)
            full[0, 0, : n * kernel, : n * kernel] = gw.reshape(n * kernel, n * kernel)
            return full

        return f

    for name, m in mods.items():
        vjp_ok[name] = bool(hg.check_vjp(lambda t, m=m: m(t), grad_formula(name), [x]))
        out[name]["gradient_formula_checked"] = vjp_ok[name]
    worst = max(v["max_difference"] for v in out.values())
    return Result(
        out,
        summary="max: y = max_R x; average: y = mean_R x; Lp: y = (sum_R x^p)^(1/p) "
        f"(modules = formulas to {worst:.1e}; gradients checked: "
        f"{all(vjp_ok.values())})",
    )


@exercise(
    "004-q4c-pooling-reason",
    params=dict(size=32, peaks=12, kernel=2, seed=0),
    derivation="""
        Max pooling makes a feature map locally invariant: a detected feature that moves by less
        than the window mostly stays in the same window and the pooled value does not change,
        while the map also shrinks (fewer computations, a larger receptive field downstream).
        Experiment: maps of isolated feature detections shifted by one pixel (F.translate);
        relative change of the map itself and after max pooling (F.max_pool2d), averaged over
        the three one-pixel shifts.
    """,
    answer="Max pooling: invariance to small translations (and distortions) of the detected "
    "features, plus subsampling that cuts computation and enlarges receptive fields.",
)
def pooling_reason(size, peaks, kernel, seed) -> Result:
    import handgrad.nn.functional as F

    rng = np.random.default_rng(seed)
    fmap = np.zeros((1, 1, size, size))
    idx = rng.choice((size - 4) ** 2, peaks, replace=False)
    fmap[0, 0, 2 + idx // (size - 4), 2 + idx % (size - 4)] = rng.random(peaks) + 0.5
    x = _t(fmap)
    raw, pooled, same = [], [], []
    base = F.max_pool2d(x, kernel).numpy()
    for dy, dx in ((0, 1), (1, 0), (1, 1)):
        s = F.translate(x, dy, dx)
        raw.append(np.linalg.norm(s.numpy() - fmap) / np.linalg.norm(fmap))
        ps = F.max_pool2d(s, kernel).numpy()
        pooled.append(np.linalg.norm(ps - base) / np.linalg.norm(base))
        same.append(float(np.isclose(ps, base)[base > 0].mean()))
    return Result(
        {
            "relative_change_without_pooling": float(np.mean(raw)),
            "relative_change_with_max_pooling": float(np.mean(pooled)),
            "pooled_detections_unchanged": float(np.mean(same)),
        },
        summary=f"a one-pixel shift changes the map by {fmt(np.mean(raw))} (relative) but the "
        f"max-pooled map by {fmt(np.mean(pooled))}; {fmt(100 * np.mean(same), 3)}% of "
        f"pooled detections unchanged",
    )


# ---- Question 5 ------------------------------------------------------------------------------


def _conv_io(image, kernel):
    import handgrad.nn.functional as F

    x = _t(np.asarray(image, float)[None, None], True)
    k = _t(np.asarray(kernel, float)[None, None])
    y = F.conv2d(x, k)
    return x, k, y, F


_CONV_NOTE = """
    Torch's SpatialConvolution (like PyTorch's conv2d) is a cross-correlation:
    y[i, j] = sum_{a,b} x[i + a, j + b] k[a, b] over the valid positions (no padding, stride 1).
"""


@exercise(
    "004-q5a-output-count",
    params=dict(image=IMAGE, kernel=KERNEL),
    derivation=_CONV_NOTE
    + """
        Valid positions per axis: 5 - 3 + 1 = 3, so 3 x 3 = 9 values (F.conv2d's output shape).
    """,
    answer="9 (a 3 x 3 output).",
)
def output_count(image, kernel) -> Result:
    _, _, y, _ = _conv_io(image, kernel)
    return Result(
        int(np.prod(y.shape)),
        summary=f"{int(np.prod(y.shape))} values ({y.shape[2]} x {y.shape[3]})",
    )


@exercise(
    "004-q5b-convolution-values",
    params=dict(image=IMAGE, kernel=KERNEL),
    derivation=_CONV_NOTE
    + """
        For example y[0, 0] = 4*4 + 5*3 + 2*3 + 3*5 + 3*5 + 2*5 + 4*2 + 3*4 + 4*3 = 109.
        (With the kernel flipped, a true convolution, the values differ; both are given.)
    """,
)
def convolution_values(image, kernel) -> Result:
    x, k, y, F = _conv_io(image, kernel)
    flipped = F.conv2d(x.detach(), _t(np.asarray(kernel, float)[::-1, ::-1].copy()[None, None]))
    vals = y.detach().numpy()[0, 0]
    return Result(
        vals.tolist(),
        summary=render(vals.tolist()) + " (cross-correlation)",
        details={"true_convolution": flipped.numpy()[0, 0].tolist()},
    )


@exercise(
    "004-q5c-input-gradient",
    params=dict(image=IMAGE, kernel=KERNEL, upstream=None),
    derivation=_CONV_NOTE
    + """
        dL/dx[p, q] = sum_{i,j} g[i, j] k[p - i, q - j] over the outputs that read x[p, q]: the
        full cross-correlation of g (zero-padded) with the flipped kernel, i.e. a transposed
        convolution. With g all ones, each input pixel receives the sum of the kernel entries
        that touch it: the corners get one entry, the centre all nine (sum 34).
    """,
)
def input_gradient(image, kernel, upstream) -> Result:
    import handgrad as hg

    x, k, y, F = _conv_io(image, kernel)
    g = np.ones(y.shape) if upstream is None else np.asarray(upstream, float).reshape(y.shape)
    (gx,) = hg.grad(y, [x], _t(g))
    vals = gx.numpy()[0, 0]
    return Result(vals.tolist(), summary=render(vals.tolist()))


# ---- Question 6 ------------------------------------------------------------------------------


def _ae_instance(n, d, h, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.random((n, d)),
        rng.standard_normal((h, d)) * 0.5,
        rng.standard_normal(h) * 0.1,
        rng.standard_normal((d, h)) * 0.5,
        rng.standard_normal(d) * 0.1,
    )


@exercise(
    "004-q6a-ae-loss",
    params=dict(n=8, d=6, h=3, seed=0),
    derivation="""
        With encoder f and decoder g (parameters theta), over a batch x_1..x_N:
        L(theta) = (1/N) sum_n ||x_n - g(f(x_n))||^2 (squared error per example, averaged).
        Evaluated for a one-hidden-layer sigmoid autoencoder with
        hg.models.autoencoder.reconstruction_loss.
    """,
    answer="L(theta) = (1/N) sum_n ||x_n - g_theta(f_theta(x_n))||^2",
)
def ae_loss(n, d, h, seed) -> Result:
    from handgrad.exercises.reference import one_layer_autoencoder

    x, w1, b1, w2, b2 = _ae_instance(n, d, h, seed)
    loss = one_layer_autoencoder(_t(x), _t(w1), _t(b1), _t(w2), _t(b2))
    return Result(
        {"formula": "L = (1/N) sum_n ||x_n - g(f(x_n))||^2", "value": float(loss.item())},
        summary=f"L = (1/N) sum_n ||x_n - g(f(x_n))||^2 = {fmt(loss.item())} on the instance",
        context={"x": x, "params": (w1, b1, w2, b2)},
    )


@exercise(
    "004-q6b-ae-gradient",
    params=dict(n=8, d=6, h=3, seed=0),
    derivation="""
        grad_theta L = (2/N) sum_n J_theta(xhat_n)^T (xhat_n - x_n), xhat_n = g(f(x_n)).
        For xhat = W2 s(W1 x + b1) + b2: D2 = (2/N)(Xhat - X), dL/dW2 = D2^T H, dL/db2 = sum D2,
        D1 = (D2 W2) * H (1 - H), dL/dW1 = D1^T X, dL/db1 = sum D1. The hand-derived
        hg.exercises.reference.one_layer_autoencoder_grad is checked with hg.check_vjp.
    """,
    answer="grad_theta L = (2/N) sum_n J_theta(xhat_n)^T (xhat_n - x_n); layer by layer "
    "dL/dW2 = D2^T H, dL/dW1 = ((D2 W2) * s'(A))^T X with D2 = (2/N)(Xhat - X).",
)
def ae_gradient(n, d, h, seed) -> Result:
    import handgrad as hg
    from handgrad.exercises.reference import one_layer_autoencoder, one_layer_autoencoder_grad

    x, w1, b1, w2, b2 = _ae_instance(n, d, h, seed)

    def formula(g, w1_, b1_, w2_, b2_):
        _, grads = one_layer_autoencoder_grad(x, w1_, b1_, w2_, b2_)
        return tuple(g * gr for gr in grads)

    report = hg.check_vjp(
        lambda *ps: one_layer_autoencoder(_t(x), *ps),
        formula,
        [w1, b1, w2, b2],
        grad_output=np.array(1.0),
    )
    _, grads = one_layer_autoencoder_grad(x, w1, b1, w2, b2)
    return Result(
        {
            "formula": "grad L = (2/N) sum_n J(xhat_n)^T (xhat_n - x_n)",
            "dL/dW1": grads[0].tolist(),
            "dL/db1": grads[1].tolist(),
            "dL/dW2": grads[2].tolist(),
            "dL/db2": grads[3].tolist(),
        },
        summary=f"(2/N) sum_n J^T (xhat_n - x_n) (hand-derived layer-by-layer form: check_vjp "
        f"{'passed' if report else 'FAILED'})",
        details={"check_vjp_passed": bool(report)},
        checks={"check_vjp": (bool(report), str(report))},
    )


@exercise(
    "004-q6c-gd-step",
    params=dict(n=8, d=6, h=3, lr=0.5, seed=0),
    derivation="""
        theta <- theta - eta grad_theta L(theta). Taken with
        hg.exercises.reference.gradient_descent_step and compared with hg.optim.SGD on the same
        parameters.
    """,
    answer="theta_{t+1} = theta_t - eta grad_theta L(theta_t)",
)
def gd_step(n, d, h, lr, seed) -> Result:
    import handgrad as hg
    from handgrad.exercises.reference import (
        gradient_descent_step,
        one_layer_autoencoder,
        one_layer_autoencoder_grad,
    )

    x, *params = _ae_instance(n, d, h, seed)
    _, grads = one_layer_autoencoder_grad(x, *params)
    new = gradient_descent_step(params, grads, lr)
    ts = [_t(p, True) for p in params]
    opt = hg.optim.SGD(ts, lr=lr)
    one_layer_autoencoder(_t(x), *ts).backward()
    opt.step()
    diff = max(float(np.abs(a - t.detach().numpy()).max()) for a, t in zip(new, ts))
    loss_after = float(one_layer_autoencoder(_t(x), *[_t(p) for p in new]).item())
    loss_before = float(one_layer_autoencoder(_t(x), *[_t(p) for p in params]).item())
    return Result(
        {
            "step": "theta <- theta - eta grad L",
            "max_difference_from_optim_sgd": diff,
            "loss_before": loss_before,
            "loss_after": loss_after,
        },
        summary=f"theta <- theta - eta grad L: loss {fmt(loss_before)} -> "
        f"{fmt(loss_after)} (= hg.optim.SGD to {diff:.1e})",
    )


@exercise(
    "004-q6d-momentum-step",
    params=dict(n=8, d=6, h=3, lr=0.5, momentum=0.9, steps=10, seed=0),
    derivation="""
        v <- mu v - eta grad_theta L(theta), theta <- theta + v (v = 0 at the start; Polyak's
        heavy ball). PyTorch writes it v' <- mu v' + grad, theta <- theta - eta v': the same
        iterates with v = -eta v'. hg.exercises.reference.momentum_step against
        hg.optim.SGD(momentum) over several steps.
    """,
    answer="v_{t+1} = mu v_t - eta grad_theta L(theta_t), theta_{t+1} = theta_t + v_{t+1}",
)
def momentum_step_ex(n, d, h, lr, momentum, steps, seed) -> Result:
    import handgrad as hg
    from handgrad.exercises.reference import (
        momentum_step,
        one_layer_autoencoder,
        one_layer_autoencoder_grad,
    )

    x, *params = _ae_instance(n, d, h, seed)
    ts = [_t(p, True) for p in params]
    opt = hg.optim.SGD(ts, lr=lr, momentum=momentum)
    vel = None
    losses = []
    diff = 0.0
    for _ in range(steps):
        loss, grads = one_layer_autoencoder_grad(x, *params)
        losses.append(loss)
        params, vel = momentum_step(params, grads, vel, lr, momentum)
        opt.zero_grad()
        one_layer_autoencoder(_t(x), *ts).backward()
        opt.step()
        diff = max(
            diff, max(float(np.abs(a - t.detach().numpy()).max()) for a, t in zip(params, ts))
        )
    return Result(
        {
            "step": "v <- mu v - eta grad L; theta <- theta + v",
            "max_difference_from_optim_sgd": diff,
            "losses": losses,
        },
        summary=f"v <- mu v - eta grad L, theta <- theta + v: loss {fmt(losses[0])} -> "
        f"{fmt(losses[-1])} in {steps} steps (= hg.optim.SGD(momentum) to "
        f"{diff:.1e})",
    )


# ---- Question 7 ------------------------------------------------------------------------------


@exercise(
    "004-q7-topk-error",
    params=dict(classes=20, confusable=2, examples=4000, seed=0),
    derivation="""
        top-k error = (1/N) sum_n [y_n not among the k highest-scored classes]; top-1 is the usual
        error. ImageNet's 1000 classes contain near-synonyms (120 dog breeds) and photos with
        several objects but one label, so a sensible prediction can be "wrong" at top-1; top-5
        forgives that ambiguity while top-1 still measures the exact answer. Experiment: a
        classifier that cannot tell apart groups of confusable classes (it scores the group
        correctly, picks within it at random), measured with hg.metrics.topk_error.
    """,
    answer="The fraction of examples whose true label is not among the k classes with the "
    "highest scores. Top-5 is reported because of ambiguous labels and look-alike classes "
    "(the model may rank a plausible alternative first), top-1 for strict accuracy.",
)
def topk(classes, confusable, examples, seed) -> Result:
    from handgrad.metrics import topk_error

    rng = np.random.default_rng(seed)
    y = rng.integers(classes, size=examples)
    group = y // confusable
    scores = rng.standard_normal((examples, classes)) * 0.1
    members = group[:, None] * confusable + np.arange(confusable)[None]
    scores[np.arange(examples)[:, None], members] += 3 + rng.standard_normal(members.shape) * 0.1
    errs = topk_error(scores, y, k=(1, confusable, 5))
    return Result(
        {
            "top1_error": errs[0],
            f"top{confusable}_error": errs[1],
            "top5_error": errs[2],
            "definition": "fraction of examples whose label is not among the k best-scored classes",
        },
        summary=f"with {confusable} look-alike classes per group: top-1 error {fmt(errs[0])}, "
        f"top-5 error {fmt(errs[2])}",
        context={"scores": scores, "y": y},
    )


# ---- Question 8 ------------------------------------------------------------------------------


def _clusters(n_per, k, dim, rng):
    centres = rng.standard_normal((k, dim)) * 3
    x = np.concatenate([c + rng.standard_normal((n_per, dim)) for c in centres])
    return x, np.repeat(np.arange(k), n_per)


def _separation(emb, labels):
    cents = np.array([emb[labels == c].mean(0) for c in np.unique(labels)])
    within = np.mean(
        [
            np.linalg.norm(emb[labels == c] - cents[i], axis=1).mean()
            for i, c in enumerate(np.unique(labels))
        ]
    )
    dists = np.linalg.norm(cents[:, None] - cents[None], axis=-1)
    between = dists[np.triu_indices(len(cents), 1)].min()
    return float(between / within)


@exercise(
    "004-q8a-crowding",
    params=dict(clusters=5, per_cluster=30, dim=20, iterations=400, seed=0),
    derivation="""
        Crowding: in high dimension a point can have many neighbours at the same moderate
        distance (d + 1 mutually equidistant points fit in d dimensions, only 3 in the plane);
        a 2-D map cannot hold them all, so with a Gaussian output kernel (SNE) moderately far
        points must be placed too close, and the many small attractions pull all clusters into
        the centre. t-SNE uses a heavy-tailed Student-t kernel q_ij ∝ (1 + ||y_i - y_j||^2)^-1 in
        the map: a moderate input distance can become a much larger map distance for the same
        q_ij, and the attraction of far pairs fades (factor (1 + d)^-1 in the gradient), so
        clusters separate. Experiment: hg.manifold.TSNE with kernel='gaussian' (symmetric SNE) and
        'student-t' on clustered data; separation = smallest distance between cluster centres
        over the mean distance of points to their centre.
    """,
    answer="Too little room in 2-D for the moderate-distance neighbours of high-dimensional "
    "points, so SNE squeezes clusters together; t-SNE's heavy-tailed Student-t map "
    "kernel lets moderately distant points be placed far apart and weakens the pull "
    "between far points.",
    requires=("handgrad.manifold:TSNE",),
)
def crowding(clusters, per_cluster, dim, iterations, seed) -> Result:
    from handgrad.manifold import TSNE

    rng = np.random.default_rng(seed)
    x, labels = _clusters(per_cluster, clusters, dim, rng)
    out, embeddings = {}, {}
    for step, kernel in enumerate(("gaussian", "student-t"), 1):
        emb = TSNE(
            perplexity=20, kernel=kernel, n_iter=iterations, random_state=seed, init="pca"
        ).fit_transform(x)
        out[kernel] = _separation(emb, labels)
        embeddings[kernel] = emb
        progress(step, 2, "embedding")
    return Result(
        {"separation_symmetric_sne": out["gaussian"], "separation_tsne": out["student-t"]},
        summary=f"cluster separation in the map: symmetric SNE {fmt(out['gaussian'])}, t-SNE "
        f"{fmt(out['student-t'])}",
        context={"embeddings": embeddings, "labels": labels},
    )


def question_affinities(x: np.ndarray, sigma: float) -> np.ndarray:
    """p_ij = exp(-||x_i - x_j||^2 / 2 sigma^2) / sum_{k != l} exp(-||x_k - x_l||^2 / 2 sigma^2),
    p_ii = 0: the question's definition (one global sigma)."""
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    w = np.exp(-d / (2 * sigma**2))
    np.fill_diagonal(w, 0.0)
    return w / w.sum()


def sne_gradient_formula(P):
    def formula(g, y):
        d = ((y[:, None] - y[None]) ** 2).sum(-1)
        w = np.exp(-d)
        np.fill_diagonal(w, 0.0)
        q = w / w.sum()
        m = P - q
        return g * 4 * (m.sum(1)[:, None] * y - m @ y)

    return formula


def _q8b_instance(ctx) -> dict:
    c = ctx.result.context
    return {"g": np.array(1.0), "Y": c["Y"], "P": c["P"]}


def _q8b_sample(rng, params) -> dict:
    n = int(rng.integers(3, 7))
    return {
        "g": np.array(1.0),
        "Y": rng.standard_normal((n, 2)),
        "P": question_affinities(rng.standard_normal((n, 3)), 1.5),
    }


def _sne_cost(Y, P):
    from handgrad.manifold import sne_kl

    return sne_kl(P, Y)


Q8B_SLOTS = [
    vjp_slot(
        "dC/dY",
        "dC/dY (one row per point) in terms of Y (n x 2) and P (n x n, "
        "symmetric, zero diagonal, summing to 1); q_ij is yours to write.",
        _sne_cost,
        ["Y"],
        0,
        {"Y": "the map points (n x 2)", "P": "input affinities (n x n)", "g": "dL/dC = 1"},
        _q8b_sample,
        _q8b_instance,
        example="4 * ((P - Q).sum(1)[:, None] * Y - (P - Q) @ Y)  (define Q "
        "inline: exp(-D) with a zero diagonal, normalised)",
        constants=["P"],
    )
]


@exercise(
    "004-q8b-sne-gradient",
    params=dict(
        Y=[[0, 0], [1, 0], [0, 1]],
        P=[[0, 0.2, 0.1], [0.2, 0, 0.2], [0.1, 0.2, 0]],
        points=8,
        dim=5,
        sigma=1.5,
        seed=0,
    ),
    slots=Q8B_SLOTS,
    note="The instance is Y (three points at the corners of a unit square) and P (symmetric, "
    "summing to 1), small enough to follow by hand. With Y and P null, P comes from the "
    "question's Gaussian affinities of random data (points, dim, sigma, seed).",
    derivation="""
        C = sum p log p + sum_{i!=j} p_ij d_ij + log Z, d_ij = ||y_i - y_j||^2,
        Z = sum_{k!=l} exp(-d_kl) (using sum p_ij = 1). y_i enters d_ij and d_ji, each with
        derivative 2 (y_i - y_j), and the pairs are symmetric:
        d/dy_i sum p d = 4 sum_j p_ij (y_i - y_j),
        d/dy_i log Z = -4 sum_j q_ij (y_i - y_j). Hence
        dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j). Checked with hg.check_vjp on
        hg.manifold.sne_kl (the cost through the engine), and against
        hg.manifold.symmetric_sne_grad.
    """,
    answer="dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)",
    requires=("handgrad.manifold:sne_kl",),
)
def sne_gradient(Y, P, points, dim, sigma, seed) -> Result:
    import handgrad as hg
    from handgrad.manifold import sne_kl, symmetric_sne_grad

    rng = np.random.default_rng(seed)
    P = (
        question_affinities(rng.standard_normal((points, dim)), sigma)
        if P is None
        else np.asarray(P, dtype=np.float64)
    )
    y = rng.standard_normal((len(P), 2)) if Y is None else np.asarray(Y, dtype=np.float64)
    if (
        P.shape != (len(y), len(y))
        or not np.allclose(P, P.T)
        or np.any(np.diag(P) != 0)
        or abs(P.sum() - 1) > 1e-9
        or np.any(P < 0)
    ):
        raise ValueError(
            f"004-q8b-sne-gradient: P must be a symmetric {len(y)} x {len(y)} "
            f"matrix of non-negative numbers with a zero diagonal summing to 1 "
            f"(one row per point of Y); got shape {P.shape}, sum {P.sum():.4g}"
        )
    report = hg.check_vjp(
        lambda t: sne_kl(P, t), sne_gradient_formula(P), [y], grad_output=np.array(1.0)
    )
    _, lib = symmetric_sne_grad(P, y)
    ours = sne_gradient_formula(P)(1.0, y)
    dist = ((y[:, None] - y[None]) ** 2).sum(-1)
    w = np.exp(-dist)
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    return Result(
        {
            "formula": "dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j)",
            "dC/dY": ours.tolist(),
            "max_difference_from_symmetric_sne_grad": float(np.abs(ours - lib).max()),
        },
        summary=f"dC/dy_i = 4 sum_j (p_ij - q_ij)(y_i - y_j); on the instance d_ij = "
        f"{render(dist.tolist())}, q = {render(q.tolist())}, dC/dY = "
        f"{render(ours.tolist())} (check_vjp {'passed' if report else 'FAILED'})",
        context={"Y": y, "P": P},
        details={"check_vjp_passed": bool(report)},
        checks={"check_vjp": (bool(report), str(report))},
    )


# ---- Question 9 ------------------------------------------------------------------------------


def golden_argmin(f, lo, hi, iters=200):
    """The minimiser of a convex scalar function on [lo, hi] (vectorised: lo, hi arrays)."""
    r = (math.sqrt(5) - 1) / 2
    a, b = np.array(lo, float), np.array(hi, float)
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        c, d = b - r * (b - a), a + r * (b - a)
        fc, fd = f(c), f(d)
    return (a + b) / 2


def _soft_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_difference"] < 1e-6
    return Finding(
        ok,
        f"the numerical argmin of ||z - x||^2/2 + t ||z||_1 (golden section per "
        f"coordinate, objective through the engine; its resolution is about "
        f"sqrt(machine epsilon)) equals hg.sparse.soft_threshold(x, t) to "
        f"{v['max_difference']:.1e} on {p['n']} "
        f"coordinates, {v['zeros']} of them thresholded to 0",
    )


@exercise(
    "004-q9a-soft-threshold",
    params=dict(n=12, t=0.7, seed=0),
    claims=[statement_claim("prox_{||.||_1, t}(x) = (|x| - t)_+ sign(x)", _soft_check, STATEMENT)],
    derivation="""
        The objective separates: min_z (z - x)^2/2 + t |z| per coordinate. For z != 0 the
        derivative z - x + t sign(z) = 0 gives z = x - t sign(z), consistent only if |x| > t
        (then z = x - t sign(x)); otherwise 0 is optimal since 0 in (0 - x) + t [-1, 1] iff
        |x| <= t. Together: z = sign(x) max(|x| - t, 0).
    """,
    requires=("handgrad.sparse:soft_threshold",),
)
def soft_threshold_ex(n, t, seed) -> Result:
    import handgrad as hg
    from handgrad.sparse import soft_threshold

    x = np.random.default_rng(seed).standard_normal(n) * 1.5

    def objective(z):
        zt = _t(z)
        return (0.5 * (zt - _t(x)) ** 2 + t * zt.abs()).numpy()

    with hg.no_grad():
        z = golden_argmin(objective, x - 2 * t - 1, x + 2 * t + 1)
    st = soft_threshold(x, t)
    return Result(
        {
            "argmin": z.tolist(),
            "max_difference": float(np.abs(z - st).max()),
            "zeros": int((st == 0).sum()),
        },
        summary=f"argmin = soft threshold (max difference {np.abs(z - st).max():.1e}; "
        f"{int((st == 0).sum())} of {n} coordinates set to 0)",
    )


def _lasso(m, n, lam, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    return a, b, lam


def _ista_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_difference_ista"] < 1e-10 and v["max_difference_proximal_sgd"] < 1e-10
    return Finding(
        ok,
        f"after {p['iterations']} iterations, hg.sparse.ista, the generic proximal "
        f"gradient step prox_{{alpha lam ||.||_1}}(x - alpha grad g(x)) "
        f"(gradient by "
        f"the engine) and hg.optim.ProximalSGD(prox='l1') agree to "
        f"{max(v['max_difference_ista'], v['max_difference_proximal_sgd']):.1e}",
    )


@exercise(
    "004-q9b-ista",
    params=dict(m=20, n=10, lam=0.5, iterations=50, seed=0),
    claims=[
        statement_claim(
            "ISTA is proximal gradient descent with g = ||Ax - b||^2/2, h = lam ||x||_1",
            _ista_check,
            STATEMENT,
        )
    ],
    derivation="""
        With g(x) = ||A x - b||^2 / 2 (grad g = A^T (A x - b)) and h = lam ||x||_1 (prox = soft
        thresholding at alpha lam, 9a), the proximal gradient step is
        x_{k+1} = S_{alpha lam}(x_k - alpha A^T (A x_k - b)): exactly the ISTA iteration.
    """,
    requires=("handgrad.sparse:ista",),
)
def ista_ex(m, n, lam, iterations, seed) -> Result:
    import handgrad as hg
    from handgrad.sparse import ista, lipschitz_constant, soft_threshold

    a, b, lam = _lasso(m, n, lam, seed)
    alpha = 1 / lipschitz_constant(a)
    res = ista(a, b, lam, step=alpha, max_iter=iterations, tol=0.0)
    x = np.zeros(n)
    for _ in range(iterations):
        xt = _t(x, True)
        (g,) = hg.grad(0.5 * ((_t(a) @ xt - _t(b)) ** 2).sum(), [xt])
        x = soft_threshold(x - alpha * g.numpy(), alpha * lam)
    p = _t(np.zeros(n), True)
    opt = hg.optim.ProximalSGD([p], lr=alpha, prox="l1", lam=lam)
    for _ in range(iterations):
        opt.zero_grad()
        (0.5 * ((_t(a) @ p - _t(b)) ** 2).sum()).backward()
        opt.step()
    return Result(
        {
            "max_difference_ista": float(np.abs(res.x - x).max()),
            "max_difference_proximal_sgd": float(np.abs(p.detach().numpy() - x).max()),
            "iterations_run": int(res.n_iter),
        },
        summary="ISTA = prox-gradient with h = lam||.||_1: identical iterates",
        context={"x": res.x, "A": a, "b": b},
    )


def subdifferential_violation(v: np.ndarray, u: np.ndarray, scale: float = 1.0) -> float:
    """How far v is from the subdifferential of scale ||.||_1 at u: |v_i - scale sign(u_i)| where
    u_i != 0, max(|v_i| - scale, 0) where u_i = 0; the largest."""
    nz = u != 0
    out = np.zeros_like(v)
    out[nz] = np.abs(v[nz] - scale * np.sign(u[nz]))
    out[~nz] = np.maximum(np.abs(v[~nz]) - scale, 0)
    return float(out.max()) if out.size else 0.0


@exercise(
    "004-q9c-prox-subgradient",
    params=dict(n=50, t=0.8, trials=20, seed=0),
    claims=[
        statement_claim(
            "(x - u)/t is in the subdifferential of h at u = prox_{h,t}(x)",
            lambda r, p: Finding(
                r.value["max_violation"] < 1e-12,
                f"for h = ||.||_1 over {p['trials']} random x: largest distance of "
                f"(x - u)/t to the subdifferential at u: "
                f"{r.value['max_violation']:.1e}",
            ),
            STATEMENT,
        )
    ],
    derivation="""
        u minimises ||z - x||^2/2 + t h(z), a convex function, so 0 is in its subdifferential
        at u: 0 in u - x + t dh(u), i.e. (x - u)/t in dh(u). For h = ||.||_1: (x_i - u_i)/t =
        sign(u_i) where u_i != 0 and |x_i|/t <= 1 where u_i = 0. Checked with
        hg.sparse.soft_threshold.
    """,
    requires=("handgrad.sparse:soft_threshold",),
)
def prox_subgradient(n, t, trials, seed) -> Result:
    from handgrad.sparse import soft_threshold

    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(trials):
        x = rng.standard_normal(n)
        u = soft_threshold(x, t)
        worst = max(worst, subdifferential_violation((x - u) / t, u))
    return Result(
        {"max_violation": worst}, summary=f"(x - u)/t in d||u||_1 (largest violation {worst:.1e})"
    )


@exercise(
    "004-q9d-gradient-mapping",
    params=dict(m=20, n=10, lam=0.5, iterations=30, seed=0),
    claims=[
        statement_claim(
            "G_alpha(x_k) - grad g(x_k) is in the subdifferential of h at x_{k+1}",
            lambda r, p: Finding(
                r.value["max_violation"] < 1e-10,
                f"along {p['iterations']} proximal gradient iterations on a Lasso "
                f"(g = ||Ax - b||^2/2, h = lam||.||_1): largest distance of "
                f"G - grad g(x_k) to dh(x_{{k+1}}) {r.value['max_violation']:.1e}",
            ),
            STATEMENT,
        )
    ],
    derivation="""
        x_{k+1} = prox_{h,alpha}(x_k - alpha grad g(x_k)); by 9c with x = x_k - alpha grad g(x_k),
        (x_k - alpha grad g(x_k) - x_{k+1}) / alpha in dh(x_{k+1}), and the left side is
        (x_k - x_{k+1})/alpha - grad g(x_k) = G_alpha(x_k) - grad g(x_k). Checked along
        hg.sparse.ista's iterates (gradient by the engine).
    """,
    requires=("handgrad.sparse:ista",),
)
def gradient_mapping(m, n, lam, iterations, seed) -> Result:
    import handgrad as hg
    from handgrad.sparse import ista, lipschitz_constant

    a, b, lam = _lasso(m, n, lam, seed)
    alpha = 1 / lipschitz_constant(a)
    x = np.zeros(n)
    worst = 0.0
    for _ in range(iterations):
        x_next = ista(a, b, lam, x0=x, step=alpha, max_iter=1, tol=0.0).x
        xt = _t(x, True)
        (g,) = hg.grad(0.5 * ((_t(a) @ xt - _t(b)) ** 2).sum(), [xt])
        G = (x - x_next) / alpha
        worst = max(worst, subdifferential_violation(G - g.numpy(), x_next, lam))
        x = x_next
    return Result(
        {"max_violation": worst},
        summary=f"G - grad g(x_k) in dh(x_(k+1)) at every iteration (violation {worst:.1e})",
    )
