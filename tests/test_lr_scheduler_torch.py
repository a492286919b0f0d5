"""The schedulers added beside the basic ones (ConstantLR, MultiplicativeLR, PolynomialLR,
CosineAnnealingWarmRestarts, OneCycleLR, SequentialLR, ChainedScheduler, ReduceLROnPlateau)
drive the same lr (and cycled momentum) sequence as torch.optim.lr_scheduler, group by group."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)


def _optimizers(kind: str):
    """The same two param groups (different lrs) in both libraries."""
    a, b = np.ones(3), np.ones(2)
    tp = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    hp = [hg.tensor(a, requires_grad=True), hg.tensor(b, requires_grad=True)]
    groups = lambda p: [{"params": [p[0]]}, {"params": [p[1]], "lr": 0.05}]  # noqa: E731
    if kind == "adam":
        return hg.optim.Adam(groups(hp), lr=0.1), torch.optim.Adam(groups(tp), lr=0.1)
    return (hg.optim.SGD(groups(hp), lr=0.1, momentum=0.9),
            torch.optim.SGD(groups(tp), lr=0.1, momentum=0.9))


def _build(lib, opt, name, kw):
    sched = lib.optim.lr_scheduler
    if name == "SequentialLR":
        first = sched.LinearLR(opt, start_factor=0.1, total_iters=4)
        second = (sched.CosineAnnealingLR(opt, T_max=7) if kw.get("cosine")
                  else sched.ExponentialLR(opt, gamma=0.9))
        return sched.SequentialLR(opt, [first, second], milestones=[5])
    if name == "ChainedScheduler":
        return sched.ChainedScheduler([sched.ConstantLR(opt, factor=0.5, total_iters=3),
                                       sched.ExponentialLR(opt, gamma=0.95)])
    if name == "MultiplicativeLR":
        return sched.MultiplicativeLR(opt, lr_lambda=lambda e: 0.9 + 0.01 * (e % 3))
    return getattr(sched, name)(opt, **kw)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


CONFIGS = [
    ("ConstantLR", {}, "sgd", 12),
    ("ConstantLR", {"factor": 0.25, "total_iters": 3}, "sgd", 8),
    ("MultiplicativeLR", {}, "sgd", 20),
    ("PolynomialLR", {"total_iters": 10, "power": 2.0}, "sgd", 15),
    ("CosineAnnealingWarmRestarts", {"T_0": 5}, "sgd", 30),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.001}, "sgd", 40),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": 60}, "sgd", 60),
    ("OneCycleLR", {"max_lr": 0.3, "epochs": 4, "steps_per_epoch": 25,
                    "anneal_strategy": "linear", "three_phase": True}, "sgd", 100),
    ("OneCycleLR", {"max_lr": 0.01, "total_steps": 50, "pct_start": 0.25}, "adam", 50),
    ("OneCycleLR", {"max_lr": 0.01, "total_steps": 30, "cycle_momentum": False}, "adam", 30),
    ("SequentialLR", {}, "sgd", 20),
    ("SequentialLR", {"cosine": True}, "sgd", 25),
    ("ChainedScheduler", {}, "sgd", 15),
]


@pytest.mark.parametrize("name, kw, kind, steps", CONFIGS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_same_lr_and_momentum_sequence_as_torch(name, kw, kind, steps):
    h_opt, t_opt = _optimizers(kind)
    h, t = _build(hg, h_opt, name, kw), _build(torch, t_opt, name, kw)
    for step in range(steps + 1):
        np.testing.assert_allclose(h.get_last_lr(), t.get_last_lr(), rtol=1e-12,
                                   err_msg=f"{name} lr at step {step}")
        np.testing.assert_allclose([g["lr"] for g in h_opt.param_groups],
                                   [g["lr"] for g in t_opt.param_groups], rtol=1e-12)
        np.testing.assert_allclose(_momenta(h_opt), _momenta(t_opt), rtol=1e-12,
                                   err_msg=f"{name} momentum at step {step}")
        if step < steps:
            h_opt.step()
            t_opt.step()
            h.step()
            t.step()


def test_warm_restarts_with_fractional_epochs_as_torch():
    h_opt, t_opt = _optimizers("sgd")
    kw = {"T_0": 4, "T_mult": 2, "eta_min": 0.01}
    h = hg.optim.lr_scheduler.CosineAnnealingWarmRestarts(h_opt, **kw)
    t = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(t_opt, **kw)
    for epoch in np.arange(0, 30, 0.35):
        h.step(float(epoch))
        t.step(float(epoch))
        np.testing.assert_allclose(h.get_last_lr(), t.get_last_lr(), rtol=1e-12,
                                   err_msg=f"epoch {epoch}")


@pytest.mark.parametrize("kw", [
    {},
    {"mode": "max", "patience": 2, "factor": 0.5, "threshold_mode": "abs", "threshold": 0.01},
    {"patience": 1, "cooldown": 2, "min_lr": [0.02, 0.001], "factor": 0.3},
    {"patience": 0, "factor": 0.5, "min_lr": 0.04, "eps": 0.02},
])
def test_reduce_on_plateau_as_torch(kw):
    h_opt, t_opt = _optimizers("sgd")
    h = hg.optim.lr_scheduler.ReduceLROnPlateau(h_opt, **kw)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kw)
    # a metric that improves, plateaus with noise, improves again, plateaus
    r = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 8), 0.5 + 0.002 * r.standard_normal(20),
                              np.linspace(0.5, 0.2, 5), np.full(20, 0.2)])
    if kw.get("mode") == "max":
        metrics = -metrics
    changes = 0
    for i, m in enumerate(metrics):
        before = h.get_last_lr()
        h.step(m)
        t.step(float(m))
        np.testing.assert_allclose(h.get_last_lr(), t.get_last_lr(), rtol=1e-12,
                                   err_msg=f"step {i}")
        changes += h.get_last_lr() != before
    assert changes >= 1  # the sequence exercises a reduction


@pytest.mark.parametrize("name, kw, kind, steps", [CONFIGS[6], CONFIGS[10], CONFIGS[5]],
                         ids=["OneCycleLR", "SequentialLR", "WarmRestarts"])
def test_state_dict_resume_continues_identically(name, kw, kind, steps):
    h_opt, _ = _optimizers(kind)
    straight = _build(hg, h_opt, name, kw)
    lrs = []
    for _ in range(steps):
        h_opt.step()
        straight.step()
        lrs.append(straight.get_last_lr())

    opt1, _ = _optimizers(kind)
    first = _build(hg, opt1, name, kw)
    half = steps // 2
    for _ in range(half):
        opt1.step()
        first.step()
    saved_sched, saved_opt = first.state_dict(), opt1.state_dict()
    opt2, _ = _optimizers(kind)
    second = _build(hg, opt2, name, kw)
    opt2.load_state_dict(saved_opt)
    second.load_state_dict(saved_sched)
    resumed = lrs[:half]
    for _ in range(steps - half):
        opt2.step()
        second.step()
        resumed.append(second.get_last_lr())
    np.testing.assert_allclose(resumed, lrs, rtol=0, atol=0)


def test_plateau_state_dict_round_trip():
    opt, _ = _optimizers("sgd")
    s = hg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for m in (1.0, 0.9, 0.9):
        s.step(m)
    opt2, _ = _optimizers("sgd")
    s2 = hg.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=1)
    s2.load_state_dict(s.state_dict())
    for m in (0.9, 0.9, 0.9):
        s.step(m)
        s2.step(m)
    assert s2.best == s.best == 0.9 and s2.num_bad_epochs == s.num_bad_epochs


def test_one_cycle_refuses_to_step_past_total_steps():
    opt, _ = _optimizers("sgd")
    s = hg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match=r"OneCycleLR: tried to step 4 times, but total_steps is 3"):
        s.step()


@pytest.mark.parametrize("call, pattern", [
    (lambda o: hg.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1),
     r"OneCycleLR: define either total_steps or \(epochs and steps_per_epoch\)"),
    (lambda o: hg.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=0),
     r"OneCycleLR: invalid total_steps=0"),
    (lambda o: hg.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=1.5),
     r"OneCycleLR: invalid pct_start=1.5"),
    (lambda o: hg.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=5,
                                                anneal_strategy="exp"),
     r"OneCycleLR: invalid anneal_strategy='exp'"),
    (lambda o: hg.optim.lr_scheduler.OneCycleLR(o, max_lr=[0.1], total_steps=5),
     r"OneCycleLR: expected 2 values of max_lr, got 1"),
    (lambda o: hg.optim.lr_scheduler.ReduceLROnPlateau(o, mode="avg"),
     r"ReduceLROnPlateau: invalid mode='avg'"),
    (lambda o: hg.optim.lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
     r"ReduceLROnPlateau: invalid factor=1.0"),
    (lambda o: hg.optim.lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
     r"ReduceLROnPlateau: invalid threshold_mode='pct'"),
    (lambda o: hg.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
     r"CosineAnnealingWarmRestarts: invalid T_0=0"),
    (lambda o: hg.optim.lr_scheduler.ConstantLR(o, factor=2.0), r"ConstantLR: invalid factor=2.0"),
    (lambda o: hg.optim.lr_scheduler.SequentialLR(
        o, [hg.optim.lr_scheduler.ConstantLR(o)], milestones=[3]),
     r"SequentialLR: expected 0 milestones for 1 schedulers, got 1"),
])
def test_scheduler_errors(call, pattern):
    opt, _ = _optimizers("sgd")
    with pytest.raises(ValueError, match=pattern):
        call(opt)


def test_one_cycle_without_momentum_refuses_cycling():
    p = hg.tensor(np.ones(2), requires_grad=True)
    opt = hg.optim.Adagrad([p], lr=0.1)
    with pytest.raises(ValueError, match=r"OneCycleLR: cycle_momentum needs an optimizer"):
        hg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)
