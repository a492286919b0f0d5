"""Problem set 003 (003_6f3b02b455961dc3.txt): TTIC 31230 SGD problems with solutions (momentum as
a running average, bias correction, per-example gradients and Adam's batch-size coupling)."""

from __future__ import annotations

import numpy as np

from . import exercise
from .base import Finding, Result, fmt, render
from .claims import statement_claim
from .grading import choice_slot, text_slot

SOLUTION = "official solution"


def _t(a, grad=False):
    import handgrad as hg

    return hg.tensor(np.asarray(a, dtype=np.float64), dtype=hg.float64, requires_grad=grad)


def momentum_buffer(xs: np.ndarray, N: float) -> np.ndarray:
    """y_t = (1 - 1/N) y_{t-1} + x_t, y_0 = 0, read from hg.optim.SGD's momentum buffer
    (momentum 1 - 1/N, lr 0): PyTorch's buffer b <- mu b + g starting at b_1 = g_1 is exactly y_t.
    ``xs`` (T, D); returns (T, D)."""
    import handgrad as hg

    p = _t(np.zeros(xs.shape[1]), True)
    opt = hg.optim.SGD([p], lr=0.0, momentum=1 - 1 / N)
    out = []
    for x in xs:
        p.grad = _t(x)
        opt.step()
        out.append(opt.state[p]["momentum_buffer"].numpy().copy())
    return np.array(out)


def running_average(xs: np.ndarray, q: float) -> np.ndarray:
    """mu_t = (1 - q) mu_{t-1} + q x_t, mu_0 = 0: hg.optim.EWA's state (lr 0)."""
    import handgrad as hg

    p = _t(np.zeros(xs.shape[1]), True)
    opt = hg.optim.EWA([p], lr=0.0, q=q)
    out = []
    for x in xs:
        p.grad = _t(x)
        opt.step()
        out.append(opt.state[p]["ewa"].numpy().copy())
    return np.array(out)


@exercise(
    "003-p1a-running-limit",
    params=dict(N=10, c=2.0, steps=400),
    claims=[
        statement_claim(
            "y_inf = N c",
            lambda r, p: Finding(
                abs(r.value["limit"] - p["N"] * p["c"]) < 1e-9 * max(1, abs(p["N"] * p["c"])),
                f"the iteration reaches {fmt(r.value['limit'], 10)} after {p['steps']} steps",
                p["N"] * p["c"],
            ),
            SOLUTION,
        )
    ],
    derivation="""
        A limit must be a fixed point: y = (1 - 1/N) y + c, so y/N = c and y = N c. Iterated
        with hg.optim.SGD's momentum buffer (momentum 1 - 1/N), which is this recursion.
    """,
)
def running_limit(N, c, steps) -> Result:
    ys = momentum_buffer(np.full((steps, 1), float(c)), N)[:, 0]
    return Result(
        {"limit": float(ys[-1]), "first": ys[:3].tolist()},
        summary=f"y_t -> N c = {fmt(ys[-1], 8)} (y_1..3 = {render(ys[:3].tolist())})",
    )


def _average_of_check(r: Result, p: dict) -> Finding:
    d = r.value["max_difference"]
    return Finding(
        d < 1e-9,
        f"y_t equals the running average (q = 1/N) of N x_t to {d:.1e} on a "
        f"random sequence of {p['steps']} inputs",
    )


@exercise(
    "003-p1b-running-average-of-what",
    params=dict(N=10, steps=50, seed=0),
    claims=[statement_claim("y_t is the running average of N x_t", _average_of_check, SOLUTION)],
    derivation="""
        y_t = (1 - 1/N) y_{t-1} + (1/N)(N x_t): the EWA with weight 1/N of N x_t. Checked with
        hg.optim.SGD's momentum buffer against hg.optim.EWA(q = 1/N) fed N x_t.
    """,
)
def average_of_what(N, steps, seed) -> Result:
    xs = np.random.default_rng(seed).standard_normal((steps, 3))
    y = momentum_buffer(xs, N)
    avg = running_average(N * xs, 1 / N)
    return Result(
        {"quantity": "N x_t", "max_difference": float(np.abs(y - avg).max())},
        summary="N x_t (y_t = EWA_{1/N}(N x))",
    )


