"""Problem set 003: each exercise's computed answer checked by a second, independent route
(closed forms, NumPy recursions, torch.func per-example gradients)."""

from __future__ import annotations

import numpy as np
import torch

import handgrad.exercises as ex


def run(id, **params):
    return ex.run_one(id, **params)


def test_003_p1a_running_limit():
    N, c, steps = 7, -1.5, 60
    v = run("003-p1a-running-limit", N=N, c=c, steps=steps)
    # closed form of the recursion from y_0 = 0: y_t = N c (1 - (1 - 1/N)^t)
    assert abs(v.computed["limit"] - N * c * (1 - (1 - 1 / N) ** steps)) < 1e-12
    assert run("003-p1a-running-limit").verdict == "agree"


def test_003_p1b_running_average_of_what():
    N = 5
    xs = np.random.default_rng(1).standard_normal(30)
    y = avg = 0.0
    for x in xs:
        y = (1 - 1 / N) * y + x
        avg = (1 - 1 / N) * avg + (N * x) / N
        assert abs(y - avg) < 1e-12
    v = run("003-p1b-running-average-of-what", N=N)
    assert v.computed["quantity"] == "N x_t" and v.verdict == "agree"


def test_003_p1c_y_in_terms_of_mu():
    N = 4
    y = mu = 0.0
    for x in np.random.default_rng(2).standard_normal(30):
        y = (1 - 1 / N) * y + x
        mu = (1 - 1 / N) * mu + x / N
        assert abs(y - N * mu) < 1e-12
    v = run("003-p1c-y-in-terms-of-mu", N=N)
    assert v.computed["max_difference"] < 1e-12 and v.verdict == "agree"


def test_003_p2_bias_correction():
    N, c = 6, 2.5
    v = run("003-p2-bias-correction", N=N, c=c)
    y = 0.0
    for t in range(1, 30):
        y = (1 - 1 / min(t, N)) * y + c / min(t, N)
        assert abs(y - c) < 1e-12
    assert v.computed["max_deviation_from_c"] < 1e-12 and v.verdict == "agree"


def _torch_per_example(x, t, W):
    w = torch.tensor(W, requires_grad=True)
    loss = (((torch.tensor(x) @ w.T) - torch.tensor(t)) ** 2).sum(1) * 0.5

    def one(wb, xb, tb):
        return (((wb @ xb) - tb) ** 2).sum() * 0.5

    per = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))(
        w.detach(), torch.tensor(x), torch.tensor(t)
    )
    return loss, w, per


def test_003_p3a_batch_gradient_loop():
    rng = np.random.default_rng(0)
    x, t, W = rng.standard_normal((5, 4)), rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    loss, w, per = _torch_per_example(x, t, W)
    loss.mean().backward()
    torch.testing.assert_close(w.grad, per.mean(0))  # the batch gradient is the mean of examples'
    v = run("003-p3a-batch-gradient-loop")
    assert v.computed["max_difference"] < 1e-12 and v.verdict == "agree"


def test_003_p3b_per_example_gradient_loop():
    import handgrad as hg
    from handgrad.func import per_sample_grad

    rng = np.random.default_rng(0)
    x, t, W = rng.standard_normal((5, 4)), rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    _, _, per = _torch_per_example(x, t, W)
    layer = hg.nn.Linear(4, 3, bias=False).double()
    with hg.no_grad():
        layer.weight.copy_(hg.tensor(W, dtype=hg.float64))
    ours = per_sample_grad(
        layer,
        lambda o, tt: ((o - tt) ** 2).sum() * 0.5,
        hg.tensor(x, dtype=hg.float64),
        hg.tensor(t, dtype=hg.float64),
        loss_reduction="sum",
    )["weight"].numpy()
    np.testing.assert_allclose(ours, per.numpy(), atol=1e-12)
    v = run("003-p3b-per-example-gradient-loop")
    assert v.computed["max_difference"] < 1e-12 and v.verdict == "agree"


def test_003_p3c_second_moment_from_mean():
    v = run("003-p3c-second-moment-from-mean")
    # per-example gradient of (w x - t)^2 at w = 0, x = 1 is -2 t
    for targets, mean, second in (([1, -1], 0, 4), ([0, 0], 0, 0)):
        g = -2 * np.array(targets, float)
        assert g.mean() == mean and (g**2).mean() == second
    assert v.computed["mean_gradients"] == [0, 0] and v.computed["second_moments"] == [4, 0]
    assert v.computed["answer"] == "no" and v.verdict == "agree"


def test_003_p3d_adam_batch_size():
    v = run("003-p3d-adam-batch-size", batch_sizes=[1, 8, 64], n_batches=100)
    rows = v.computed["rows"]
    for r in rows:  # measured E[gbar^2] against the closed form mu^2 + sigma^2 / B
        assert (
            abs(r["batch_mean_sq"] - r["predicted_batch_mean_sq"])
            < 0.25 * r["predicted_batch_mean_sq"]
        )
        assert abs(r["adam_v"] - r["predicted_batch_mean_sq"]) < 0.35 * r["predicted_batch_mean_sq"]
    mu2, s2 = v.computed["mean_squared"], v.computed["variance"]
    assert abs(rows[1]["predicted_batch_mean_sq"] - (mu2 + s2 / 8)) < 1e-9
    assert v.verdict == "agree"
