"""Problem set 000 (000_14bc674963865024.txt): backprop of scan, sampling with replacement, EWA and
momentum, CNNs. The document gives no solutions; its "show that" statements are the claims."""

from __future__ import annotations

import math

import numpy as np

from . import exercise
from . import layers as L
from .base import Finding, Result, fmt, render
from .claims import mean_sem, statement_claim, within_ci
from .grading import choice_slot, formula_slot, text_slot, value_slot, vjp_slot

SOURCE = "problem statement"


def _t(a, grad=False):
    import handgrad as hg

    return hg.tensor(np.asarray(a, dtype=np.float64), dtype=hg.float64, requires_grad=grad)


# ---- Assignment 1 ----------------------------------------------------------------------------


def reverse_cumsum(g: np.ndarray) -> np.ndarray:
    """dL/dx_j = sum_{i >= j} g_i: the cumulative sum of g taken from the end."""
    return np.cumsum(g[::-1])[::-1].copy()


def _scan(x):
    return x.cumsum(0)


def _a1_instance(ctx) -> dict:
    r = ctx.result.context
    return {"g": r["g"], "x": r["x"]}


def _a1_sample(rng, params) -> dict:
    n = int(rng.integers(3, 9))
    return {"g": rng.standard_normal(n), "x": rng.standard_normal(n)}


A1_SLOTS = [
    vjp_slot(
        "dL/dx",
        "grad_x L in terms of g = grad_y L (and x, if needed): a NumPy "
        "expression, e.g. cumsum(g) (vectors are 0-based in formulas).",
        _scan,
        ["x"],
        0,
        {"g": "dL/dy, a vector of length n", "x": "the input, a vector of length n"},
        _a1_sample,
        _a1_instance,
        example="g[::-1].cumsum()[::-1]",
    ),
    text_slot("explanation", "Why: your derivation in words.", part="derivation"),
]


@exercise(
    "000-a1-scan-backprop",
    params=dict(x=[3, 1, 4, 1], g=[2, -1, 0, 1], n=None, seed=0),
    derivation="""
        y_i = sum_{j<=i} x_j, so dy_i/dx_j = [j <= i] and
        dL/dx_j = sum_i g_i [j <= i] = sum_{i>=j} g_i:
        the gradient is the scan of g taken from the end (a reverse cumulative sum).
        By hand on the default instance (1-based), g = [2, -1, 0, 1]:
        dL/dx_4 = 1, dL/dx_3 = 0 + 1 = 1, dL/dx_2 = -1 + 1 = 0, dL/dx_1 = 2 + 0 = 2.
    """,
    answer="dL/dx_j = sum_{i>=j} g_i: the reverse cumulative sum of g.",
    note="The instance is x and g (small integers, so it can be followed with pencil and "
    "paper; --set g=1,2,3,4 x=1,0,2,5); n, if given, cuts them to their first n entries. "
    "With x=null and g=null, a random instance of length n (default 6) from seed.",
    slots=A1_SLOTS,
)
def scan_backprop(x, g, n: int, seed: int) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    # n (when given) cuts x and g to their first n entries; null: their own length (or 6)
    x = rng.standard_normal(n or 6) if x is None else np.asarray(x, np.float64).ravel()[:n]
    g = rng.standard_normal(len(x)) if g is None else np.asarray(g, np.float64).ravel()[:n]
    if n is not None and len(x) != n:
        raise ValueError(
            f"000-a1-scan-backprop: n = {n} but the given x has {len(x)} entries: "
            f"set x and g to null for a random instance of that length, or give "
            f"them"
        )
    if g.shape != x.shape:
        raise ValueError(
            f"000-a1-scan-backprop: g has {g.size} entries but x has {x.size} "
            f"(y = cumsum(x) has as many as x)"
        )
    xt = _t(x, True)
    (gx,) = hg.grad(xt.cumsum(0), [xt], [_t(g)])
    report = hg.check_vjp(lambda t: t.cumsum(0), lambda gg, xx: reverse_cumsum(gg), [x], g)
    formula = "dL/dx_j = sum_{i>=j} g_i (reverse cumulative sum of g)"
    steps = ", ".join(f"dL/dx_{j + 1} = {fmt(v)}" for j, v in enumerate(gx.numpy()))
    return Result(
        {"formula": formula, "g": g, "dL/dx": gx.numpy()},
        summary=f"{formula}; on g = {render(g.tolist())}: {steps}; check_vjp "
        f"{'passed' if report else 'FAILED'}",
        details={"x": x, "y = cumsum(x)": np.cumsum(x), "check_vjp passed": bool(report)},
        context={"x": x, "g": g},
        checks={"check_vjp": (bool(report), str(report))},
    )


