"""Per-example gradients (problem set 003, Problem 3): equal to each example's gradient computed
on its own, their mean equal to the batch gradient; PerSampleAdam; the batch-size experiment."""

from __future__ import annotations

import numpy as np
import pytest

import handgrad as hg
from handgrad import nn, optim
from handgrad.func import PerSampleAdam, per_sample_grad


def _one_at_a_time(model, loss_fn, x, y):
    """The reference: a separate forward and backward pass per example."""
    out = {n: [] for n, _ in model.named_parameters()}
    for b in range(x.shape[0]):
        model.zero_grad()
        loss_fn(model(x[b : b + 1]), y[b : b + 1]).backward()
        for n, p in model.named_parameters():
            out[n].append(p.grad.numpy().copy())
    return {n: np.stack(v) for n, v in out.items()}


def _batch_grad(model, loss_fn, x, y):
    model.zero_grad()
    loss_fn(model(x), y).backward()
    return {n: p.grad.numpy().copy() for n, p in model.named_parameters()}


def _check(model, loss_fn, x, y, mean_is_batch=True, **kw):
    per = per_sample_grad(model, loss_fn, x, y, method="hooks", **kw)
    ref = _one_at_a_time(model, loss_fn, x, y)
    batch = _batch_grad(model, loss_fn, x, y)
    for name, g in per.items():
        assert g.shape == (x.shape[0],) + dict(model.named_parameters())[name].shape
        np.testing.assert_allclose(
            g.detach().numpy(), ref[name], rtol=1e-10, atol=1e-12, err_msg=name
        )
        agg = g.detach().numpy().mean(0) if mean_is_batch else g.detach().numpy().sum(0)
        np.testing.assert_allclose(agg, batch[name], rtol=1e-10, atol=1e-12, err_msg=name)
    return per


def test_problem_3b_formula_for_a_linear_layer():
    """W.grad[b, j, i] = y.grad[b, j] x[b, i], written as the seed's for-loop."""
    r = np.random.default_rng(0)
    x, gy = r.standard_normal((4, 3)), r.standard_normal((4, 2))
    layer = nn.Linear(3, 2, bias=False).double()
    per = (
        per_sample_grad(
            layer,
            lambda out, target: (out * target).sum(),
            hg.tensor(x),
            hg.tensor(gy),
            loss_reduction="sum",
        )["weight"]
        .detach()
        .numpy()
    )
    want = np.zeros((4, 2, 3))
    for b in range(4):
        for i in range(3):
            for j in range(2):
                want[b, j, i] += gy[b, j] * x[b, i]
    np.testing.assert_allclose(per, want, rtol=1e-14)


@pytest.mark.parametrize(
    "loss,target",
    [
        (nn.MSELoss(), "reg"),
        (nn.CrossEntropyLoss(), "cls"),
        (nn.CrossEntropyLoss(reduction="sum"), "cls"),
    ],
)
def test_mlp_per_sample_equals_one_at_a_time(loss, target):
    hg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 7), nn.Tanh(), nn.NormalizedLinear(7, 6), nn.GELU(), nn.Linear(6, 3)
    ).double()
    r = np.random.default_rng(1)
    x = hg.tensor(r.standard_normal((8, 5)))
    y = hg.tensor(r.standard_normal((8, 3))) if target == "reg" else hg.tensor(r.integers(0, 3, 8))
    _check(model, loss, x, y, mean_is_batch=loss.reduction == "mean")


def test_extra_dims_and_weight_sharing():
    hg.manual_seed(1)
    shared = nn.Linear(4, 4).double()
    model = nn.Sequential(shared, nn.Tanh(), shared, nn.Flatten(), nn.Linear(12, 2)).double()
    r = np.random.default_rng(2)
    x, y = hg.tensor(r.standard_normal((5, 3, 4))), hg.tensor(r.standard_normal((5, 2)))
    _check(model, nn.MSELoss(), x, y)


@pytest.mark.parametrize(
    "conv",
    [
        dict(cls="Conv2d", kw=dict(in_channels=2, out_channels=4, kernel_size=3, padding=1)),
        dict(
            cls="Conv2d",
            kw=dict(
                in_channels=2,
                out_channels=4,
                kernel_size=(2, 3),
                stride=2,
                dilation=(1, 2),
                groups=2,
            ),
        ),
        dict(
            cls="Conv2d",
            kw=dict(in_channels=2, out_channels=3, kernel_size=4, padding="same", bias=False),
        ),
        dict(
            cls="Conv1d",
            kw=dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=2, dilation=2),
        ),
        dict(
            cls="Conv1d",
            kw=dict(in_channels=2, out_channels=4, kernel_size=4, padding="same", groups=2),
        ),
    ],
    ids=["2d-pad", "2d-stride-dil-groups", "2d-same", "1d-dil", "1d-same-groups"],
)
def test_conv_per_sample_equals_one_at_a_time(conv):
    hg.manual_seed(2)
    layer = getattr(nn, conv["cls"])(**conv["kw"]).double()
    spatial = (7, 8) if conv["cls"] == "Conv2d" else (9,)
    r = np.random.default_rng(3)
    x = hg.tensor(r.standard_normal((5, 2) + spatial))
    with hg.no_grad():
        n_feat = layer(x).reshape(5, -1).shape[1]
    model = nn.Sequential(layer, nn.ReLU(), nn.Flatten(), nn.Linear(n_feat, 3)).double()
    y = hg.tensor(r.integers(0, 3, 5))
    _check(model, nn.CrossEntropyLoss(), x, y)


