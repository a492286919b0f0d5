"""The schedulers beyond the basic ones (ConstantLR, MultiplicativeLR, PolynomialLR,
CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SequentialLR, ChainedScheduler,
ReduceLROnPlateau) drive the same lr (and cycled momentum) sequence as
torch.optim.lr_scheduler, group by group: fresh, resumed with ``last_epoch``, chained, and
continued after a state-dict round trip. Bad arguments raise where PyTorch raises, with a message
naming the scheduler and the value."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import handgrad as hg

torch.set_num_threads(1)
# PyTorch warns about the deprecated step(epoch), which these tests use on purpose
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _optimizers(kind: str):
    """The same two param groups (different lrs) in both libraries; the optimizers step with no
    gradients set, which both skip, so only the hyper-parameters move."""
    a, b = np.ones(3), np.ones(2)
    tp = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    hp = [hg.tensor(a, requires_grad=True), hg.tensor(b, requires_grad=True)]

    def groups(p):
        return [{"params": [p[0]]}, {"params": [p[1]], "lr": 0.05}]

    if kind == "adam":
        return hg.optim.Adam(groups(hp), lr=0.1), torch.optim.Adam(groups(tp), lr=0.1)
    if kind == "adagrad":
        return hg.optim.Adagrad(groups(hp), lr=0.1), torch.optim.Adagrad(groups(tp), lr=0.1)
    return (
        hg.optim.SGD(groups(hp), lr=0.1, momentum=0.9),
        torch.optim.SGD(groups(tp), lr=0.1, momentum=0.9),
    )


class Decay:
    """A callable object: its attribute is state that the scheduler's state_dict keeps."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, epoch: int) -> float:
        return self.rate + 0.01 * (epoch % 3)