# ---- Assignment 2 ----------------------------------------------------------------------------


def _n_sample(rng, params) -> dict:
    return {"n": float(rng.integers(1, 500))}


@exercise(
    "000-a2a-drawn-at-least-once",
    params=dict(n=100, trials=4000, seed=0),
    slots=[
        formula_slot(
            "probability",
            "P(point i is drawn at least once) as a formula in n.",
            {"n": "the number of points (and of draws)"},
            lambda v: 1 - (1 - 1 / v["n"]) ** v["n"],
            _n_sample,
            lambda ctx: {"n": float(ctx.params["n"])},
        ),
        value_slot(
            "limit",
            "Its limit as n -> infinity (a number, or an expression such as '1 - exp(-1)').",
            lambda ctx: ctx.result.value["limit"],
            shape=[],
            rtol=1e-6,
        ),
    ],
    derivation="""
        One draw misses point i with probability 1 - 1/n; n independent draws miss it with
        probability (1 - 1/n)^n, so P(drawn at least once) = 1 - (1 - 1/n)^n.
        Limit: log (1 - 1/n)^n = log(1 - t) / t with t = 1/n -> 0 (0/0); L'Hopital gives
        -1 / (1 - t) -> -1, so (1 - 1/n)^n -> 1/e and the probability -> 1 - 1/e ~ 0.632.
        Checked against hg.data.epoch_coverage (simulated epochs of sampling with replacement).
    """,
)
def drawn_at_least_once(n: int, trials: int, seed: int) -> Result:
    from handgrad.data import epoch_coverage

    res = epoch_coverage(n, replacement=True, epochs=1, trials=trials, seed=seed)
    closed = 1 - (1 - 1 / n) ** n
    ok, sentence = within_ci(res.fraction_mean, res.fraction_sem, closed)
    return Result(
        {
            "probability": closed,
            "limit": 1 - math.exp(-1),
            "simulated": res.fraction_mean,
            "simulated_sem": res.fraction_sem,
        },
        summary=f"1 - (1 - 1/n)^n = {fmt(closed, 6)} (n={n}) -> 1 - 1/e = "
        f"{fmt(1 - math.exp(-1), 6)}; simulation {sentence}",
        details={"simulation agrees": ok},
        checks={"simulation": (ok, sentence)},
    )


@exercise(
    "000-a2b-coupon-collector",
    params=dict(n=100, trials=2000, seed=0),
    slots=[
        formula_slot(
            "expected epochs",
            "The expected number of epochs until every point has "
            "been drawn, as a formula in n (sum, arange are available).",
            {"n": "the number of points"},
            lambda v: float(np.sum(1.0 / np.arange(1, v["n"] + 1))),
            _n_sample,
            lambda ctx: {"n": float(ctx.params["n"])},
            rtol=1e-9,
        )
    ],
    derivation="""
        With k points already drawn, a draw is new with probability (n - k)/n: the wait for the
        next new point is geometric with mean n / (n - k). Summing over k = 0..n-1,
        E[draws] = n (1 + 1/2 + ... + 1/n) = n H_n, so E[epochs] = H_n ~ ln n + 0.5772 + 1/(2n).
    """,
)
def coupon_collector(n: int, trials: int, seed: int) -> Result:
    from handgrad.data import epoch_coverage

    res = epoch_coverage(n, replacement=True, epochs=1, trials=trials, seed=seed)
    h = float(np.sum(1.0 / np.arange(1, n + 1)))
    ok, sentence = within_ci(res.epochs_to_all_mean, res.epochs_to_all_sem, h)
    return Result(
        {
            "expected_epochs": h,
            "simulated": res.epochs_to_all_mean,
            "simulated_sem": res.epochs_to_all_sem,
            "asymptotic": math.log(n) + 0.5772156649,
        },
        summary=f"H_n = {fmt(h, 6)} epochs (n={n}, i.e. n H_n = {fmt(n * h, 6)} draws); "
        f"simulation {sentence}",
        details={"simulation agrees": ok},
        checks={"simulation": (ok, sentence)},
    )