@exercise(
    "003-p1c-y-in-terms-of-mu",
    params=dict(N=10, steps=50, seed=0),
    claims=[statement_claim("y_t = N mu_t", _average_of_check, SOLUTION)],
    derivation="""
        The running average is linear in its input and both start at 0, so the running average
        of N x_t is N times that of x_t: y_t = N mu_t. Checked with hg.optim.SGD's momentum
        buffer and hg.optim.EWA(q = 1/N).
    """,
)
def y_in_terms_of_mu(N, steps, seed) -> Result:
    xs = np.random.default_rng(seed).standard_normal((steps, 3))
    y = momentum_buffer(xs, N)
    mu = running_average(xs, 1 / N)
    return Result(
        {"relation": "y_t = N mu_t", "max_difference": float(np.abs(y - N * mu).max())},
        summary=f"y_t = N mu_t (max |y_t - N mu_t| = {np.abs(y - N * mu).max():.1e})",
    )


def bias_corrected_average(xs: np.ndarray, N: int) -> np.ndarray:
    """y_t = (1 - 1/min(t, N)) y_{t-1} + x_t / min(t, N), y_0 = 0, with handgrad tensors."""
    y = _t(np.zeros(xs.shape[1]))
    out = []
    for t, x in enumerate(xs, 1):
        w = 1.0 / min(t, N)
        y = (1 - w) * y + w * _t(x)
        out.append(y.numpy().copy())
    return np.array(out)


def _constant_check(r: Result, p: dict) -> Finding:
    d = r.value["max_deviation_from_c"]
    return Finding(
        d < 1e-12,
        f"y_t = c at every one of {p['steps']} steps (max deviation "
        f"{d:.1e}); for t <= N, y_t is the exact mean of x_1..x_t (to "
        f"{r.value['mean_error']:.1e} on a random sequence)",
    )


@exercise(
    "003-p2-bias-correction",
    params=dict(N=10, c=3.0, steps=40, seed=0),
    claims=[statement_claim("y_t = c for all t", _constant_check, SOLUTION)],
    derivation="""
        t = 1: min(1, N) = 1, so y_1 = x_1 = c. If y_{t-1} = c then y_t is a convex combination
        of c and c: y_t = c. (More: for t <= N the weights 1/t make y_t the exact mean of
        x_1..x_t, which is why this is a bias correction; after N steps it is the EWA with 1/N.)
    """,
)
def bias_correction(N, c, steps, seed) -> Result:
    ys = bias_corrected_average(np.full((steps, 1), float(c)), N)
    xs = np.random.default_rng(seed).standard_normal((N, 2))
    mean_err = float(
        np.abs(
            bias_corrected_average(xs, N) - np.cumsum(xs, 0) / np.arange(1, N + 1)[:, None]
        ).max()
    )
    return Result(
        {
            "closed_form": "y_t = c",
            "max_deviation_from_c": float(np.abs(ys - c).max()),
            "mean_error": mean_err,
        },
        summary=f"y_t = c (checked for t = 1..{steps})",
    )


# ---- Problem 3 -------------------------------------------------------------------------------


def _linear_batch(B, I, J, seed):  # noqa: E741  (the problem's names for the loop bounds)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, I)), rng.standard_normal((B, J)), rng.standard_normal((J, I))


def per_example_output_grads(x, target, W):
    """y.grad[b, j] of each example's own loss l_b = ||W x_b - t_b||^2 / 2 (the engine)."""
    import handgrad as hg

    y = _t(x @ W.T, True)
    loss = ((y - _t(target)) ** 2).sum() * 0.5  # sum of the per-example losses
    (gy,) = hg.grad(loss, [y])
    return gy.numpy()


def _loop_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["max_difference"] < 1e-12
    return Finding(
        ok,
        (
            f"the loop equals the engine's W.grad of the batch-mean loss to "
            f"{v['max_difference']:.1e}, with y.grad[b, j] the gradient of example b's "
            f"own loss (with PyTorch's y.grad of the mean loss, which already holds "
            f"the 1/B, the loop would divide by B twice and give "
            f"{fmt(v['pytorch_y_grad_ratio'])} times the "
            f"gradient)"
        ),
    )