# Each build(S, opt) takes the scheduler module (handgrad's or torch's) and returns the
# schedulers to step, in order; the last one's get_last_lr() is compared.
CONFIGS = {
    "ConstantLR": ("sgd", 60, lambda S, o: [S.ConstantLR(o)]),
    "ConstantLR-quarter": ("sgd", 60, lambda S, o: [S.ConstantLR(o, factor=0.25, total_iters=3)]),
    "MultiplicativeLR": (
        "sgd",
        80,
        lambda S, o: [
            S.MultiplicativeLR(o, lr_lambda=[lambda e: 0.9 + 0.01 * (e % 3), Decay(0.95)])
        ],
    ),
    "PolynomialLR": ("sgd", 60, lambda S, o: [S.PolynomialLR(o, total_iters=40, power=2.0)]),
    "PolynomialLR-default": ("adam", 60, lambda S, o: [S.PolynomialLR(o)]),
    "WarmRestarts": ("sgd", 60, lambda S, o: [S.CosineAnnealingWarmRestarts(o, T_0=5)]),
    "WarmRestarts-mult": (
        "sgd",
        120,
        lambda S, o: [S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)],
    ),
    "CyclicLR": (
        "sgd",
        100,
        lambda S, o: [S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=7)],
    ),
    "CyclicLR-triangular2": (
        "sgd",
        150,
        lambda S, o: [
            S.CyclicLR(
                o,
                base_lr=[0.01, 0.002],
                max_lr=[0.1, 0.05],
                step_size_up=5,
                step_size_down=9,
                mode="triangular2",
                base_momentum=[0.8, 0.7],
                max_momentum=[0.9, 0.95],
            )
        ],
    ),
    "CyclicLR-exp_range-adam": (
        "adam",
        120,
        lambda S, o: [
            S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=6, mode="exp_range", gamma=0.97)
        ],
    ),
    "CyclicLR-scale_fn": (
        "adagrad",
        80,
        lambda S, o: [
            S.CyclicLR(
                o,
                base_lr=0.01,
                max_lr=0.1,
                step_size_up=4,
                scale_fn=lambda x: 1 / (1 + 0.01 * x),
                scale_mode="iterations",
                cycle_momentum=False,
            )
        ],
    ),
    "OneCycleLR": ("sgd", 60, lambda S, o: [S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=60)]),
    "OneCycleLR-linear-3phase": (
        "sgd",
        100,
        lambda S, o: [
            S.OneCycleLR(
                o,
                max_lr=0.3,
                epochs=4,
                steps_per_epoch=25,
                anneal_strategy="linear",
                three_phase=True,
                base_momentum=[0.8, 0.85],
                max_momentum=[0.9, 0.99],
            )
        ],
    ),
    "OneCycleLR-adam": (
        "adam",
        80,
        lambda S, o: [
            S.OneCycleLR(o, max_lr=0.01, total_steps=80, pct_start=0.25, three_phase=True)
        ],
    ),
    "OneCycleLR-no-momentum": (
        "adam",
        60,
        lambda S, o: [S.OneCycleLR(o, max_lr=0.01, total_steps=60, cycle_momentum=False)],
    ),
    "SequentialLR": (
        "sgd",
        60,
        lambda S, o: [
            S.SequentialLR(
                o,
                [S.LinearLR(o, start_factor=0.1, total_iters=4), S.ExponentialLR(o, gamma=0.9)],
                milestones=[5],
            )
        ],
    ),
    "SequentialLR-cosine": (
        "sgd",
        60,
        lambda S, o: [
            S.SequentialLR(
                o,
                [S.LinearLR(o, start_factor=0.1, total_iters=4), S.CosineAnnealingLR(o, T_max=7)],
                milestones=[5],
            )
        ],
    ),
    # schedules that start (initial step) and restart (epoch 0) in their own ways
    "SequentialLR-three": (
        "sgd",
        80,
        lambda S, o: [
            S.SequentialLR(
                o,
                [
                    S.ExponentialLR(o, gamma=0.8),
                    S.CosineAnnealingWarmRestarts(o, T_0=4),
                    S.MultiplicativeLR(o, lambda e: 0.97),
                ],
                milestones=[6, 30],
            )
        ],
    ),
    "SequentialLR-cosine-first": (
        "sgd",
        60,
        lambda S, o: [
            S.SequentialLR(
                o,
                [S.CosineAnnealingLR(o, T_max=10), S.ConstantLR(o, factor=0.5, total_iters=10)],
                milestones=[12],
            )
        ],
    ),
    # PyTorch can start a SequentialLR with a ChainedScheduler, not switch to one
    "SequentialLR-nested": (
        "sgd",
        60,
        lambda S, o: [
            S.SequentialLR(
                o,
                [
                    S.ChainedScheduler(
                        [S.ConstantLR(o, factor=0.2, total_iters=3), S.ExponentialLR(o, 0.9)]
                    ),
                    S.PolynomialLR(o, total_iters=30),
                ],
                milestones=[8],
            )
        ],
    ),
    "ChainedScheduler-of-SequentialLR": (
        "sgd",
        60,
        lambda S, o: [
            S.ChainedScheduler(
                [
                    S.SequentialLR(
                        o,
                        [
                            S.ConstantLR(o, factor=0.2, total_iters=3),
                            S.PolynomialLR(o, total_iters=30),
                        ],
                        milestones=[8],
                    ),
                    S.ExponentialLR(o, 0.99),
                ]
            )
        ],
    ),
    "ChainedScheduler": (
        "sgd",
        60,
        lambda S, o: [
            S.ChainedScheduler(
                [S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.95)]
            )
        ],
    ),
    "ChainedScheduler-three": (
        "adam",
        60,
        lambda S, o: [
            S.ChainedScheduler(
                [
                    S.PolynomialLR(o, total_iters=30, power=0.5),
                    S.MultiplicativeLR(o, lambda e: 0.99),
                    S.CosineAnnealingLR(o, T_max=20),
                ],
                optimizer=o,
            )
        ],
    ),
    # two schedulers stepped one after the other on one optimizer, without ChainedScheduler
    "two-on-one": (
        "sgd",
        60,
        lambda S, o: [
            S.ConstantLR(o, factor=0.1, total_iters=10),
            S.PolynomialLR(o, total_iters=50, power=1.5),
        ],
    ),
}


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _run(opt, scheds, steps):
    """(lrs, momenta) after construction and after each of ``steps`` steps."""
    seq = [(scheds[-1].get_last_lr(), _momenta(opt))]
    for _ in range(steps):
        opt.step()
        for s in scheds:
            s.step()
        seq.append((scheds[-1].get_last_lr(), _momenta(opt)))
    return seq