# ---- Assignment 3 ----------------------------------------------------------------------------


def _feed(opt, p, grads):
    """Give the optimizer the gradients ``grads[t]`` one step at a time; yield after each."""
    import handgrad as hg

    for g in grads:
        p.grad = hg.tensor(g, dtype=hg.float64)
        opt.step()
        yield


def _q_sample(rng, params) -> dict:
    return {"q": float(rng.uniform(0.01, 0.99)), "eps": float(rng.uniform(0.001, 1.0))}


@exercise(
    "000-a3a-momentum-as-ewa",
    slots=[
        formula_slot(
            "mu",
            "PyTorch's momentum mu as a formula in q.",
            {"q": "the EWA weight"},
            lambda v: 1 - v["q"],
            _q_sample,
            lambda ctx: {"q": ctx.params["q"], "eps": ctx.params["lr"]},
        ),
        formula_slot(
            "lr",
            "PyTorch's learning rate as a formula in the EWA's step eps and q.",
            {"q": "the EWA weight", "eps": "the EWA's step size"},
            lambda v: v["eps"] * v["q"],
            _q_sample,
            lambda ctx: {"q": ctx.params["q"], "eps": ctx.params["lr"]},
        ),
        text_slot("derivation", "The derivation.", part="derivation"),
    ],
    params=dict(q=0.1, lr=0.5, steps=60, dim=5, seed=0),
    derivation="""
        EWA of the stochastic gradients: v_t = (1 - q) v_{t-1} + q g_t,
        theta_{t+1} = theta_t - eps v_t.
        Put b_t = v_t / q: b_t = (1 - q) b_{t-1} + g_t and theta_{t+1} = theta_t - (eps q) b_t.
        That is PyTorch's momentum with mu = 1 - q and learning rate eps q (buffer b_1 = g_1,
        as PyTorch starts it). Experiment: hg.optim.SGD(momentum=1-q, lr=eps q) and
        hg.optim.EWA(q, lr=eps) on the same noisy quadratic take the same steps.
    """,
    answer="mu = 1 - q, and PyTorch's learning rate is eps q (the EWA's step eps times q).",
)
def momentum_as_ewa(q: float, lr: float, steps: int, dim: int, seed: int) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((dim, dim))
    hess = a @ a.T / dim + 0.1 * np.eye(dim)
    theta0 = rng.standard_normal(dim)

    def trajectory(make_opt):
        noise = np.random.default_rng(seed + 1)
        p = _t(theta0.copy(), True)
        opt = make_opt([p])
        path = []
        for _ in range(steps):
            p.grad = _t(hess @ p.detach().numpy() + 0.3 * noise.standard_normal(dim))
            opt.step()
            path.append(p.detach().numpy().copy())
        return np.array(path)

    ewa = trajectory(lambda ps: hg.optim.EWA(ps, lr=lr, q=q))
    sgd = trajectory(lambda ps: hg.optim.SGD(ps, lr=lr * q, momentum=1 - q))
    diff = float(np.abs(ewa - sgd).max())
    return Result(
        {"mu": 1 - q, "pytorch_lr": lr * q, "max_trajectory_difference": diff},
        summary=f"mu = 1 - q = {fmt(1 - q)}, PyTorch lr = eps q = {fmt(lr * q)}; "
        f"EWA and SGD(momentum) trajectories differ by at most {diff:.1e} over "
        f"{steps} steps",
    )


