"""Problem set 002 (002_f03098689e81bfa2.txt): assignments with official solutions. Each solution
is transcribed as the claim; formulas are checked on random instances."""

from __future__ import annotations

import math

import numpy as np

from . import exercise
from .base import Finding, Result, compare, fmt, progress, render
from .claims import derivation_claim, mean_sem, statement_claim, vjp_claim, within_ci
from .grading import vjp_slot

SOLUTION = "official solution"


def _t(a, grad=False):
    import handgrad as hg

    return hg.tensor(np.asarray(a, dtype=np.float64), dtype=hg.float64, requires_grad=grad)


def _engine_grads(fn, inputs, g, names):
    import handgrad as hg

    ts = [_t(x, True) for x in inputs]
    grads = hg.grad(fn(*ts), ts, _t(g))
    return {n: gr.numpy() for n, gr in zip(names, grads)}


# ---- Assignment 1 ----------------------------------------------------------------------------


def _ci_claim_check(key: str, exact_of_params):
    def check(r: Result, p: dict) -> Finding:
        m, se = r.value[key], r.value[key + "_sem"]
        exact = exact_of_params(p)
        ok, sentence = within_ci(m, se, exact)
        return Finding(ok, f"{key}: {sentence} ({p['trials']} samples)", exact)

    return check


def _product_rule_finding(r: Result) -> Finding:
    v = r.value["product_rule_check"]
    ok, sentence = within_ci(v["simulated"], v["sem"], v["claimed"])
    return Finding(
        ok,
        (
            f"for independent X, Y ~ N(1, 1), V[XY] = V[X]V[Y] + V[X]E[Y]^2 + E[X]^2 V[Y] = 3: the "
            f"rule's value {fmt(v['claimed'])} is {'inside' if ok else 'outside'} the 99.9% interval "
            f"of the simulation {fmt(v['simulated'])} +- {fmt(v['sem'])}. The rule needs zero means; "
            f"the assignment has them, so eq. (2) stands"
        ),
        v["claimed"],
    )


@exercise(
    "002-a1-node-statistics",
    params=dict(n=100, sigma=1.5, sigma_w=0.1, trials=20000, seed=0),
    claims=[
        statement_claim(
            "E[y] = sum_i E[w_i] E[x_i] = 0",
            _ci_claim_check("mean", lambda p: 0.0),
            SOLUTION + ", eq. (1)",
            label="E[y]",
        ),
        statement_claim(
            "V[y] = n sigmatilde^2 sigma^2",
            _ci_claim_check("variance", lambda p: p["n"] * p["sigma_w"] ** 2 * p["sigma"] ** 2),
            SOLUTION + ", eq. (2)",
            label="V[y]",
        ),
        statement_claim(
            "V[XY] = V[X] V[Y] holds for any pair of statistically independent "
            "random variables X and Y",
            lambda r, p: _product_rule_finding(r),
            SOLUTION + ", before eq. (2)",
            label="product rule",
        ),
    ],
    derivation="""
        Independence gives E[w_i x_i] = E[w_i] E[x_i] = 0, so E[y] = 0; and
        V[w_i x_i] = E[w_i^2] E[x_i^2] - 0 = V[w_i] V[x_i] (zero means), the n terms are
        independent, so V[y] = n sigmatilde^2 sigma^2. (With non-zero means the product rule
        would be V[w]V[x] + V[w]E[x]^2 + E[w]^2 V[x]: the solution's "V[XY] = V[X]V[Y] for any
        independent X, Y" needs the zero means.) Simulated with independent (w, x) per sample
        through the engine, and with hg.analysis.activation_stats on an nn.Linear layer.
    """,
)
def node_statistics(n, sigma, sigma_w, trials, seed) -> Result:
    import handgrad as hg
    from handgrad.analysis import activation_stats

    rng = np.random.default_rng(seed)
    w = _t(sigma_w * rng.standard_normal((trials, n)))
    x = _t(sigma * rng.standard_normal((trials, n)))
    y = (w * x).sum(1).numpy()
    m, se = mean_sem(y)
    var = float(y.var(ddof=1))
    centered = y - y.mean()
    var_se = float(np.sqrt(((centered**4).mean() - var**2) / trials))
    # the product rule as stated, on independent variables with non-zero means
    a = _t(1 + rng.standard_normal(trials)) * _t(1 + rng.standard_normal(trials))
    prod = a.numpy()
    prod_var = float(prod.var(ddof=1))
    prod_sem = float(np.sqrt((((prod - prod.mean()) ** 4).mean() - prod_var**2) / trials))
    hg.manual_seed(seed)
    layer = hg.nn.Linear(n, 256, bias=False).double()
    with hg.no_grad():
        hg.nn.init.normal_(layer.weight, 0.0, sigma_w)
    stats = activation_stats(layer, _t(sigma * rng.standard_normal((512, n))))[0]
    return Result(
        {
            "mean": m,
            "mean_sem": se,
            "variance": var,
            "variance_sem": var_se,
            "formula": "E[y] = 0, V[y] = n sigmatilde^2 sigma^2",
            "closed_form_variance": n * sigma_w**2 * sigma**2,
            "product_rule_check": {
                "claimed": 1.0,
                "exact": 3.0,
                "simulated": prod_var,
                "sem": prod_sem,
            },
        },
        summary=f"E[y] = 0, V[y] = n sigmatilde^2 sigma^2 = {fmt(n * sigma_w**2 * sigma**2)}; "
        f"simulated {fmt(m)} +- {fmt(se)}, {fmt(var)} +- {fmt(var_se)}",
        details={
            "activation_stats_predicted": stats.predicted,
            "activation_stats_measured": stats.measured,
        },
    )


# ---- Assignment 2 ----------------------------------------------------------------------------


def a2_layer(x, a, b):
    """y_i = a (x_i + x_{i+2}) + b, i = 1..N-2."""
    return a * (x[:-2] + x[2:]) + b


def a2_correct(g, x, a, b):
    gx = np.zeros_like(x)
    gx[:-2] += a * g
    gx[2:] += a * g
    return gx, (g * (x[:-2] + x[2:])).sum(), g.sum()


def a2_case_split(first_match: bool):
    """Eq. (6) as written, 1-based: a g_j if j <= 2; a (g_j + g_{j-2}) if j = 2..N-2; a g_{j-2}
    if j >= N-2. The cases overlap at j = 2 and j = N-2: ``first_match`` takes the first case
    that applies, else the last. g_0 (case 2 at j = 2) is read as 0."""

    def formula(g, x, a, b):
        n = len(x)
        gg = lambda i: g[i - 1] if 1 <= i <= n - 2 else 0.0  # noqa: E731  (1-based, 0 outside)
        cases = [
            (lambda j: j <= 2, lambda j: a * gg(j)),
            (lambda j: 2 <= j <= n - 2, lambda j: a * (gg(j) + gg(j - 2))),
            (lambda j: j >= n - 2, lambda j: a * gg(j - 2)),
        ]
        order = cases if first_match else cases[::-1]
        gx = np.zeros(n)
        for j in range(1, n + 1):
            for applies, value in order:
                if applies(j):
                    gx[j - 1] = value(j)
                    break
        return gx, (g * (x[:-2] + x[2:])).sum(), g.sum()

    return formula


EQ6 = "dL/dx_j = a g_j if j <= 2; a (g_j + g_{j-2}) if j = 2, ..., N-2; a g_{j-2} if j >= N-2"


def _a2_instance(ctx) -> dict:
    x, a, b = ctx.result.context["inputs"]
    return {"g": ctx.result.context["g"], "x": x, "a": a, "b": b}


def _a2_sample(rng, params) -> dict:
    n = int(rng.integers(5, 11))
    return {
        "g": rng.standard_normal(n - 2),
        "x": rng.standard_normal(n),
        "a": float(rng.standard_normal()),
        "b": float(rng.standard_normal()),
    }


_A2_VARS = {
    "g": "dL/dy, a vector of length N-2 (0-based in formulas)",
    "x": "the input, a vector of length N",
    "a": "the scalar weight a",
    "b": "the scalar bias b",
}

A2_SLOTS = [
    vjp_slot(
        f"dL/d{name}",
        f"dL/d{name} in terms of g, x, a, b (a NumPy expression; "
        f"np.concatenate, zeros, where and slicing are allowed).",
        a2_layer,
        ["x", "a", "b"],
        k,
        _A2_VARS,
        _a2_sample,
        _a2_instance,
        example=ex,
    )
    for k, (name, ex) in enumerate(
        (
            ("x", "a*concatenate([g, zeros(2)]) + a*concatenate([zeros(2), g])"),
            ("a", "sum(g*(x[:-2] + x[2:]))"),
            ("b", "sum(g)"),
        )
    )
]


