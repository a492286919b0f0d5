"""The autograd tutorial's hand-written SGD: parameters updated with augmented assignment under
no_grad (``a -= learning_rate * a.grad``), gradients reset by ``a.grad = None`` and by
``zero_()``. If ``-=`` rebound the name instead of updating in place, the loss would not fall."""

import math

import torch

TOLERANCE = {"losses": (1e-4, 1e-6), "coefficients": (1e-4, 1e-6)}


def main():
    dtype = torch.float32
    x = torch.linspace(-math.pi, math.pi, 500, dtype=dtype)
    y = torch.sin(x)
    a = torch.tensor(0.1, dtype=dtype, requires_grad=True)
    b = torch.tensor(-0.2, dtype=dtype, requires_grad=True)
    c = torch.tensor(0.3, dtype=dtype, requires_grad=True)
    d = torch.tensor(0.05, dtype=dtype, requires_grad=True)
    params = [a, b, c, d]
    learning_rate = 1e-6
    losses = []
    for t in range(400):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        if t % 50 == 0:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c *= 1.0
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad.zero_()
            d.grad.zero_()
    assert all(p.is_leaf and p.requires_grad for p in params)
    return {"losses": losses, "coefficients": [p.item() for p in params]}
