"""BCE on saturated outputs: a sigmoid pushed to exactly 0.0 and 1.0 in float32 (as a
confident discriminator produces), trained with ``nn.BCELoss``; torch clamps the log at -100
and defines a finite gradient there, so training goes on without NaNs."""

import numpy as np
import torch
import torch.nn as nn


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((16, 3)).astype(np.float32))
    y = torch.tensor((rng.random((16, 1)) > 0.5).astype(np.float32))
    model = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    with torch.no_grad():
        # huge weights: the sigmoid rounds to exactly 0 or 1 in float32
        model[0].weight.copy_(torch.tensor([[60.0, -45.0, 30.0]]))
        model[0].bias.fill_(5.0)
    criterion = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with torch.no_grad():
        p0 = model(x)
    saturated = float(((p0 == 0) | (p0 == 1)).float().sum().item())

    # the gradient with respect to saturated probabilities themselves
    p = p0.clone().requires_grad_(True)
    loss = nn.functional.binary_cross_entropy(p, y, reduction="sum")
    loss.backward()
    grad_p = p.grad.flatten().tolist()

    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    weight_finite = float(torch.isfinite(model[0].weight).all().item())
    return {
        "saturated": saturated,
        "initial_loss": nn.functional.binary_cross_entropy(p0, y).item(),
        "grad_p": grad_p,
        "losses": losses,
        "weight_finite": weight_finite,
        "weight": model[0].weight.detach().flatten().tolist(),
    }