@exercise(
    "002-a2-backprop",
    params=dict(x=[1, 2, 0, -1, 3, 1], g=[1, 2, -1, 1], a=2, b=1, N=None, seed=0),
    slots=A2_SLOTS,
    note="The instance is x, g, a, b (small integers, to follow by hand; --set g=1,2,3,4), "
    "N, if given, cuts x to its first N entries (g to N-2). With x=null and g=null, a "
    "random instance of length N (default 9) from seed.",
    claims=[
        vjp_claim(
            a2_correct,
            "dL/db = sum_i g_i, dL/da = sum_i g_i (x_i + x_{i+2})",
            SOLUTION + ", eqs. (4), (5)",
            ["dL/dx", "dL/da", "dL/db"],
            label="eqs. (4), (5)",
            judge=[1, 2],
        ),
        vjp_claim(
            a2_case_split(True),
            EQ6,
            SOLUTION + ", eq. (6)",
            ["dL/dx", "dL/da", "dL/db"],
            label="eq. (6), first matching case",
            one_based=True,
            judge=[0],
        ),
        vjp_claim(
            a2_case_split(False),
            EQ6,
            SOLUTION + ", eq. (6)",
            ["dL/dx", "dL/da", "dL/db"],
            label="eq. (6), last matching case",
            one_based=True,
            judge=[0],
            note="the case ranges overlap at j = 2 and j = N-2, so (6) is ambiguous; read "
            "with the last matching case (j >= N-2) at j = N-2 it gives a g_{N-4} and "
            "drops a g_{N-2}: ",
        ),
    ],
    derivation="""
        dL/db = sum_i g_i; dL/da = sum_i g_i (x_i + x_{i+2});
        dL/dx_j = a (g_j [j <= N-2] + g_{j-2} [j >= 3]) (1-based): x_j enters y_j as x_i and
        y_{j-2} as x_{i+2}. So a g_j for j = 1, 2; a (g_j + g_{j-2}) for j = 3..N-2;
        a g_{j-2} for j = N-1, N. Eq. (6) writes the ranges j <= 2, j = 2..N-2, j >= N-2:
        they overlap at j = 2 and j = N-2, and at j = N-2 the third case (a g_{N-4}) drops
        a g_{N-2}.
    """,
)
def backprop_a2(x, g, a, b, N, seed) -> Result:
    rng = np.random.default_rng(seed)
    # N (when given) cuts x to its first N entries and g to N-2; null: their own lengths (or 9)
    x = rng.standard_normal(N or 9) if x is None else np.asarray(x, np.float64).ravel()[:N]
    g = (
        rng.standard_normal(len(x) - 2)
        if g is None
        else np.asarray(g, np.float64).ravel()[: None if N is None else max(N - 2, 0)]
    )
    if N is not None and len(x) != N:
        raise ValueError(
            f"002-a2-backprop: N = {N} but the given x has {len(x)} entries: set "
            f"x and g to null for a random instance of that length, or give them"
        )
    if len(x) < 3 or g.shape != (len(x) - 2,):
        raise ValueError(
            f"002-a2-backprop: y has N-2 = {len(x) - 2} entries, so g needs "
            f"{len(x) - 2}; got {g.size} (x has N = {len(x)})"
        )
    names = ["dL/dx", "dL/da", "dL/db"]
    grads = _engine_grads(a2_layer, [x, a, b], g, names)
    y = a2_layer(x, a, b)
    return Result(
        {k: v.tolist() if v.ndim else float(v) for k, v in grads.items()},
        summary=f"dL/dx_j = a (g_j [j <= N-2] + g_{{j-2}} [j >= 3]), dL/da = sum g_i (x_i + "
        f"x_{{i+2}}), dL/db = sum g_i; on x = {render(x.tolist())}, g = "
        f"{render(g.tolist())}, a = {fmt(a)}, b = {fmt(b)}: y = {render(y.tolist())}, "
        f"dL/dx = {render(grads['dL/dx'].tolist())}, dL/da = {fmt(grads['dL/da'])}, "
        f"dL/db = {fmt(grads['dL/db'])}",
        details={"x": x, "g": g, "y": y},
        context={"fn": a2_layer, "inputs": [x, float(a), float(b)], "g": g, "engine": grads},
    )


# ---- Assignment 3 ----------------------------------------------------------------------------


def _a3a_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok_var, s1 = within_ci(v["variance_ratio"], v["variance_ratio_sem"], p["q"] / (2 - p["q"]))
    dist = v["distance_to_minimiser"]
    ok_fix = dist < 4 * v["iterate_sem"] + 1e-9
    return Finding(
        ok_var and ok_fix,
        (
            f"variance of gtilde / variance of g: {s1} of q/(2-q); the iterates average to the "
            f"minimiser c/(1+lambda) of Ltilde (distance {fmt(dist)}, standard error "
            f"{fmt(v['iterate_sem'])}); hg.optim.ProximalSGD(prox='l2', q) with rate "
            f"eps/(1-eps lambda) takes the same steps (max difference {v['same_as_library']:.1e})"
        ),
    )