def _assert_same(h_seq, t_seq, what):
    for step, ((hl, hm), (tl, tm)) in enumerate(zip(h_seq, t_seq, strict=True)):
        np.testing.assert_allclose(hl, tl, rtol=1e-12, err_msg=f"{what}: lr at step {step}")
        if tm[0] is not None:
            np.testing.assert_allclose(
                hm, tm, rtol=1e-12, err_msg=f"{what}: momentum at step {step}"
            )


@pytest.mark.parametrize("name", CONFIGS)
def test_same_lr_and_momentum_sequence_as_torch(name):
    kind, steps, build = CONFIGS[name]
    h_opt, t_opt = _optimizers(kind)
    h_seq = _run(h_opt, build(hg.optim.lr_scheduler, h_opt), steps)
    t_seq = _run(t_opt, build(torch.optim.lr_scheduler, t_opt), steps)
    _assert_same(h_seq, t_seq, name)
    np.testing.assert_allclose(
        [g["lr"] for g in h_opt.param_groups], [g["lr"] for g in t_opt.param_groups], rtol=1e-12
    )


RESUMABLE = {
    "ConstantLR": lambda S, o, e: S.ConstantLR(o, factor=0.5, total_iters=12, last_epoch=e),
    "MultiplicativeLR": lambda S, o, e: S.MultiplicativeLR(o, lambda k: 0.95, last_epoch=e),
    "PolynomialLR": lambda S, o, e: S.PolynomialLR(o, total_iters=30, last_epoch=e),
    "WarmRestarts": lambda S, o, e: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, last_epoch=e),
    "CyclicLR": lambda S, o, e: S.CyclicLR(
        o, 0.01, 0.1, step_size_up=6, mode="triangular2", last_epoch=e
    ),
    "OneCycleLR": lambda S, o, e: S.OneCycleLR(o, max_lr=0.5, total_steps=80, last_epoch=e),
}


@pytest.mark.parametrize("name", RESUMABLE)
def test_resume_with_last_epoch_as_torch(name):
    """A scheduler made with ``last_epoch=k`` on an optimizer that already carries
    ``initial_lr`` (and the cycle's bounds) continues as PyTorch's does."""
    make = RESUMABLE[name]
    h_opt, t_opt = _optimizers("sgd")
    h_seq, t_seq = [], []
    for S, opt, seq in (
        (hg.optim.lr_scheduler, h_opt, h_seq),
        (torch.optim.lr_scheduler, t_opt, t_seq),
    ):
        make(S, opt, -1)
        seq += _run(opt, [make(S, opt, 9)], 60)
    _assert_same(h_seq, t_seq, name)


def test_resume_without_initial_lr_names_the_group():
    h_opt, _ = _optimizers("sgd")
    with pytest.raises(
        KeyError,
        match=r"ConstantLR: param 'initial_lr' is not specified in "
        r"param_groups\[0\] when resuming with last_epoch=3",
    ):
        hg.optim.lr_scheduler.ConstantLR(h_opt, last_epoch=3)


