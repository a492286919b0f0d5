"""Parameter groups as the GPT recipe builds them: weight decay on the matrices of Linear and
Conv layers only (biases, LayerNorm and Embedding weights without), sorted by walking
``named_modules()`` and ``named_parameters(recurse=False)``; an ``add_param_group`` for a head
added later with its own lr; ``zero_grad(set_to_none=True)`` so that a parameter not used in a
step has ``grad is None`` and is skipped by AdamW (its moments and step stay unset)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.conv = nn.Conv1d(8, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 3)
        self.aux = nn.Linear(8, 3)  # used on even steps only

    def forward(self, tokens, use_aux):
        h = self.embed(tokens).transpose(1, 2)
        h = F.gelu(self.conv(h)).transpose(1, 2)
        h = self.norm(h).mean(1)
        out = self.fc(h)
        if use_aux:
            out = out + self.aux(h)
        return out


def init_from_numpy(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(torch.tensor(rng.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))


def configure(model, weight_decay):
    decay, no_decay = set(), set()
    whitelist = (nn.Linear, nn.Conv1d)
    blacklist = (nn.LayerNorm, nn.Embedding)
    for mn, m in model.named_modules():
        for pn, p in m.named_parameters(recurse=False):
            fpn = f"{mn}.{pn}" if mn else pn
            if pn.endswith("bias"):
                no_decay.add(fpn)
            elif pn.endswith("weight") and isinstance(m, whitelist):
                decay.add(fpn)
            elif pn.endswith("weight") and isinstance(m, blacklist):
                no_decay.add(fpn)
    params = dict(model.named_parameters())
    assert not (decay & no_decay) and decay | no_decay == set(params)
    groups = [
        {"params": [params[n] for n in sorted(decay)], "weight_decay": weight_decay},
        {"params": [params[n] for n in sorted(no_decay)], "weight_decay": 0.0},
    ]
    return groups, sorted(decay), sorted(no_decay)


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    tokens = torch.tensor(rng.integers(0, 10, (6, 5)))
    labels = torch.tensor(rng.integers(0, 3, 6))
    model = Model()
    init_from_numpy(model, 1)
    model.aux.requires_grad_(False)
    groups, decay, no_decay = configure(
        nn.ModuleDict({k: v for k, v in model.named_children() if k != "aux"}), 0.1
    )
    groups, decay, no_decay = configure(model, 0.1)
    groups[0]["params"] = [p for p in groups[0]["params"] if p.requires_grad]
    groups[1]["params"] = [p for p in groups[1]["params"] if p.requires_grad]
    optimizer = torch.optim.AdamW(groups, lr=0.01, betas=(0.9, 0.95))
    losses = []
    for step in range(4):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens, use_aux=False), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    aux_grad_before = model.aux.weight.grad is None

    # unfreeze the head and add it as a group of its own
    model.aux.requires_grad_(True)
    optimizer.add_param_group({"params": model.aux.parameters(), "lr": 0.05, "weight_decay": 0.5})
    skipped = []
    for step in range(6):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens, use_aux=step % 2 == 0), labels)
        loss.backward()
        skipped.append(model.aux.weight.grad is None)
        optimizer.step()
        losses.append(loss.item())
    state = optimizer.state_dict()["state"]
    steps = {i: float(s["step"]) for i, s in state.items()}
    # zero_grad(set_to_none=False) keeps zero tensors
    optimizer.zero_grad(set_to_none=False)
    zeros = [float(p.grad.abs().sum()) for p in model.parameters() if p.grad is not None]
    return {
        "losses": losses,
        "decay": ",".join(decay),
        "no_decay": ",".join(no_decay),
        "aux_grad_before": aux_grad_before,
        "group_defaults": [
            [g["lr"], g["weight_decay"], g["betas"][1], g["eps"]] for g in optimizer.param_groups
        ],
        "aux_grad_none": skipped,
        "steps": [steps[k] for k in sorted(steps)],
        "state_ids": sorted(steps),
        "zeros": zeros,
        "aux_weight": model.aux.weight.detach().flatten().tolist(),
        "norm_weight": model.norm.weight.detach().tolist(),
        "conv_weight": model.conv.weight.detach().flatten()[:10].tolist(),
    }
