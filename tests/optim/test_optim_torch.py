"""The optimizers PyTorch has, against torch.optim: the same model (weights copied), data and
hyper-parameters, 100 steps each framework computing its own gradients; every parameter must
follow torch's trajectory. Also parameter groups, state-dict round trips, the schedulers' lr
sequences, and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import handgrad as hg
from handgrad import nn, optim

torch.set_num_threads(1)
STEPS = 100
# float64: each framework computes its own gradients (forward, backward, step), end to end; the
# trajectories agree to ~1e-12. float32: both optimizers are fed the same gradients (torch's), so
# the comparison isolates the update arithmetic; they agree to ~1 ulp (measured max 8e-7 after
# 100 steps). With each framework's own float32 gradients, last-bit differences in the gradients
# are amplified by the normalised updates g / sqrt(v) of RMSprop and Adagrad where a gradient
# coordinate is near zero (measured up to 4e-4 after 100 steps for RMSprop(momentum=0.5)), which
# says nothing about the optimizer; plain SGD and Adam stay within 2e-6 even then.
TOL = {np.float32: dict(rtol=1e-5, atol=2e-6), np.float64: dict(rtol=1e-9, atol=1e-11)}

CONFIGS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.01)),
    ("SGD", dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.001, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-3)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, betas=(0.5, 0.9))),
    ("Adam", dict(lr=0.001, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.005)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5)),
    (
        "RMSprop",
        dict(lr=0.002, alpha=0.9, eps=1e-4, centered=True, momentum=0.3, weight_decay=0.01),
    ),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-5)),
    # (the new optimizers' configurations are in a stable regime: in an oscillating one, e.g.
    # NAdam(lr=0.01, betas=(0.8, 0.95)), last-bit differences, torch rounding its lerp/addcmul
    # through fused multiply-adds, grow 4x per step and pass 1e-9 after 90 steps)
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05)),
    ("Adadelta", dict(lr=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-4, weight_decay=0.05)),
    ("Adamax", dict(lr=0.001, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.003, betas=(0.8, 0.95), momentum_decay=0.01, weight_decay=0.05)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.001, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.005, betas=(0.7, 0.95), weight_decay=0.05)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.001, maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=20, weight_decay=0.01)),
    ("ASGD", dict(lr=0.001, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.001, etas=(0.3, 1.5), step_sizes=(1e-4, 0.05))),
    ("Rprop", dict(lr=0.0001, step_sizes=(1e-6, 1e-3), maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.05)),
    ("Adafactor", dict(lr=0.005, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CONFIGS]


def _data(dtype):
    r = np.random.default_rng(0)
    x = r.standard_normal((16, 4))
    y = np.sin(x @ r.standard_normal((4, 3)))
    return x.astype(dtype), y.astype(dtype)


def _models(dtype, seed=0):
    torch.manual_seed(seed)
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    t = t.double() if dtype == np.float64 else t.float()
    h = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)
    hg.load_torch_state_dict(h, t.state_dict())
    return h, t


def _step_both(h, t, oh, ot, x, y, shared_grads=False):
    def closure_t():
        ot.zero_grad()
        loss = torch.nn.functional.mse_loss(t(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        return loss

    def closure_h():
        oh.zero_grad()
        loss = nn.functional.mse_loss(h(hg.tensor(x)), hg.tensor(y))
        loss.backward()
        if shared_grads:
            for p, tp in zip(h.parameters(), t.parameters()):
                p.grad = hg.tensor(tp.grad.numpy().copy())
        return loss

    lt = ot.step(closure_t)
    lh = oh.step(closure_h)
    return lh.item(), lt.item()


def _assert_params(h, t, tol, what):
    for (name, p), tp in zip(h.named_parameters(), t.parameters()):
        np.testing.assert_allclose(
            p.detach().numpy(), tp.detach().numpy(), **tol, err_msg=f"{what}: {name}"
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(name, kw, dtype):
    x, y = _data(dtype)
    h, t = _models(dtype)
    oh, ot = (
        getattr(optim, name)(h.parameters(), **kw),
        getattr(torch.optim, name)(t.parameters(), **kw),
    )
    tol = TOL[dtype]
    for step in range(STEPS):
        lh, lt = _step_both(h, t, oh, ot, x, y, shared_grads=dtype == np.float32)
        if step % 10 == 9:
            _assert_params(h, t, tol, f"{name} step {step + 1}")
    np.testing.assert_allclose(lh, lt, rtol=1e-4 if dtype == np.float32 else 1e-9)
    # the parameters really moved (the comparison is not between two idle models)
    h0, _ = _models(dtype)
    moved = max(
        np.abs(p.detach().numpy() - p0.detach().numpy()).max()
        for p, p0 in zip(h.parameters(), h0.parameters())
    )
    assert moved > 1e-3


@pytest.mark.parametrize(
    "name,kw",
    [
        ("SGD", dict(lr=0.05, momentum=0.9)),
        ("Adam", dict(lr=0.01, amsgrad=True)),
        ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)),
    ],
)
def test_param_groups_with_different_lr_match_torch(name, kw):
    x, y = _data(np.float64)
    h, t = _models(np.float64)
    kw = dict(kw)
    lr = kw.pop("lr")
    groups_h = [{"params": h[0].parameters(), "lr": lr * 3}, {"params": h[2].parameters()}]
    groups_t = [{"params": t[0].parameters(), "lr": lr * 3}, {"params": t[2].parameters()}]
    oh = getattr(optim, name)(groups_h, lr=lr, **kw)
    ot = getattr(torch.optim, name)(groups_t, lr=lr, **kw)
    assert [g["lr"] for g in oh.param_groups] == [lr * 3, lr]
    for _ in range(50):
        _step_both(h, t, oh, ot, x, y)
    _assert_params(h, t, TOL[np.float64], f"{name} groups")
    # a group added later (a layer unfrozen mid-training)
    h2, t2 = _models(np.float64, seed=1)
    oh.add_param_group({"params": h2.parameters(), "lr": lr / 2})
    ot.add_param_group({"params": t2.parameters(), "lr": lr / 2})
    assert oh.param_groups[-1]["lr"] == lr / 2
    with pytest.raises(ValueError, match="more than one parameter group"):
        oh.add_param_group({"params": h2[0].parameters()})


# ---- state dicts ------------------------------------------------------------------------------

ROUND_TRIP = CONFIGS[1::2] + [
    ("EWA", dict(lr=0.1, q=0.2, debias=True)),
    ("ProximalSGD", dict(lr=0.05, prox="l1", lam=0.01, q=0.3)),
    ("FISTA", dict(lr=0.05, lam=0.001)),
    ("PreconditionedSGD", dict(lr=0.01)),
    ("PreconditionedSGD", dict(lr=0.01, preconditioner="epoch")),
]


@pytest.mark.parametrize("name,kw", ROUND_TRIP, ids=[f"{n}{kw}" for n, kw in ROUND_TRIP])
def test_state_dict_round_trip_resumes_identical_trajectory(name, kw, tmp_path):
    x, y = _data(np.float32)

    def train(model, opt, steps):
        for s in range(steps):
            opt.zero_grad()
            nn.functional.mse_loss(model(hg.tensor(x)), hg.tensor(y)).backward()
            opt.step()
            if name == "PreconditionedSGD" and s % 10 == 9 and kw.get("preconditioner"):
                opt.end_epoch()

    h, _ = _models(np.float32)
    straight = getattr(optim, name)(h.parameters(), **kw)
    train(h, straight, 60)

    h1, _ = _models(np.float32)
    first = getattr(optim, name)(h1.parameters(), **kw)
    train(h1, first, 30)
    hg.save(
        {"model": h1.state_dict(), "optimizer": first.state_dict(), "step": 30},
        tmp_path / "ckpt.npz",
    )
    train(h1, first, 5)  # later steps must not leak into the saved checkpoint

    ckpt = hg.load(tmp_path / "ckpt.npz")
    h2, _ = _models(np.float32, seed=5)
    h2.load_state_dict(ckpt["model"])
    resumed = getattr(optim, name)(h2.parameters(), **kw)
    resumed.load_state_dict(ckpt["optimizer"])
    assert ckpt["step"] == 30
    train(h2, resumed, 30)
    for p, q in zip(h.parameters(), h2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_torch_optimizer_state_dict_loads_into_handgrad():
    """The layouts agree: a torch Adam checkpoint continues in handgrad on torch's path."""
    x, y = _data(np.float64)
    h, t = _models(np.float64)
    ot = torch.optim.Adam(t.parameters(), lr=0.01, amsgrad=True)
    oh = optim.Adam(h.parameters(), lr=0.01, amsgrad=True)
    for _ in range(20):
        _step_both(h, t, oh, ot, x, y)
    h2, _ = _models(np.float64, seed=3)
    hg.load_torch_state_dict(h2, t.state_dict())
    oh2 = optim.Adam(h2.parameters(), lr=0.01, amsgrad=True)
    oh2.load_state_dict(ot.state_dict())
    for _ in range(20):
        _step_both(h2, t, oh2, ot, x, y)
    _assert_params(h2, t, TOL[np.float64], "resumed from torch")


