"""A user-written optimizer, as tutorials write them: ``torch.optim.Optimizer`` subclass,
``@torch.no_grad()`` step with a closure, lazy ``state = self.state[p]``, in-place updates;
trained, checkpointed through its state_dict and resumed."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MyAdam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if lr < 0.0:
            raise ValueError("Invalid learning rate: {}".format(lr))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias1 = 1 - beta1 ** state["step"]
                bias2 = 1 - beta2 ** state["step"]
                denom = (exp_avg_sq.sqrt() / math.sqrt(bias2)).add_(group["eps"])
                p.addcdiv_(exp_avg, denom, value=-group["lr"] / bias1)
        return loss


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def init_from_numpy(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 3, 64))
    model = Net()
    init_from_numpy(model, 2)
    optimizer = MyAdam(
        [{"params": model.fc1.parameters()}, {"params": model.fc2.parameters(), "lr": 0.005}],
        lr=0.01,
        weight_decay=1e-4,
    )

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    losses = []
    for step in range(30):
        loss = optimizer.step(closure)
        losses.append(loss.item())
    saved = optimizer.state_dict()
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    # resume in a fresh model and optimizer from the state dicts
    model2 = Net()
    model2.load_state_dict(weights)
    optimizer2 = MyAdam(
        [{"params": model2.fc1.parameters()}, {"params": model2.fc2.parameters(), "lr": 0.005}],
        lr=0.01,
        weight_decay=1e-4,
    )
    optimizer2.load_state_dict(saved)
    for step in range(10):
        optimizer2.zero_grad()
        loss = F.cross_entropy(model2(x), y)
        loss.backward()
        optimizer2.step()
        losses.append(loss.item())
    with torch.no_grad():
        accuracy = (model2(x).argmax(1) == y).float().mean().item()
    return {
        "losses": losses,
        "accuracy": accuracy,
        "steps": [optimizer2.state_dict()["state"][i]["step"] for i in range(4)],
        "group_lrs": [g["lr"] for g in optimizer2.param_groups],
        "fc2_weight": model2.fc2.weight.detach().flatten().tolist(),
    }