@pytest.mark.parametrize(
    "name, through_file",
    [
        ("CyclicLR-triangular2", True),
        ("CyclicLR-exp_range-adam", False),
        ("OneCycleLR", True),
        ("OneCycleLR-linear-3phase", False),
        ("MultiplicativeLR", True),
        ("WarmRestarts-mult", True),
        ("SequentialLR-three", True),
        ("SequentialLR-nested", False),
        ("ChainedScheduler-of-SequentialLR", False),
        ("ChainedScheduler-three", False),
        ("two-on-one", False),
    ],
)
def test_state_dict_resume_continues_as_torch(name, through_file, tmp_path):
    """Stop half-way, save the optimizer's and the schedulers' state dicts (through an ``hg.save``
    file when ``through_file``), load them into fresh objects: the rest of the sequence is
    PyTorch's uninterrupted one."""
    kind, steps, build = CONFIGS[name]
    _, t_opt = _optimizers(kind)
    t_seq = _run(t_opt, build(torch.optim.lr_scheduler, t_opt), steps)

    S = hg.optim.lr_scheduler
    opt1, _ = _optimizers(kind)
    first = build(S, opt1)
    if name == "MultiplicativeLR":
        first[0].lr_lambdas[1].rate = 0.93  # state of a callable object travels with the dict
    half = steps // 2
    h_seq = _run(opt1, first, half)
    state = {"opt": opt1.state_dict(), "scheds": [s.state_dict() for s in first]}
    if through_file:
        hg.save(state, tmp_path / "ckpt.npz")
        state = hg.load(tmp_path / "ckpt.npz")
    opt2, _ = _optimizers(kind)
    second = build(S, opt2)
    opt2.load_state_dict(state["opt"])
    for s, saved in zip(second, state["scheds"]):
        s.load_state_dict(saved)
    h_seq += _run(opt2, second, steps - half)[1:]
    if name == "MultiplicativeLR":
        assert second[0].lr_lambdas[1].rate == 0.93
        return  # the changed rate makes this run differ from torch's on purpose
    _assert_same(h_seq, t_seq, name)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_warm_restarts_with_fractional_epochs_as_torch(T_mult):
    """``step(epoch)`` with fractional epochs (once per batch), then plain steps after it."""
    kw = {"T_0": 4, "T_mult": T_mult, "eta_min": 0.01}
    h_opt, t_opt = _optimizers("sgd")
    h = hg.optim.lr_scheduler.CosineAnnealingWarmRestarts(h_opt, **kw)
    t = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(t_opt, **kw)
    epochs = [float(e) for e in np.arange(0, 40, 0.35)] + [None] * 30 + [7.5] + [None] * 20
    for i, epoch in enumerate(epochs):
        h.step(epoch)
        t.step(epoch)
        np.testing.assert_allclose(
            h.get_last_lr(), t.get_last_lr(), rtol=1e-12, err_msg=f"call {i}, epoch {epoch}"
        )
        assert (h.last_epoch, h.T_i) == (t.last_epoch, t.T_i)


def _plateau_metrics(mode: str) -> np.ndarray:
    """Improves, plateaus with noise, improves again, plateaus."""
    r = np.random.default_rng(0)
    metrics = np.concatenate(
        [
            np.linspace(1, 0.5, 8),
            0.5 + 0.002 * r.standard_normal(20),
            np.linspace(0.5, 0.2, 5),
            np.full(40, 0.2),
        ]
    )
    return 2 - metrics if mode == "max" else metrics


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mode": "max", "patience": 2, "factor": 0.5, "threshold_mode": "abs", "threshold": 0.01},
        {"mode": "max", "patience": 3, "factor": 0.7, "threshold": 0.02},
        {"patience": 1, "cooldown": 2, "min_lr": [0.02, 0.001], "factor": 0.3},
        {"patience": 0, "factor": 0.5, "min_lr": 0.04, "eps": 0.02},
        {"patience": 2, "threshold_mode": "abs", "threshold": 0.001, "cooldown": 1},
    ],
)
def test_reduce_on_plateau_as_torch(kw):
    h_opt, t_opt = _optimizers("sgd")
    h = hg.optim.lr_scheduler.ReduceLROnPlateau(h_opt, **kw)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kw)
    assert isinstance(h, hg.optim.lr_scheduler.LRScheduler)
    changes = 0
    for i, m in enumerate(_plateau_metrics(kw.get("mode", "min"))):
        before = h.get_last_lr()
        h_opt.step(), t_opt.step()
        h.step(m)
        t.step(float(m))
        np.testing.assert_allclose(
            h.get_last_lr(), t.get_last_lr(), rtol=1e-12, err_msg=f"step {i}"
        )
        assert (h.best, h.num_bad_epochs, h.cooldown_counter, h.last_epoch) == (
            t.best,
            t.num_bad_epochs,
            t.cooldown_counter,
            t.last_epoch,
        )
        changes += h.get_last_lr() != before
    assert changes >= 1  # the sequence exercises a reduction