def test_load_state_dict_mismatch_lists_problems():
    h, _ = _models(np.float32)
    opt = optim.Adam(h.parameters())
    h(hg.randn(2, 4)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    o2 = optim.Adam(other.parameters())
    with pytest.raises(ValueError) as e:
        o2.load_state_dict(sd)
    msg = str(e.value)
    assert "parameter 2 state 'exp_avg': shape (3, 8) vs parameter (2, 8)" in msg
    assert "parameter 3 state 'exp_avg': shape (3,) vs parameter (2,)" in msg
    with pytest.raises(
        ValueError,
        match=r"group sizes \[4\] in the state dict do not match "
        r"the optimizer's \[3\]",
    ):
        optim.Adam(list(other.parameters())[:3]).load_state_dict(sd)
    with pytest.raises(ValueError, match="has 2 parameter groups but the optimizer has 1"):
        o2.load_state_dict({"state": {}, "param_groups": sd["param_groups"] * 2})


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: optim.Adam([{"params": []}]), "empty parameter list"),
        (lambda p: optim.SGD(p, lr=-0.1), r"invalid learning rate lr=-0.1"),
        (lambda p: optim.Adam(p, lr=-1e-3), r"invalid learning rate lr=-0.001"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), r"invalid momentum=-0.5"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires momentum > 0"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), r"invalid weight_decay=-1"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"beta parameter at index 0=1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"beta parameter at index 1=-0.1"),
        (lambda p: optim.AdamW(p, eps=-1e-8), r"invalid eps=-1e-08"),
        (lambda p: optim.RMSprop(p, alpha=1.5), r"invalid alpha=1.5"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), r"invalid lr_decay=-0.1"),
        (lambda p: optim.EWA(p, lr=0.1, q=0.0), r"invalid q=0.0"),
        (lambda p: optim.EWA(p), "didn't specify a value of required optimization parameter lr"),
        (lambda p: optim.ProximalSGD(p, lr=0.1, lam=-1), r"invalid lam=-1"),
        (lambda p: optim.ProximalSGD(p, lr=0.1, prox="l3"), "unknown prox='l3'"),
        (lambda p: optim.MirrorDescent(p, lr=0.1, domain="ball"), "domain must be one of"),
        (lambda p: optim.PreconditionedSGD(p, lr=0.1, preconditioner="adam"), "must be 'rms'"),
    ],
)
def test_invalid_arguments_raise_naming_the_value(make, match):
    params = list(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match=match):
        make(params)