@exercise(
    "003-p3a-batch-gradient-loop",
    params=dict(B=5, I=4, J=3, seed=0),
    claims=[
        statement_claim(
            "for b, i, j: W.grad[j, i] += (1/B) y.grad[b, j] x[b, i]", _loop_check, SOLUTION
        )
    ],
    derivation="""
        With the batch-mean loss L = (1/B) sum_b l_b and y[b, j] = sum_i W[j, i] x[b, i],
        dL/dW[j, i] = (1/B) sum_b dl_b/dy[b, j] x[b, i]: the loop over b, i, j accumulating
        (1/B) y.grad[b, j] x[b, i], where y.grad[b, j] = dl_b/dy[b, j]. Checked against the
        engine's gradient of the mean loss.
    """,
)
def batch_gradient_loop(B, I, J, seed) -> Result:  # noqa: E741  (the problem's names)

    x, target, W = _linear_batch(B, I, J, seed)
    gy = per_example_output_grads(x, target, W)
    wgrad = np.zeros((J, I))
    for b in range(B):
        for i in range(I):
            for j in range(J):
                wgrad[j, i] += (1 / B) * gy[b, j] * x[b, i]
    Wt = _t(W, True)
    mean_loss = (((_t(x) @ Wt.T) - _t(target)) ** 2).sum(1).mean() * 0.5
    mean_loss.backward()
    engine = Wt.grad.numpy()
    return Result(
        {
            "loop": "for b, i, j: W.grad[j, i] += (1/B) y.grad[b, j] x[b, i]",
            "max_difference": float(np.abs(wgrad - engine).max()),
            "pytorch_y_grad_ratio": 1 / B,
        },
        summary=f"W.grad[j, i] += (1/B) y.grad[b, j] x[b, i] (loop = engine to "
        f"{np.abs(wgrad - engine).max():.1e})",
    )


def _per_example_check(r: Result, p: dict) -> Finding:
    d = r.value["max_difference"]
    return Finding(
        d < 1e-12,
        f"the loop equals hg.func.per_sample_grad (hooks: one batched backward) to {d:.1e}",
    )


@exercise(
    "003-p3b-per-example-gradient-loop",
    params=dict(B=5, I=4, J=3, seed=0),
    claims=[
        statement_claim(
            "for b, i, j: W.grad[b, j, i] += y.grad[b, j] x[b, i]", _per_example_check, SOLUTION
        )
    ],
    derivation="""
        Example b's loss depends on W only through y[b, :], so
        dl_b/dW[j, i] = y.grad[b, j] x[b, i]: an outer product per example, no sum over b.
        Checked against hg.func.per_sample_grad.
    """,
)
def per_example_loop(B, I, J, seed) -> Result:  # noqa: E741  (the problem's names)
    import handgrad as hg
    from handgrad.func import per_sample_grad

    x, target, W = _linear_batch(B, I, J, seed)
    gy = per_example_output_grads(x, target, W)
    per = np.zeros((B, J, I))
    for b in range(B):
        for i in range(I):
            for j in range(J):
                per[b, j, i] += gy[b, j] * x[b, i]
    layer = hg.nn.Linear(I, J, bias=False).double()
    with hg.no_grad():
        layer.weight.copy_(_t(W))

    def loss_fn(out, t):
        return ((out - t) ** 2).sum() * 0.5

    grads = per_sample_grad(layer, loss_fn, _t(x), _t(target), loss_reduction="sum")
    lib = grads["weight"].numpy()
    return Result(
        {
            "loop": "for b, i, j: W.grad[b, j, i] += y.grad[b, j] x[b, i]",
            "max_difference": float(np.abs(per - lib).max()),
        },
        summary="W.grad[b, j, i] = y.grad[b, j] x[b, i] (= hg.func.per_sample_grad)",
    )


def _not_determined_check(r: Result, p: dict) -> Finding:
    v = r.value
    ok = v["answer"] == "no"
    return Finding(
        ok,
        f"two batches with the same W.grad ({render(v['mean_gradients'])}) have "
        f"W.grad2 = {render(v['second_moments'])} (per-example gradients from "
        f"hg.func.per_sample_grad)",
    )