def test_reduce_on_plateau_epoch_argument_and_new_group_as_torch():
    """``step(metric, epoch)`` sets last_epoch; a scalar min_lr covers a group added later."""
    h_opt, t_opt = _optimizers("sgd")
    h = hg.optim.lr_scheduler.ReduceLROnPlateau(h_opt, patience=0, min_lr=0.004)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, patience=0, min_lr=0.004)
    h_opt.add_param_group({"params": [hg.tensor(np.ones(1), requires_grad=True)], "lr": 0.3})
    t_opt.add_param_group({"params": [torch.ones(1, requires_grad=True)], "lr": 0.3})
    for epoch, m in enumerate([1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.8], start=10):
        h.step(m, epoch)
        t.step(m, epoch)
        assert h.last_epoch == t.last_epoch == epoch
        np.testing.assert_allclose(h.get_last_lr(), t.get_last_lr(), rtol=1e-12)


def test_reduce_on_plateau_list_min_lr_and_new_group_is_an_error():
    h_opt, _ = _optimizers("sgd")
    h = hg.optim.lr_scheduler.ReduceLROnPlateau(h_opt, patience=0, min_lr=[0.0, 0.0])
    h_opt.add_param_group({"params": [hg.tensor(np.ones(1), requires_grad=True)]})
    h.step(1.0)
    with pytest.raises(
        RuntimeError,
        match=r"ReduceLROnPlateau: the optimizer has 3 param groups "
        r"but min_lr has 2 values",
    ):
        h.step(2.0)


def test_plateau_state_dict_round_trip():
    opt, _ = _optimizers("sgd")
    s = hg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for m in (1.0, 0.9, 0.9, 0.95):
        s.step(m)
    opt2, _ = _optimizers("sgd")
    s2 = hg.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=1, cooldown=1)
    opt2.load_state_dict(opt.state_dict())
    s2.load_state_dict(s.state_dict())
    for m in (0.9, 0.9, 0.9, 0.9, 0.9):
        s.step(m)
        s2.step(m)
        assert s2.get_last_lr() == s.get_last_lr()
    assert s2.best == s.best == 0.9 and s2.num_bad_epochs == s.num_bad_epochs