def test_non_leaf_and_single_tensor_and_duplicates():
    w = hg.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"can't optimize a non-leaf Tensor \(parameter 1"):
        optim.SGD([w, w * 2], lr=0.1)
    with pytest.raises(TypeError, match="got a single Tensor of shape"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="the same tensor twice"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(TypeError, match="only floating tensors"):
        optim.SGD([hg.tensor([1, 2])], lr=0.1)


def test_zero_grad_and_skipping_params_without_grad():
    a, b = hg.randn(3, requires_grad=True), hg.randn(3, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    (a * 2).sum().backward()
    before = b.detach().numpy().copy()
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), before)
    assert b not in opt.state
    opt.zero_grad(set_to_none=False)
    assert not a.grad.numpy().any()
    opt.zero_grad()
    assert a.grad is None
    assert "momentum: 0.9" in repr(opt)


def test_step_bumps_version_so_stale_graphs_are_refused():
    w = hg.randn(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


# ---- schedulers -------------------------------------------------------------------------------

SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.8, total_iters=8)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95**e + 0.01 * (e % 3))),
]


def _two_group_optimizers():
    h, t = _models(np.float64)
    oh = optim.SGD(
        [{"params": h[0].parameters(), "lr": 0.3}, {"params": h[2].parameters()}],
        lr=0.1,
        momentum=0.9,
    )
    ot = torch.optim.SGD(
        [{"params": t[0].parameters(), "lr": 0.3}, {"params": t[2].parameters()}],
        lr=0.1,
        momentum=0.9,
    )
    return oh, ot