def _ewa_states(q: float, grads: np.ndarray, debias: bool) -> np.ndarray:
    """The EWA state v_t after each step of hg.optim.EWA (lr 0: the parameter never moves)."""
    import handgrad as hg

    p = _t(np.zeros(grads.shape[1]), True)
    opt = hg.optim.EWA([p], lr=0.0, q=q, debias=debias)
    out = []
    for _ in _feed(opt, p, grads):
        out.append(opt.state[p]["ewa"].numpy().copy())
    return np.array(out)


def _unbiased_evidence(states: np.ndarray, mu: float, weights_sum: np.ndarray) -> Finding:
    t_bad = []
    for t in range(states.shape[0]):
        m, se = mean_sem(states[t])
        ok, _ = within_ci(m, se, mu)
        if not ok:
            t_bad.append(t + 1)
    dev = float(np.abs(weights_sum - 1).max())
    agree = dev < 1e-9 and not t_bad
    evidence = (
        f"the weights of g_1..g_t sum to 1 for every t <= {len(weights_sum)} (max "
        f"deviation {dev:.1e}); simulated mean inside the 99.9% interval around the true "
        f"gradient at {states.shape[0] - len(t_bad)} of {states.shape[0]} steps"
    )
    if t_bad:
        evidence += f" (outside at t = {t_bad[:5]})"
    return Finding(agree, evidence)


def _debias_data(q, steps, trials, mu, sigma, seed):
    rng = np.random.default_rng(seed)
    grads = mu + sigma * rng.standard_normal((steps, trials))
    impulses = np.eye(steps)  # g_s = e_s: v_t[s] is the weight of g_s in v_t
    return grads, impulses


@exercise(
    "000-a3b1-debiased-ewa-unbiased",
    params=dict(q=0.1, steps=20, trials=20000, mu=1.0, sigma=2.0, seed=0),
    claims=[
        statement_claim(
            "v_t is an unbiased estimator of the true gradient for every t >= 1",
            lambda r, p: _unbiased_evidence(r.context["states"], p["mu"], r.context["wsum"]),
            SOURCE,
        )
    ],
    derivation="""
        t = 1: q_1 = q / (1 - (1 - q)) = 1, so v_1 = g_1 and E v_1 = mu.
        Induction: v_t is a weighted sum of g_1..g_t; if its weights sum to 1 at t - 1, at t they
        are (1 - q_t) * (weights at t-1) and q_t, summing to (1 - q_t) + q_t = 1. Hence
        E v_t = mu * (sum of weights) = mu for every t.
        Experiment: hg.optim.EWA(debias=True) fed unit impulses (its weights) and 20,000
        independent gradient sequences (its mean at every step).
    """,
)
def debiased_ewa(q, steps, trials, mu, sigma, seed) -> Result:
    grads, impulses = _debias_data(q, steps, trials, mu, sigma, seed)
    states = _ewa_states(q, grads, debias=True)
    wsum = _ewa_states(q, impulses, debias=True).sum(1)
    means = states.mean(1)
    return Result(
        {
            "unbiased": True if np.abs(wsum - 1).max() < 1e-9 else False,
            "weights_sum": wsum,
            "simulated_mean": means,
        },
        summary=f"weights sum to 1 at every t; mean of v_t over {trials} runs: "
        f"{fmt(means.min())}..{fmt(means.max())} (true gradient {fmt(mu)})",
        context={"states": states, "wsum": wsum},
    )