def test_one_cycle_refuses_to_step_past_total_steps():
    h_opt, t_opt = _optimizers("sgd")
    h = hg.optim.lr_scheduler.OneCycleLR(h_opt, max_lr=0.1, total_steps=3)
    t = torch.optim.lr_scheduler.OneCycleLR(t_opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        h.step(), t.step()
    with pytest.raises(ValueError, match=r"Tried to step 4 times"):
        t.step()
    with pytest.raises(
        ValueError,
        match=r"OneCycleLR: tried to step 4 times, but total_steps "
        r"is 3",
    ):
        h.step()


def _plateau(S, o):
    return S.ReduceLROnPlateau(o)


def _other_optimizer(o):
    return type(o)(o.param_groups[0]["params"], lr=1.0)


# name: (build(S, opt), exception, handgrad's message, whether PyTorch raises too)
ERRORS = {
    "OneCycleLR-no-length": (
        lambda S, o: S.OneCycleLR(o, max_lr=0.1),
        ValueError,
        r"OneCycleLR: define either total_steps or \(epochs and steps_per_epoch\)",
        True,
    ),
    "OneCycleLR-total_steps": (
        lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=0),
        ValueError,
        r"OneCycleLR: invalid total_steps=0",
        True,
    ),
    "OneCycleLR-epochs": (
        lambda S, o: S.OneCycleLR(o, 0.1, epochs=2.5, steps_per_epoch=4),
        ValueError,
        r"OneCycleLR: invalid epochs=2.5",
        True,
    ),
    "OneCycleLR-pct_start": (
        lambda S, o: S.OneCycleLR(o, 0.1, total_steps=5, pct_start=1.5),
        ValueError,
        r"OneCycleLR: invalid pct_start=1.5",
        True,
    ),
    "OneCycleLR-pct_start-int": (
        lambda S, o: S.OneCycleLR(o, 0.1, total_steps=5, pct_start=1),
        ValueError,
        r"OneCycleLR: invalid pct_start=1 \(must be a float",
        True,
    ),
    "OneCycleLR-anneal": (
        lambda S, o: S.OneCycleLR(o, 0.1, total_steps=5, anneal_strategy="exp"),
        ValueError,
        r"OneCycleLR: invalid anneal_strategy='exp'",
        True,
    ),
    "OneCycleLR-max_lr-list": (
        lambda S, o: S.OneCycleLR(o, max_lr=[0.1], total_steps=5),
        ValueError,
        r"OneCycleLR: expected 2 values of max_lr, got 1",
        True,
    ),
    "CyclicLR-mode": (
        lambda S, o: S.CyclicLR(o, 0.01, 0.1, mode="triangle"),
        ValueError,
        r"CyclicLR: invalid mode='triangle' \(must be 'triangular', 'triangular2' or 'exp_r",
        True,
    ),
    "CyclicLR-base_lr-list": (
        lambda S, o: S.CyclicLR(o, [0.01, 0.02, 0.03], 0.1),
        ValueError,
        r"CyclicLR: expected 2 values of base_lr, got 3",
        True,
    ),
    "CyclicLR-momentum-list": (
        lambda S, o: S.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9]),
        ValueError,
        r"CyclicLR: expected 2 values of max_momentum, got 1",
        True,
    ),
    "CyclicLR-step_size_up": (  # PyTorch divides by zero
        lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=0),
        ValueError,
        r"CyclicLR: invalid step_size_up=0",
        True,
    ),
    "CyclicLR-scale_mode": (  # PyTorch silently scales by the iteration
        lambda S, o: S.CyclicLR(o, 0.01, 0.1, scale_fn=abs, scale_mode="epochs"),
        ValueError,
        r"CyclicLR: invalid scale_mode='epochs'",
        False,
    ),
    "ReduceLROnPlateau-mode": (
        lambda S, o: S.ReduceLROnPlateau(o, mode="avg"),
        ValueError,
        r"ReduceLROnPlateau: invalid mode='avg'",
        True,
    ),
    "ReduceLROnPlateau-factor": (
        lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
        ValueError,
        r"ReduceLROnPlateau: invalid factor=1.0",
        True,
    ),
    "ReduceLROnPlateau-threshold_mode": (
        lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="x"),
        ValueError,
        r"ReduceLROnPlateau: invalid threshold_mode='x'",
        True,
    ),
    "ReduceLROnPlateau-min_lr": (
        lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
        ValueError,
        r"ReduceLROnPlateau: expected 2 values of min_lr, got 1",
        True,
    ),
    "WarmRestarts-T_0": (
        lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0),
        ValueError,
        r"CosineAnnealingWarmRestarts: invalid T_0=0",
        True,
    ),
    "WarmRestarts-T_mult": (
        lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5),
        ValueError,
        r"CosineAnnealingWarmRestarts: invalid T_mult=1.5",
        True,
    ),
    "WarmRestarts-eta_min": (
        lambda S, o: S.CosineAnnealingWarmRestarts(o, 2, eta_min="0"),
        ValueError,
        r"CosineAnnealingWarmRestarts: invalid eta_min='0'",
        True,
    ),
    "WarmRestarts-negative-epoch": (
        lambda S, o: S.CosineAnnealingWarmRestarts(o, 2).step(-1.0),
        ValueError,
        r"CosineAnnealingWarmRestarts: expected epoch >= 0, got -1.0",
        True,
    ),
    "ConstantLR-factor": (
        lambda S, o: S.ConstantLR(o, factor=2.0),
        ValueError,
        r"ConstantLR: invalid factor=2.0",
        True,
    ),
    "MultiplicativeLR-not-callable": (
        lambda S, o: S.MultiplicativeLR(o, [0.9, 0.9]),
        TypeError,
        r"MultiplicativeLR: lr_lambda 0 should be a function, got float",
        True,
    ),
    "MultiplicativeLR-count": (
        lambda S, o: S.MultiplicativeLR(o, [abs]),
        ValueError,
        r"MultiplicativeLR: expected 2 lr_lambdas \(one per param group\), got 1",
        True,
    ),
    "SequentialLR-milestones": (
        lambda S, o: S.SequentialLR(o, [S.ConstantLR(o)], milestones=[3]),
        ValueError,
        r"SequentialLR: expected 0 milestones for 1 schedulers, got 1",
        True,
    ),
    "SequentialLR-empty": (
        lambda S, o: S.SequentialLR(o, [], milestones=[]),
        ValueError,
        r"SequentialLR: expected at least one scheduler",
        True,
    ),
    "SequentialLR-plateau": (
        lambda S, o: S.SequentialLR(o, [S.ConstantLR(o), _plateau(S, o)], milestones=[3]),
        ValueError,
        r"SequentialLR: scheduler 1 is a ReduceLROnPlateau",
        True,
    ),
    "ChainedScheduler-plateau": (
        lambda S, o: S.ChainedScheduler([_plateau(S, o)]),
        ValueError,
        r"ChainedScheduler: scheduler 0 is a ReduceLROnPlateau",
        True,
    ),
    "ChainedScheduler-other-optimizer": (
        lambda S, o: S.ChainedScheduler([S.ConstantLR(o)], optimizer=_other_optimizer(o)),
        ValueError,
        r"ChainedScheduler: scheduler 0 \(ConstantLR\) drives another optimizer",
        True,
    ),
}


@pytest.mark.parametrize("name", ERRORS)
def test_scheduler_errors(name):
    build, exc, pattern, torch_raises = ERRORS[name]
    h_opt, t_opt = _optimizers("sgd")
    with pytest.raises(exc, match=pattern):
        build(hg.optim.lr_scheduler, h_opt)
    if torch_raises:
        with pytest.raises(Exception):  # noqa: B017 - PyTorch's types and words vary
            build(torch.optim.lr_scheduler, t_opt)
    else:
        build(torch.optim.lr_scheduler, t_opt)


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR"])
def test_momentum_cycling_needs_momentum(name):
    h_opt, t_opt = _optimizers("adagrad")
    build = {
        "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=5),
        "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, 0.1),
    }[name]
    with pytest.raises(ValueError, match=r"optimizer must support momentum"):
        build(torch.optim.lr_scheduler, t_opt)
    with pytest.raises(
        ValueError,
        match=rf"{name}: cycle_momentum needs an optimizer with "
        r"momentum or betas, Adagrad has neither",
    ):
        build(hg.optim.lr_scheduler, h_opt)
    assert math.isclose(h_opt.param_groups[0]["lr"], 0.1)