@pytest.mark.parametrize(
    "name,kw", SCHEDULERS, ids=[s[0] + str(i) for i, s in enumerate(SCHEDULERS)]
)
def test_scheduler_lr_sequence_matches_torch(name, kw):
    oh, ot = _two_group_optimizers()
    sh = getattr(optim.lr_scheduler, name)(oh, **kw)
    st = getattr(torch.optim.lr_scheduler, name)(ot, **kw)
    seq_h, seq_t = [sh.get_last_lr()], [st.get_last_lr()]
    for _ in range(25):
        oh.step()
        ot.step()
        sh.step()
        st.step()
        seq_h.append(sh.get_last_lr())
        seq_t.append(st.get_last_lr())
    np.testing.assert_allclose(seq_h, seq_t, rtol=1e-12, atol=1e-15)
    assert [g["lr"] for g in oh.param_groups] == seq_h[-1]
    if hasattr(sh, "_get_closed_form_lr") and name != "CosineAnnealingLR":
        np.testing.assert_allclose(sh._get_closed_form_lr(), seq_h[-1], rtol=1e-12)


def test_chained_schedulers_and_inverse_time_match_torch():
    oh, ot = _two_group_optimizers()
    hs = [optim.lr_scheduler.ExponentialLR(oh, 0.9), optim.lr_scheduler.StepLR(oh, 4, 0.5)]
    ts = [
        torch.optim.lr_scheduler.ExponentialLR(ot, 0.9),
        torch.optim.lr_scheduler.StepLR(ot, 4, 0.5),
    ]
    for _ in range(15):
        oh.step(), ot.step()
        for s in hs + ts:
            s.step()
    np.testing.assert_allclose(hs[-1].get_last_lr(), ts[-1].get_last_lr(), rtol=1e-12)

    oh, ot = _two_group_optimizers()
    sh = optim.lr_scheduler.InverseTimeLR(oh, decay=0.5, power=0.75)
    st = torch.optim.lr_scheduler.LambdaLR(ot, lambda e: 1 / (1 + 0.5 * e) ** 0.75)
    for _ in range(20):
        oh.step(), ot.step(), sh.step(), st.step()
        np.testing.assert_allclose(sh.get_last_lr(), st.get_last_lr(), rtol=1e-12)


def test_scheduler_state_dict_round_trip():
    oh, _ = _two_group_optimizers()
    s = optim.lr_scheduler.CosineAnnealingLR(oh, T_max=10)
    for _ in range(4):
        s.step()
    sd = s.state_dict()
    lrs = [s.get_last_lr()]
    for _ in range(3):
        s.step()
        lrs.append(s.get_last_lr())
    oh2, _ = _two_group_optimizers()
    for g, lr in zip(oh2.param_groups, lrs[0]):
        g["lr"] = lr
    s2 = optim.lr_scheduler.CosineAnnealingLR(oh2, T_max=10)
    s2.load_state_dict(sd)
    for want in lrs[1:]:
        s2.step()
        assert s2.get_last_lr() == want
    with pytest.raises(ValueError, match=r"invalid T_max=0"):
        optim.lr_scheduler.CosineAnnealingLR(oh2, T_max=0)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("NAdam", dict(lr=0.01)),
        ("ASGD", dict(lr=0.05, t0=5)),
        ("Rprop", dict(lr=0.001)),
        ("Adadelta", dict(lr=0.5)),
        ("Adamax", dict(lr=0.01)),
        ("RAdam", dict(lr=0.01)),
        ("Adafactor", dict(lr=0.05, eps=(None, 0.05))),
    ],
)
def test_torch_state_dicts_of_the_other_optimizers_continue_in_handgrad(name, kw):
    """torch keeps scalar state (step, NAdam's mu_product, ASGD's eta and mu) as 0-d tensors;
    loaded into handgrad, the trajectory continues on torch's path, and ASGD's average too."""
    x, y = _data(np.float64)
    h, t = _models(np.float64)
    ot = getattr(torch.optim, name)(t.parameters(), **kw)
    for _ in range(20):
        _step_both(h, t, getattr(optim, name)(h.parameters(), **kw), ot, x, y)
    h2, _ = _models(np.float64, seed=3)
    hg.load_torch_state_dict(h2, t.state_dict())
    oh = getattr(optim, name)(h2.parameters(), **kw)
    oh.load_state_dict(ot.state_dict())
    for _ in range(20):
        _step_both(h2, t, oh, ot, x, y)
    _assert_params(h2, t, TOL[np.float64], f"{name} resumed from torch")
    if name == "ASGD":
        for p, tp in zip(h2.parameters(), t.parameters()):
            np.testing.assert_allclose(
                oh.state[p]["ax"].numpy(), ot.state[tp]["ax"].numpy(), **TOL[np.float64]
            )