@exercise(
    "000-a3b2-bias-corrected-ewa",
    slots=[
        choice_slot(
            "coincides",
            "Does vhat_t / (1 - (1 - q)^t) coincide with v_t of b.1?",
            ("yes", "no"),
            lambda ctx: "yes" if ctx.result.value["coincides_with_v_t"] else "no",
        ),
        text_slot("why unbiased", "Why is it unbiased?", part="derivation"),
    ],
    params=dict(q=0.1, steps=20, trials=20000, mu=1.0, sigma=2.0, seed=0),
    claims=[
        statement_claim(
            "vhat_t / (1 - (1 - q)^t) is unbiased",
            lambda r, p: _unbiased_evidence(r.context["corrected"], p["mu"], r.context["wsum"]),
            SOURCE,
        )
    ],
    derivation="""
        vhat_t = q sum_{s<=t} (1 - q)^{t-s} g_s, whose weights sum to q (1 - (1-q)^t) / q
        = 1 - (1 - q)^t; dividing by it makes them sum to 1: unbiased. Both vhat_t / (1 - (1-q)^t)
        and v_t are weighted sums of g_1..g_t with weights proportional to (1 - q)^{t-s} and
        summing to 1, so they are the same estimator: they coincide for every sequence.
        Experiment: hg.optim.EWA with debias=False and debias=True on the same sequences.
    """,
    answer="Unbiased, and yes: it coincides with v_t exactly (not only in expectation).",
)
def bias_corrected_ewa(q, steps, trials, mu, sigma, seed) -> Result:
    grads, impulses = _debias_data(q, steps, trials, mu, sigma, seed)
    correction = (1 - (1 - q) ** np.arange(1, steps + 1))[:, None]
    corrected = _ewa_states(q, grads, debias=False) / correction
    debiased = _ewa_states(q, grads, debias=True)
    wsum = (_ewa_states(q, impulses, debias=False) / correction).sum(1)
    diff = float(np.abs(corrected - debiased).max())
    return Result(
        {
            "unbiased": bool(np.abs(wsum - 1).max() < 1e-9),
            "coincides_with_v_t": diff < 1e-9,
            "max_difference_from_v_t": diff,
        },
        summary=f"unbiased (weights sum to 1); coincides with v_t: max difference {diff:.1e} "
        f"over {steps} steps x {trials} sequences",
        context={"corrected": corrected, "wsum": wsum},
    )


@exercise(
    "000-a3b3-adam-ewa",
    params=dict(beta1=0.9, steps=25, dim=4, seed=0),
    derivation="""
        PyTorch's Adam keeps m_t = beta1 m_{t-1} + (1 - beta1) g_t with m_0 = 0 (the usual EWA
        vhat with q = 1 - beta1) and steps with m_t / (1 - beta1^t): the bias-corrected EWA of
        b.2, which coincides with the debiased v_t of b.1. Experiment: hg.optim.Adam's state
        exp_avg / (1 - beta1^t) against hg.optim.EWA(q = 1 - beta1, debias=True) on the same
        gradients.
    """,
    answer="The usual EWA with q = 1 - beta1, started at 0 and divided by 1 - beta1^t "
    "(bias correction): the same as the debiased EWA v_t.",
)
def adam_ewa(beta1, steps, dim, seed) -> Result:
    import handgrad as hg

    grads = np.random.default_rng(seed).standard_normal((steps, dim))
    p = _t(np.zeros(dim), True)
    adam = hg.optim.Adam([p], lr=0.0, betas=(beta1, 0.999))
    m_hat = []
    for t, _ in enumerate(_feed(adam, p, grads), 1):
        m_hat.append(adam.state[p]["exp_avg"].numpy() / (1 - beta1**t))
    debiased = _ewa_states(1 - beta1, grads, debias=True)
    diff = float(np.abs(np.array(m_hat) - debiased).max())
    return Result(
        {
            "method": "usual EWA (q = 1 - beta1) with bias correction 1/(1 - beta1^t)",
            "q": 1 - beta1,
            "max_difference_from_debiased_ewa": diff,
        },
        summary=f"plain EWA m_t with q = 1 - beta1 = {fmt(1 - beta1)}, bias-corrected: "
        f"m_t/(1-beta1^t) equals the debiased EWA to {diff:.1e}",
    )


# ---- Assignment 4 ----------------------------------------------------------------------------