def test_auto_falls_back_to_the_loop_for_other_layers_and_hooks_refuse():
    hg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2)).double()
    r = np.random.default_rng(4)
    x, y = hg.tensor(r.standard_normal((4, 4))), hg.tensor(r.standard_normal((4, 2)))
    per = per_sample_grad(model, nn.MSELoss(), x, y)
    ref = _one_at_a_time(model, nn.MSELoss(), x, y)
    for name, g in per.items():
        np.testing.assert_allclose(g.detach().numpy(), ref[name], rtol=1e-10, atol=1e-12)
    with pytest.raises(NotImplementedError, match=r"not \['LayerNorm'\]; use method='loop'"):
        per_sample_grad(model, nn.MSELoss(), x, y, method="hooks")


def test_batchnorm_in_training_is_refused():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="BatchNorm1d in training mode, which mixes"):
        per_sample_grad(model, nn.MSELoss(), hg.randn(4, 3), hg.randn(4, 4))
    model.eval()
    per_sample_grad(model, nn.MSELoss(), hg.randn(4, 3), hg.randn(4, 4))


def test_set_grads_and_per_sample_adam():
    hg.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    x, y = hg.randn(6, 3).double(), hg.randn(6, 1).double()
    batch = _batch_grad(model, nn.MSELoss(), x, y)
    model.zero_grad()
    per = per_sample_grad(model, nn.MSELoss(), x, y, set_grads=True)
    for name, p in model.named_parameters():
        assert not hasattr(p, "grad_sample")  # returned, not stored on the parameter
        np.testing.assert_allclose(p.grad.numpy(), batch[name], rtol=1e-12)

    # with one example per batch the two second moments coincide: PerSampleAdam == Adam
    twin = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    twin.load_state_dict(model.state_dict())
    a = PerSampleAdam(model.parameters(), lr=0.01, amsgrad=True)
    b = optim.Adam(twin.parameters(), lr=0.01, amsgrad=True)
    for step in range(20):
        xb, yb = x[step % 6 : step % 6 + 1], y[step % 6 : step % 6 + 1]
        a.zero_grad(), b.zero_grad()
        per = per_sample_grad(model, nn.MSELoss(), xb, yb)
        nn.functional.mse_loss(twin(xb), yb).backward()
        a.step({p: per[name] for name, p in model.named_parameters()}), b.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10)

    before = [p.detach().numpy().copy() for p in model.parameters()]
    a.step({})  # parameters without per-example gradients are left alone
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), q)
    with pytest.raises(TypeError, match="must map each parameter"):
        a.step(list(per.values()))
    first = next(model.parameters())
    with pytest.raises(RuntimeError, match="do not match parameter 0"):
        a.step({first: hg.zeros(6, 1)})


def test_bad_arguments():
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="x has 4 examples but y has 3"):
        per_sample_grad(model, nn.MSELoss(), hg.randn(4, 3), hg.randn(3, 1))
    with pytest.raises(ValueError, match="loss_reduction must be"):
        per_sample_grad(model, nn.MSELoss(), hg.randn(4, 3), hg.randn(4, 1), loss_reduction="avg")


def test_second_moment_experiment():
    """Adam's v (the squared batch mean) shrinks like mu^2 + sigma^2 / B; the mean of per-example
    squares does not depend on B. Tolerances: each figure averages 100 batches of a noisy
    quantity, so 25% around its prediction is several standard errors."""
    from handgrad.exercises.experiments import second_moment_vs_batch_size

    rows = second_moment_vs_batch_size(batch_sizes=(1, 4, 16, 64, 256), n_batches=100)
    first, last = rows[0], rows[-1]
    assert first["batch_mean_sq"] > 8 * last["batch_mean_sq"]
    for r in rows:
        assert r["batch_mean_sq"] == pytest.approx(r["predicted_batch_mean_sq"], rel=0.25)
        assert r["per_example_sq"] == pytest.approx(r["predicted_per_example_sq"], rel=0.25)
        assert r["adam_v"] == pytest.approx(r["predicted_batch_mean_sq"], rel=0.35)
        assert r["per_sample_adam_v"] == pytest.approx(r["predicted_per_example_sq"], rel=0.35)
    assert first["adam_v"] == pytest.approx(first["per_sample_adam_v"], rel=1e-12)  # B = 1