@pytest.mark.parametrize(
    "name",
    [
        "SGD",
        "Adam",
        "AdamW",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "NAdam",
        "RAdam",
        "ASGD",
        "Rprop",
        "LBFGS",
        "Adafactor",
    ],
)
def test_signatures_are_torchs(name):
    """Names, order, kinds (positional or keyword-only) and defaults, as torch.optim's."""
    import inspect

    def sig(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]

    assert sig(getattr(optim, name)) == sig(getattr(torch.optim, name))
    w = hg.zeros(2, requires_grad=True)
    if name not in ("LBFGS", "Adafactor"):  # (torch has no differentiable= on these)
        with pytest.raises(NotImplementedError, match="differentiable=True"):
            getattr(optim, name)([w], differentiable=True)


def test_adam_decoupled_weight_decay_is_adamw():
    x, y = _data(np.float64)
    h, t = _models(np.float64)
    oh = optim.Adam(h.parameters(), lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)
    ot = torch.optim.AdamW(t.parameters(), lr=0.01, weight_decay=0.1)
    for _ in range(30):
        _step_both(h, t, oh, ot, x, y)
    _assert_params(h, t, TOL[np.float64], "Adam(decoupled_weight_decay=True)")


# ---- more objectives for the optimizers added with the torch.optim surface -----------------


def _rosenbrock(lib, xy):
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


def _logistic(lib, w, b, x, y):
    return lib.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)


OBJECTIVE_CONFIGS = [
    ("Adadelta", dict(lr=0.5)),
    ("Adamax", dict(lr=0.01, weight_decay=0.01)),
    ("NAdam", dict(lr=0.005)),
    ("NAdam", dict(lr=0.005, weight_decay=0.01, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.005)),
    ("ASGD", dict(lr=0.0005, t0=30)),
    ("Rprop", dict(lr=0.001)),
    ("Adam", dict(lr=0.005, amsgrad=True)),
    ("Adafactor", dict(lr=0.05, eps=(None, 0.05))),
]


@pytest.mark.parametrize("objective", ["rosenbrock", "logistic"])
@pytest.mark.parametrize(
    "name,kw", OBJECTIVE_CONFIGS, ids=[f"{n}{kw}" for n, kw in OBJECTIVE_CONFIGS]
)
def test_trajectory_on_other_objectives(name, kw, objective):
    """Rosenbrock's curved valley from (-1.2, 1) and a logistic regression, float64, each
    framework with its own gradients: 100 steps on torch's path."""
    r = np.random.default_rng(4)
    x = r.standard_normal((40, 3))
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3 * r.standard_normal(40) > 0).astype(float)

    def run(lib):
        if objective == "rosenbrock":
            params = [lib.tensor([-1.2, 1.0], dtype=lib.float64, requires_grad=True)]
            loss_fn = lambda: _rosenbrock(lib, params[0])  # noqa: E731
        else:
            params = [
                lib.tensor(np.zeros(3), requires_grad=True),
                lib.tensor(0.0, dtype=lib.float64, requires_grad=True),
            ]
            loss_fn = lambda: _logistic(lib, *params, lib.tensor(x), lib.tensor(y))  # noqa: E731
        opt = getattr(lib.optim, name)(params, **kw)
        trace = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
            trace.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        return np.array(trace), loss.item()

    (th, lh), (tt, lt) = run(hg), run(torch)
    np.testing.assert_allclose(th, tt, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(lh, lt, rtol=1e-9)
    assert np.abs(th[-1] - th[0]).max() > 1e-3  # it moved