def _equivariance_finding(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_interior_difference"] < 1e-10
    return Finding(
        ok,
        f"translate(conv(x)) and conv(translate(x)) differ by at most "
        f"{v['max_interior_difference']:.1e} over the interior "
        f"{v['interior']} (hg.analysis.equivariance); "
        f"{fmt(v['max_border_difference'])} at the borders, where zeros enter",
    )


@exercise(
    "000-a4a-subpixel-equivariance",
    params=dict(dy=0.3, dx=-1.45, size=16, kernel=None, image=None, seed=0),
    claims=[
        statement_claim(
            "convolution is equivariant to sub-pixel (bilinear) translations",
            _equivariance_finding,
            SOURCE,
        )
    ],
    derivation="""
        Bilinear translation by dy = a + f (a = floor(dy)) is, along each axis,
        out[i] = (1 - f) x[i - a] + f x[i - a - 1]: a cross-correlation of x with the kernel
        [f, 1 - f] followed by an integer shift; in 2-D the outer product of the two axes'
        kernels. So T(x) = t * x is itself a convolution, and convolutions commute:
        T(k * x) = t * (k * x) = k * (t * x) = k * T(x), exactly, except near the borders where
        the zero padding of the two orders differs. Measured with hg.analysis.equivariance on an
        nn.Conv2d (F.translate for T).
    """,
)
def subpixel_equivariance(dy, dx, size, kernel, image, seed) -> Result:
    import handgrad as hg
    import handgrad.nn.functional as F
    from handgrad.analysis import equivariance

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size, size)) if image is None else np.asarray(image, float)
    k = rng.standard_normal((3, 3)) if kernel is None else np.asarray(kernel, float)
    conv = hg.nn.Conv2d(1, 1, k.shape, bias=False).double()
    with hg.no_grad():
        conv.weight.copy_(_t(k[None, None]))
    xt = _t(x[None, None])
    report = equivariance(conv, xt, (dy, dx))
    with hg.no_grad():
        full = np.abs(F.translate(conv(xt), dy, dx).numpy() - conv(F.translate(xt, dy, dx)).numpy())
    return Result(
        {
            "max_interior_difference": report.max_abs,
            "max_border_difference": float(full.max()),
            "interior": [list(report.interior[0]), list(report.interior[1])],
        },
        summary=f"equivariant: max |T(k*x) - k*T(x)| = {report.max_abs:.1e} inside, "
        f"{fmt(full.max())} at the borders (shift ({dy}, {dx}))",
        context={"x": x, "k": k},
    )


@exercise(
    "000-a4b-receptive-field",
    slots=[
        value_slot(
            "receptive field",
            "The receptive field of one output unit (one side, in input pixels).",
            lambda ctx: ctx.result.value["receptive_field"],
            shape=[],
        ),
        text_slot("derivation", "How you got it.", part="derivation"),
    ],
    params=dict(layers=[[5, 1, 1], [3, 1, 2], [3, 2, 1]]),
    derivation="""
        Forward recursion with the jump j (distance in input pixels between neighbouring units):
        r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, j_l = j_{l-1} s_l, r_0 = j_0 = 1.
        conv 5x5: r = 1 + 4 = 5; conv 3x3 dilation 2: r = 5 + 2*2*1 = 9; conv 3x3 stride 2:
        r = 9 + 2*1*1 = 11 (the stride of the last layer does not widen its own field).
        Computed with hg.analysis.receptive_field; the engine's input gradient of one output unit
        has exactly this support.
    """,
    answer="11 x 11 input pixels.",
)
def receptive_field(layers) -> Result:
    size = L.min_size(layers)
    records = L.library_rf(layers, size)
    per_layer = [r.rf[0] for r in records]
    width, _ = L.gradient_support_width(layers, size)
    return Result(
        {"receptive_field": per_layer[-1], "per_layer": per_layer, "jump": records[-1].jump[0]},
        summary=f"{per_layer[-1]} x {per_layer[-1]} (after each layer: {per_layer}); the input "
        f"gradient of one output unit spans {width} pixels",
        details={"gradient_support_width": width},
    )
