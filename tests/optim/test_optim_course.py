"""The optimizers PyTorch does not have, against closed forms and reference solvers: EWA (and its
exact relation to PyTorch momentum and Adam), proximal steps (L2 closed form, radial optimality,
ISTA/FISTA against scikit-learn's Lasso), mirror descent (domain kept, known optimum), diagonal
preconditioning (problem set 001, Q7), and the inverse-time rate on online k-means."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad import nn, optim

torch.set_num_threads(1)


def _param(values):
    return nn.Parameter(np.array(values, dtype=np.float64))


# ---- EWA (problem set 000, Assignment 3) ------------------------------------------------------


@pytest.mark.parametrize("q", [0.1, 0.5, 1.0])
def test_debiased_ewa_of_constant_gradient_is_that_constant_from_t1(q):
    c = np.array([0.3, -2.0, 5.0])
    w = _param(np.zeros(3))
    opt = optim.EWA([w], lr=0.1, q=q, debias=True)
    plain_w = _param(np.zeros(3))
    plain = optim.EWA([plain_w], lr=0.1, q=q)
    for t in range(1, 8):
        for p in (w, plain_w):
            p.grad = hg.tensor(c)  # the gradient of the linear loss c . w
        opt.step()
        plain.step()
        np.testing.assert_allclose(opt.state[w]["ewa"].numpy(), c, rtol=1e-14)
        # plain EWA starts biased towards 0: v_t = (1 - (1 - q)^t) c
        np.testing.assert_allclose(
            plain.state[plain_w]["ewa"].numpy(), (1 - (1 - q) ** t) * c, rtol=1e-12
        )
    np.testing.assert_allclose(w.detach().numpy(), -0.1 * 7 * c, rtol=1e-12)


def test_debiased_ewa_is_unbiased_and_plain_is_not():
    """Assignment 3b: with i.i.d. noisy gradients g_t ~ N(mu, 1), E[v_t] = mu for every t >= 1
    for the debiased EWA. Monte-Carlo over 200,000 independent coordinates: the standard error
    of each mean is below 0.003, the tolerance is 0.015."""
    n, q, mu = 200_000, 0.2, 1.5
    rng = np.random.default_rng(0)
    w, w_plain = _param(np.zeros(n)), _param(np.zeros(n))
    deb, plain = optim.EWA([w], lr=0.0, q=q, debias=True), optim.EWA([w_plain], lr=0.0, q=q)
    for t in range(1, 6):
        g = rng.normal(mu, 1.0, n)
        w.grad, w_plain.grad = hg.tensor(g), hg.tensor(g.copy())
        deb.step()
        plain.step()
        assert abs(deb.state[w]["ewa"].numpy().mean() - mu) < 0.015
        bias = (1 - q) ** t * mu
        assert abs(plain.state[w_plain]["ewa"].numpy().mean() - (mu - bias)) < 0.015


def test_plain_ewa_is_pytorch_momentum_with_mu_1_minus_q_and_lr_times_q():
    """v_ewa = q * b_torch at every step, so EWA(lr, q) takes exactly the steps of
    torch.optim.SGD(lr=q * lr, momentum=1 - q) (Assignment 3a)."""
    lr, q = 0.5, 0.1
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    h = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    hg.load_torch_state_dict(h, t.state_dict())
    oh = optim.EWA(h.parameters(), lr=lr, q=q)
    ot = torch.optim.SGD(t.parameters(), lr=q * lr, momentum=1 - q)
    r = np.random.default_rng(1)
    for _ in range(100):
        x, y = r.standard_normal((8, 3)), r.standard_normal((8, 1))
        oh.zero_grad(), ot.zero_grad()
        nn.functional.mse_loss(h(hg.tensor(x)), hg.tensor(y)).backward()
        torch.nn.functional.mse_loss(t(torch.tensor(x)), torch.tensor(y)).backward()
        oh.step(), ot.step()
    for p, tp in zip(h.parameters(), t.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            oh.state[p]["ewa"].numpy(),
            q * ot.state[tp]["momentum_buffer"].numpy(),
            rtol=1e-9,
            atol=1e-13,
        )


def test_debiased_ewa_equals_adams_bias_corrected_first_moment():
    """Assignment 3b.2 / the question about PyTorch's Adam: Adam keeps the plain EWA m_t
    (beta1 = 1 - q) and divides by 1 - beta1^t; that is the debiased EWA, step by step."""
    q = 0.3
    a, b = _param(np.zeros(4)), _param(np.zeros(4))
    ewa, adam = (
        optim.EWA([a], lr=0.0, q=q, debias=True),
        optim.Adam([b], lr=0.0, betas=(1 - q, 0.999)),
    )
    r = np.random.default_rng(2)
    for t in range(1, 20):
        g = r.standard_normal(4)
        a.grad, b.grad = hg.tensor(g), hg.tensor(g.copy())
        ewa.step(), adam.step()
        m_hat = adam.state[b]["exp_avg"].numpy() / (1 - (1 - q) ** t)
        np.testing.assert_allclose(ewa.state[a]["ewa"].numpy(), m_hat, rtol=1e-10)


# ---- proximal steps (problem set 002, Assignments 3 and 6) ------------------------------------


def test_l2_prox_step_equals_closed_form_and_sgd_with_weight_decay():
    r = np.random.default_rng(3)
    theta0, g = r.standard_normal(6), r.standard_normal(6)
    lr, lam = 0.3, 0.7
    w = _param(theta0)
    w.grad = hg.tensor(g)
    optim.ProximalSGD([w], lr=lr, prox="l2", lam=lam).step()
    np.testing.assert_allclose(w.detach().numpy(), (theta0 - lr * g) / (1 + lr * lam), rtol=1e-14)
    # Assignment 3's remark: the prox step with rate eps' is the SGD step (9) with
    # eps = eps' / (1 + lam eps'), i.e. weight decay lam at that rate
    v = _param(theta0)
    v.grad = hg.tensor(g)
    optim.SGD([v], lr=lr / (1 + lr * lam), weight_decay=lam).step()
    np.testing.assert_allclose(v.detach().numpy(), w.detach().numpy(), rtol=1e-13)


def test_l1_prox_is_soft_thresholding():
    w = _param([0.5, -0.05, 0.02, -2.0])
    w.grad = hg.tensor(np.zeros(4))
    optim.ProximalSGD([w], lr=0.1, prox="l1", lam=1.0).step()
    np.testing.assert_allclose(w.detach().numpy(), [0.4, 0.0, 0.0, -1.9], atol=1e-15)


@pytest.mark.parametrize(
    "name,rho,rho_prime",
    [
        ("quadratic", lambda r: r**2 / 2, lambda r: r),
        ("quartic", lambda r: r**4 / 4, lambda r: r**3),
        ("log", lambda r: math.log1p(r**2), lambda r: 2 * r / (1 + r**2)),
        ("norm", lambda r: r, lambda r: 1.0),
    ],
)
def test_radial_prox_satisfies_its_optimality_condition(name, rho, rho_prime):
    r = np.random.default_rng(4)
    theta0, g = r.standard_normal((3, 4)), r.standard_normal((3, 4))
    lr = 0.4
    w = _param(theta0)
    w.grad = hg.tensor(g)
    optim.ProximalSGD([w], lr=lr, prox=optim.Radial(rho_prime), lam=1.0).step()
    a = theta0 - lr * g
    ell = np.linalg.norm(w.detach().numpy())
    # l + lr rho'(l) = ||a||, and theta is a positive multiple of a
    assert ell + lr * rho_prime(ell) == pytest.approx(np.linalg.norm(a), rel=1e-10)
    np.testing.assert_allclose(w.detach().numpy() / ell, a / np.linalg.norm(a), rtol=1e-10)

    # and it is the minimiser of <g, theta - theta0> + rho(||theta||) + ||theta - theta0||^2/(2 lr)
    def objective(theta):
        return (
            (g * (theta - theta0)).sum()
            + rho(np.linalg.norm(theta))
            + ((theta - theta0) ** 2).sum() / (2 * lr)
        )

    best = objective(w.detach().numpy())
    for _ in range(200):
        assert objective(w.detach().numpy() + 1e-3 * r.standard_normal(a.shape)) >= best - 1e-12


def test_radial_with_quadratic_rho_is_the_l2_prox_and_norm_rho_shrinks_to_zero():
    a = np.array([3.0, 4.0])
    np.testing.assert_allclose(optim.Radial(lambda r: r)(a, 0.5), optim.L2Prox()(a, 0.5))
    np.testing.assert_allclose(optim.Radial(lambda r: 1.0)(a, 1.0), a * 4 / 5)  # ||a|| - 1
    np.testing.assert_array_equal(optim.Radial(lambda r: 1.0)(a, 6.0), [0.0, 0.0])


def _lasso_problem():
    r = np.random.default_rng(5)
    n, d = 60, 25
    X = r.standard_normal((n, d)) * np.logspace(0, -1, d)  # condition number of X^T X ~ 350
    w_true = np.where(r.random(d) < 0.3, r.standard_normal(d) * 2, 0.0)
    y = X @ w_true + 0.1 * r.standard_normal(n)
    return X, y


def _lasso_run(cls, X, y, alpha, steps):
    """f(w) = ||y - X w||^2 / (2 n) (scikit-learn's scaling), penalty alpha ||w||_1, lr = 1/L."""
    n = len(y)
    L = np.linalg.eigvalsh(X.T @ X / n).max()
    w = _param(np.zeros(X.shape[1]))
    opt = cls([w], lr=1.0 / L, prox="l1", lam=alpha)
    Xt, yt = hg.tensor(X), hg.tensor(y)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((yt - Xt @ w) ** 2).sum() / (2 * n)
        loss.backward()
        opt.step()
        x = opt.state[w]["x"].numpy() if cls is optim.FISTA else w.detach().numpy()
        history.append(((y - X @ x) ** 2).sum() / (2 * n) + alpha * np.abs(x).sum())
    return (opt.state[w]["x"].numpy() if cls is optim.FISTA else w.detach().numpy()), history


def test_ista_and_fista_reach_sklearn_lasso():
    from sklearn.linear_model import Lasso

    X, y = _lasso_problem()
    alpha = 0.05
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(X, y).coef_
    ista, h_ista = _lasso_run(optim.ProximalSGD, X, y, alpha, 1500)
    fista, h_fista = _lasso_run(optim.FISTA, X, y, alpha, 1000)
    np.testing.assert_allclose(ista, ref, atol=1e-8)  # measured 3e-10
    np.testing.assert_allclose(fista, ref, atol=1e-6)  # 3.5e-7: FISTA is not monotone
    assert ((ista == 0) == (np.abs(ref) < 1e-9)).all()  # exact zeros, thanks to the prox
    # FISTA's O(1/k^2) against ISTA's O(1/k): after 100 steps it is much closer to the optimum
    # (measured objective gaps 1.1e-6 against 9.3e-5)
    f_star = min(h_ista[-1], h_fista[-1])
    assert h_fista[99] - f_star < 0.05 * (h_ista[99] - f_star)


# ---- mirror descent (problem set 002, Assignment 11) ------------------------------------------


def test_mirror_box_step_is_the_sigmoid_of_the_logit_update():
    x0, g, lr = np.array([0.2, 0.5, 0.9]), np.array([1.0, -3.0, 0.5]), 0.7
    x = _param(x0)
    x.grad = hg.tensor(g)
    optim.MirrorDescent([x], lr=lr, domain="box").step()
    logit = np.log(x0 / (1 - x0)) - lr * g
    np.testing.assert_allclose(x.detach().numpy(), 1 / (1 + np.exp(-logit)), rtol=1e-14)
    # the stationarity condition of the proximal problem: g + (logit x - logit x0) / lr = 0
    np.testing.assert_allclose(
        g + (np.log(x.detach().numpy() / (1 - x.detach().numpy())) - np.log(x0 / (1 - x0))) / lr,
        0,
        atol=1e-12,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mirror_box_stays_inside_and_reaches_the_optimum(dtype):
    """min sum (x - c)^2 over (0, 1)^n: the optimum is clip(c, 0, 1); coordinates with c outside
    approach the boundary but never reach it."""
    c = np.array([0.3, 0.75, 1.8, -0.5])
    x = nn.Parameter(np.full(4, 0.5, dtype))
    opt = optim.MirrorDescent([x], lr=1.0, domain="box")
    for _ in range(3000):
        opt.zero_grad()
        ((x - hg.tensor(c.astype(dtype))) ** 2).sum().backward()
        opt.step()
        assert ((x.detach().numpy() > 0) & (x.detach().numpy() < 1)).all()
    np.testing.assert_allclose(x.detach().numpy()[:2], c[:2], atol=1e-5)
    assert x.detach().numpy()[2] > 0.99 and x.detach().numpy()[3] < 0.01


def test_mirror_simplex_stays_on_simplex_and_reaches_the_optimum():
    """min sum_i a_i x_i^2 over the simplex: x_i = (1 / a_i) / sum_j (1 / a_j)."""
    a = np.array([[1.0, 2.0, 4.0, 8.0], [3.0, 1.0, 1.0, 0.5]])
    x = _param(np.full((2, 4), 0.25))
    opt = optim.MirrorDescent([x], lr=0.5, domain="simplex", dim=1)
    for _ in range(500):
        opt.zero_grad()
        (hg.tensor(a) * x * x).sum().backward()
        opt.step()
        assert (x.detach().numpy() > 0).all()
        np.testing.assert_allclose(x.detach().numpy().sum(1), 1.0, rtol=1e-12)
    want = (1 / a) / (1 / a).sum(1, keepdims=True)
    np.testing.assert_allclose(x.detach().numpy(), want, atol=1e-8)


def test_mirror_descent_rejects_points_outside_the_domain():
    with pytest.raises(ValueError, match=r"strictly inside the box \(0, 1\)"):
        x = _param([0.5, 1.0])
        x.grad = hg.tensor([1.0, 1.0])
        optim.MirrorDescent([x], lr=0.1).step()
    with pytest.raises(ValueError, match="sum to 1"):
        x = _param([0.5, 0.6])
        x.grad = hg.tensor([1.0, 1.0])
        optim.MirrorDescent([x], lr=0.1, domain="simplex").step()


# ---- diagonal preconditioning (problem set 001, Q7) -------------------------------------------

A = np.array([1.0, 0.1, 0.01])


def _q7(opt_factory, steps, epoch=False):
    theta = _param(np.zeros(3))
    opt = opt_factory([theta])
    a = hg.tensor(A)
    for s in range(steps):
        opt.zero_grad()
        ((1 - (a * theta).sum()) ** 2).backward()
        opt.step()
        if epoch and s % 10 == 9:
            opt.end_epoch()
    return theta.detach().numpy(), opt


def test_q7_plain_sgd_goes_to_the_min_norm_solution():
    theta, _ = _q7(lambda p: optim.SGD(p, lr=0.4), 200)
    np.testing.assert_allclose(theta, A / (A @ A), rtol=1e-10)


def test_q7_fixed_inverse_rms_preconditioner_goes_to_ones_over_1_11():
    theta, _ = _q7(lambda p: optim.PreconditionedSGD(p, lr=0.2, preconditioner=[1 / A]), 300)
    np.testing.assert_allclose(theta, np.ones(3) / 1.11, rtol=1e-10)


def test_q7_running_rms_preconditioner_moves_along_ones_to_the_same_point():
    """The gradients 2 (1 - a.theta) a all point along a, so the RMS preconditioner is
    diag(1/|a_i|) up to a scalar from the first step on, and every update is along (1, 1, 1)."""
    theta, opt = _q7(lambda p: optim.PreconditionedSGD(p, lr=0.01, alpha=0.9), 5)
    d = opt.diagonal(opt.param_groups[0]["params"][0])
    np.testing.assert_allclose(d * A, (d * A)[0], rtol=1e-5)  # M proportional to diag(1/|a|)
    np.testing.assert_allclose(theta, theta[0], rtol=1e-5)  # eps = 1e-8 breaks exactness
    theta, opt = _q7(lambda p: optim.PreconditionedSGD(p, lr=0.01, alpha=0.9), 2000)
    np.testing.assert_allclose(theta, np.ones(3) / 1.11, rtol=1e-4)


def test_q7_epoch_preconditioner():
    """M = I during the first epoch (plain SGD steps), then M = 1 / (RMS of that epoch's
    gradients + eps), recomputed at each ``end_epoch()``. On this noise-free problem the
    gradients vanish near the solution, so M grows without bound: like Adam without a decaying
    rate, the per-epoch RMS preconditioner needs a small or decreasing lr to settle."""
    theta = _param(np.zeros(3))
    opt = optim.PreconditionedSGD([theta], lr=0.1, preconditioner="epoch")
    ref = _param(np.zeros(3))
    sgd = optim.SGD([ref], lr=0.1)
    a = hg.tensor(A)
    grads = []
    for _ in range(10):
        for p, o in ((theta, opt), (ref, sgd)):
            o.zero_grad()
            ((1 - (a * p).sum()) ** 2).backward()
        grads.append(theta.grad.numpy().copy())
        opt.step()
        sgd.step()
    np.testing.assert_array_equal(theta.detach().numpy(), ref.detach().numpy())
    opt.end_epoch()
    want = 1 / (np.sqrt((np.array(grads) ** 2).mean(0)) + 1e-8)
    np.testing.assert_allclose(opt.diagonal(theta), want, rtol=1e-12)
    np.testing.assert_allclose(want * A, (want * A)[0], rtol=1e-5)  # again diag(1/|a|) * const
    with pytest.raises(RuntimeError, match="only for preconditioner='epoch'"):
        optim.PreconditionedSGD([_param([1.0])], lr=0.1).end_epoch()


def test_preconditioner_shape_errors():
    with pytest.raises(ValueError, match=r"preconditioner 0 of shape \(4,\) does not broadcast"):
        optim.PreconditionedSGD([_param(np.zeros(3))], lr=0.1, preconditioner=[np.ones(4)])
    with pytest.raises(ValueError, match="got 2 preconditioner arrays for 1 parameters"):
        optim.PreconditionedSGD(
            [_param(np.zeros(3))], lr=0.1, preconditioner=[np.ones(3), np.ones(3)]
        )


# ---- the decreasing rate of online k-means (problem set 002, Assignment 8) --------------------


def _online_kmeans(decreasing, steps=3000):
    r = np.random.default_rng(6)
    centres_true = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    labels = r.integers(0, 3, steps)
    data = centres_true[labels] + r.standard_normal((steps, 2))
    y = nn.Parameter(np.array([[1.0, 1.0], [4.0, 4.0], [1.0, 5.0]]))
    opt = optim.SGD([y], lr=0.05)
    sched = optim.lr_scheduler.InverseTimeLR(opt, decay=0.01) if decreasing else None
    track = []
    for x in data:
        opt.zero_grad()
        d = ((hg.tensor(x) - y) ** 2).sum(1)
        d[int(d.argmin().item())].backward()  # f(y) = min_k ||x - y_k||^2
        opt.step()
        if sched:
            sched.step()
        track.append(y.detach().numpy().copy())
    batch_means = np.stack([data[labels == k].mean(0) for k in range(3)])
    return np.array(track), batch_means


def test_inverse_time_rate_lets_online_kmeans_settle():
    track_dec, means = _online_kmeans(True)
    track_const, _ = _online_kmeans(False)
    # with the decreasing rate the centres settle near the cluster means; with a constant one
    # they keep jittering: compare the spread of the last 500 iterates
    jitter_dec = track_dec[-500:].std(0).max()
    jitter_const = track_const[-500:].std(0).max()
    assert jitter_dec < 0.3 * jitter_const
    np.testing.assert_allclose(track_dec[-1], means, atol=0.15)


def test_mirror_descent_state_dict_round_trip_is_exact():
    """The float64 dual variables of float32 parameters survive a save/load unchanged."""

    def run(x, opt, steps):
        for _ in range(steps):
            x.grad = hg.tensor(np.array([1.0, -1.0, 2.0], np.float32))
            opt.step()

    x = nn.Parameter(np.full(3, 0.3, np.float32))
    opt = optim.MirrorDescent([x], lr=0.5)
    run(x, opt, 5)
    y = nn.Parameter(x.detach().numpy().copy())
    resumed = optim.MirrorDescent([y], lr=0.5)
    resumed.load_state_dict(opt.state_dict())
    run(x, opt, 5)
    run(y, resumed, 5)
    np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())
