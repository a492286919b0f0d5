"""Learning-rate schedules as training scripts chain them: a linear warm-up followed by cosine
annealing through ``SequentialLR``, ``OneCycleLR`` stepped per batch, ``LambdaLR``,
``CosineAnnealingWarmRestarts`` stepped with a fractional epoch (``epoch + i / iters``) and
``ReduceLROnPlateau(mode="max", patience, cooldown)`` on a validation accuracy; ``get_last_lr()``
each step, and a run checkpointed half way (model, optimizer and scheduler state_dicts) and
resumed into fresh objects, whose trajectory continues as the uninterrupted one does."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    LambdaLR,
    LinearLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
)

TOLERANCE = {
    "warmup_cosine_lrs": (1e-9, 1e-12),
    "onecycle_lrs": (1e-9, 1e-12),
    "onecycle_momenta": (1e-9, 1e-12),
    "lambda_lrs": (1e-9, 1e-12),
    "restart_lrs": (1e-9, 1e-12),
    "plateau_lrs": (1e-9, 1e-12),
    "resumed_lrs": (1e-9, 1e-12),
}


def make_model(seed):
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
    return model


def data():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((32, 4)).astype(np.float32))
    y = torch.tensor((rng.standard_normal(32) > 0).astype(np.int64))
    return x, y


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def warmup_cosine(model, optimizer, x, y, steps, scheduler=None):
    if scheduler is None:
        warmup = LinearLR(optimizer, start_factor=0.1, end_factor=1.0, total_iters=5)
        cosine = CosineAnnealingLR(optimizer, T_max=15, eta_min=1e-4)
        scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[5])
    lrs, losses = [], []
    for _ in range(steps):
        losses.append(train_step(model, optimizer, x, y))
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return scheduler, lrs, losses


def main():
    torch.set_num_threads(1)
    x, y = data()

    # linear warm-up then cosine, 20 steps uninterrupted
    model = make_model(1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
    _, warmup_cosine_lrs, full_losses = warmup_cosine(model, optimizer, x, y, 20)

    # the same run stopped after 8 steps, saved, resumed into fresh objects for 12 more
    model = make_model(1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
    scheduler, first_lrs, first_losses = warmup_cosine(model, optimizer, x, y, 8)
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
    }
    model = make_model(99)
    model.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
    optimizer.load_state_dict(checkpoint["optimizer"])
    warmup = LinearLR(optimizer, start_factor=0.1, end_factor=1.0, total_iters=5)
    cosine = CosineAnnealingLR(optimizer, T_max=15, eta_min=1e-4)
    scheduler = SequentialLR(optimizer, schedulers=[warmup, cosine], milestones=[5])
    scheduler.load_state_dict(checkpoint["scheduler"])
    _, rest_lrs, rest_losses = warmup_cosine(model, optimizer, x, y, 12, scheduler)

    # OneCycleLR per batch, with its momentum cycling
    model = make_model(2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    onecycle = OneCycleLR(optimizer, max_lr=0.5, epochs=3, steps_per_epoch=4, pct_start=0.25)
    onecycle_lrs, onecycle_momenta, onecycle_losses = [], [], []
    for epoch in range(3):
        for _ in range(4):
            onecycle_losses.append(train_step(model, optimizer, x, y))
            onecycle.step()
            onecycle_lrs.append(onecycle.get_last_lr()[0])
            onecycle_momenta.append(optimizer.param_groups[0]["momentum"])

    # LambdaLR with one lambda per parameter group
    model = make_model(3)
    optimizer = torch.optim.SGD(
        [
            {"params": model[0].parameters()},
            {"params": model[2].parameters(), "lr": 0.01},
        ],
        lr=0.1,
    )
    lambda_sched = LambdaLR(optimizer, lr_lambda=[lambda e: 0.95**e, lambda e: 1 / (1 + e)])
    lambda_lrs = []
    for _ in range(6):
        train_step(model, optimizer, x, y)
        lambda_sched.step()
        lambda_lrs.append(lambda_sched.get_last_lr())

    # warm restarts stepped with a fractional epoch inside the epoch
    model = make_model(4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    restarts = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=0.001)
    iters = 3
    restart_lrs = []
    for epoch in range(6):
        for i in range(iters):
            train_step(model, optimizer, x, y)
            restarts.step(epoch + i / iters)
            restart_lrs.append(optimizer.param_groups[0]["lr"])

    # ReduceLROnPlateau on an accuracy that stops improving
    model = make_model(5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=1, cooldown=1)
    accuracies = [0.5, 0.6, 0.6, 0.6, 0.6, 0.61, 0.61, 0.61, 0.61, 0.61, 0.7, 0.7, 0.7]
    plateau_lrs = []
    for acc in accuracies:
        train_step(model, optimizer, x, y)
        plateau.step(acc)
        plateau_lrs.append(optimizer.param_groups[0]["lr"])

    return {
        "warmup_cosine_lrs": warmup_cosine_lrs,
        "full_losses": full_losses,
        "resumed_lrs": first_lrs + rest_lrs,
        "resumed_losses": first_losses + rest_losses,
        "resume_matches": float(
            max(abs(a - b) for a, b in zip(full_losses, first_losses + rest_losses))
        ),
        "onecycle_lrs": onecycle_lrs,
        "onecycle_momenta": onecycle_momenta,
        "onecycle_losses": onecycle_losses,
        "lambda_lrs": lambda_lrs,
        "restart_lrs": restart_lrs,
        "plateau_lrs": plateau_lrs,
        "plateau_bad_epochs": plateau.num_bad_epochs,
        "checkpoint_keys": ",".join(sorted(checkpoint["scheduler"])),
        "warmup_math": math.isclose(warmup_cosine_lrs[4], 0.05),
    }