@exercise(
    "002-a3a-sgd-ewa-regularized",
    params=dict(q=0.2, lr=0.1, lam=0.5, noise=1.0, dim=3, steps=20000, seed=0),
    claims=[
        statement_claim(
            "gtilde^t = (1 - q) gtilde^{t-1} + q g^t; "
            "theta^{t+1} = theta^t - eps (gtilde^t + lambda theta^t)",
            _a3a_check,
            SOLUTION + ", eqs. (8), (9)",
        )
    ],
    derivation="""
        EWA of the stochastic gradients of L only (the regulariser's gradient lambda theta is
        exact and needs no averaging): at a fixed theta, i.i.d. noise of variance s^2 leaves
        gtilde with variance q/(2-q) s^2. The fixed point of theta <- theta - eps (gtilde +
        lambda theta), with E gtilde = grad L, is grad L + lambda theta = 0: the minimiser of
        Ltilde. Experiment: L = ||theta - c||^2 / 2 with Gaussian gradient noise; the update run
        as hg.optim.ProximalSGD(prox='l2', q) (equal to eq. (9) at rate eps/(1 - eps lambda)).
    """,
)
def sgd_ewa_regularized(q, lr, lam, noise, dim, steps, seed) -> Result:
    import handgrad as hg

    rng = np.random.default_rng(seed)
    c = rng.standard_normal(dim) * 2
    noises = noise * rng.standard_normal((steps, dim))
    # the update of eqs. (8)-(9), transcribed
    theta, gt = np.zeros(dim), np.zeros(dim)
    path, smoothed = [], []
    for t in range(steps):
        g = theta - c + noises[t]
        gt = (1 - q) * gt + q * g
        theta = theta - lr * (gt + lam * theta)
        path.append(theta)
        smoothed.append(gt - (theta - c))  # noise part of gtilde (approximately)
    path = np.array(path)
    # the library's optimizer
    p = _t(np.zeros(dim), True)
    opt = hg.optim.ProximalSGD([p], lr=lr / (1 - lr * lam), prox="l2", lam=lam, q=q)
    lib = []
    for t in range(steps if steps <= 2000 else 2000):
        p.grad = _t(p.detach().numpy() - c + noises[t])
        opt.step()
        lib.append(p.detach().numpy().copy())
    same = float(np.abs(np.array(lib) - path[: len(lib)]).max())
    # variance reduction at a fixed theta: EWA of pure noise (hg.optim.EWA, lr 0)
    e = _t(np.zeros(4000), True)
    ewa = hg.optim.EWA([e], lr=0.0, q=q)
    for _ in range(200):
        e.grad = _t(rng.standard_normal(4000))
        ewa.step()
    v = ewa.state[e]["ewa"].numpy()
    ratio, ratio_sem = float(v.var()), float(v.var() * np.sqrt(2 / (len(v) - 1)))
    tail = path[steps // 5 :]
    blocks = np.array_split(tail, 20)
    means = np.array([b.mean(0) for b in blocks])
    theta_bar = tail.mean(0)
    sem = float(means.std(0, ddof=1).max() / np.sqrt(len(blocks)))
    target = c / (1 + lam)
    return Result(
        {
            "variance_ratio": ratio,
            "variance_ratio_sem": ratio_sem,
            "distance_to_minimiser": float(np.abs(theta_bar - target).max()),
            "iterate_sem": sem,
            "same_as_library": same,
        },
        summary=f"EWA of the gradients + exact L2 gradient: variance x {fmt(ratio)} "
        f"(q/(2-q) = {fmt(q / (2 - q))}); iterates average to c/(1+lambda) within "
        f"{fmt(float(np.abs(theta_bar - target).max()))}",
    )


def _prox_objective(theta, theta_t, g, lam, eps):
    return (
        (g * (theta - theta_t)).sum()
        + 0.5 * lam * (theta * theta).sum()
        + ((theta - theta_t) ** 2).sum() / (2 * eps)
    )


def _remark_check(r: Result, p: dict) -> Finding:
    d = r.value["remark_difference"]
    return Finding(
        d < 1e-12,
        f"with eps' = eps/(1 - lambda eps) the proximal step equals the SGD step (9) to {d:.1e}",
    )


@exercise(
    "002-a3b-proximal-step",
    params=dict(theta=[1.0, -2.0, 0.5], g=[0.3, 0.8, -1.2], lam=0.5, eps=0.2),
    claims=[
        statement_claim(
            "theta^{t+1} = (theta^t - eps' gtilde^t) / (eps' lambda + 1)",
            lambda r, p: Finding(
                *compare(r.value["argmin"], r.value["formula_12"], 1e-8, 1e-10),
                r.value["formula_12"],
            ),
            SOLUTION + ", eq. (12)",
            label="eq. (12)",
        ),
        statement_claim(
            "eps' = eps / (1 - lambda eps) makes it the SGD step (9)",
            _remark_check,
            SOLUTION + ", remark",
            label="remark",
        ),
    ],
    derivation="""
        The objective is a strictly convex quadratic; its gradient
        gtilde + lambda theta + (theta - theta^t)/eps' vanishes at
        theta = (theta^t - eps' gtilde) / (1 + eps' lambda). With eps' = eps/(1 - lambda eps),
        1 + eps' lambda = 1/(1 - lambda eps) and the step is (1 - lambda eps) theta^t - eps gtilde
        = theta^t - eps (gtilde + lambda theta^t). The argmin is computed by gradient descent
        with the engine on the objective; hg.optim.ProximalSGD(prox='l2') takes the same step.
    """,
)
def proximal_step(theta, g, lam, eps) -> Result:
    import handgrad as hg

    theta_t, gv = np.asarray(theta, float), np.asarray(g, float)
    th = _t(theta_t.copy(), True)
    opt = hg.optim.SGD([th], lr=1.0 / (lam + 1 / eps))  # exact Newton step size for this quadratic
    for _ in range(50):
        opt.zero_grad()
        _prox_objective(th, _t(theta_t), _t(gv), lam, eps).backward()
        opt.step()
    argmin = th.detach().numpy()
    formula = (theta_t - eps * gv) / (eps * lam + 1)
    p = _t(theta_t.copy(), True)
    prox = hg.optim.ProximalSGD([p], lr=eps, prox="l2", lam=lam)
    p.grad = _t(gv)
    prox.step()
    # the remark: with eps' = eps / (1 - lambda eps), (12) is the SGD step (9) with rate eps
    eps_prime = eps / (1 - lam * eps)
    remark = np.abs(
        (theta_t - eps_prime * gv) / (eps_prime * lam + 1) - (theta_t - eps * (gv + lam * theta_t))
    ).max()
    return Result(
        {
            "argmin": argmin.tolist(),
            "formula_12": formula.tolist(),
            "proximal_sgd": p.detach().numpy().tolist(),
            "remark_difference": float(remark),
        },
        summary=f"argmin = {render(argmin.tolist())} (engine) = (theta - eps' g)/(1 + eps' lambda)",
    )


# ---- Assignment 4 ----------------------------------------------------------------------------


def _attack_check(r: Result, p: dict) -> Finding:
    v = r.value
    x_adv, x = np.asarray(v["x_adv"]), np.asarray(r.context["x"])
    claimed = np.asarray(v["claimed_x_adv"])
    ok, ev = compare(x_adv.tolist(), claimed.tolist(), 1e-9, 1e-12)
    if ok:
        return Finding(True, "", claimed.tolist())
    return Finding(
        False,
        (
            f"as written, xtilde_i* = -eps sign(g_i) is the perturbation xtilde* - x, not the image: "
            f"{ev}; xtilde* - x = -eps sign(g) agrees exactly (max difference "
            f"{np.abs((x_adv - x) - claimed).max():.1e}), and it attains the minimum of g^T d over "
            f"the box's {2 ** len(x)} vertices ({fmt(v['vertex_minimum'])} = -eps ||g||_1). The box "
            f"is written open (|xtilde_i - x_i| < eps), where no minimiser exists; it must be closed"
        ),
        claimed.tolist(),
    )


@exercise(
    "002-a4-adversarial-attack",
    params=dict(eps=0.1, features=8, classes=3, seed=0),
    claims=[
        statement_claim("xtilde_i* = -eps sign(g_i), g = grad_x f_y(x)", _attack_check, SOLUTION)
    ],
    derivation="""
        Minimise g^T (xtilde - x) over the box |xtilde_i - x_i| <= eps: separable, each
        coordinate takes the end of its interval against the sign of g_i, so
        xtilde* = x - eps sign(g), the fast gradient sign method (hg.attacks.fgsm ascends the
        cross-entropy -f_y, the same thing). Checked by enumerating the box's vertices.
    """,
)
def adversarial(eps, features, classes, seed) -> Result:
    import itertools

    import handgrad as hg
    import handgrad.nn.functional as F
    from handgrad.attacks import fgsm

    hg.manual_seed(seed)
    model = hg.nn.Sequential(
        hg.nn.Linear(features, 16), hg.nn.Tanh(), hg.nn.Linear(16, classes)
    ).double()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(features)
    y = int(rng.integers(classes))
    xt = _t(x[None], True)
    fy = F.log_softmax(model(xt), 1)[0, y]
    (g,) = hg.grad(fy, [xt])
    g = g.numpy()[0]
    x_adv = fgsm(model, _t(x[None]), hg.tensor([y]), eps, clip=None).numpy()[0]
    if features <= 14:  # every vertex of the box
        best = min(
            float(g @ (eps * np.array(s))) for s in itertools.product((-1, 1), repeat=features)
        )
    else:
        best = float(-eps * np.abs(g).sum())
    return Result(
        {
            "x_adv": x_adv.tolist(),
            "perturbation": (x_adv - x).tolist(),
            "claimed_x_adv": (-eps * np.sign(g)).tolist(),
            "vertex_minimum": best,
            "gradient": g.tolist(),
        },
        summary=f"xtilde* = x - eps sign(grad_x f_y) (hg.attacks.fgsm); the linearised log-prob "
        f"drops by eps ||g||_1 = {fmt(eps * np.abs(g).sum())}",
        context={"x": x},
    )


# ---- Assignment 5 ----------------------------------------------------------------------------


def _equivalence_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_gradient_difference"] < 1e-12 and v["max_kl_identity_error"] < 1e-12
    return Finding(
        ok,
        f"E KL and E CE differ by a constant (the entropy; identity KL = CE - H to "
        f"{v['max_kl_identity_error']:.1e}) and their gradients in the logits agree "
        f"to {v['max_gradient_difference']:.1e}",
    )


def _eq17_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = abs(v["eq17_value"] - v["kl"]) < 1e-9
    return Finding(
        ok,
        f"with the first term int p* p* the right-hand side is "
        f"{fmt(v['eq17_value'])}, but KL = {fmt(v['kl'])}; with int p* log p* it is "
        f"{fmt(v['corrected_value'])} (the missing log)",
        v["eq17_value"],
    )


@exercise(
    "002-a5-kl-cross-entropy",
    params=dict(classes=4, inputs=5, seed=0),
    claims=[
        statement_claim(
            "minimising E KL is equivalent to minimising E CE",
            _equivalence_check,
            SOLUTION,
            label="equivalence",
        ),
        statement_claim(
            "KL = int p* p* - int p* log p(y|x; theta)",
            _eq17_check,
            SOLUTION + ", eq. (17)",
            label="eq. (17)",
        ),
    ],
    derivation="""
        KL(p* || p) = sum_y p* log p* - sum_y p* log p = -H(p*(y|x)) + CE(p*, p): the entropy
        does not depend on theta, so the two objectives (also after E_{p*(x)}) differ by a
        constant and have the same gradients and minimisers. Eq. (17) drops the log in the
        first term (int p* p* is not the negative entropy). Experiment: KL and CE of softmax
        outputs through the engine, gradients with hg.grad.
    """,
)
def kl_cross_entropy(classes, inputs, seed) -> Result:
    import handgrad as hg
    import handgrad.nn.functional as F

    rng = np.random.default_rng(seed)
    pstar = rng.dirichlet(np.ones(classes), inputs)
    logits = _t(rng.standard_normal((inputs, classes)), True)
    logp = F.log_softmax(logits, 1)
    ps = _t(pstar)
    kl = (ps * (ps.log() - logp)).sum(1).mean()
    ce = -(ps * logp).sum(1).mean()
    (g_kl,) = hg.grad(kl, [logits], retain_graph=True)
    (g_ce,) = hg.grad(ce, [logits])
    entropy = float(-(pstar * np.log(pstar)).sum(1).mean())
    kl_v, ce_v = float(kl.item()), float(ce.item())
    eq17 = float((pstar * pstar).sum(1).mean()) + ce_v
    return Result(
        {
            "kl": kl_v,
            "cross_entropy": ce_v,
            "entropy": entropy,
            "max_kl_identity_error": abs(kl_v - (ce_v - entropy)),
            "max_gradient_difference": float(np.abs(g_kl.numpy() - g_ce.numpy()).max()),
            "eq17_value": eq17,
            "corrected_value": ce_v - entropy,
        },
        summary=f"KL = CE - H(p*): {fmt(kl_v)} = {fmt(ce_v)} - {fmt(entropy)}; equal gradients",
        details={"pstar": pstar.tolist(), "logits": logits.detach().numpy().tolist()},
    )


# ---- Assignment 6 ----------------------------------------------------------------------------

RHOS = {  # rho(r) (handgrad tensors or floats) and rho'(r) (floats), r = ||theta||
    "l^4/4": (lambda r: r**4 / 4, lambda r: r**3),
    "l^2/2": (lambda r: r**2 / 2, lambda r: r),
    "log(1+l^2)": (
        lambda r: (1 + r**2).log() if hasattr(r, "log") else math.log(1 + r**2),
        lambda r: 2 * r / (1 + r**2),
    ),
    "sqrt(1+l^2)": (
        lambda r: (1 + r**2).sqrt() if hasattr(r, "sqrt") else math.sqrt(1 + r**2),
        lambda r: r / math.sqrt(1 + r**2),
    ),
}


def _radial_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok, ev = compare(v["argmin"], v["formula"], 1e-6, 1e-8)
    return Finding(
        ok,
        ev
        or f"the formula (a/||a||) l, l + eps rho'(l) = ||a||, equals the "
        f"engine's argmin of (18) to {v['max_difference']:.1e} "
        f"(rho = {p['rho']})",
        v["formula"],
    )


@exercise(
    "002-a6-radial-proximal-step",
    params=dict(rho="l^4/4", theta=[1.0, -0.5, 2.0], g=[0.4, -1.0, 0.3], eps=0.1),
    claims=[
        statement_claim(
            "theta = (a / ||a||) l, a = theta^t - eps g, l + eps rho'(l) = ||a||",
            _radial_check,
            SOLUTION + ", eqs. (19), (20)",
        )
    ],
    derivation="""
        Stationarity: g + rho'(||theta||) theta/||theta|| + (theta - theta^t)/eps = 0, i.e.
        theta (1 + eps rho'(||theta||)/||theta||) = a: theta is a positive multiple of a (for
        rho' >= 0); taking norms, l + eps rho'(l) = ||a|| with l = ||theta||. The formula is
        evaluated with hg.optim.Radial (bisection for l); the argmin of (18) is found
        independently by gradient descent with the engine. rho in {l^4/4, l^2/2, log(1+l^2),
        sqrt(1+l^2)}.
    """,
)
def radial_step(rho, theta, g, eps) -> Result:
    import handgrad as hg

    rho_fn, rho_prime = RHOS[rho]
    theta_t, gv = np.asarray(theta, float), np.asarray(g, float)
    a = theta_t - eps * gv
    formula = hg.optim.Radial(rho_prime)(a, eps)
    th = _t(a.copy(), True)
    opt = hg.optim.SGD([th], lr=eps / 4, momentum=0.5)
    for _ in range(3000):
        opt.zero_grad()
        obj = (
            (_t(gv) * (th - _t(theta_t))).sum()
            + rho_fn((th * th).sum().sqrt())
            + ((th - _t(theta_t)) ** 2).sum() / (2 * eps)
        )
        obj.backward()
        opt.step()
    argmin = th.detach().numpy()
    return Result(
        {
            "argmin": argmin.tolist(),
            "formula": formula.tolist(),
            "max_difference": float(np.abs(argmin - formula).max()),
        },
        summary=f"theta = {render(argmin.tolist())} = (a/||a||) l with "
        f"l = {fmt(np.linalg.norm(formula))}, "
        f"||a|| = {fmt(np.linalg.norm(a))}",
    )


# ---- Assignment 7 ----------------------------------------------------------------------------


def _gaussians(k, rng):
    means = (
        np.stack([np.cos(2 * np.pi * np.arange(k) / k), np.sin(2 * np.pi * np.arange(k) / k)], 1)
        * 1.5
    )
    return means


def _sample(means, prior, n, rng):
    y = rng.choice(len(prior), n, p=prior)
    return means[y] + rng.standard_normal((n, 2)), y


def _true_posterior(x, means, prior):
    logp = -0.5 * ((x[:, None, :] - means[None]) ** 2).sum(2) + np.log(prior)
    logp -= logp.max(1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(1, keepdims=True)


def _prior_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["formula_max_error"] < 1e-12 and v["gain_lower"] > 0
    return Finding(
        ok,
        (
            f"p(y|x) p*(y)/p(y), normalised, equals the true posterior under p* to "
            f"{v['formula_max_error']:.1e} (exact class-conditionals); with the trained network, "
            f"accuracy on data drawn with p* rises from {fmt(v['accuracy_unadjusted'])} to "
            f"{fmt(v['accuracy_adjusted'])} (gain 95% interval [{fmt(v['gain_lower'])}, "
            f"{fmt(v['gain_upper'])}]; Bayes-optimal {fmt(v['accuracy_bayes'])})"
        ),
    )


@exercise(
    "002-a7-prior-shift",
    params=dict(
        train_prior=[0.6, 0.3, 0.1], new_prior=[0.1, 0.3, 0.6], n_train=3000, n_test=20000, seed=0
    ),
    claims=[
        statement_claim(
            "reweight the softmax outputs by p*(y)/p(y) and take the largest",
            _prior_check,
            SOLUTION,
        )
    ],
    derivation="""
        p(x|y) is the same in training and in use, so p_a(y|x) ∝ p(x|y) p*(y)
        ∝ p(y|x) p*(y)/p(y); under 0/1 loss the Bayes decision is its argmax. Experiment: three
        Gaussian classes; a softmax regression trained with hg.optim on data with the training
        priors; hg.calibration.adjust_to_prior; test data drawn with the new priors.
    """,
    requires=("handgrad.calibration:adjust_to_prior",),
)
def prior_shift(train_prior, new_prior, n_train, n_test, seed) -> Result:
    import handgrad as hg
    import handgrad.nn.functional as F
    from handgrad.calibration import adjust_to_prior

    p_train, p_new = np.asarray(train_prior, float), np.asarray(new_prior, float)
    k = len(p_train)
    rng = np.random.default_rng(seed)
    means = _gaussians(k, rng)
    x, y = _sample(means, p_train, n_train, rng)
    hg.manual_seed(seed)
    model = hg.nn.Linear(2, k).double()
    opt = hg.optim.Adam(model.parameters(), lr=0.1)
    xt, yt = _t(x), hg.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
    xs, ys = _sample(means, p_new, n_test, rng)
    with hg.no_grad():
        probs = F.softmax(model(_t(xs)), 1).numpy()
    adjusted = np.asarray(adjust_to_prior(probs, p_train, p_new))
    # the formula with exact posteriors
    exact_train = _true_posterior(xs, means, p_train)
    formula = np.asarray(adjust_to_prior(exact_train, p_train, p_new))
    exact_new = _true_posterior(xs, means, p_new)
    right_u = probs.argmax(1) == ys
    right_a = adjusted.argmax(1) == ys
    gain = right_a.astype(float) - right_u
    g, se = mean_sem(gain)
    return Result(
        {
            "accuracy_unadjusted": float(right_u.mean()),
            "accuracy_adjusted": float(right_a.mean()),
            "accuracy_bayes": float((exact_new.argmax(1) == ys).mean()),
            "gain_lower": g - 1.96 * se,
            "gain_upper": g + 1.96 * se,
            "formula_max_error": float(np.abs(formula - exact_new).max()),
        },
        summary=f"argmax_y p(y|x) p*(y)/p(y): accuracy {fmt(right_u.mean())} -> "
        f"{fmt(right_a.mean())} on data with the new priors",
    )


# ---- Assignment 8 ----------------------------------------------------------------------------


def kmeans_objective(x):
    def f(centres):
        return ((centres - x) ** 2).sum(1).amin(0)

    return f


def kmeans_gradient_formula(x):
    def formula(g, centres):
        k = int(np.argmin(((centres - x) ** 2).sum(1)))
        out = np.zeros_like(centres)
        out[k] = 2 * (centres[k] - x) * g
        return out

    return formula


def _kmeans_rate_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = (
        v["constant_rate_spread"] > 10 * v["decreasing_rate_spread"]
        and v["decreasing_rate_distance"] < v["constant_rate_distance"]
    )
    return Finding(
        ok,
        (
            f"over the last pass the centres move by {fmt(v['constant_rate_spread'])} "
            f"(rms) with the constant rate {p['constant_rate']} and by "
            f"{fmt(v['decreasing_rate_spread'])} with 1/n_k; distance to the batch "
            f"k-means centres {fmt(v['constant_rate_distance'])} vs "
            f"{fmt(v['decreasing_rate_distance'])}"
        ),
    )


def _kmeans_grad_claim():
    def check(r: Result, p: dict) -> Finding:
        import handgrad as hg

        ctx = r.context
        report = hg.check_vjp(
            kmeans_objective(_t(ctx["x"])),
            kmeans_gradient_formula(ctx["x"]),
            [ctx["centres"]],
            grad_output=np.array(1.0),
        )
        return Finding(
            bool(report),
            "check_vjp: 2 (y_k - x) for the closest centre and 0 for the "
            "others equals the engine's gradient of min_k ||x - y_k||^2"
            if report
            else str(report),
        )

    return check


@exercise(
    "002-a8a-online-kmeans",
    params=dict(clusters=3, points=600, constant_rate=0.3, epochs=20, seed=0),
    claims=[
        statement_claim(
            "grad_{y_k} f = 2 (y_k - x) for the closest centre, 0 otherwise",
            _kmeans_grad_claim(),
            SOLUTION,
            label="gradient",
        ),
        statement_claim(
            "a constant rate keeps oscillating; a decreasing rate converges",
            _kmeans_rate_check,
            SOLUTION,
            label="decreasing rate",
        ),
    ],
    derivation="""
        f(y) = min_k ||x - y_k||^2 depends only on the closest centre (a.e.), so its gradient is
        2 (y_k - x) there and 0 elsewhere; an SGD step with rate alpha/2 is
        y_k <- y_k + alpha (x - y_k). With a constant alpha, y_k is an exponential average of the
        examples it wins and keeps their variance times alpha/(2 - alpha): it never settles. With
        alpha = 1/n_k it is the running mean of its examples and converges (Robbins-Monro:
        sum alpha = inf, sum alpha^2 < inf). Experiment: hg.cluster.OnlineKMeans with both rates,
        compared with hg.cluster.KMeans.
    """,
    requires=("handgrad.cluster:OnlineKMeans",),
)
def online_kmeans(clusters, points, constant_rate, epochs, seed) -> Result:
    from handgrad.cluster import KMeans, OnlineKMeans

    rng = np.random.default_rng(seed)
    centres_true = rng.standard_normal((clusters, 2)) * 4
    x = centres_true[rng.integers(clusters, size=points)] + rng.standard_normal((points, 2))
    ref = KMeans(clusters, random_state=seed).fit(x).cluster_centers_
    out = {}
    for name, rate in (("constant", constant_rate), ("decreasing", "inverse")):
        km = OnlineKMeans(clusters, learning_rate=rate, init=ref.copy(), random_state=seed)
        snaps = []
        for ep in range(epochs):
            order = rng.permutation(points)
            for chunk in np.array_split(order, 10):
                km.partial_fit(x[chunk])
                if ep == epochs - 1:
                    snaps.append(km.cluster_centers_.copy())
        snaps = np.array(snaps)
        out[name] = (
            float(np.sqrt(((snaps - snaps.mean(0)) ** 2).sum((1, 2)).mean())),
            float(np.abs(km.cluster_centers_ - ref).max()),
        )
    xi = x[0]
    return Result(
        {
            "gradient": "2 (y_k - x) for k = argmin_k' ||x - y_k'||^2, else 0",
            "update": "y_k <- y_k + alpha(t) (x - y_k)",
            "constant_rate_spread": out["constant"][0],
            "decreasing_rate_spread": out["decreasing"][0],
            "constant_rate_distance": out["constant"][1],
            "decreasing_rate_distance": out["decreasing"][1],
        },
        summary=f"y_k <- y_k + alpha(t)(x - y_k) for the closest centre; last-pass rms movement "
        f"{fmt(out['constant'][0])} (alpha = {constant_rate}) vs "
        f"{fmt(out['decreasing'][0])} (alpha = 1/n_k)",
        context={"x": xi, "centres": ref + 0.1 * rng.standard_normal(ref.shape)},
    )


class _Counted(np.ndarray):
    """An array that counts the arithmetic done on it: a matmul (k, n) @ (n,) adds k n
    multiply-adds, any other ufunc one operation per element of its result. The online
    k-means loop computes the K distances of an example as ``centers @ x``, so its count of
    distance evaluations is the matmul count divided by n."""

    counter = {"matmul": 0, "other": 0}

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [np.asarray(a) if isinstance(a, _Counted) else a for a in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(
                np.asarray(o) if isinstance(o, _Counted) else o for o in kwargs["out"]
            )
        result = getattr(ufunc, method)(*args, **kwargs)
        if ufunc is np.matmul:
            a, b = np.asarray(args[0]), np.asarray(args[1])
            _Counted.counter["matmul"] += int(a.size * (b.shape[-1] if b.ndim > 1 else 1))
        else:
            _Counted.counter["other"] += int(np.size(result))
        if isinstance(result, np.ndarray) and "out" not in kwargs:
            return result.view(_Counted)
        return result


def count_online_epoch(m: int, k: int, n: int, seed: int = 0) -> dict:
    """Distance evaluations (and other element operations) of one pass of
    hg.cluster.OnlineKMeans over m examples of n features with k centres."""
    from handgrad.cluster import OnlineKMeans

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, n))
    km = OnlineKMeans(k, learning_rate="inverse", init=rng.standard_normal((k, n)))
    km.partial_fit(x[:1])  # initialises the state; the pass below is what is counted
    km.cluster_centers_ = km.cluster_centers_.view(_Counted)
    _Counted.counter.update(matmul=0, other=0)
    km.partial_fit(x)
    c = dict(_Counted.counter)
    km.cluster_centers_ = np.asarray(km.cluster_centers_)
    return {"distances": c["matmul"] // n, "other_operations": c["other"]}


def count_lloyd_iteration(m: int, k: int, n: int, seed: int = 0) -> dict:
    """Distance evaluations of one hg.cluster.KMeans iteration (max_iter=1): every call of
    the library's ``squared_distances`` (N x K distances), counted by wrapping it."""
    from handgrad.cluster import KMeans
    from handgrad.cluster import kmeans as kmeans_module

    rng = np.random.default_rng(seed)
    x, init = rng.standard_normal((m, n)), rng.standard_normal((k, n))
    original = kmeans_module.squared_distances
    count = {"distances": 0, "calls": 0}

    def counted(a, centers):
        count["distances"] += a.shape[0] * centers.shape[0]
        count["calls"] += 1
        return original(a, centers)

    kmeans_module.squared_distances = counted
    try:
        KMeans(k, init=init, n_init=1, max_iter=1).fit(x)
    finally:
        kmeans_module.squared_distances = original
    return count


_BASIS = ("n m K", "n m", "m K", "n K", "m", "n", "K", "1")


def _fit_counts(grid, ops) -> tuple[np.ndarray, float]:
    """Least squares of the counted operations on the monomials of _BASIS over the grid: the
    coefficients and the largest relative residual (0 when the count is such a polynomial)."""
    rows = [[n * m * k, n * m, m * k, n * k, m, n, k, 1.0] for m, k, n in grid]
    a = np.asarray(rows, dtype=np.float64)
    y = np.asarray(ops, dtype=np.float64)
    coef = np.linalg.lstsq(a, y, rcond=None)[0]
    return coef, float(np.abs(a @ coef - y).max() / y.max())


def _complexity_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = all(
        v[f"{a}_residual"] < 1e-9 and v[f"{a}_coefficients"]["n m K"] > 0.5
        for a in ("online", "lloyd")
    )
    parts = []
    for a, name in (("online", "online epoch"), ("lloyd", "Lloyd iteration")):
        c = {k: x for k, x in v[f"{a}_coefficients"].items() if abs(x) > 1e-6}
        poly = " + ".join(f"{fmt(x, 4)} {k}" for k, x in c.items())
        parts.append(
            f"{name}: counted coordinate operations = {poly} on all {v['grid_size']} "
            f"(m, K, n) of the grid (largest relative residual "
            f"{v[a + '_residual']:.1e})"
        )
    return Finding(ok, "; ".join(parts) + ": O(n m K) (counted, not timed)")


@exercise(
    "002-a8b-kmeans-complexity",
    params=dict(m=[200, 400, 800], K=[4, 8, 16], n=[8, 16, 32], seed=0),
    claims=[
        statement_claim(
            "an epoch of online k-means is O(n m K), as is an iteration of "
            "standard k-means (dominated by the assignment)",
            _complexity_check,
            SOLUTION,
        )
    ],
    derivation="""
        Online: each of the m examples computes K distances of n coordinates (O(nK)) and moves
        one centre (O(n)): O(nmK) per epoch. Lloyd: the assignment computes all mK distances
        (O(nmK)), the update sums the m examples (O(nm)). Same order; the online epoch moves the
        centres m times instead of once. Counted, not timed (a timing depends on the machine's
        load): the distance evaluations of hg.cluster.OnlineKMeans (one pass) and
        hg.cluster.KMeans (one iteration) on every (m, K, n) of the grid, each of n
        coordinates; O(nmK) means (distances x n) / (n m K) is the same constant everywhere.
        Wall-clock timings belong in bench/, where they illustrate.
    """,
    requires=("handgrad.cluster:OnlineKMeans",),
)
def kmeans_complexity(m, K, n, seed) -> Result:
    grid = [(mm, kk, nn) for mm in m for kk in K for nn in n]
    value: dict = {
        "online_epoch": "O(n m K)",
        "lloyd_iteration": "O(n m K)",
        "grid_size": len(grid),
    }
    for name, counter in (("online", count_online_epoch), ("lloyd", count_lloyd_iteration)):
        ops, dist = [], []
        for step, (mm, kk, nn) in enumerate(grid, 1):
            c = counter(mm, kk, nn, seed)
            ops.append(c["distances"] * nn + c.get("other_operations", 0))
            dist.append(c["distances"] / (mm * kk))
            progress(step, len(grid), f"counting ({name})")
        coef, resid = _fit_counts(grid, ops)
        value[f"{name}_coefficients"] = dict(zip(_BASIS, (float(round(c, 9)) for c in coef)))
        value[f"{name}_residual"] = resid
        value[f"{name}_distances_per_example_and_centre"] = [float(min(dist)), float(max(dist))]
    return Result(
        value,
        summary=f"both O(nmK): counted operations = {fmt(value['online_coefficients']['n m K'])} "
        f"n m K + lower terms (online epoch), "
        f"{fmt(value['lloyd_coefficients']['n m K'])} n m K (Lloyd iteration: the "
        f"assignment and the final inertia) over {len(grid)} sizes",
    )


# ---- Assignment 9 ----------------------------------------------------------------------------


def _nl(x, w, b):
    from handgrad.nn.linear import normalized_linear

    return normalized_linear(x, w, b)


def _nl_parts(g, x, w, b):
    r = np.sqrt((w * w).sum(1))
    u = w @ x + b
    return r, u


def nl_correct(g, x, w, b):
    r, u = _nl_parts(g, x, w, b)
    gx = (g / r) @ w
    gw = (g / r)[:, None] * (x[None, :] - (u / r**2)[:, None] * w)
    return gx, gw, g / r


def nl_eq22_as_written(g, x, w, b):
    """dL/db_i = g_j / ||w_j|| with the free j read as a fixed index (j = 1)."""
    r, _ = _nl_parts(g, x, w, b)
    gx, gw, _ = nl_correct(g, x, w, b)
    return gx, gw, np.full_like(g, g[0] / r[0])


def nl_eq24_as_written(g, x, w, b):
    """dL/dw_i = sum_i g_i (x/||w_i|| - (w_i^T x + b_i) w_i / ||w_i||^3), the sum kept: the same
    vector for every row."""
    r, u = _nl_parts(g, x, w, b)
    gx, _, gb = nl_correct(g, x, w, b)
    terms = g[:, None] * (x[None, :] / r[:, None] - (u / r**3)[:, None] * w)
    return gx, np.broadcast_to(terms.sum(0), w.shape).copy(), gb


def nl_eq24_without_sum(g, x, w, b):
    r, u = _nl_parts(g, x, w, b)
    gx, _, gb = nl_correct(g, x, w, b)
    return gx, g[:, None] * (x[None, :] / r[:, None] - (u / r**3)[:, None] * w), gb


def _eq22_check():
    inner = vjp_claim(
        nl_eq22_as_written, "", SOLUTION, ["dL/dx", "dL/dW", "dL/db"], judge=[2], one_based=True
    ).check
    fixed = vjp_claim(nl_correct, "", SOLUTION, ["dL/dx", "dL/dW", "dL/db"], judge=[2]).check

    def check(r: Result, p: dict) -> Finding:
        literal, read_i = inner(r, p), fixed(r, p)
        # judged as written (a fixed j): with one row (m = 1) that reading is right too
        if literal.agree:
            return Finding(
                True,
                f"read literally with a fixed j (j = 1), {literal.evidence} "
                f"(one row: j can only be i)",
                "g_j / ||w_j||",
            )
        return Finding(
            False,
            (
                f"the right-hand side's index j is not the left-hand side's i (an index slip); read "
                f"with j = i it is right ({read_i.evidence}); read literally with a fixed j (j = 1): "
                f"{literal.evidence}"
            ),
            "g_j / ||w_j||",
        )

    return check


def _eq24_check():
    literal = vjp_claim(
        nl_eq24_as_written, "", SOLUTION, ["dL/dx", "dL/dW", "dL/db"], judge=[1], one_based=True
    ).check
    nosum = vjp_claim(
        nl_eq24_without_sum, "", SOLUTION, ["dL/dx", "dL/dW", "dL/db"], judge=[1]
    ).check

    def check(r: Result, p: dict) -> Finding:
        a, b = literal(r, p), nosum(r, p)
        # judged as written (the sum kept): with one row (m = 1) the sum has one term
        if a.agree:
            return Finding(
                True,
                f"as written, with the sum over i: {a.evidence} (one row: the sum has one term)",
                "sum_i g_i (x/||w_i|| - (w_i^T x + b_i) w_i/||w_i||^3)",
            )
        return Finding(
            False,
            (
                f"as written, with the sum over i on the right, every row gets the same vector: "
                f"{a.evidence}; without the sum (only k = i survives) it is right ({b.evidence})"
            ),
            "sum_i g_i (x/||w_i|| - (w_i^T x + b_i) w_i/||w_i||^3)",
        )

    return check


def _a9_instance(ctx) -> dict:
    x, w, b = ctx.result.context["inputs"]
    return {"g": ctx.result.context["g"], "x": x, "W": w, "b": b}


def _a9_sample(rng, params) -> dict:
    m, n = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    return {
        "g": rng.standard_normal(m),
        "x": rng.standard_normal(n),
        "W": rng.standard_normal((m, n)),
        "b": rng.standard_normal(m),
    }


def _nl_inputs(x, W, b):
    return _nl(x, W, b)


_A9_VARS = {
    "g": "dL/dy (m)",
    "x": "the input (n)",
    "W": "the weights, one row w_i per output (m x n)",
    "b": "the biases (m)",
}

A9_SLOTS = [
    vjp_slot(
        f"dL/d{name}",
        f"dL/d{name} in terms of g, x, W, b (NumPy; the row norms are norm(W, axis=1)).",
        _nl_inputs,
        ["x", "W", "b"],
        k,
        _A9_VARS,
        _a9_sample,
        _a9_instance,
        example=ex,
    )
    for k, (name, ex) in enumerate(
        (
            ("x", "(g / norm(W, axis=1)) @ W"),
            (
                "W",
                "(g / norm(W, axis=1))[:, None] * (x[None, :] - ((W @ x + b) / "
                "norm(W, axis=1)^2)[:, None] * W)",
            ),
            ("b", "g / norm(W, axis=1)"),
        )
    )
]


@exercise(
    "002-a9-normalized-linear-backprop",
    params=dict(
        x=[1, 2],
        W=[[3, 4], [1, 0], [0, 2], [0, -3]],
        b=[1, 0, -1, 2],
        g=[1, 2, -1, 1],
        m=None,
        n=None,
        seed=0,
    ),
    slots=A9_SLOTS,
    note="The instance is x, W, b, g (small integers with integer row norms 5, 1, 2, 3, to "
    "follow by hand; --set g=1,2,3,4); m and n, if given, keep the first m rows and n "
    "columns (--set m=1: one output). With x, W, b, g null, a random m x n instance "
    "(default 3 x 4) from seed.",
    claims=[
        statement_claim(
            "dL/db_i = g_i dy_i/db_i = g_j / ||w_j||",
            _eq22_check(),
            SOLUTION + ", eq. (22)",
            label="eq. (22)",
        ),
        vjp_claim(
            nl_correct,
            "dL/dx_j = sum_i g_i w_ij / ||w_i||",
            SOLUTION + ", eq. (23)",
            ["dL/dx", "dL/dW", "dL/db"],
            label="eq. (23)",
            judge=[0],
        ),
        statement_claim(
            "dL/dw_i = sum_i g_i (x/||w_i|| + (w_i^T x + b_i)(-w_i)/||w_i||^3)",
            _eq24_check(),
            SOLUTION + ", eq. (24)",
            label="eq. (24)",
        ),
    ],
    derivation="""
        With r_i = ||w_i||, u_i = w_i^T x + b_i, y_i = u_i / r_i:
        dL/db_i = g_i / r_i; dL/dx = sum_i g_i w_i / r_i; and since only y_i depends on w_i,
        dL/dw_i = g_i (x / r_i - u_i w_i / r_i^3) (no sum). Checked with hg.check_vjp against
        hg.nn.NormalizedLinear's primitive (engine and finite differences).
    """,
)
def normalized_linear_backprop(x, W, b, g, m, n, seed) -> Result:
    rng = np.random.default_rng(seed)
    # given arrays are cut to the first m rows and n columns, so --set m=1 is a one-row layer
    x = rng.standard_normal(n or 4) if x is None else np.asarray(x, np.float64).ravel()[:n]
    w = (
        rng.standard_normal((m or 3, len(x)))
        if W is None
        else np.asarray(W, dtype=np.float64)[:m, :n]
    )
    b = rng.standard_normal(len(w)) if b is None else np.asarray(b, np.float64).ravel()[:m]
    g = rng.standard_normal(len(w)) if g is None else np.asarray(g, np.float64).ravel()[:m]
    if (m is not None and len(w) != m) or (n is not None and w.shape[1] != n):
        raise ValueError(
            f"002-a9-normalized-linear-backprop: m = {m}, n = {n} but the given W "
            f"has only {w.shape[0]} x {w.shape[1]}: set W, x, b, g to null for a "
            f"random instance of that size, or give them"
        )
    if w.ndim != 2 or w.shape[1] != len(x) or b.shape != (len(w),) or g.shape != (len(w),):
        raise ValueError(
            f"002-a9-normalized-linear-backprop: W must be m x n with n = "
            f"len(x) = {len(x)}, and b, g of length m; got W {w.shape}, b "
            f"{b.shape}, g {g.shape}"
        )
    names = ["dL/dx", "dL/dW", "dL/db"]
    grads = _engine_grads(_nl, [x, w, b], g, names)
    r, u = _nl_parts(g, x, w, b)
    return Result(
        {k: v.tolist() for k, v in grads.items()},
        summary=f"dL/db_i = g_i/||w_i||, dL/dx = sum_i g_i w_i/||w_i||, dL/dw_i = g_i (x/||w_i|| "
        f"- (w_i^T x + b_i) w_i/||w_i||^3); on the instance ||w_i|| = "
        f"{render(r.tolist())}, w_i^T x + b_i = {render(u.tolist())}, y = "
        f"{render((u / r).tolist())}, dL/db = {render(grads['dL/db'].tolist())}, dL/dx = "
        f"{render(grads['dL/dx'].tolist())}",
        details={"row_norms": r, "pre_activation": u, "y": u / r},
        context={"fn": _nl, "inputs": [x, w, b], "g": g, "engine": grads},
    )


# ---- Assignment 10 ---------------------------------------------------------------------------


def _vae_claims():
    def normaliser(r: Result, p: dict) -> Finding:
        v = r.value
        ok = abs(v["eq25_integral"] - 1) < 1e-6
        return Finding(
            ok,
            f"(1/sqrt(2 pi sigma))^d exp(-||x - mu||^2 / 2 sigma^2) integrates to "
            f"{fmt(v['eq25_integral'])} (d = 1, sigma = {p['sigma']}), not 1; the "
            f"normaliser is 1/sqrt(2 pi sigma^2)",
            v["eq25_integral"],
        )

    def constant(r: Result, p: dict) -> Finding:
        v = r.value
        ok = abs(v["eq26_value"] - v["log_density"]) < 1e-9
        return Finding(
            ok,
            f"-(d/2) d log(2 pi) - d log sigma - ||x - mu||^2/(2 sigma^2) = "
            f"{fmt(v['eq26_value'])} but log N(x; mu, sigma^2 I) = "
            f"{fmt(v['log_density'])} (d = {p['d']}; the constant is "
            f"-(d/2) log(2 pi))",
            v["eq26_value"],
        )

    def convex(r: Result, p: dict) -> Finding:
        v = r.value
        return Finding(
            v["convex_in_sigma"],
            f"d^2/dsigma^2 log p changes sign at sigma^2 = 3 r/d: "
            f"{fmt(v['second_derivative_min'])} .. {fmt(v['second_derivative_max'])} "
            f"over sigma in [0.2, 5] sqrt(r/d): neither convex nor concave in sigma "
            f"(concave in log sigma, which makes the stationary point the maximum)",
            "convex in sigma",
        )

    def derivative(r: Result, p: dict) -> Finding:
        v = r.value
        ok = abs(v["eq28_value"] - v["engine_derivative"]) < 1e-9
        return Finding(
            ok,
            f"-d/sigma + ||x - mu||^2/sigma^3 = {fmt(v['eq28_value'])}, engine "
            f"{fmt(v['engine_derivative'])}",
            v["eq28_value"],
        )

    def optimum(r: Result, p: dict) -> Finding:
        v = r.value
        ok = abs(v["argmax_sigma2"] - v["formula_sigma2"]) < 1e-6 * v["formula_sigma2"]
        return Finding(
            ok,
            f"maximising the Monte-Carlo ELBO of a VAE over sigma (engine, fixed "
            f"noise) gives sigma^2 = {fmt(v['argmax_sigma2'], 8)}; the formula "
            f"(hg.models.vae.optimal_sigma2) {fmt(v['formula_sigma2'], 8)}",
            v["formula_sigma2"],
        )

    def sample(rng, p):
        return {
            "d": float(rng.integers(2, 6)),
            "sigma": float(rng.uniform(0.2, 3.0)),
            "r": float(rng.uniform(0.0, 10.0)),
        }

    def instance(r, p):
        ctx = r.context
        return {
            "d": float(p["d"]),
            "sigma": float(p["sigma"]),
            "r": float(((ctx["x"] - ctx["mu"]) ** 2).sum()),
        }

    eq26_lines = [
        "-(d/2)*log(2*pi*sigma^2) - r/(2*sigma^2)",
        "= log((1/sqrt(2*pi*sigma))^d) - r/(2*sigma^2)",
        "= -(d/2)*d*log(2*pi) - d*log(sigma) - r/(2*sigma^2)",
    ]
    return [
        derivation_claim(
            eq26_lines,
            ["d", "sigma", "r"],
            sample,
            SOLUTION + ", eq. (26), from log N(x; mu, sigma^2 I) (line 1, r = "
            "||x - mu||^2) through its middle expression (line 2) to its right-hand "
            "side (line 3)",
            "eq. (26), derivation",
            instance,
        ),
        statement_claim(
            "p(x|z) = (1/sqrt(2 pi sigma))^d exp(-||x - mu(z)||^2 / (2 sigma^2))",
            normaliser,
            SOLUTION + ", eq. (25)",
            label="eq. (25)",
        ),
        statement_claim(
            "log p(x|z) = -(d/2) d log(2 pi) - d log sigma - ||x - mu(z)||^2/(2 sigma^2)",
            constant,
            SOLUTION + ", eq. (26)",
            label="eq. (26)",
        ),
        statement_claim(
            "the log density is a convex function of sigma",
            convex,
            SOLUTION,
            label="convexity remark",
        ),
        statement_claim(
            "d/dsigma log p(x|z) = -d/sigma + ||x - mu(z)||^2/sigma^3",
            derivative,
            SOLUTION + ", eq. (28)",
            label="eq. (28)",
        ),
        statement_claim(
            "sigma^2 = (1/d) E E ||x - mu(z)||^2",
            optimum,
            SOLUTION + ", eq. (29c)",
            label="eq. (29c)",
        ),
    ]


@exercise(
    "002-a10-vae-sigma",
    params=dict(d=3, sigma=0.5, features=12, latent=2, examples=64, seed=0),
    claims=_vae_claims(),
    derivation="""
        N(x; mu, sigma^2 I_d) = (2 pi sigma^2)^(-d/2) exp(-||x - mu||^2/(2 sigma^2)), so
        log p = -(d/2) log(2 pi) - d log sigma - ||x - mu||^2/(2 sigma^2) and
        d/dsigma log p = -d/sigma + ||x - mu||^2/sigma^3; the KL term does not depend on sigma,
        so the stationary point of the ELBO is sigma^2 = E||x - mu(z)||^2 / d, a maximum since
        the ELBO is concave in log sigma. Eq. (25) writes the normaliser 1/sqrt(2 pi sigma) and
        eq. (26) the constant -(d/2) d log(2 pi); eqs. (28)-(29) are right.
        Checked with hg.models.vae (gaussian_log_likelihood, VAE, optimal_sigma2) and the engine.
    """,
)
def vae_sigma(d, sigma, features, latent, examples, seed) -> Result:
    import handgrad as hg
    from handgrad.models.vae import VAE, gaussian_log_likelihood, optimal_sigma2, reparameterize

    rng = np.random.default_rng(seed)
    # eq. (25): integrate the claimed density in d = 1
    grid = np.linspace(-40 * sigma, 40 * sigma, 400001)
    dens = (1 / np.sqrt(2 * np.pi * sigma)) * np.exp(-(grid**2) / (2 * sigma**2))
    integral = (
        float(np.trapezoid(dens, grid)) if hasattr(np, "trapezoid") else float(np.trapz(dens, grid))
    )
    # eqs. (26), (28) at a random point
    x, mu = rng.standard_normal(d), rng.standard_normal(d)
    r = float(((x - mu) ** 2).sum())
    s = _t(sigma, True)
    logp = gaussian_log_likelihood(_t(x[None]), _t(mu[None]), s.log())[0]
    (ds,) = hg.grad(logp, [s])
    eq26 = -(d / 2) * d * math.log(2 * math.pi) - d * math.log(sigma) - r / (2 * sigma**2)
    eq28 = -d / sigma + r / sigma**3
    sig = np.linspace(0.2, 5, 200) * math.sqrt(r / d)
    second = d / sig**2 - 3 * r / sig**4
    # eq. (29c): a VAE's Monte-Carlo ELBO maximised over sigma with the engine
    hg.manual_seed(seed)
    vae = VAE(features, latent, hidden=(16,), sigma=1.0, output="linear").double()
    data = _t(rng.standard_normal((examples, features)))
    with hg.no_grad():
        m, logvar = vae.encode(data)
        z = reparameterize(m, logvar, noise=rng.standard_normal(m.shape))
        mean = vae.decode(z)
    log_sigma = _t(0.0, True)
    for _ in range(50):  # Newton on the concave objective in log sigma (second derivative: engine)
        obj = gaussian_log_likelihood(data, mean, log_sigma).mean()
        (g1,) = hg.grad(obj, [log_sigma], create_graph=True)
        (g2,) = hg.grad(g1, [log_sigma])
        with hg.no_grad():
            log_sigma.sub_(g1.detach() / g2)
    argmax = float(np.exp(2 * log_sigma.item()))
    return Result(
        {
            "formula": "sigma^2 = (1/d) E ||x - mu(z)||^2",
            "eq25_integral": integral,
            "eq26_value": eq26,
            "log_density": float(logp.item()),
            "eq28_value": eq28,
            "engine_derivative": float(ds.item()),
            "convex_in_sigma": bool((second >= 0).all()),
            "second_derivative_min": float(second.min()),
            "second_derivative_max": float(second.max()),
            "argmax_sigma2": argmax,
            "formula_sigma2": optimal_sigma2(data, mean),
        },
        summary=f"sigma^2 = (1/d) E||x - mu(z)||^2 (ELBO argmax {fmt(argmax, 6)} = formula); "
        f"log p = -(d/2) log 2pi - d log sigma - ||x-mu||^2/(2 sigma^2)",
        context={"data": data.numpy(), "mean": mean.numpy(), "x": x, "mu": mu},
    )


# ---- Assignment 11 ---------------------------------------------------------------------------


A11_LINES = [
    "0 = g + (1/eps)*(log(x/x0) - log((1 - x)/(1 - x0)))",
    "0 = -eps*g + log(x/(1 - x)) - log(x0/(1 - x0))",
    "log(x/(1 - x)) = log(x0/(1 - x0)) - eps*g",
    "x = sigmoid(log(x0/(1 - x0)) - eps*g)",
]


def _a11_sample(rng, p) -> dict:
    n = len(p["x0"])
    return {
        "x0": rng.uniform(0.05, 0.95, n),
        "g": rng.standard_normal(n),
        "eps": float(rng.uniform(0.1, 2.0)),
        "x": rng.uniform(0.05, 0.95, n),
    }


@exercise(
    "002-a11-mirror-descent",
    params=dict(x0=[0.2, 0.5, 0.9, 0.05], g=[1.0, -2.0, 0.5, -0.3], eps=0.7),
    claims=[
        statement_claim(
            "x_i = sigmoid(log(x0_i / (1 - x0_i)) - eps g_i)",
            lambda r, p: Finding(
                *compare(r.value["argmin"], r.value["formula"], 1e-9, 1e-12), r.value["formula"]
            ),
            SOLUTION,
            label="final answer",
        ),
        derivation_claim(
            A11_LINES,
            ["x", "x0", "g", "eps"],
            _a11_sample,
            SOLUTION + ", the stationarity lines",
            "derivation",
            lambda r, p: {
                "x0": np.asarray(p["x0"], float),
                "g": np.asarray(p["g"], float),
                "eps": float(p["eps"]),
                "x": np.asarray(p["x0"], float),
            },
            unknowns=["x"],
        ),
    ],
    derivation="""
        Separable; per coordinate g_i + (1/eps)(log(x_i/x0_i) - log((1-x_i)/(1-x0_i))) = 0, i.e.
        logit(x_i) = logit(x0_i) - eps g_i: x_i = sigmoid(logit(x0_i) - eps g_i) (strictly convex:
        the binary entropy's second derivative 1/(x(1-x)) > 0). The argmin is found by Newton's
        method in each coordinate with first and second derivatives from the engine; one step
        of hg.optim.MirrorDescent(domain='box') gives the same point.
    """,
)
def mirror_descent(x0, g, eps) -> Result:
    import handgrad as hg

    x0v, gv = np.asarray(x0, float), np.asarray(g, float)
    x = _t(x0v.copy(), True)
    for _ in range(60):
        obj = (_t(gv) * (x - _t(x0v))).sum() + (
            x * (x / _t(x0v)).log() + (1 - x) * ((1 - x) / (1 - _t(x0v))).log()
        ).sum() / eps
        (g1,) = hg.grad(obj, [x], create_graph=True)
        (h,) = hg.grad(g1.sum(), [x])  # separable: the Hessian is diagonal
        with hg.no_grad():
            step = g1.detach() / h
            new = np.clip(x.detach().numpy() - step.numpy(), 1e-12, 1 - 1e-12)
            x.copy_(_t(new))
    argmin = x.detach().numpy()
    formula = 1 / (1 + np.exp(-(np.log(x0v / (1 - x0v)) - eps * gv)))
    p = _t(x0v.copy(), True)
    md = hg.optim.MirrorDescent([p], lr=eps, domain="box")
    p.grad = _t(gv)
    md.step()
    return Result(
        {
            "argmin": argmin.tolist(),
            "formula": formula.tolist(),
            "mirror_descent_step": p.detach().numpy().tolist(),
        },
        summary=f"x = sigmoid(logit(x0) - eps g) = {render(argmin.tolist())} (Newton with the "
        f"engine; hg.optim.MirrorDescent agrees)",
    )
