"""Editing containers in place and weight averaging, as fine-tuning scripts do: ``Sequential``
``insert`` / ``append`` / ``pop`` / ``del seq[i]`` / slicing, ``ModuleList`` ``insert`` /
``extend`` / ``+=``, ``get_submodule`` / ``get_parameter``, ``register_module``, a layer swapped
by ``setattr`` on a dotted path found with ``named_modules``; then stochastic weight averaging
(``torch.optim.swa_utils``: ``AveragedModel``, ``SWALR`` after a ``MultiStepLR`` phase,
``update_bn`` over a loader) and an EMA ``AveragedModel`` with ``get_ema_multi_avg_fn``."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import MultiStepLR
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = {"lrs": (1e-9, 1e-12)}


def init_from_numpy(module, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-scale, scale, tuple(p.shape)).astype(np.float32)))


def main():
    torch.set_num_threads(1)
    seq = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    seq.insert(1, nn.BatchNorm1d(8))
    seq.append(nn.LogSoftmax(dim=1))
    popped = type(seq.pop(4)).__name__
    seq.append(nn.Identity())
    del seq[-1]
    names_after_edit = [n for n, _ in seq.named_children()]
    head = seq[-1:]
    blocks = nn.ModuleList([nn.Linear(2, 2)])
    blocks.insert(0, nn.Tanh())
    blocks.extend([nn.Linear(2, 2), nn.ReLU()])
    blocks += nn.ModuleList([nn.Identity()])
    seq.register_module("blocks", blocks)
    blocks_names = [n for n, _ in seq.named_modules()]
    sub = type(seq.get_submodule("blocks.1")).__name__
    param_shape = tuple(seq.get_parameter("blocks.1.weight").shape)

    # swap every ReLU for a GELU found by name
    for name, module in list(seq.named_modules()):
        if isinstance(module, nn.ReLU):
            parent_name, _, child = name.rpartition(".")
            parent = seq.get_submodule(parent_name) if parent_name else seq
            setattr(parent, child, nn.GELU())
    kinds = [type(m).__name__ for m in seq.modules()]

    model = nn.Sequential(seq[0], seq[1], seq[2], seq[3])
    init_from_numpy(model, 1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((64, 3)).astype(np.float32))
    y = (x[:, 0] * x[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=False)
    swa_model = AveragedModel(model)
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    steps_sched = MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)
    swa_sched = SWALR(optimizer, swa_lr=0.02, anneal_epochs=2, anneal_strategy="cos")
    swa_start, losses, lrs = 5, [], []
    for epoch in range(9):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            ema_model.update_parameters(model)
        losses.append(loss.item())
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_sched.step()
        else:
            steps_sched.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    bn_before = swa_model.module[1].running_mean.clone()
    update_bn(loader, swa_model)
    swa_model.eval()
    with torch.no_grad():
        swa_loss = F.cross_entropy(swa_model(x), y).item()
        ema_loss = F.cross_entropy(ema_model(x), y).item()
    return {
        "popped": popped,
        "names_after_edit": ",".join(names_after_edit),
        "head": type(head).__name__ + ":" + type(head[0]).__name__,
        "blocks_names": ",".join(blocks_names),
        "sub": sub,
        "param_shape": str(param_shape),
        "kinds": ",".join(kinds),
        "losses": losses,
        "lrs": lrs,
        "n_averaged": int(swa_model.n_averaged),
        "swa_weight": swa_model.module[0].weight.flatten().tolist(),
        "ema_weight": ema_model.module[3].weight.flatten().tolist(),
        "bn_changed": float((swa_model.module[1].running_mean - bn_before).abs().max()) > 0,
        "bn_running_mean": swa_model.module[1].running_mean.tolist(),
        "swa_loss": swa_loss,
        "ema_loss": ema_loss,
        "swa_state_keys": ",".join(swa_model.state_dict().keys()),
    }