@exercise(
    "003-p3c-second-moment-from-mean",
    params=dict(),
    slots=[
        choice_slot(
            "answer",
            "Can W.grad2 (the mean of the squared per-example gradients) be "
            "computed from W.grad (their mean)?",
            ("yes", "no"),
            lambda ctx: ctx.result.value["answer"],
        ),
        text_slot("why", "Why (a counterexample or an argument)?", part="derivation"),
    ],
    claims=[
        statement_claim(
            "No: the mean does not determine the mean square (the variance)",
            _not_determined_check,
            SOLUTION,
        )
    ],
    derivation="""
        W.grad = mean_b G_b and W.grad2 = mean_b G_b^2; their difference is the variance of the
        per-example gradients, which the mean does not determine. Counterexample: a one-weight
        linear model at w = 0 with loss (w x - t)^2 and x = 1: targets (1, -1) give per-example
        gradients (-2, 2), targets (0, 0) give (0, 0): both means 0, second moments 4 and 0.
    """,
)
def second_moment_from_mean() -> Result:
    import handgrad as hg
    from handgrad.func import per_sample_grad

    layer = hg.nn.Linear(1, 1, bias=False).double()
    with hg.no_grad():
        layer.weight.zero_()

    def loss_fn(out, t):
        return ((out - t) ** 2).sum()

    means, seconds = [], []
    for targets in ([1.0, -1.0], [0.0, 0.0]):
        g = (
            per_sample_grad(
                layer, loss_fn, _t([[1.0], [1.0]]), _t([[v] for v in targets]), loss_reduction="sum"
            )["weight"]
            .numpy()
            .ravel()
        )
        means.append(float(g.mean()))
        seconds.append(float((g**2).mean()))
    answer = "no" if means[0] == means[1] and seconds[0] != seconds[1] else "undecided"
    return Result(
        {"answer": answer, "mean_gradients": means, "second_moments": seconds},
        summary=f"no: same W.grad {render(means)}, different W.grad2 {render(seconds)}",
    )


def _batch_size_check(r: Result, p: dict) -> Finding:
    v = r.value
    rows = v["rows"]
    adam = [row["adam_v"] for row in rows]
    decreasing = all(a > b for a, b in zip(adam, adam[1:]))
    last = rows[-1]
    mu2 = v["mean_squared"]
    target = last["predicted_batch_mean_sq"]
    close = abs(last["adam_v"] - target) < 0.25 * target
    per = [row["per_sample_adam_v"] for row in rows]
    flat = max(per) < 1.5 * min(per)
    ok = decreasing and close and flat
    listing = ", ".join(f"B={row['batch_size']}: {fmt(row['adam_v'])}" for row in rows)
    return Finding(
        ok,
        (
            f"Adam's v falls with the batch size ({listing}), "
            f"following mu^2 + sigma^2/B (at B={last['batch_size']}: {fmt(target)}; "
            f"mu^2 = {fmt(mu2)}, second moment {fmt(rows[0]['predicted_per_example_sq'])}); the "
            f"per-example second moment (PerSampleAdam) stays {fmt(min(per))}..{fmt(max(per))}"
        ),
    )


@exercise(
    "003-p3d-adam-batch-size",
    params=dict(batch_sizes=[1, 4, 16, 64], n_batches=150, seed=0),
    claims=[
        statement_claim(
            "s_t shrinks as the batch size grows and tends to the mean squared "
            "(mu^2) rather than the second moment",
            _batch_size_check,
            SOLUTION,
        )
    ],
    derivation="""
        For a batch of B independent examples, E[gbar^2] = mu^2 + sigma^2 / B per coordinate, so
        the EWA of the squared batch gradient (RMSProp's and Adam's s) falls with B towards
        mu^2, while the per-example second moment mu^2 + sigma^2 does not depend on B: the
        normalised step lr m / sqrt(s) grows with the batch size. Measured with
        hg.exercises.experiments.second_moment_vs_batch_size (hg.optim.Adam and
        hg.func.PerSampleAdam at lr 0).
    """,
)
def adam_batch_size(batch_sizes, n_batches, seed) -> Result:
    from handgrad.exercises.experiments import second_moment_vs_batch_size

    rows = second_moment_vs_batch_size(batch_sizes=batch_sizes, n_batches=n_batches, seed=seed)
    # the population's mu^2 and sigma^2 from predicted(B) = mu^2 + sigma^2 / B at two sizes
    b0, b1 = rows[0], rows[-1]
    sigma2 = (b0["predicted_batch_mean_sq"] - b1["predicted_batch_mean_sq"]) / (
        1 / b0["batch_size"] - 1 / b1["batch_size"]
    )
    mu2 = b1["predicted_batch_mean_sq"] - sigma2 / b1["batch_size"]
    return Result(
        {"rows": rows, "mean_squared": mu2, "variance": sigma2},
        summary="Adam's v: "
        + ", ".join(f"B={r['batch_size']}: {fmt(r['adam_v'])}" for r in rows)
        + f" -> mu^2 = {fmt(mu2)}; per-example: "
        + ", ".join(fmt(r["per_sample_adam_v"]) for r in rows),
    )
